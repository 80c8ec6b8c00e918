"""A vendor as a value: where it lives, what its token endpoint speaks, what it adds to API
calls. Vendor modules define one and register it; nothing here touches requests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Type

from ._checks import published_base_url
from ._parse import WireFormat
from ._urls import require_secure
from .endpoint import TokenEndpoint
from .tokens import Secret

__all__ = ["DESCRIPTIONS", "Configure", "Vendor", "register"]

Configure = Callable[[Optional[str], Mapping[str, Any]], Tuple[Optional[str], Mapping[str, Any]]]
"""``configure(base_url, options) -> (base_url, options)``: check a vendor's own options and
fill in defaults; raise ``ConfigurationError`` naming the option."""


def _never(options: Mapping[str, Any]) -> bool:
    return False


def _as_given(base_url: Optional[str], options: Mapping[str, Any]) -> Tuple[Optional[str], Any]:
    return base_url, options


_PLAIN = WireFormat()


@dataclass(frozen=True)
class Vendor:
    """A vendor's description.

    Attributes:
        name: the vendor name; upper-cased, it prefixes the env vars (``ACME_CLIENT_ID``).
        environments: environment name → published base URL (None: none published).
        wire: what its token endpoint takes and answers.
        endpoint: a :class:`~auth_sessions.TokenEndpoint` subclass, for what a
            :class:`~auth_sessions.WireFormat` cannot say.
        default_headers: headers every in-scope API call carries unless the caller sets them.
        options: the vendor's own keyword options (the generic ``oauth2`` vendor's
            ``token_url=``...), passed to ``endpoint``.
        configure: checks those options and fills in defaults.
        env_options: those of ``options`` read from ``<NAME>_<OPTION>`` env vars when not
            given (``OAUTH2_TOKEN_URL``).
        secret_optional: whether, with the options given, a client secret may be absent (a
            key or a client certificate authenticates instead).
        summary: one line for docs, the CLI and the auth class's docstring.
        client_auth: the client authentication methods it takes (``client_auth=`` values),
            each with a sample of the options that use it; ``auth-sessions vendors`` shows
            them. Empty: the vendor's one published way.

    Thread-safety: an immutable value.
    """

    name: str
    environments: Mapping[str, Optional[str]] = field(default_factory=dict)
    wire: WireFormat = _PLAIN
    endpoint: Type[TokenEndpoint] = TokenEndpoint
    default_headers: Mapping[str, str] = field(default_factory=dict)
    options: Tuple[str, ...] = ()
    configure: Configure = _as_given
    env_options: Tuple[str, ...] = ()
    secret_optional: Callable[[Mapping[str, Any]], bool] = _never
    summary: str = ""
    client_auth: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def described_by(cls, auth_class: Any) -> Vendor:
        """The description a class with ``vendor``, ``environments``, ``wire``,
        ``endpoint_class``, ``default_headers`` and ``options`` attributes gives."""
        return cls(
            name=auth_class.vendor,
            environments=auth_class.environments,
            wire=auth_class.wire,
            endpoint=auth_class.endpoint_class,
            default_headers=auth_class.default_headers,
            options=auth_class.options,
        )

    def bind(
        self,
        environment: Optional[str],
        base_url: Optional[str],
        client_id: str,
        secret: Secret,
        options: Mapping[str, Any],
    ) -> Tuple[str, str, TokenEndpoint]:
        """(environment, base URL, token endpoint) for one credential set; both URLs
        checked (https, or http to loopback). Raises ``ConfigurationError``."""
        environment = (environment or "production").lower()  # names are case-insensitive
        base = published_base_url(self.name, self.environments, base_url, environment)
        require_secure(base, vendor=self.name, what="base URL")
        endpoint = self.endpoint(
            vendor=self.name,
            base_url=base,
            client_id=client_id,
            client_secret=secret,
            wire=self.wire,
            **options,
        )
        require_secure(endpoint.token_url, vendor=self.name, what="token URL")
        return environment, base, endpoint


DESCRIPTIONS: Dict[str, Vendor] = {}
"""Every description registered by a vendor module, by name."""


def register(vendor: Vendor) -> Vendor:
    """Record ``vendor`` among the built-in descriptions; returns it."""
    DESCRIPTIONS[vendor.name] = vendor
    return vendor
