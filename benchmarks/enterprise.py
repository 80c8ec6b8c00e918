"""Enterprise providers: DPoP end-to-end throughput against bearer on loopback, the cost of
one proof, and discovery fetches per process.

    python -m benchmarks.enterprise

Both kinds of session call the same fake ``oauth2`` vendor, in alternating blocks so a
shared machine's swings fall on both alike. The fake verifies every DPoP proof for real
(joserfc, ES256), so the server's half of the cost is in the figures too.

Throughput (the target, >= 0.8x) is measured with 4 client threads against the fake in its
own process, as a server and its clients run: the server verifies one proof while the
client signs the next. One thread making one request at a time is reported too: there the
proof's signature and its verification add up in every request's latency.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import threading
import time
from typing import Any, Callable, Dict, List

import auth_sessions
from auth_sessions import _discovery
from auth_sessions._dpop import Prover
from auth_sessions.testing import FakeVendors

BLOCK, ROUNDS = 50, 20


def _rates(make: Callable[[bool], Any], threads: int) -> Dict[str, float]:
    """Median requests per second of ``threads`` sessions (``make(dpop)``) calling at once,
    bearer and DPoP blocks alternating."""
    kinds = {"bearer": [make(False) for _ in range(threads)],
             "dpop": [make(True) for _ in range(threads)]}  # fmt: skip
    samples: Dict[str, List[float]] = {name: [] for name in kinds}
    for sessions in kinds.values():
        for session in sessions:
            session.get("/warm")
    for _ in range(ROUNDS):
        for name, sessions in kinds.items():
            samples[name].append(_block(sessions))
    rates = {name: statistics.median(values) for name, values in samples.items()}
    return {**rates, "ratio": rates["dpop"] / rates["bearer"]}


def _block(sessions: List[Any]) -> float:
    """Requests per second while each session makes BLOCK requests on its own thread."""
    start = threading.Barrier(len(sessions) + 1)

    def work(session: Any) -> None:
        start.wait()
        for _ in range(BLOCK):
            assert session.get("/things").status_code == 200

    workers = [threading.Thread(target=work, args=(session,)) for session in sessions]
    for worker in workers:
        worker.start()
    start.wait()
    started = time.perf_counter()
    for worker in workers:
        worker.join()
    return BLOCK * len(sessions) / (time.perf_counter() - started)


def throughput(threads: int = 4) -> Dict[str, float]:
    """Requests per second, bearer vs DPoP, ``threads`` client threads against
    ``auth-sessions fake`` in its own process (as a real server is)."""
    fake = subprocess.Popen(
        [sys.executable, "-m", "auth_sessions", "fake"], stdout=subprocess.PIPE, text=True
    )
    try:
        env: Dict[str, str] = {}
        assert fake.stdout is not None
        for line in fake.stdout:
            if line.startswith("# Ctrl-C"):
                break
            if line.startswith("export OAUTH2_"):
                name, _, value = line[len("export OAUTH2_") :].strip().partition("=")
                env[name.lower()] = value.strip("'")
        options = {"client_id": env["client_id"], "client_secret": env["client_secret"],
                   "issuer": env["issuer"], "base_url": env["base_url"]}  # fmt: skip
        return _rates(
            lambda dpop: auth_sessions.for_vendor("oauth2", dpop=dpop, **options), threads
        )
    finally:
        fake.send_signal(signal.SIGINT)
        fake.wait(30)


def throughput_in_process() -> Dict[str, float]:
    """Requests per second, bearer vs DPoP, one thread, the fake in this process (it shares
    our GIL, so its proof verification counts against us)."""
    with FakeVendors() as fake:
        return _rates(lambda dpop: fake.session("oauth2", dpop=dpop), 1)


def proof_us(number: int = 2000) -> float:
    """Microseconds to sign one ES256 proof with ``ath`` (PyJWT)."""
    prover = Prover.generate()
    started = time.perf_counter()
    for _ in range(number):
        prover.proof("GET", "https://api.example.com/things?x=1", "nonce", "token-value")
    return (time.perf_counter() - started) / number * 1e6


def discovery_fetches(sessions: int = 50) -> Dict[str, Any]:
    """Metadata fetches when ``sessions`` sessions of one issuer each make a call."""
    _discovery.forget_all()
    with FakeVendors() as fake:
        for i in range(sessions):
            kwargs = {"token_url": None, "issuer": fake.issuer("oauth2"), "scope": f"s{i}"}
            fake.session("oauth2", **kwargs).get("/things")
        counts = fake.counts("oauth2")
    return {"sessions": sessions, "metadata_fetches": counts.metadata_requests}


if __name__ == "__main__":
    runs = (("4 threads, fake in its own process", throughput),
            ("1 thread, fake in its own process", lambda: throughput(1)),
            ("1 thread, fake in this process", throughput_in_process))  # fmt: skip
    for label, run in runs:
        rates = run()
        print(
            f"{label}: bearer {rates['bearer']:.0f} req/s, DPoP {rates['dpop']:.0f} req/s: "
            f"{rates['ratio']:.2f}x"
        )
    print("target: >= 0.8x with 4 threads")
    print(f"one ES256 proof: {proof_us():.0f} us")
    found = discovery_fetches()
    print(f"{found['sessions']} sessions of one issuer: {found['metadata_fetches']} metadata fetch")
