"""A soak run against the fake vendors: many threads, short-lived tokens, forced 401s.

Used by the test suite (a short run) and ``python -m benchmarks.soak`` (a long one).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, List

from .server import FakeVendors

__all__ = ["SoakReport", "run_soak"]


@dataclass
class SoakReport:
    """What a soak run saw; ``problems`` lists every request that did not end as promised.

    The promise: every request ends 2xx after at most one replay, with the body it was
    given — except that a token sent within its window can still expire before the server
    reads it, when the request sits in a loaded machine's run queue after it was prepared.
    Such a request (its final answer a 401 the fake marks ``X-Fake-Expired-By``, by less
    than the whole call took) is counted in ``expired_in_flight`` and reported, not failed.
    A token already expired when the call began is a problem.
    """

    requests: int = 0
    replays: int = 0
    expired_in_flight: int = 0
    seconds: float = 0.0
    token_requests: int = 0
    refreshes: int = 0
    forced_401s: int = 0
    expired_presented: int = 0
    problems: List[str] = field(default_factory=list)

    @property
    def token_budget(self) -> int:
        """Expiries the run could see, plus one renewal per forced 401, plus slack."""
        return math.ceil(self.seconds / 0.9) + 1 + self.forced_401s + 5


def run_soak(
    fake: FakeVendors,
    vendor: str,
    *,
    threads: int = 16,
    per_thread: int = 2000,
    lifetime: float = 1.0,
    fail_every: int = 20,
) -> SoakReport:
    """Drive ``threads`` x ``per_thread`` requests (every other one a POST with a body).

    Tokens live ``lifetime`` seconds; one request in ``fail_every`` is answered 401 on its
    first attempt. Each request must end 2xx after at most one replay, and the server must
    have received exactly the body that was sent.
    """
    fake.set_lifetime(vendor, lifetime, refresh_seconds=3600)
    fake.fail_first_attempts(vendor, fail_every)
    fake.reset_counts()
    report = SoakReport()
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def work(index: int) -> None:
        problems: List[str] = []
        replays = late = 0
        with fake.session(vendor) as session:
            barrier.wait()
            for i in range(per_thread):
                headers = {"X-Request-Id": uuid.uuid4().hex}
                began = time.monotonic()
                try:
                    if i % 2:
                        payload = {"thread": index, "i": i, "pad": "x" * (i % 50)}
                        response = session.post("/soak", json=payload, headers=headers)
                    else:
                        response = session.get(f"/soak/{index}/{i}", headers=headers)
                except Exception as exc:  # counted as a lost request
                    problems.append(f"{index}/{i}: {type(exc).__name__}: {exc}")
                    continue
                sent = response.request.body or b""
                if isinstance(sent, str):
                    sent = sent.encode()
                took = time.monotonic() - began
                replays += len(response.history)
                if _expired_in_flight(response, took):
                    late += 1
                elif response.status_code != 200:
                    problems.append(f"{index}/{i}: status {response.status_code}")
                elif len(response.history) > 1:
                    problems.append(f"{index}/{i}: {len(response.history)} replays")
                elif response.json()["body_sha256"] != hashlib.sha256(sent).hexdigest():
                    problems.append(f"{index}/{i}: body changed on the way")
        with lock:
            report.problems += problems
            report.replays += replays
            report.expired_in_flight += late

    started = time.monotonic()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    report.seconds = time.monotonic() - started
    counts = fake.counts(vendor)
    fake.fail_first_attempts(vendor, 0)
    report.requests = threads * per_thread
    report.token_requests = counts.token_requests
    report.refreshes = counts.refreshes
    report.forced_401s = report.requests // fail_every
    report.expired_presented = counts.expired_presented
    return report


def _expired_in_flight(response: Any, took: float) -> bool:
    """A final 401 for a token that expired on its way: the fake says by how much, and it
    is less than the whole call took (so the token was valid when the call began)."""
    late = response.headers.get("X-Fake-Expired-By")
    return (
        response.status_code == 401
        and len(response.history) <= 1
        and late is not None
        and float(late) < took
    )
