"""What each fake vendor accepts and answers: its published spec, as data and small functions."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import parse_qs, unquote

__all__ = ["SPECS", "Incoming", "Issued", "Refresh", "Reject", "VendorSpec", "iso_ms"]

Json = Dict[str, Any]


def iso_ms(ts: float) -> str:
    """``2025-03-24T18:38:47.781Z`` as Cair writes it."""
    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Reject(Exception):
    """A token request the fake refuses: the status and the vendor-shaped body."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


@dataclass(frozen=True)
class Incoming:
    """A parsed token request as the fake sees it."""

    method: str
    content_type: str
    headers: Mapping[str, str]
    body: bytes
    path: str = ""
    port: int = 0  # the client's source port (which connection carried it)
    peer_cert: bool = False  # a TLS client certificate was presented (and verified)
    scheme: str = "http"


@dataclass(frozen=True)
class Issued:
    """A token the fake has just issued, in the fake's (possibly skewed) clock."""

    token: str
    now: float
    expires: float
    refresh: Optional[str] = None
    refresh_expires: Optional[float] = None
    unit: str = "s"  # how absolute expiries are written, for vendors that offer a choice


@dataclass(frozen=True)
class Refresh:
    """A refresh grant: where it is posted and the one JSON field that carries the token."""

    path: str
    field: str


@dataclass(frozen=True)
class VendorSpec:
    """One fake vendor: where it lives and how its token endpoint behaves, as data.

    ``credentials`` reads (client_id, client_secret) from a valid request or raises
    :class:`Reject`; ``token_body`` writes a successful answer; ``error_body`` writes the
    vendor's error shape for a status and a message.
    """

    name: str
    prefix: str
    token_path: str
    credentials: Callable[[Incoming], Tuple[str, str]]
    token_body: Callable[[Issued], Json]
    error_body: Callable[[int, str], Json]
    refresh: Optional[Refresh] = None
    api_headers: Mapping[str, str] = field(default_factory=dict)
    retry_header: str = "Retry-After"  # where a 429/503 says when to come back
    retry_on_429: Optional[str] = None  # the delay a 429 always carries, if none is chosen
    expiry_units: Tuple[str, ...] = ("s",)  # the first is the default
    token_url_option: bool = False  # the client needs token_url= (no env var gives it)
    client_methods: bool = False  # also JWT assertions and TLS client certificates (RFC 8705)

    def retry_headers(self, status: int, retry_after: Optional[str]) -> Dict[str, str]:
        """The headers a ``status`` answer carries, as this vendor sends them."""
        value = retry_after if retry_after is not None or status != 429 else self.retry_on_429
        return {self.retry_header: value} if value is not None else {}


