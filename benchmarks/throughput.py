"""End-to-end throughput on loopback, 1 and 8 threads, against the static-header floor.

Every auth is measured in the same run, interleaved over three rounds (best round kept), so
machine noise hits all of them alike.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict

import requests

from auth_sessions.testing import FakeVendors

from .hot_path import StaticHeaderAuth
from .peers import PEERS

REQUESTS_PER_THREAD = 600


def requests_per_second(url: str, make_auth: Callable[[], Any], threads: int) -> float:
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        with requests.Session() as session:
            session.auth = make_auth()
            session.get(url, timeout=10)  # connect and warm up outside the clock
            barrier.wait()
            for _ in range(REQUESTS_PER_THREAD):
                session.get(url, timeout=10).raise_for_status()
            barrier.wait()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    barrier.wait()
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    return threads * REQUESTS_PER_THREAD / elapsed


def run() -> Dict[str, Dict[int, float]]:
    """Requests per second for each auth at 1 and 8 threads."""
    results: Dict[str, Dict[int, float]] = {}
    with FakeVendors() as fake:
        url = fake.base_url("oauth2") + "/things"
        ours = fake.auth("oauth2")
        ours.get_token()
        token = ours.get_token().access_token.reveal()

        class Floor(StaticHeaderAuth):
            def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
                r.headers["Authorization"] = "Bearer " + token  # a live token: 200s, not 401s
                return r

        candidates: Dict[str, Callable[[], Any]] = {
            "floor (static header)": Floor,
            "auth_sessions oauth2": lambda: ours,
        }
        for name, factory in PEERS.items():
            try:
                auth = factory(fake)
                candidates[name] = lambda auth=auth: auth
            except Exception as exc:  # a peer missing here is reported, not fatal
                print(f"{name}: not measured ({type(exc).__name__})")
        for threads in (1, 8):
            for _ in range(3):
                for name, make in candidates.items():
                    rate = requests_per_second(url, make, threads)
                    best = results.setdefault(name, {}).get(threads, 0.0)
                    results[name][threads] = max(best, rate)
    return results


if __name__ == "__main__":
    table = run()
    floor = table["floor (static header)"]
    print("| auth | 1 thread req/s | x floor | 8 threads req/s | x floor |")
    print("|---|---|---|---|---|")
    for name, row in table.items():
        one, eight = row[1] / floor[1], row[8] / floor[8]
        print(f"| {name} | {row[1]:.0f} | {one:.3f} | {row[8]:.0f} | {eight:.3f} |")
