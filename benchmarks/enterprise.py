"""Enterprise providers: DPoP end-to-end throughput against bearer on loopback, the cost of
one proof, and discovery fetches per process.

    python -m benchmarks.enterprise

Both sessions call the same fake ``oauth2`` vendor, in alternating blocks so a shared
machine's swings fall on both alike. The fake verifies every DPoP proof (joserfc, ES256,
about 0.4 ms in Python), so the server's half of the cost is in the figures too.
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List

import auth_sessions
from auth_sessions import _discovery
from auth_sessions._dpop import Prover
from auth_sessions.testing import FakeVendors

BLOCK, ROUNDS = 50, 20


def _rates(sessions: Dict[str, Any]) -> Dict[str, float]:
    for session in sessions.values():
        session.get("/warm")
    samples: Dict[str, List[float]] = {name: [] for name in sessions}
    for _ in range(ROUNDS):
        for name, session in sessions.items():
            started = time.perf_counter()
            for _ in range(BLOCK):
                assert session.get("/things").status_code == 200
            samples[name].append(BLOCK / (time.perf_counter() - started))
    rates = {name: statistics.median(values) for name, values in samples.items()}
    return {**rates, "ratio": rates["dpop"] / rates["bearer"]}


def throughput_in_process() -> Dict[str, float]:
    """Requests per second, bearer vs DPoP, the fake in this process (it shares our GIL, so
    its proof verification counts against us)."""
    with FakeVendors() as fake:
        return _rates({"bearer": fake.session("oauth2"), "dpop": fake.session("oauth2", dpop=True)})


def throughput() -> Dict[str, float]:
    """Requests per second, bearer vs DPoP, against ``auth-sessions fake`` in its own process
    (as a real server is): one client thread, so each request still waits for the server's
    verification."""
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
        sessions = {
            "bearer": auth_sessions.for_vendor("oauth2", **options),
            "dpop": auth_sessions.for_vendor("oauth2", dpop=True, **options),
        }
        return _rates(sessions)
    finally:
        fake.send_signal(signal.SIGINT)
        fake.wait(30)


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
    for label, run in (("fake in its own process", throughput),
                       ("fake in this process", throughput_in_process)):  # fmt: skip
        rates = run()
        print(
            f"{label}: bearer {rates['bearer']:.0f} req/s, DPoP {rates['dpop']:.0f} req/s: "
            f"{rates['ratio']:.2f}x (target >= 0.8x)"
        )
    print(f"one ES256 proof: {proof_us():.0f} us")
    found = discovery_fetches()
    print(f"{found['sessions']} sessions of one issuer: {found['metadata_fetches']} metadata fetch")
