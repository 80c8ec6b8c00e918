"""Construction-time checks of credentials and options: a clear ``ConfigurationError`` that
names the setting — never its value — instead of a failure at the first request."""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Union

import requests

from ._http import RetryPolicy
from .errors import ConfigurationError
from .tokens import Secret

__all__ = [
    "ENV_SETTING",
    "check_auth_options",
    "check_credentials",
    "check_timeout",
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


def _positive(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def check_timeout(vendor: str, value: Any, setting: str, *, optional: bool) -> None:
    """A finite positive number of seconds, or a (connect, read) pair of them."""
    if value is None and optional:
        return
    if isinstance(value, tuple) and len(value) == 2 and all(_positive(v) for v in value):
        return
    if _positive(value):
        return
    raise _fail(
        vendor,
        f"{setting} must be a finite number of seconds > 0 or a (connect, read) pair of them"
        + (", or None" if optional else ""),
    )


def check_auth_options(
    vendor: str,
    leeway: Any,
    timeout: Any,
    retry: Any,
    token_deadline: Any,
    cooldown: Any,
    background: Any,
    **more: Any,
) -> None:
    """The options every auth class takes."""
    _check_types(vendor, **more)
    if leeway is not None and not (_positive(leeway) or leeway == 0):
        raise _fail(vendor, "leeway must be a finite number >= 0 or None")
    check_timeout(vendor, timeout, "token timeout", optional=False)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise _fail(vendor, "retry must be a RetryPolicy or None")
    if not _positive(token_deadline):
        raise _fail(vendor, "token_deadline must be a finite number of seconds > 0")
    if not (_positive(cooldown) or cooldown == 0) or isinstance(cooldown, bool):
        raise _fail(vendor, "cooldown must be a finite number of seconds >= 0")
    if not isinstance(background, bool):
        raise _fail(vendor, "background must be True or False")


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


def _check_types(
    vendor: str,
    headers: Any = None,
    token_store: Any = None,
    clock: Any = None,
    token_session: Any = None,
    environment: Any = None,
    base_url: Any = None,
) -> None:
    from .stores.base import TokenStore  # the stores import this module's neighbours

    if headers is not None and not (
        isinstance(headers, Mapping)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise _fail(vendor, "headers must be a mapping of str to str")
    if token_store is not None and not isinstance(token_store, TokenStore):
        raise _fail(vendor, "token_store must be a token store (MemoryTokenStore, ...)")
    if clock is not None and not callable(clock):
        raise _fail(vendor, "clock must be a callable returning epoch seconds")
    if token_session is not None and not isinstance(token_session, requests.Session):
        raise _fail(vendor, "token_session must be a requests.Session or None")
    for name, value in (("environment", environment), ("base_url", base_url)):
        if value is not None and not isinstance(value, str):
            raise _fail(vendor, f"{name} must be a string or None")
