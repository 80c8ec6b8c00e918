"""The Python samples in docs/ run (against the fake vendors where they talk HTTP)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

from auth_sessions._parse import BadField
from auth_sessions.sessions import _REGISTRY
from auth_sessions.testing import FakeVendors

DOCS = Path(__file__).resolve().parent.parent / "docs"


def blocks(page: str) -> List[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


def test_adding_a_vendor_sample_runs() -> None:
    namespace: Dict[str, Any] = {}
    try:
        exec(blocks("vendors/index.md")[0], namespace)
        session = namespace["session"]
        assert session.vendor == "acme" and session.base_url == "https://api.acme.example"
        request = session.auth.token_request()
        assert request.data == {"user": "me", "pass": "s3cret"}
        body = {"data": {"jwt": "x", "validUntil": "2030-01-01T00:00:00Z"}}
        token = session.auth.parse_token(body, 1.8e9)
        assert token.expires_at.year == 2030
        with pytest.raises(BadField):
            session.auth.parse_token({"jwt": "x"}, 1.8e9)
    finally:
        _REGISTRY.pop("acme", None)


def test_testing_page_samples_run(
    fake_vendor: FakeVendors, capsys: pytest.CaptureFixture[str]
) -> None:
    user_test, without_pytest, manual_clock = blocks("testing.md")
    namespace: Dict[str, Any] = {}
    exec(user_test, namespace)
    namespace["test_sync_survives_a_revoked_token"](fake_vendor)
    exec(without_pytest, {})
    assert capsys.readouterr().out.strip() == "200"
    exec(manual_clock, {})


def test_quickstart_samples_construct() -> None:
    sample = blocks("quickstart.md")[0].replace('"..."', '"x"')
    namespace: Dict[str, Any] = {}
    exec(sample.split("session.get")[0], namespace)
    assert namespace["session"].base_url == "https://api.soharhealth.com"