def _json_object(req: Incoming, error: Callable[[int, str], Json]) -> Json:
    if req.method != "POST":
        raise Reject(405, error(405, "method not allowed"))
    if req.content_type.split(";")[0].strip().lower() != "application/json":
        raise Reject(400, error(400, "content type must be application/json"))
    try:
        data = json.loads(req.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Reject(400, error(400, "body is not JSON")) from None
    if not isinstance(data, dict):
        raise Reject(400, error(400, "body must be an object"))
    return data


def _exact_keys(
    data: Json, id_key: str, secret_key: str, error: Callable[[int, str], Json]
) -> Tuple[str, str]:
    for key in (id_key, secret_key):
        if key not in data:
            raise Reject(400, error(400, f"body: must have required property '{key}'"))
        if not isinstance(data[key], str):
            raise Reject(400, error(400, f"{key} must be a string"))
    extra = sorted(set(data) - {id_key, secret_key})
    if extra:
        raise Reject(400, error(400, f"body: unexpected property '{extra[0]}'"))
    return data[id_key], data[secret_key]


def _json_credentials(
    id_key: str, secret_key: str, error: Callable[[int, str], Json]
) -> Callable[[Incoming], Tuple[str, str]]:
    def read(req: Incoming) -> Tuple[str, str]:
        if "authorization" in {k.lower() for k in req.headers}:
            raise Reject(400, error(400, "token endpoint takes no Authorization header"))
        return _exact_keys(_json_object(req, error), id_key, secret_key, error)

    return read


# --- Sohar ---------------------------------------------------------------------------------


def _sohar_error(status: int, message: str) -> Json:
    return {"error": "invalid_request_error"}


def _seconds_body(it: Issued) -> Json:
    return {"access_token": it.token, "token_type": "Bearer", "expires_in": _left(it)}


def _left(it: Issued) -> float:
    return round(it.expires - it.now, 3)


# --- Cair ----------------------------------------------------------------------------------


def _cair_error(status: int, message: str) -> Json:
    return {"message": message}


def _cair_body(it: Issued) -> Json:
    return {
        "accessToken": it.token,
        "refreshToken": it.refresh,
        "expiresAt": iso_ms(it.expires),
        "refreshTokenExpiresAt": iso_ms(it.refresh_expires or it.expires),
    }


# --- Orum ----------------------------------------------------------------------------------


def _orum_error(status: int, message: str) -> Json:
    codes = {
        400: "invalid_request",
        401: "unauthorized",
        403: "forbidden",
        429: "too_many_requests",
    }
    return {"error_code": codes.get(status, "internal_error"), "message": message, "details": None}


def _orum_credentials(req: Incoming) -> Tuple[str, str]:
    if "authorization" in {k.lower() for k in req.headers}:
        raise Reject(400, _orum_error(400, "token endpoint takes no Authorization header"))
    kind = req.content_type.split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8")).items()}
        return _exact_keys(dict(form), "client_id", "client_secret", _orum_error)
    data = _json_object(req, _orum_error)
    for key in ("client_id", "client_secret"):
        if key not in data:
            raise Reject(
                400,
                {"error_code": f"missing_{key}", "message": f"{key} is required", "details": None},
            )
    return _exact_keys(data, "client_id", "client_secret", _orum_error)


# --- Cobee ---------------------------------------------------------------------------------


def _cobee_error(status: int, message: str) -> Json:
    if status == 400:
        return {"code": "validation_error", "message": message}
    if status == 429:
        return {"error": "rate_limited", "error_description": message}
    return {"message": "Unauthorized" if status == 401 else message}


def _cobee_body(it: Issued) -> Json:
    return {"accessToken": it.token, "tokenType": "Bearer", "expiresIn": _left(it)}


# --- Manis ---------------------------------------------------------------------------------


def _manis_error(status: int, message: str) -> Json:
    stamp = iso_ms(0.0)
    if status == 400:
        return {
            "timestamp": stamp,
            "title": "Bad Request",
            "type": "about:blank",
            "status": 400,
            "soaCode": "AUTH-400",
            "detail": message,
        }
    return {"message": message, "timestamp": stamp}


def _manis_credentials(req: Incoming) -> Tuple[str, str]:
    if req.method != "POST":
        raise Reject(405, _manis_error(405, "method not allowed"))
    lower = {k.lower(): v for k, v in req.headers.items()}
    if "authorization" in lower:
        raise Reject(400, _manis_error(400, "token endpoint takes no Authorization header"))
    if req.body:
        raise Reject(400, _manis_error(400, "the token request has no body"))
    for name in ("x-merchant-id", "x-secret"):
        if not lower.get(name):
            raise Reject(400, _manis_error(400, f"header {name} is required"))
    return lower["x-merchant-id"], lower["x-secret"]


def _manis_body(it: Issued) -> Json:
    stamp = int(it.expires * 1000) if it.unit == "ms" else int(it.expires)
    return {"token": it.token, "tokenType": "Bearer", "expiresAt": stamp}


# --- Generic RFC 6749 ----------------------------------------------------------------------


def _oauth2_error(status: int, message: str) -> Json:
    code = "invalid_client" if status == 401 else "invalid_request"
    return {"error": code, "error_description": message}


def _oauth2_credentials(req: Incoming) -> Tuple[str, str]:
    if req.method != "POST":
        raise Reject(405, _oauth2_error(405, "method not allowed"))
    if req.content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        raise Reject(
            400, _oauth2_error(400, "content type must be application/x-www-form-urlencoded")
        )
    form = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
    if form.get("grant_type") != ["client_credentials"]:
        raise Reject(400, {"error": "unsupported_grant_type"})
    auth = {k.lower(): v for k, v in req.headers.items()}.get("authorization", "")
    in_body = "client_secret" in form
    if auth.startswith("Basic "):
        if in_body:
            raise Reject(400, _oauth2_error(400, "use one client authentication method"))
        try:
            pair = base64.b64decode(auth[6:]).decode("utf-8")
        except ValueError:
            raise Reject(401, _oauth2_error(401, "bad basic credentials")) from None
        client_id, _, secret = pair.partition(":")
        return unquote(client_id), unquote(secret)
    if auth:
        raise Reject(400, _oauth2_error(400, "unsupported Authorization header"))
    if not in_body or "client_id" not in form:
        raise Reject(401, _oauth2_error(401, "client authentication failed"))
    return form["client_id"][0], form["client_secret"][0]


SPECS: Dict[str, VendorSpec] = {
    spec.name: spec
    for spec in (
        VendorSpec(
            "sohar",
            "/sohar",
            "/oauth/token",
            _json_credentials("client_id", "client_secret", _sohar_error),
            _seconds_body,
            _sohar_error,
        ),
        VendorSpec(
            "cair",
            "/cair",
            "/api/token",
            _json_credentials("clientId", "clientSecret", _cair_error),
            _cair_body,
            _cair_error,
            refresh=Refresh("/api/refresh", "refreshToken"),
        ),
        VendorSpec(
            "orum",
            "/orum",
            "/oauth/token",
            _orum_credentials,
            _seconds_body,
            _orum_error,
            api_headers={"Orum-Version": "v2022-09-21"},
            retry_header="X-Retry-In",
        ),
        VendorSpec(
            "cobee",
            "/cobee/api/v3",
            "/oauth/token",
            _json_credentials("clientId", "clientSecret", _cobee_error),
            _cobee_body,
            _cobee_error,
            retry_on_429="1",  # its 429s always say when to come back
        ),
        VendorSpec(
            "manis",
            "/manis",
            "/api/v1/auth/token",
            _manis_credentials,
            _manis_body,
            _manis_error,
            expiry_units=("ms", "s"),
        ),
        VendorSpec(
            "oauth2",
            "/oauth2",
            "/token",
            _oauth2_credentials,
            _seconds_body,
            _oauth2_error,
            token_url_option=True,
            client_methods=True,
        ),
    )
}
