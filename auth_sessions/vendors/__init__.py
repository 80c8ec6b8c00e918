"""One module per vendor; each only describes its wire format."""

from __future__ import annotations

from .cair import CairAuth
from .cobee import CobeeAuth
from .manis import ManisAuth
from .oauth2 import OAuth2Auth
from .orum import OrumAuth
from .sohar import SoharAuth

__all__ = ["BUILTIN", "CairAuth", "CobeeAuth", "ManisAuth", "OAuth2Auth", "OrumAuth", "SoharAuth"]

BUILTIN = (SoharAuth, CairAuth, OrumAuth, CobeeAuth, ManisAuth, OAuth2Auth)
