"""Every Python sample in docs/ runs, with each vendor's env vars pointing at the fake."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from auth_sessions import TokenResponseError
from auth_sessions.sessions import _REGISTRY
from auth_sessions.testing import FakeVendors

from .conftest import PUBLISHED

DOCS = Path(__file__).resolve().parent.parent / "docs"


def blocks(page: str) -> List[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), flags=re.S)


def all_samples() -> List[Tuple[str, int]]:
    return [
        (str(path.relative_to(DOCS)), i)
        for path in sorted(DOCS.rglob("*.md"))
        for i, _ in enumerate(blocks(str(path.relative_to(DOCS))))
    ]


@pytest.fixture
def vendor_env(fake_vendor: FakeVendors) -> Iterator[FakeVendors]:
    with fake_vendor.environ(*PUBLISHED):
        yield fake_vendor


@pytest.mark.parametrize(("page", "index"), all_samples())
def test_sample_runs(vendor_env: FakeVendors, page: str, index: int) -> None:
    namespace: Dict[str, Any] = {}
    try:
        exec(blocks(page)[index], namespace)
        for name, value in list(namespace.items()):
            if name.startswith("test_") and callable(value):
                value(vendor_env)  # a user's test written with the fake_vendor fixture
    finally:
        _REGISTRY.pop("acme", None)


def test_there_are_samples() -> None:
    assert len(all_samples()) >= 5


def test_adding_a_vendor_sample_behaves() -> None:
    namespace: Dict[str, Any] = {}
    try:
        exec(blocks("vendors/index.md")[0], namespace)
        session = namespace["session"]
        assert session.vendor == "acme" and session.base_url == "https://api.acme.example"
        assert session.headers["Acme-Client"] == "auth-sessions"
        endpoint = session.auth.endpoint
        assert endpoint.token_request().data == {"user": "me", "pass": "s3cret"}
        body = {"data": {"jwt": "x", "validUntil": "2030-01-01T00:00:00Z"}}
        assert endpoint.parse(body, 1.8e9).expires_at.year == 2030
        with pytest.raises(TokenResponseError, match=r"acme: token endpoint .* 'validUntil'"):
            endpoint.token_from_response({"data": {"jwt": "x"}}, 1.8e9)
    finally:
        _REGISTRY.pop("acme", None)
