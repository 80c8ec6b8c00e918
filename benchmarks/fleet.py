"""The fleet: 8 processes x 8 threads on a cold store -> token requests, per store and peer."""

from __future__ import annotations

import multiprocessing
import shutil
import tempfile
import threading
from typing import Any, Dict, List, Optional, Tuple

import requests

import auth_sessions
from auth_sessions.testing import FakeVendors
from auth_sessions.testing.redis_server import RedisServer

PROCESSES, THREADS = 8, 8


def _store(spec: Tuple[str, ...]) -> Any:
    if spec[0] == "file":
        return auth_sessions.FileTokenStore(spec[1])
    if spec[0] == "redis":
        return auth_sessions.RedisTokenStore(spec[1], prefix=spec[2])
    return None  # each process its own memory store


def _auth(kind: str, spec: Tuple[str, ...], fake_kwargs: Dict[str, Any]) -> Any:
    if kind == "auth_sessions":
        return auth_sessions.OAuth2Auth(
            fake_kwargs["client_id"], fake_kwargs["client_secret"],
            token_url=fake_kwargs["token_url"], base_url=fake_kwargs["base_url"],
            token_store=_store(spec),
        )  # fmt: skip
    if kind == "requests-auth":
        from requests_auth import OAuth2ClientCredentials

        return OAuth2ClientCredentials(
            fake_kwargs["token_url"],
            client_id=fake_kwargs["client_id"],
            client_secret=fake_kwargs["client_secret"],
        )
    from requests_oauth2client import OAuth2Client, OAuth2ClientCredentialsAuth

    client = OAuth2Client(
        token_endpoint=fake_kwargs["token_url"], client_id=fake_kwargs["client_id"],
        client_secret=fake_kwargs["client_secret"], testing=True,
    )  # fmt: skip
    return OAuth2ClientCredentialsAuth(client)


def worker(
    kind: str, spec: Tuple[str, ...], fake_kwargs: Dict[str, Any], start: Any, out: Any
) -> None:
    auth = _auth(kind, spec, fake_kwargs)
    barrier = threading.Barrier(THREADS)
    statuses: List[int] = []

    def work() -> None:
        barrier.wait()
        for _ in range(5):
            statuses.append(
                requests.get(fake_kwargs["base_url"] + "/fleet", auth=auth, timeout=30).status_code
            )

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    start.wait()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(statuses)


def run() -> Dict[str, Optional[Dict[str, int]]]:
    results: Dict[str, Optional[Dict[str, int]]] = {}
    try:
        server: Optional[RedisServer] = RedisServer()
    except FileNotFoundError:
        server = None
    redis_url = server.url if server else None
    folder = tempfile.mkdtemp()
    cases: List[Tuple[str, str, Tuple[str, ...]]] = [
        ("auth_sessions, memory store (per process)", "auth_sessions", ("memory",)),
        ("auth_sessions, FileTokenStore", "auth_sessions", ("file", f"{folder}/tokens.json")),
        ("auth_sessions, RedisTokenStore", "auth_sessions", ("redis", redis_url or "", "bench:")),
        ("requests-auth", "requests-auth", ("memory",)),
        ("requests-oauth2client", "requests-oauth2client", ("memory",)),
    ]
    try:
        for name, kind, spec in cases:
            if spec[0] == "redis" and not redis_url:
                results[name] = None
                continue
            with FakeVendors() as fake:
                fake.inject_token_fault("oauth2", "delay", delay=0.3)  # a slow first fetch
                kwargs = fake.session_kwargs("oauth2")
                kwargs.pop("token_store")
                ctx = multiprocessing.get_context("spawn")
                start, out = ctx.Event(), ctx.Queue()
                procs = [
                    ctx.Process(target=worker, args=(kind, spec, kwargs, start, out))
                    for _ in range(PROCESSES)
                ]
                for p in procs:
                    p.start()
                start.set()
                statuses: List[int] = []
                for _ in procs:
                    statuses += out.get(timeout=300)
                for p in procs:
                    p.join(60)
                results[name] = {
                    "token_requests": fake.counts("oauth2").token_requests,
                    "requests": len(statuses),
                    "non_2xx": sum(1 for s in statuses if s != 200),
                }
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return results


if __name__ == "__main__":
    print(f"{PROCESSES} processes x {THREADS} threads x 5 requests, cold start")
    print("| auth | token requests | requests | non-2xx |")
    print("|---|---|---|---|")
    for name, row in run().items():
        if row is None:
            print(f"| {name} | not measured (no redis-server) | | |")
        else:
            print(f"| {name} | {row['token_requests']} | {row['requests']} | {row['non_2xx']} |")
