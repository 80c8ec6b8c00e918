"""Renewal stall: request latency while tokens rotate under 8-thread load.

Tokens live 8 s (our default leeway: renew 0.8 s early, wait only in the last 0.4 s) and
every token fetch takes 0.3 s. We renew early, in the advisory window, while the other
threads keep sending the still-valid token, so only the renewing request waits for the
fetch; a library that renews late makes threads queue behind it.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any, Callable, Dict, List, Tuple

import requests

from auth_sessions.testing import FakeVendors

from .peers import _requests_auth, _requests_oauth2client

THREADS, SECONDS, LIFETIME, FETCH_DELAY = 8, 12.0, 8.0, 0.3


def _latencies(fake: FakeVendors, make_auth: Callable[[], Any]) -> Tuple[List[float], int]:
    url = fake.base_url("oauth2") + "/stall"
    auth = make_auth()
    requests.get(url, auth=auth, timeout=10)  # warm: the first token
    fake.inject_token_fault("oauth2", "delay", delay=FETCH_DELAY, count=1000)
    latencies: List[float] = []
    failed = [0]
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def work() -> None:
        mine: List[float] = []
        bad = 0
        with requests.Session() as session:
            session.auth = auth
            while time.monotonic() < stop:
                started = time.perf_counter()
                status = session.get(url, timeout=10).status_code
                mine.append(time.perf_counter() - started)
                bad += status != 200
        with lock:
            latencies.extend(mine)
            failed[0] += bad

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, failed[0]


def run() -> Dict[str, Dict[str, float]]:
    candidates: Dict[str, Callable[[FakeVendors], Callable[[], Any]]] = {
        "auth_sessions oauth2": lambda fake: lambda: fake.auth("oauth2"),
        "requests-auth": lambda fake: lambda: _requests_auth(fake),
        "requests-oauth2client": lambda fake: lambda: _requests_oauth2client(fake),
    }
    results: Dict[str, Dict[str, float]] = {}
    for name, factory in candidates.items():
        with FakeVendors() as fake:
            fake.set_lifetime("oauth2", LIFETIME)
            try:
                raw, failed = _latencies(fake, factory(fake))
            except ImportError:
                continue
            lat = sorted(raw)
            results[name] = {
                "requests": len(lat),
                "p50_ms": statistics.median(lat) * 1000,
                "p99_ms": lat[int(len(lat) * 0.99)] * 1000,
                "max_ms": lat[-1] * 1000,
                "over_100ms": sum(1 for x in lat if x > 0.1),
                "token_requests": fake.counts("oauth2").token_requests,
                "non_2xx": failed,
            }
    return results


def print_table(results: Dict[str, Dict[str, float]]) -> None:
    print(f"{THREADS} threads, {SECONDS:.0f} s, {LIFETIME:.0f}-s tokens, fetch {FETCH_DELAY:.1f} s")
    print("| auth | requests | p50 ms | p99 ms | max ms | > 100 ms | token requests | non-2xx |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        cells = [r["requests"], r["p50_ms"], r["p99_ms"], r["max_ms"], r["over_100ms"]]
        cells += [r["token_requests"], r["non_2xx"]]
        print(
            f"| {name} | " + " | ".join(f"{c:.1f}" if c % 1 else f"{c:.0f}" for c in cells) + " |"
        )


if __name__ == "__main__":
    print_table(run())
