"""Construction-time checks of credentials and options: a clear ``ConfigurationError`` that
names the setting — never its value — instead of a failure at the first request."""

from __future__ import annotations

from typing import Mapping, Optional, Union

from .errors import ConfigurationError
from .tokens import Secret

__all__ = [
    "ENV_SETTING",
    "check_credentials",
    "checked_secret",
    "published_base_url",
]

ENV_SETTING = "environment= or {}_ENVIRONMENT"
"""How messages name the environment setting; the factory narrows it to the one used."""


def _fail(vendor: str, message: str) -> ConfigurationError:
    return ConfigurationError(f"{vendor}: {message}", vendor=vendor)


def check_credential(vendor: str, value: Optional[str], setting: str, *, header: bool) -> None:
    """Refuse an empty value, surrounding whitespace, control characters, and (for vendors
    that send credentials in headers) characters a header cannot carry."""
    if not value:
        raise _fail(vendor, f"{setting} is required")
    if value != value.strip():
        raise _fail(vendor, f"{setting} has leading or trailing whitespace (a copied value?)")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise _fail(vendor, f"{setting} contains a control character")
    if header and any(ord(c) > 255 for c in value):  # latin-1 is what a header can carry
        raise _fail(vendor, f"{setting} has characters an HTTP header cannot carry")


def check_credentials(
    vendor: str,
    client_id: Optional[str],
    secret: Optional[Secret],
    *,
    header: bool,
    id_setting: str = "client_id",
    secret_setting: str = "client_secret",
) -> None:
    """Both credentials, checked as :func:`check_credential` says."""
    if client_id is not None and not isinstance(client_id, str):
        raise _fail(vendor, f"{id_setting} must be a string")
    check_credential(vendor, client_id, id_setting, header=header)
    check_credential(vendor, secret.reveal() if secret else None, secret_setting, header=header)


def checked_secret(
    vendor: str, client_id: Optional[str], client_secret: Union[str, Secret, None], header: bool
) -> Secret:
    """The credentials checked (see :func:`check_credential`), the secret wrapped."""
    secret = client_secret if isinstance(client_secret, Secret) else None
    if secret is None and isinstance(client_secret, str):
        secret = Secret(client_secret)
    check_credentials(vendor, client_id, secret, header=header)
    assert secret is not None
    return secret


def published_base_url(
    vendor: str,
    environments: Mapping[str, Optional[str]],
    base_url: Optional[str],
    environment: str,
) -> str:
    """``base_url`` when given, else the one ``environments`` publishes for ``environment``."""
    chosen = f" (chosen by {ENV_SETTING.format(vendor.upper())})"
    if environment not in environments and environments:
        known = ", ".join(sorted(environments))
        raise _fail(vendor, f"unknown environment {environment!r}; choose one of: {known}{chosen}")
    if base_url:
        return base_url.rstrip("/")
    published = environments.get(environment)
    if not published:
        why = chosen if environment != "production" else ""
        raise _fail(
            vendor,
            f"no {environment} base URL is published for {vendor}; pass base_url= or set "
            f"{vendor.upper()}_BASE_URL{why}",
        )
    return published
