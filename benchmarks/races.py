"""Cold start and 401 burst: token requests counted by the fake, us against the peers that
fetch tokens by themselves (requests-oauthlib and authlib only attach a token they are given:
no automatic fetch, so no cold-start or 401 figure for them)."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, List, Optional

import requests

from auth_sessions.testing import FakeVendors

from .peers import _requests_auth, _requests_oauth2client

THREADS, PER_THREAD = 64, 20


def _hammer(fake: FakeVendors, make_auth: Callable[[], Any], url: str) -> List[int]:
    barrier = threading.Barrier(THREADS)
    statuses: List[int] = []
    lock = threading.Lock()

    def work() -> None:
        with requests.Session() as session:
            session.auth = make_auth()
            barrier.wait()
            for _ in range(PER_THREAD):
                status = session.get(url, timeout=30).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def run() -> Dict[str, Dict[str, Optional[int]]]:
    results: Dict[str, Dict[str, Optional[int]]] = {}
    candidates: Dict[str, Callable[[FakeVendors], Callable[[], Any]]] = {
        "auth_sessions oauth2": lambda fake: lambda: fake.auth("oauth2"),
        "requests-auth": lambda fake: (lambda auth: lambda: auth)(_requests_auth(fake)),
        "requests-oauth2client": lambda fake: (lambda auth: lambda: auth)(
            _requests_oauth2client(fake)
        ),
    }
    for name, factory in candidates.items():
        with FakeVendors() as fake:
            url = fake.base_url("oauth2") + "/things"
            try:
                make_auth = factory(fake)
            except Exception as exc:  # a peer missing here is reported, not fatal
                print(f"{name}: not measured ({type(exc).__name__})")
                continue
            ok = _hammer(fake, make_auth, url)
            cold = fake.counts("oauth2").token_requests
            fake.revoke_tokens("oauth2")
            fake.reset_counts()
            burst = _hammer(fake, make_auth, url)
            results[name] = {
                "cold_start_token_requests": cold,
                "cold_start_non_2xx": sum(1 for s in ok if s != 200),
                "burst_token_requests": fake.counts("oauth2").token_requests,
                "burst_non_2xx": sum(1 for s in burst if s != 200),
            }
    return results


if __name__ == "__main__":
    print(f"{THREADS} threads x {PER_THREAD} requests, released by one barrier")
    print("| auth | cold start: token requests | non-2xx | 401 burst: token requests | non-2xx |")
    print("|---|---|---|---|---|")
    for name, row in run().items():
        print(
            f"| {name} | {row['cold_start_token_requests']} | {row['cold_start_non_2xx']} | "
            f"{row['burst_token_requests']} | {row['burst_non_2xx']} |"
        )
