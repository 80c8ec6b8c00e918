"""The auth-sessions command, run as a subprocess like a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from typing import Dict, Optional

import pytest

import auth_sessions
from auth_sessions.testing import FakeVendors

from ._net import serve_fake
from .conftest import VENDORS


def run(*args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:  # type: ignore[type-arg]
    full_env = {
        k: v for k, v in os.environ.items() if not k.endswith(("_CLIENT_ID", "_CLIENT_SECRET"))
    }
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "auth_sessions", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
        check=False,
    )


def _env(fake: FakeVendors, vendor: str, secret: Optional[str] = None) -> Dict[str, str]:
    client_id, client_secret = fake.credentials(vendor)
    prefix = vendor.upper()
    return {
        f"{prefix}_CLIENT_ID": client_id,
        f"{prefix}_CLIENT_SECRET": secret or client_secret,
        f"{prefix}_BASE_URL": fake.base_url(vendor),
    }


def test_demo_runs_every_vendor() -> None:
    result = run("demo")
    assert result.returncode == 0, result.stderr
    assert "24 steps, all as expected." in result.stdout
    for vendor in VENDORS:
        assert vendor in result.stdout
    assert "refresh token rotated" in result.stdout
    assert "-at-" not in result.stdout and "-rt-" not in result.stdout  # no fake token printed
    rows = json.loads(run("demo", "--json").stdout)
    assert len(rows) == 24 and all(row["ok"] for row in rows)


def test_token_hidden_unless_asked(fake_vendor: FakeVendors) -> None:
    env = _env(fake_vendor, "cobee")
    result = run("token", "cobee", env=env)
    assert result.returncode == 0, result.stderr
    assert "token_type: Bearer" in result.stdout and "expires_at:" in result.stdout
    issued = fake_vendor.issued_secrets()
    assert not any(secret in result.stdout + result.stderr for secret in issued)
    shown = json.loads(run("token", "cobee", "--json", "--show-token", env=env).stdout)
    assert shown["access_token"] in fake_vendor.issued_secrets()


def test_bad_credentials_exit_1_one_line(fake_vendor: FakeVendors) -> None:
    result = run("token", "orum", env=_env(fake_vendor, "orum", secret="not-the-right-one"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "orum: token endpoint" in result.stderr and "401" in result.stderr
    assert "not-the-right-one" not in result.stderr + result.stdout


def test_debug_shows_traceback(fake_vendor: FakeVendors) -> None:
    result = run(
        "--debug", "token", "orum", env=_env(fake_vendor, "orum", secret="not-the-right-one")
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "not-the-right-one" not in result.stderr + result.stdout


def test_configuration_and_usage_errors_exit_2() -> None:
    missing = run("token", "cobee")
    assert missing.returncode == 2
    assert (
        missing.stderr.strip() == "auth-sessions: error: cobee: no client id: set COBEE_CLIENT_ID"
    )
    assert run("token", "nope").returncode == 2
    assert run("frobnicate").returncode == 2
    assert run().returncode == 2
    assert run("check", "sohar").returncode == 2


def test_check_reports_each_vendor(fake_vendor: FakeVendors) -> None:
    env = {**_env(fake_vendor, "cobee"), **_env(fake_vendor, "manis", secret="bad-merchant-secret")}
    result = run("check", "--json", env=env)
    assert result.returncode == 1
    rows = {row["vendor"]: row for row in json.loads(result.stdout)}
    assert rows["cobee"]["status"] == "ok"
    assert rows["manis"]["status"] == "failed"
    assert rows["sohar"]["status"] == "skipped"
    assert "bad-merchant-secret" not in result.stdout
    assert run("check", "cobee", env=env).returncode == 0


def test_vendors_table() -> None:
    result = run("vendors")
    assert result.returncode == 0
    assert "https://partners-api.cobee.io/api/v3" in result.stdout
    for method in ("client_secret_basic", "private_key_jwt", "tls_client_auth"):
        assert f"  {method} " in result.stdout  # each oauth2 method, with a sample
    rows = json.loads(run("vendors", "--json").stdout)
    assert {row["vendor"] for row in rows} == set(auth_sessions.vendor_names())
    methods = {row["vendor"]: set(row["client_auth"]) for row in rows}
    assert {"client_secret_jwt", "self_signed_tls_client_auth"} <= methods["oauth2"]
    assert methods["cobee"] == set()  # a published vendor has its one way


def test_configuration_hints_use_the_clis_flags() -> None:
    result = run(
        "token",
        "cair",
        "--environment",
        "sandbox",
        env={"CAIR_CLIENT_ID": "a", "CAIR_CLIENT_SECRET": "b"},
    )
    assert result.returncode == 2
    assert "pass --base-url or set CAIR_BASE_URL (chosen by --environment)" in result.stderr
    assert "base_url=" not in result.stderr
    missing = run("token", "cobee")
    assert missing.returncode == 2 and "set COBEE_CLIENT_ID" in missing.stderr
    assert "client_id=" not in missing.stderr


def test_environment_names_are_case_insensitive(fake_vendor: FakeVendors) -> None:
    env = {**fake_vendor.env_vars("cobee"), "COBEE_ENVIRONMENT": "Sandbox"}
    result = run("token", "cobee", env=env)
    assert result.returncode == 0, result.stderr


def test_environment_chosen_by_env_var_is_named() -> None:
    env = {"CAIR_CLIENT_ID": "a", "CAIR_CLIENT_SECRET": "b", "CAIR_ENVIRONMENT": "sandbox"}
    result = run("token", "cair", env=env)
    assert result.returncode == 2 and "(chosen by CAIR_ENVIRONMENT)" in result.stderr


def test_a_closed_pipe_ends_quietly() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "auth_sessions", "vendors", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # `| head -1`
    process.stdout.close()
    assert process.wait(60) == 0
    assert process.stderr.read() == b""


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("vendors",), 0),
        (("token", "orum"), 1),  # wrong secret: authentication failed
        (("token", "nosuchvendor"), 2),  # configuration
        (("frobnicate",), 2),  # usage
    ],
)
def test_every_documented_exit_code(fake_vendor: FakeVendors, args: tuple, code: int) -> None:  # type: ignore[type-arg]
    env = {**fake_vendor.env_vars("orum"), "ORUM_CLIENT_SECRET": "wrong-secret-123"}
    assert run(*args, env=env).returncode == code


def test_fake_command_serves_the_cli() -> None:
    for exports, _ in serve_fake():
        assert {"COBEE_CLIENT_ID", "MANIS_BASE_URL", "OAUTH2_ISSUER"} <= set(exports)
        result = run("check", env=exports)
        assert result.returncode == 0, result.stderr
        assert result.stdout.count(" ok ") == 6  # the five published vendors, and oauth2


def test_environ_helper_sets_and_restores(fake_vendor: FakeVendors, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SOHAR_CLIENT_ID", "before")
    with fake_vendor.environ() as exported:
        assert os.environ["SOHAR_CLIENT_ID"] == fake_vendor.credentials("sohar")[0]
        assert auth_sessions.for_vendor("manis").get("/x").status_code == 200
        assert exported["OAUTH2_ISSUER"] == fake_vendor.issuer("oauth2")  # discovery does the rest
        assert auth_sessions.for_vendor("oauth2").get("/x").status_code == 200
    assert os.environ["SOHAR_CLIENT_ID"] == "before"
    assert "MANIS_CLIENT_ID" not in os.environ


def test_ctrl_c_while_waiting_for_a_token_exits_130() -> None:
    with FakeVendors() as fake:
        gate, arrived = threading.Event(), threading.Event()
        fake.inject_token_fault("cobee", "hold", gate=gate, arrived=arrived)
        env = {**os.environ, **fake.env_vars("cobee")}
        process = subprocess.Popen(
            [sys.executable, "-m", "auth_sessions", "token", "cobee"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            assert arrived.wait(60)  # the CLI is now waiting for its token
            process.send_signal(signal.SIGINT)
            assert process.wait(30) == 130
        finally:
            gate.set()
            process.kill() if process.poll() is None else None


@pytest.mark.parametrize(
    ("extra", "named"),
    [({"COBEE_ENVIRONMENT": "staging"}, "COBEE_ENVIRONMENT"),
     ({"COBEE_CLIENT_SECRET": "s3cret-with-space "}, "COBEE_CLIENT_SECRET")],
)  # fmt: skip
def test_check_exits_2_on_configuration_and_names_the_variable(
    fake_vendor: FakeVendors, extra: Dict[str, str], named: str
) -> None:
    env = {**_env(fake_vendor, "cobee"), **extra}
    if "COBEE_ENVIRONMENT" in extra:
        del env["COBEE_BASE_URL"]  # let the environment choose the host
    result = run("check", "cobee", "--json", env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    (row,) = json.loads(result.stdout)
    assert row["status"] == "config error" and named in row["detail"]
    assert "s3cret-with-space" not in result.stdout + result.stderr


def test_cli_errors_carry_no_python_hint(fake_vendor: FakeVendors) -> None:
    env = _env(fake_vendor, "orum", secret="wrong-secret-123")
    for args in (("token", "orum"), ("check", "orum")):
        result = run(*args, env=env)
        assert result.returncode == 1
        output = result.stdout + result.stderr
        assert "answered 401" in output
        assert "forget()" not in output and "not tried again" not in output
