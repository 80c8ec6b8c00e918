"""Sessions and auth objects survive pickle, copy and deepcopy, and work in a
multiprocessing pool (spawn and fork); a VendorSession's default timeout reaches every send."""

from __future__ import annotations

import copy
import multiprocessing
import pickle
from pathlib import Path
from typing import Any, Dict

import pytest
import requests

from auth_sessions import FileTokenStore, TokenAuth, vendor_class
from auth_sessions.testing import FakeVendors

from .conftest import VENDORS
from .stores._workers import get_status


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_auth_class_pickles_and_copies(fake_vendor: FakeVendors, vendor: str) -> None:
    auth = fake_vendor.auth(vendor)
    token = auth.get_token()
    for twin in (pickle.loads(pickle.dumps(auth)), copy.copy(auth), copy.deepcopy(auth)):
        assert type(twin) is type(auth) and isinstance(twin, TokenAuth)
        assert (twin.client_id, twin.base_url, twin.store_key) == (
            auth.client_id,
            auth.base_url,
            auth.store_key,
        )
        assert twin.get_token() == token  # reattached to this process's manager: no fetch
    assert fake_vendor.counts(vendor).token_requests == 1


def test_session_pickles_with_its_settings(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("cobee", timeout=(2.0, 7.0))
    session.get("/warm")
    for twin in (pickle.loads(pickle.dumps(session)), copy.copy(session), copy.deepcopy(session)):
        assert (twin.vendor, twin.base_url, twin.timeout) == ("cobee", session.base_url, (2.0, 7.0))
        assert twin.get("/employees").status_code == 200
    assert fake_vendor.counts("cobee").token_requests == 1


def test_copied_session_uses_its_own_transport(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("sohar")
    twin = copy.copy(session)
    twin.proxies = {"http": "http://127.0.0.1:9"}  # a dead proxy: only the twin uses it
    twin.auth.forget()
    assert session.get("/a").status_code == 200  # the original is not bound to the twin's


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_session_in_a_multiprocessing_pool(
    tmp_path: Path, method: str, fake_vendor: FakeVendors
) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    session = fake_vendor.session("orum", token_store=store)
    session.get("/warm")
    with multiprocessing.get_context(method).Pool(2) as pool:
        results = pool.map(get_status, [session] * 4)
    assert [status for status, _ in results] == [200] * 4
    assert fake_vendor.counts("orum").token_requests == 1  # the children found it in the file


def test_pickle_holds_the_secret_as_documented(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("manis")
    secret = fake_vendor.credentials("manis")[1]
    assert secret.encode() in pickle.dumps(session)  # docs/security.md says so
    assert secret not in repr(session) and secret not in repr(session.auth)


def test_default_timeout_reaches_send_of_a_prepared_request(fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("cobee", timeout=(3.0, 9.0))
    seen: Dict[str, Any] = {}
    prepared = session.prepare_request(requests.Request("GET", session.base_url + "/employees"))
    prepared.hooks["response"].append(lambda r, **kwargs: seen.update(kwargs))
    assert session.send(prepared).status_code == 200
    assert seen["timeout"] == (3.0, 9.0)
    seen.clear()
    session.get("/employees", hooks={"response": lambda r, **kw: seen.update(kw)})
    assert seen["timeout"] == (3.0, 9.0)
    session.get("/employees", timeout=1.5, hooks={"response": lambda r, **kw: seen.update(kw)})
    assert seen["timeout"] == 1.5


def test_generic_vendor_copies_keep_their_token_url(fake_vendor: FakeVendors) -> None:
    auth = vendor_class("oauth2")(
        *fake_vendor.credentials("oauth2"), token_url=fake_vendor.token_url("oauth2"), scope="x"
    )
    assert pickle.loads(pickle.dumps(auth)).store_key == auth.store_key
