"""Orum: JSON client credentials, and every API call carries ``Orum-Version``."""

from __future__ import annotations

from .._parse import WireFormat
from .._vendor import Vendor, register

__all__ = ["ORUM_VERSION", "VENDOR"]

ORUM_VERSION = "v2022-09-21"

VENDOR = register(
    Vendor(
        name="orum",
        summary="Orum: ``POST /oauth/token`` ``{client_id, client_secret}``; errors "
        "``{error_code, message}``. Sends ``Orum-Version: v2022-09-21`` unless the caller sets "
        "its own (``headers=``, the session's headers, or the request's). Bad credentials "
        "(400/401/403) are never retried: Orum firewalls clients that hammer its token "
        "endpoint. Its 429 answers may say when to come back in ``X-Retry-In`` instead of "
        "``Retry-After``.",
        environments={
            "production": "https://api.orum.io",
            "sandbox": "https://api-sandbox.orum.io",
        },
        wire=WireFormat(retry_after_headers=("X-Retry-In",)),
        default_headers={"Orum-Version": ORUM_VERSION},
    )
)
