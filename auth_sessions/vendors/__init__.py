"""One module per vendor; each defines its description (a :class:`~auth_sessions.Vendor`
value) and registers it. Every module here is discovered: a new vendor is a new module (plus
its docs page and its fake's description), nothing else. The ``CobeeAuth``-style classes are
thin aliases: a :class:`~auth_sessions.TokenAuth` bound to one description."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Dict, List, Type

from .._vendor import DESCRIPTIONS
from ..auth import TokenAuth
from ..sessions import make_auth_class
from . import cair, cobee, manis, oauth2, orum, sohar

__all__ = ["BUILTIN", "CairAuth", "CobeeAuth", "ManisAuth", "OAuth2Auth", "OrumAuth", "SoharAuth"]


class SoharAuth(TokenAuth):
    spec = sohar.VENDOR


class CairAuth(TokenAuth):
    spec = cair.VENDOR


class OrumAuth(TokenAuth):
    spec = orum.VENDOR


class CobeeAuth(TokenAuth):
    spec = cobee.VENDOR


class ManisAuth(TokenAuth):
    spec = manis.VENDOR


class OAuth2Auth(TokenAuth):
    spec = oauth2.VENDOR


def _discover() -> List[Type[TokenAuth]]:
    named: Dict[str, Type[TokenAuth]] = {
        cls.spec.name: cls
        for cls in (SoharAuth, CairAuth, OrumAuth, CobeeAuth, ManisAuth, OAuth2Auth)
    }
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")  # each registers its description
    found = []
    for name in sorted(DESCRIPTIONS):
        cls = named.get(name) or make_auth_class(DESCRIPTIONS[name])
        cls.__doc__ = (
            f"{DESCRIPTIONS[name].summary}\n\n    A :class:`~auth_sessions.TokenAuth` for this "
            "vendor; thread-safe like every TokenAuth."
        )
        found.append(cls)
    return found


BUILTIN = tuple(_discover())
"""Every vendor class defined in this package, in name order."""
