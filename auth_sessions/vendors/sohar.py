"""Sohar Health: JSON client credentials; sandbox is chosen by the credentials, same host."""

from __future__ import annotations

from .._parse import WireFormat
from ..auth import TokenAuth

__all__ = ["SoharAuth"]

_HOST = "https://api.soharhealth.com"


class SoharAuth(TokenAuth):
    """Sohar: ``POST /oauth/token`` with ``{client_id, client_secret}``; errors ``{error}``."""

    vendor = "sohar"
    environments = {"production": _HOST, "sandbox": _HOST}
    wire = WireFormat()
