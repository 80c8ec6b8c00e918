"""Manis: credentials in headers, epoch expiry (s or ms); no host is published."""

from __future__ import annotations

from .._parse import WireFormat
from .._vendor import Vendor, register

__all__ = ["VENDOR"]

VENDOR = register(
    Vendor(
        name="manis",
        summary="Manis: ``POST {base}/api/v1/auth/token`` with ``x-merchant-id`` / ``x-secret`` "
        "headers. ``client_id`` / ``client_secret`` are the merchant id and secret. "
        "``base_url`` (or ``MANIS_BASE_URL``) is required. ``expiresAt`` is epoch seconds, or "
        "milliseconds when above 1e12. Errors are ``{message, timestamp}`` or "
        "``{title, status, detail, ...}``.",
        environments={"production": None, "sandbox": None},
        wire=WireFormat(
            token_path="/api/v1/auth/token",
            send="headers",
            id_field="x-merchant-id",
            secret_field="x-secret",
            token_field="token",
            type_field="tokenType",
            expiry_field="expiresAt",
            expiry_format="epoch",
        ),
    )
)
