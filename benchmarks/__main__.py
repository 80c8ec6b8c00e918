"""``python -m benchmarks``: every benchmark; markdown tables on stdout, JSON in
``benchmarks/results/latest.json``."""

from __future__ import annotations

import json
from pathlib import Path

from . import peers, races

hot = peers.run()
floor = hot["floor (static header)"] or 1.0
print("## Hot path: ns per call with a live token\n")
print("| auth | ns/call | x floor |")
print("|---|---|---|")
for name, value in hot.items():
    print(
        f"| {name} | "
        + ("not measured |" if value is None else f"{value:.0f} | {value / floor:.2f}x |")
    )

burst = races.run()
print(f"\n## Cold start and 401 burst: {races.THREADS} threads x {races.PER_THREAD} requests\n")
print("| auth | cold start: token requests | non-2xx | 401 burst: token requests | non-2xx |")
print("|---|---|---|---|---|")
for name, row in burst.items():
    print(
        f"| {name} | {row['cold_start_token_requests']} | {row['cold_start_non_2xx']} | "
        f"{row['burst_token_requests']} | {row['burst_non_2xx']} |"
    )

out = Path(__file__).resolve().parent / "results"
out.mkdir(exist_ok=True)
(out / "latest.json").write_text(json.dumps({"hot_path_ns": hot, "races": burst}, indent=2))
