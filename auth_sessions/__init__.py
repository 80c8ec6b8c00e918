"""auth_sessions: token-managed ``requests`` sessions for the Sohar, Cair, Orum, Cobee and
Manis APIs (and any RFC 6749 client-credentials provider).

    >>> import auth_sessions
    >>> session = auth_sessions.for_vendor("cobee", client_id="id", client_secret="secret")
    >>> session.base_url
    'https://partners-api.cobee.io/api/v3'
"""

from __future__ import annotations

import logging

from ._http import API_RETRIES, RetryPolicy, TokenRequest
from ._parse import WireFormat
from .auth import TokenAuth
from .errors import (
    AuthError,
    ConfigurationError,
    InvalidCredentials,
    TokenEndpointError,
    TokenResponseError,
)
from .sessions import VendorSession, for_vendor, register_vendor, vendor_class, vendor_names
from .stores import FileTokenStore, MemoryTokenStore, RedisTokenStore, TokenStore, default_store
from .tokens import Secret, Token
from .vendors import BUILTIN, CairAuth, CobeeAuth, ManisAuth, OAuth2Auth, OrumAuth, SoharAuth

__version__ = "0.1.0"

__all__ = [
    "API_RETRIES",
    "AuthError",
    "CairAuth",
    "CobeeAuth",
    "ConfigurationError",
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
    "TokenEndpointError",
    "TokenRequest",
    "TokenResponseError",
    "TokenStore",
    "VendorSession",
    "WireFormat",
    "__version__",
    "default_store",
    "for_vendor",
    "register_vendor",
    "vendor_class",
    "vendor_names",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

for _auth_class in BUILTIN:
    register_vendor(_auth_class.vendor, _auth_class)
del _auth_class
