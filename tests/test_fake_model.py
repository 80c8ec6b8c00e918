"""The fake vendors' model without sockets, and the fake's shape: model, plumbing, faults."""

from __future__ import annotations

import ast
import base64
import json
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from auth_sessions.testing import FAULTS, Incoming, Reply, VendorModel
from auth_sessions.testing._vendors import SPECS

from .conftest import VENDORS

TESTING = Path(__file__).parent.parent / "auth_sessions" / "testing"
CLIENT_FREE = ("model.py", "faults.py", "_vendors.py", "_http.py")
FORM = "application/x-www-form-urlencoded"


def _ok(model: VendorModel, vendor: str, secret: Optional[str] = None) -> Incoming:
    """A well-formed token request for ``vendor`` (with the right secret unless one is given):
    the one of the known shapes that a fresh model (other credentials) refuses as
    unauthorised rather than malformed."""
    spec = model.spec(vendor)
    client_id, real = model.credentials(vendor)
    secret = real if secret is None else secret
    path = spec.prefix + spec.token_path
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    shapes = [
        ("application/json", {}, {"client_id": client_id, "client_secret": secret}),
        ("application/json", {}, {"clientId": client_id, "clientSecret": secret}),
        ("", {"x-merchant-id": client_id, "x-secret": secret}, None),
        (FORM, {"Authorization": f"Basic {basic}"}, "grant_type=client_credentials"),
    ]
    for kind, headers, body in shapes:
        raw = json.dumps(body) if isinstance(body, dict) else body or ""
        request = Incoming("POST", kind, headers, raw.encode(), path)
        if VendorModel().handle(request).status == 401:
            return request
    raise AssertionError(f"no request shape suits {vendor}")


def _api(model: VendorModel, vendor: str, token: Optional[str], path: str = "/x") -> Reply:
    headers: Dict[str, str] = dict(model.spec(vendor).api_headers)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return model.handle(Incoming("GET", "", headers, b"", model.spec(vendor).prefix + path))


def _access_token(body: Dict[str, Any]) -> str:
    return next(v for k, v in body.items() if k in ("access_token", "accessToken", "token"))


@pytest.mark.parametrize("vendor", VENDORS)
def test_model_issues_and_checks_tokens_without_a_socket(vendor: str) -> None:
    model = VendorModel()
    reply = model.handle(_ok(model, vendor))
    assert reply.status == 200
    token = _access_token(reply.payload())
    assert _api(model, vendor, token).status == 200
    assert _api(model, vendor, token + "x").status == 401
    counts = model.counts(vendor)
    assert (counts.token_requests, counts.api_calls, counts.unauthorized) == (1, 2, 1)


@pytest.mark.parametrize("vendor", VENDORS)
def test_model_refuses_a_wrong_secret_in_the_vendors_shape(vendor: str) -> None:
    model = VendorModel()
    reply = model.handle(_ok(model, vendor, secret="nope"))
    assert reply.status == 401
    assert reply.payload() == model.spec(vendor).error_body(401, "invalid client credentials")
    assert model.counts(vendor).token_rejected == 1


def test_refresh_grants_follow_the_vendors_field() -> None:
    model = VendorModel()
    refreshing = [name for name in model.vendors() if model.spec(name).refresh is not None]
    assert refreshing  # at least one vendor rotates refresh tokens
    for vendor in refreshing:
        spec = model.spec(vendor)
        assert spec.refresh is not None
        first = model.handle(_ok(model, vendor)).payload()
        refresh = next(v for v in first.values() if isinstance(v, str) and "-rt-" in v)
        path = spec.prefix + spec.refresh.path

        def grant(body: Dict[str, Any], path: str = path) -> Reply:
            return model.handle(
                Incoming("POST", "application/json", {}, json.dumps(body).encode(), path)
            )

        assert grant({"wrong": refresh}).status == 400
        assert grant({spec.refresh.field: refresh}).status == 200
        assert grant({spec.refresh.field: refresh}).status == 401  # rotated: single use
        assert model.counts(vendor).refresh_reuse == 1
        model.revoke_refresh_tokens()
        latest = [v for v in model.issued_secrets() if "-rt-" in v]
        assert all(grant({spec.refresh.field: rt}).status == 401 for rt in latest)


