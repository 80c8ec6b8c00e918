"""``python -m benchmarks``: every benchmark in one run, side by side with the peers.

Markdown tables on stdout, everything in ``benchmarks/results/latest.json``, and (with
matplotlib, from the ``bench`` extra) ``benchmarks/results/latest.png``.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any, Dict

import requests
import urllib3

from . import acquisition, fleet, legacy, peers, races, stall, throughput

OUT = Path(__file__).resolve().parent / "results"
CANNOT = {
    "requests-oauthlib OAuth2": "attaches a token it is given: no fetch, no renewal, no 401 retry",
    "authlib OAuth2Auth": "attaches a token it is given: no fetch, no renewal, no 401 retry",
    "google-auth AuthorizedSession": "needs Google credentials, not a client-credentials endpoint",
}


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def main() -> None:
    machine = f"{platform.machine()}, {platform.system()}, CPython {platform.python_version()}, "
    machine += f"requests {requests.__version__}, urllib3 {urllib3.__version__}"
    report: Dict[str, Any] = {"machine": machine, "command": "python -m benchmarks"}
    print(f"Machine: {machine}\n")

    hot = report["hot_path_ns"] = peers.run()
    floor = hot["floor (static header)"] or 1.0
    print("## 1. Hot path (ns/call, live token, interleaved; target <= 2x floor, below peers)\n")
    print(_row("auth", "ns/call", "x floor"))
    print(_row("---", "---", "---"))
    for name, value in hot.items():
        print(
            _row(
                name,
                "n/a" if value is None else f"{value:.0f}",
                "" if value is None else f"{value / floor:.2f}x",
            )
        )

    thr = report["throughput_rps"] = throughput.run()
    base = thr["floor (static header)"]
    print("\n## 2. End-to-end throughput on loopback (target >= 0.97x the floor)\n")
    print(_row("auth", "1 thread req/s", "x floor", "8 threads req/s", "x floor"))
    print(_row("---", "---", "---", "---", "---"))
    for name, row in thr.items():
        print(
            _row(
                name,
                f"{row[1]:.0f}",
                f"{row[1] / base[1]:.3f}",
                f"{row[8]:.0f}",
                f"{row[8] / base[8]:.3f}",
            )
        )

    race = report["races"] = races.run()
    print(
        f"\n## 3-4. Cold start and 401 burst ({races.THREADS} threads x {races.PER_THREAD} "
        "requests; target 1 and 1)\n"
    )
    print(
        _row(
            "auth", "cold start: token requests", "non-2xx", "401 burst: token requests", "non-2xx"
        )
    )
    print(_row("---", "---", "---", "---", "---"))
    for name, r in race.items():
        print(
            _row(
                name,
                r["cold_start_token_requests"],
                r["cold_start_non_2xx"],
                r["burst_token_requests"],
                r["burst_non_2xx"],
            )
        )
    for name, why in CANNOT.items():
        print(_row(name, f"cannot: {why}", "", "", ""))

    leg = report["legacy"] = legacy.run()
    print(
        f"\n## 5. Legacy pattern ({legacy.ROUNDS} x new session + one request; "
        "target 1 token request, < 5 MiB)\n"
    )
    print(_row("auth", "token requests", "RSS growth MiB"))
    print(_row("---", "---", "---"))
    for name, r in leg.items():
        print(_row(name, f"{r['token_requests']:.0f}", f"{r['rss_growth_mib']:.2f}"))

    fl = report["fleet"] = fleet.run()
    print(
        f"\n## 6. Fleet ({fleet.PROCESSES} processes x {fleet.THREADS} threads, cold; target 1)\n"
    )
    print(_row("auth", "token requests", "requests", "non-2xx"))
    print(_row("---", "---", "---", "---"))
    for name, r in fl.items():
        print(
            _row(name, "not measured (no redis-server)", "", "")
            if r is None
            else _row(name, r["token_requests"], r["requests"], r["non_2xx"])
        )

    st = report["stall"] = stall.run()
    print("\n## 7. Renewal stall\n")
    stall.print_table(st)

    acq = report["acquisition"] = acquisition.run()
    print("\n## 8. Acquisition under trouble (hung, refused, throttled, renewal, Redis L1)\n")
    print(_row("measure", "result"))
    print(_row("---", "---"))
    for name, result in acq.items():
        print(_row(name, json.dumps(result)))

    OUT.mkdir(exist_ok=True)
    (OUT / "latest.json").write_text(json.dumps(report, indent=2, default=str))
    _chart(hot, race)


def _chart(hot: Dict[str, Any], race: Dict[str, Any]) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no chart)", file=sys.stderr)
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    names = [n for n, v in hot.items() if v is not None]
    left.barh(
        names,
        [hot[n] for n in names],
        color=[
            "#888" if "floor" in n else "#2a7" if "auth_sessions" in n else "#c55" for n in names
        ],
    )
    left.set_xlabel("ns per call (live token) — lower is better")
    left.invert_yaxis()
    cold = {n: r["cold_start_token_requests"] for n, r in race.items()}
    right.barh(
        list(cold),
        list(cold.values()),
        color=["#2a7" if "auth_sessions" in n else "#c55" for n in cold],
    )
    right.set_xlabel("token requests, cold start, 64 threads")
    right.invert_yaxis()
    fig.tight_layout()
    fig.savefig(OUT / "latest.png", dpi=100)
    print(f"\nchart: {OUT / 'latest.png'}", file=sys.stderr)


main()
