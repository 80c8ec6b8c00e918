"""The exception tree (API.md section 4).

Every class derives from :class:`requests.exceptions.RequestException`, so legacy
``except RequestException`` blocks keep catching them; configuration errors are also
``ValueError`` (as requests' ``MissingSchema`` is).  No exception carries the token request
or response object: those hold the client secret and tokens.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Type

import requests

__all__ = [
    "AuthError",
    "ConfigurationError",
    "InvalidCredentials",
    "TokenEndpointError",
    "TokenResponseError",
    "TokenTimeout",
]


class AuthError(requests.exceptions.RequestException):
    """Base class of every error raised by auth_sessions.

    Attributes:
        vendor: the vendor name, when known.
        url: the token endpoint URL (without query string or userinfo), when known.
        status_code: the HTTP status the token endpoint answered, or None.
        retry_at: epoch seconds before which no new token request is made for these
            credentials (failure memory), or None.
        retry_after: seconds the token endpoint asked us to wait (its ``Retry-After``, capped
            at the retry policy's ``max_hold``), or None. A delay, not an instant: the token
            manager turns it into ``retry_at`` on its own clock.

    Thread-safety: an exception is a value; raise a :meth:`copy` in each thread that shares one.
    """

    def __init__(
        self,
        message: str,
        *,
        vendor: Optional[str] = None,
        url: Optional[str] = None,
        status_code: Optional[int] = None,
        retry_at: Optional[float] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.url = url
        self.status_code = status_code
        self.retry_at = retry_at
        self.retry_after = retry_after

    def _fields(self) -> Dict[str, Any]:
        return {
            "vendor": self.vendor,
            "url": self.url,
            "status_code": self.status_code,
            "retry_at": self.retry_at,
            "retry_after": self.retry_after,
        }

    def __reduce__(self) -> Any:
        return (_rebuild, (type(self), str(self), self._fields()))

    def copy(self) -> AuthError:
        """A new exception with the same class, message and attributes.

        Waiters that share one failed fetch each raise their own copy: one exception object
        raised in many threads at once would share (and mix up) its traceback.
        """
        return type(self)(str(self), **self._fields())


def _rebuild(cls: Type[AuthError], message: str, fields: Dict[str, Any]) -> AuthError:
    return cls(message, **fields)


class ConfigurationError(AuthError, ValueError):
    """Unknown vendor, missing credential, missing or insecure base URL, or a bad option.

    Thread-safety: as :class:`AuthError`.
    """


class InvalidCredentials(AuthError):
    """The token endpoint refused the credentials (HTTP 400, 401 or 403). Never retried.

    Thread-safety: as :class:`AuthError`.
    """


class TokenEndpointError(AuthError):
    """The token endpoint stayed unavailable after retries (5xx, 429, network, timeout).

    ``status_code`` is the last HTTP status, or None for network errors and timeouts.
    Thread-safety: as :class:`AuthError`.
    """


class TokenResponseError(AuthError):
    """A 2xx token response that is not JSON, is too large, or lacks or mistypes a field.

    Thread-safety: as :class:`AuthError`.
    """


class TokenTimeout(TokenEndpointError, requests.exceptions.Timeout):
    """No token within the time allowed: the call's own timeout or the token deadline.

    Also a ``requests.exceptions.Timeout``, so legacy ``except Timeout`` blocks catch it.
    Thread-safety: as :class:`AuthError`.
    """
