"""auth_sessions: token-managed ``requests`` sessions for the Sohar, Cair, Orum, Cobee and
Manis APIs (and any RFC 6749 client-credentials provider).

    >>> import auth_sessions
    >>> session = auth_sessions.for_vendor("cobee", client_id="id", client_secret="secret")
    >>> session.base_url
    'https://partners-api.cobee.io/api/v3'
"""

from __future__ import annotations

import logging

from ._http import API_RETRIES, RetryPolicy
from ._otel import install as _install_metrics
from ._parse import WireFormat
from ._transport import Transport
from ._vendor import Vendor
from .auth import TokenAuth
from .endpoint import TokenEndpoint, TokenRequest
from .errors import (
    AuthError,
    ConfigurationError,
    InvalidCredentials,
    TokenEndpointError,
    TokenResponseError,
    TokenTimeout,
)
from .events import Event, subscribe
from .sessions import VendorSession, for_vendor, register_vendor, vendor_class, vendor_names
from .stores import (
    BaseTokenStore,
    FileTokenStore,
    MemoryTokenStore,
    RedisTokenStore,
    TokenStore,
    default_store,
    generate_store_key,
)
from .tokens import Failure, Secret, Token
from .vendors import BUILTIN, CairAuth, CobeeAuth, ManisAuth, OAuth2Auth, OrumAuth, SoharAuth

__version__ = "0.1.0"

__all__ = [
    "API_RETRIES",
    "AuthError",
    "BaseTokenStore",
    "CairAuth",
    "CobeeAuth",
    "ConfigurationError",
    "Event",
    "Failure",
    "FileTokenStore",
    "InvalidCredentials",
    "ManisAuth",
    "MemoryTokenStore",
    "OAuth2Auth",
    "OrumAuth",
    "RedisTokenStore",
    "RetryPolicy",
    "Secret",
    "SoharAuth",
    "Token",
    "TokenAuth",
    "TokenEndpoint",
    "TokenEndpointError",
    "TokenRequest",
    "TokenResponseError",
    "TokenStore",
    "TokenTimeout",
    "Transport",
    "Vendor",
    "VendorSession",
    "WireFormat",
    "__version__",
    "default_store",
    "for_vendor",
    "generate_store_key",
    "register_vendor",
    "subscribe",
    "vendor_class",
    "vendor_names",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())
_install_metrics(__version__)

for _auth_class in BUILTIN:
    register_vendor(_auth_class.vendor, _auth_class)
del _auth_class
