"""The pytest plugin: the ``fake_vendor`` fixture (registered through ``pytest11``)."""

from __future__ import annotations

from typing import Iterator

import pytest

from .server import FakeVendors


@pytest.fixture
def fake_vendor() -> Iterator[FakeVendors]:
    """A running :class:`~auth_sessions.testing.FakeVendors`, stopped after the test.

    ``fake_vendor.session("cobee")`` builds a session for any vendor against it, with its own
    token store, so tests never share tokens.
    """
    with FakeVendors() as fake:
        yield fake
