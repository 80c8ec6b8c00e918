"""Cair Health: ISO-8601 expiries and a rotating refresh token; no sandbox host published."""

from __future__ import annotations

from .._parse import WireFormat
from .._vendor import Vendor, register

__all__ = ["VENDOR"]

VENDOR = register(
    Vendor(
        name="cair",
        summary="Cair: ``POST /api/token`` ``{clientId, clientSecret}``, ``POST /api/refresh``. "
        "Each refresh answers a new refresh token (rotation); the latest one is stored with "
        "the access token, and a refused or expired refresh falls back to ``/api/token``.",
        environments={"production": "https://forecaster.cairhealth.com", "sandbox": None},
        wire=WireFormat(
            token_path="/api/token",
            id_field="clientId",
            secret_field="clientSecret",
            token_field="accessToken",
            type_field=None,
            expiry_field="expiresAt",
            expiry_format="iso8601",
            refresh_path="/api/refresh",
            refresh_request_field="refreshToken",
            refresh_field="refreshToken",
            refresh_expiry_field="refreshTokenExpiresAt",
            single_use_refresh=True,
        ),
    )
)
