"""Secret-leak scan: every vendor's happy and failure flows, everything they print captured,
and not one client secret, access token or refresh token the fake issued in any of it."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import List

import pytest

from auth_sessions import AuthError, RetryPolicy
from auth_sessions.testing import FakeVendors

from .conftest import VENDORS

NO_WAIT = RetryPolicy(total=1, backoff_factor=0.0, max_retry_after=0.0)
WRONG = "wrong-secret-0123456789"


def _flows(fake: FakeVendors, vendor: str, seen: List[object]) -> None:
    session = fake.session(vendor, retry=NO_WAIT)
    seen += [session, session.auth, fake.store]
    session.get("/happy")
    session.post("/happy", json={"x": 1}, data=None)
    seen.append(session.auth.get_token())
    fake.fail_api_calls(vendor, 1)  # 401 -> re-auth -> replay
    session.get("/replayed")
    seen.append(session.auth.get_token())

    # the vendor echoes the token and the secret in its error body during a re-auth
    sent = fake.api_log(vendor)[-1][2] or ""
    token = sent.split(" ", 1)[-1]
    secret = fake.credentials(vendor)[1]
    fake.revoke_tokens(vendor)
    echo = {"message": f"token {token} refused for secret {secret}", "error": token}
    # (a vendor with a refresh grant tries it first, then client credentials: both echo)
    refreshing = session.auth.wire.refresh_path is not None
    fake.inject_token_fault(vendor, "status", status=401, body=echo, count=2 if refreshing else 1)
    failures: List[BaseException] = []
    for call in (
        lambda: session.get("/echo"),
        lambda: fake.session(vendor, client_secret=WRONG).get("/wrong"),
        lambda: (
            fake.inject_token_fault(vendor, "status", status=503, count=5),
            fake.session(vendor, retry=NO_WAIT, token_store=None).get("/down"),
        ),
        lambda: (
            fake.inject_token_fault(vendor, "html"),
            fake.session(vendor, token_store=None).get("/html"),
        ),
    ):
        try:
            call()
        except AuthError as exc:
            failures.append(exc)
    assert len(failures) == 4, failures
    for exc in failures:
        seen += [exc, exc.args, exc.__cause__, exc.__context__]


def _cli(fake: FakeVendors, vendor: str) -> str:
    client_id, secret = fake.credentials(vendor)
    env = dict(os.environ)
    prefix = vendor.upper()
    env.update(
        {
            f"{prefix}_CLIENT_ID": client_id,
            f"{prefix}_CLIENT_SECRET": secret,
            f"{prefix}_BASE_URL": fake.base_url(vendor),
        }
    )
    out = []
    for args in (
        ["token", vendor],
        ["token", vendor, "--json"],
        ["check", vendor],
        ["--debug", "check", vendor],
    ):
        result = subprocess.run(
            [sys.executable, "-m", "auth_sessions", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        out += [result.stdout, result.stderr]
    env[f"{prefix}_CLIENT_SECRET"] = WRONG
    result = subprocess.run(
        [sys.executable, "-m", "auth_sessions", "--debug", "token", vendor],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    return "\n".join([*out, result.stdout, result.stderr])


@pytest.mark.parametrize("vendor", [v for v in VENDORS if v != "oauth2"])
def test_no_secret_anywhere(
    fake_vendor: FakeVendors, vendor: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen: List[object] = []
    with caplog.at_level(logging.DEBUG):  # the root logger: every library's records
        _flows(fake_vendor, vendor, seen)
    text = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records)
    text += "\n".join(f"{obj!s}\n{obj!r}" for obj in seen)
    text += _cli(fake_vendor, vendor)
    assert "***" in text  # the echoed secrets were there, and were redacted
    secrets = fake_vendor.issued_secrets() | {WRONG}
    leaked = sorted(s for s in secrets if s in text)
    assert leaked == []


def test_no_secret_generic_oauth2(
    fake_vendor: FakeVendors, caplog: pytest.LogCaptureFixture
) -> None:
    seen: List[object] = []
    with caplog.at_level(logging.DEBUG):
        _flows(fake_vendor, "oauth2", seen)
    text = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    text += "\n".join(f"{obj!s}\n{obj!r}" for obj in seen)
    assert not [s for s in fake_vendor.issued_secrets() | {WRONG} if s in text]