def test_expiry_units_are_data() -> None:
    model = VendorModel(clock=lambda: 1_000_000.0, token_lifetime=60)
    choosers = [name for name in model.vendors() if len(model.spec(name).expiry_units) > 1]
    assert choosers
    for vendor in choosers:
        stamps = {}
        for unit in model.spec(vendor).expiry_units:
            model.set_expiry_unit(vendor, unit)
            body = model.handle(_ok(model, vendor)).payload()
            stamps[unit] = next(v for v in body.values() if isinstance(v, int))
        assert stamps == {"ms": 1_000_060_000, "s": 1_000_060}
    fixed = next(name for name in model.vendors() if len(model.spec(name).expiry_units) == 1)
    with pytest.raises(ValueError, match=f"{fixed} writes expiries in s, not 'ms'"):
        model.set_expiry_unit(fixed, "ms")


@pytest.mark.parametrize("vendor", VENDORS)
def test_throttling_uses_the_vendors_delay_header(vendor: str) -> None:
    model = VendorModel()
    spec = model.spec(vendor)
    model.inject_token_fault(vendor, "status", status=429, retry_after="7")
    reply = model.handle(_ok(model, vendor))
    assert (reply.status, dict(reply.headers)) == (429, {spec.retry_header: "7"})
    model.fail_api_calls(vendor, 1, status=429, retry_after="3")
    assert dict(_api(model, vendor, None).headers) == {spec.retry_header: "3"}


def test_a_vendor_whose_429_always_says_when() -> None:
    model = VendorModel()
    always = [n for n in model.vendors() if model.spec(n).retry_on_429 is not None]
    assert always
    for vendor in always:
        model.inject_token_fault(vendor, "status", status=429)
        reply = model.handle(_ok(model, vendor))
        assert reply.headers == {"Retry-After": model.spec(vendor).retry_on_429}
        model.inject_token_fault(vendor, "status", status=503)
        assert model.handle(_ok(model, vendor)).headers == {}  # only a 429 carries it


@pytest.mark.parametrize("kind", [k for k in FAULTS if k not in ("delay", "hold")])
def test_each_fault_renders_its_own_answer(kind: str) -> None:
    model = VendorModel()
    model.inject_token_fault("sohar", kind, body={"x": 1} if kind == "body" else None)
    reply = model.handle(_ok(model, "sohar"))
    expected = {
        "status": lambda r: r.status == 503 and r.payload() == SPECS["sohar"].error_body(503, ""),
        "html": lambda r: r.content_type == "text/html",
        "empty": lambda r: (r.status, r.body) == (200, b""),
        "invalid_json": lambda r: r.body.startswith(b"{") and not r.body.endswith(b"}"),
        "not_object": lambda r: r.payload() == [1, 2, 3],
        "body": lambda r: r.payload() == {"x": 1},
        "missing_field": lambda r: (
            "access_token" not in r.payload() and "expires_in" in r.payload()
        ),
        "huge": lambda r: len(r.body) > 1024 * 1024,
        "drop": lambda r: r.drop,
        "drop_mid": lambda r: r.declared_length is not None and r.declared_length > len(r.body),
        "trickle": lambda r: r.trickle is not None and "access_token" in r.payload(),
    }[kind]
    assert expected(reply)
    assert model.handle(_ok(model, "sohar")).status == 200  # one fault, used once


def test_a_hold_answers_only_when_released() -> None:
    model = VendorModel()
    gate, arrived, replies = threading.Event(), threading.Event(), []
    model.inject_token_fault("cobee", "hold", gate=gate, arrived=arrived)
    worker = threading.Thread(target=lambda: replies.append(model.handle(_ok(model, "cobee"))))
    worker.start()
    assert arrived.wait(10)
    assert replies == []  # arrived, and held
    gate.set()
    worker.join(10)
    assert [r.status for r in replies] == [200]


def test_fault_options_are_checked() -> None:
    model = VendorModel()
    with pytest.raises(ValueError, match="unknown fault 'slow'"):
        model.inject_token_fault("sohar", "slow")
    with pytest.raises(ValueError, match="needs gate="):
        model.inject_token_fault("sohar", "hold")
    with pytest.raises(ValueError, match="fault 'html' takes no delay"):
        model.inject_token_fault("sohar", "html", delay=3)


def _imports(path: Path) -> List[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            found.append("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return found


@pytest.mark.parametrize("name", CLIENT_FREE)
def test_the_model_plumbing_and_faults_import_nothing_of_the_client(name: str) -> None:
    outside = [m for m in _imports(TESTING / name) if m.startswith("..") or "auth_sessions" in m]
    assert outside == []


@pytest.mark.parametrize("name", ("model.py", "faults.py", "_http.py", "server.py"))
def test_no_vendor_name_steers_the_fake(name: str) -> None:
    tree = ast.parse((TESTING / name).read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    strings = [
        node.value.lower()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]
    assert [(v, s) for v in SPECS for s in strings if v in s] == []
