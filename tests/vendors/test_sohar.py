"""Sohar: sandbox is the same host."""

from __future__ import annotations

import auth_sessions


def test_sandbox_same_host() -> None:
    prod = auth_sessions.for_vendor("sohar", client_id="a", client_secret="b")
    sandbox = auth_sessions.for_vendor(
        "sohar", client_id="a", client_secret="b", environment="sandbox"
    )
    assert prod.base_url == sandbox.base_url == "https://api.soharhealth.com"
