"""Orum: the Orum-Version header, and bad credentials never retried."""

from __future__ import annotations

import requests

from auth_sessions.vendors.orum import ORUM_VERSION


def test_orum_version_on_every_call(fake_vendor) -> None:  # type: ignore[no-untyped-def]
    session = fake_vendor.session("orum")
    assert session.headers["Orum-Version"] == ORUM_VERSION == "v2022-09-21"
    assert session.get("/deliver/transfers").status_code == 200  # the fake requires it
    # without the factory, too
    assert (
        requests.get(fake_vendor.base_url("orum") + "/x", auth=session.auth, timeout=5).status_code
        == 200
    )


def test_orum_version_overridable(fake_vendor) -> None:  # type: ignore[no-untyped-def]
    session = fake_vendor.session("orum", headers={"Orum-Version": "v2099-01-01"})
    assert session.get("/x").status_code == 400  # the fake speaks only v2022-09-21
    assert session.get("/x", headers={"Orum-Version": ORUM_VERSION}).status_code == 200
