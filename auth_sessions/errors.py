"""The exception tree (API.md section 4).

Every class derives from :class:`requests.exceptions.RequestException`, so legacy
``except RequestException`` blocks keep catching them; configuration errors are also
``ValueError`` (as requests' ``MissingSchema`` is).  No exception carries the token request
or response object: those hold the client secret and tokens.
"""

from __future__ import annotations

from typing import Optional

import requests

__all__ = [
    "AuthError",
    "ConfigurationError",
    "InvalidCredentials",
    "TokenEndpointError",
    "TokenResponseError",
]


class AuthError(requests.exceptions.RequestException):
    """Base class of every error raised by auth_sessions.

    Attributes:
        vendor: the vendor name, when known.
        url: the token endpoint URL, when known.
        status_code: the HTTP status the token endpoint answered, or None.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: Optional[str] = None,
        url: Optional[str] = None,
        status_code: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.url = url
        self.status_code = status_code


class ConfigurationError(AuthError, ValueError):
    """Unknown vendor, missing credential, missing or insecure base URL, or a bad option."""


class InvalidCredentials(AuthError):
    """The token endpoint refused the credentials (HTTP 400, 401 or 403). Never retried."""


class TokenEndpointError(AuthError):
    """The token endpoint stayed unavailable after retries (5xx, 429, network, timeout).

    ``status_code`` is the last HTTP status, or None for network errors and timeouts.
    """


class TokenResponseError(AuthError):
    """A 2xx token response that is not JSON, is too large, or lacks or mistypes a field."""
