"""The legacy pattern: a new session per call, 10,000 times — token requests and RSS growth."""

from __future__ import annotations

import gc
from typing import Any, Callable, Dict

import requests

import auth_sessions
from auth_sessions.testing import FakeVendors

ROUNDS = 10_000
WARMUP = 500


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * 4


def run_one(fake: FakeVendors, call: Callable[[], Any]) -> Dict[str, float]:
    fake.revoke_tokens()
    fake.reset_counts()
    for _ in range(WARMUP):
        call()
    gc.collect()
    before = rss_kib()
    for i in range(ROUNDS):
        call()
        if i % 500 == 0:
            fake.clear_logs()  # the fake shares this process: keep its own logs out of the RSS
    gc.collect()
    return {
        "token_requests": fake.counts("oauth2").token_requests,
        "rss_growth_mib": (rss_kib() - before) / 1024,
    }


def run() -> Dict[str, Dict[str, float]]:
    results: Dict[str, Dict[str, float]] = {}
    with FakeVendors() as fake:
        url = fake.base_url("oauth2") + "/things"
        kwargs = fake.session_kwargs("oauth2", token_store=None)

        def ours() -> None:
            auth_sessions.for_vendor("oauth2", **kwargs).get("/things")

        results["auth_sessions for_vendor + get"] = run_one(fake, ours)
        client_id, secret = fake.credentials("oauth2")
        try:
            from requests_oauth2client import OAuth2Client, OAuth2ClientCredentialsAuth

            def oauth2client() -> None:
                client = OAuth2Client(
                    token_endpoint=fake.token_url("oauth2"), client_id=client_id,
                    client_secret=secret, testing=True,
                )  # fmt: skip
                requests.get(url, auth=OAuth2ClientCredentialsAuth(client), timeout=10)

            results["requests-oauth2client"] = run_one(fake, oauth2client)
        except ImportError:
            pass
        try:
            from requests_auth import OAuth2ClientCredentials

            def requests_auth() -> None:
                auth = OAuth2ClientCredentials(
                    fake.token_url("oauth2"), client_id=client_id, client_secret=secret
                )
                requests.get(url, auth=auth, timeout=10)

            results["requests-auth"] = run_one(fake, requests_auth)
        except ImportError:
            pass
    return results


if __name__ == "__main__":
    print(f"{WARMUP} warm-up + {ROUNDS} x (new auth/session + one request); RSS after warm-up")
    print("| auth | token requests | RSS growth (MiB) |")
    print("|---|---|---|")
    for name, row in run().items():
        print(f"| {name} | {row['token_requests']:.0f} | {row['rss_growth_mib']:.2f} |")
