"""One module per vendor; each only describes itself. Every module here is registered: a new
vendor is a new module (plus its docs page and its fake's description), nothing else."""

from __future__ import annotations

import importlib
import pkgutil
from typing import List, Type

from ..auth import TokenAuth
from .cair import CairAuth
from .cobee import CobeeAuth
from .manis import ManisAuth
from .oauth2 import OAuth2Auth
from .orum import OrumAuth
from .sohar import SoharAuth

__all__ = ["BUILTIN", "CairAuth", "CobeeAuth", "ManisAuth", "OAuth2Auth", "OrumAuth", "SoharAuth"]


def _discover() -> List[Type[TokenAuth]]:
    found: List[Type[TokenAuth]] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if isinstance(value, type) and issubclass(value, TokenAuth) and value.vendor:
                found.append(value)
    return found


BUILTIN = tuple(_discover())
"""Every vendor class defined in this package, in module order."""
