"""Sohar Health: JSON client credentials; sandbox is chosen by the credentials, same host."""

from __future__ import annotations

from .._parse import WireFormat
from .._vendor import Vendor, register

__all__ = ["VENDOR"]

_HOST = "https://api.soharhealth.com"

VENDOR = register(
    Vendor(
        name="sohar",
        summary="Sohar: ``POST /oauth/token`` with ``{client_id, client_secret}``; errors "
        "``{error}``.",
        environments={"production": _HOST, "sandbox": _HOST},
        wire=WireFormat(),
    )
)
