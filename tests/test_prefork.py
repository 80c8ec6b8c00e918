"""Pre-fork servers (gunicorn --preload, uWSGI, multiprocessing with fork): a forked child
never talks over a connection its parent opened. The fake records which connection (client
port) carried each API call."""

from __future__ import annotations

import multiprocessing
import os
from typing import Any

import pytest

from auth_sessions.testing import FakeVendors

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")


def _call_and_exit(session: Any) -> None:
    ok = session.get("/from-the-child").status_code == 200
    os._exit(0 if ok else 1)


def test_a_forked_child_never_uses_its_parents_pooled_connection(
    fake_vendor: FakeVendors,
) -> None:
    session = fake_vendor.session("cobee")
    assert session.get("/warm").status_code == 200  # a module-level session, warmed
    (parent_port,) = fake_vendor.api_ports("cobee")
    child = multiprocessing.get_context("fork").Process(target=_call_and_exit, args=(session,))
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert fake_vendor.api_ports("cobee")[1] != parent_port  # the child opened its own
    assert session.get("/parent-again").status_code == 200
    assert fake_vendor.api_ports("cobee")[2] == parent_port  # the parent's is untouched
    assert fake_vendor.counts("cobee").token_requests == 1  # the token came along
