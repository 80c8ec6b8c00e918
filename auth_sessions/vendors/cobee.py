"""Cobee Partners API: camelCase JSON; the base URLs carry the ``/api/v3`` prefix."""

from __future__ import annotations

from .._parse import WireFormat
from .._vendor import Vendor, register

__all__ = ["VENDOR"]

VENDOR = register(
    Vendor(
        name="cobee",
        summary="Cobee: ``POST {base}/oauth/token`` ``{clientId, clientSecret}``; errors "
        "``{code, message}``. Its 429 answers carry ``{error, error_description}`` and "
        "``Retry-After``, which is honoured.",
        environments={
            "production": "https://partners-api.cobee.io/api/v3",
            "sandbox": "https://pre-partners-api.cobee.io/api/v3",
        },
        wire=WireFormat(
            id_field="clientId",
            secret_field="clientSecret",
            token_field="accessToken",
            type_field="tokenType",
            expiry_field="expiresIn",
        ),
    )
)
