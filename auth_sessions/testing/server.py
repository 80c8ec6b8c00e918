"""``FakeVendors``: the fake vendors on a loopback server, plus conveniences that build client
sessions pointed at it.

The vendors themselves are :class:`~.model.VendorModel` (no sockets, no client code); the
HTTP plumbing is ``_http``; the faults are ``faults``. Only this module knows the client.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from ..auth import TokenAuth
from ..sessions import VendorSession, for_vendor
from ..stores.memory import MemoryTokenStore
from ._http import Front
from .faults import FAULTS
from .model import Counters, VendorModel

__all__ = ["FAULTS", "Counters", "FakeVendors"]


class FakeVendors(VendorModel):
    """Fake Sohar, Cair, Orum, Cobee, Manis and OAuth2 token endpoints and APIs on loopback.

    Each token endpoint validates requests as its vendor's spec says (method, path, content
    type, exact body keys, Manis headers, no Authorization) and answers the spec's shapes.
    Any other path under a vendor's base URL is a protected API that accepts only live
    Bearer tokens of that vendor and echoes what it received (method, path, body digest).
    The controls and counters are :class:`~auth_sessions.testing.VendorModel`'s.

    Thread-safe: controls may be called from any thread while requests are served.

    Args:
        clock: epoch-seconds clock used for token expiry (share one with the auth objects
            under test to move time without sleeping).
        token_lifetime: seconds an access token lives (per vendor: :meth:`set_lifetime`).
        refresh_lifetime: seconds a Cair refresh token lives.
        tls: (certfile, keyfile) to serve https instead of http.
        client_ca: with ``tls``, require a client certificate signed by this CA file (mTLS).

    Example:
        >>> from auth_sessions.testing import FakeVendors
        >>> with FakeVendors() as fake:
        ...     session = fake.session("cobee")
        ...     session.get("/employees").status_code
        ...     fake.counts("cobee").token_requests
        200
        1
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        tls: Optional[Tuple[str, str]] = None,
        client_ca: Optional[str] = None,
        token_lifetime: float = 3600.0,
        refresh_lifetime: float = 86400.0,
    ) -> None:
        super().__init__(
            clock=clock, token_lifetime=token_lifetime, refresh_lifetime=refresh_lifetime
        )
        self._tls = tls
        self._client_ca = client_ca
        self.store = MemoryTokenStore(timer=clock)
        self._front: Optional[Front] = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, port: int = 0) -> FakeVendors:
        """Bind ``port`` (default: an ephemeral one) on 127.0.0.1; serve in a background thread."""
        if self._front is None:
            self._stopping.clear()
            self._front = Front(self, port=port, tls=self._tls, client_ca=self._client_ca)
        return self

    def stop(self) -> None:
        """Stop serving, close every open connection and join every server thread."""
        front, self._front = self._front, None
        if front is not None:
            self._stopping.set()  # held and delayed answers give up
            front.stop()

    def __enter__(self) -> FakeVendors:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"FakeVendors(url={self._front.url if self._front else None!r})"

    # ------------------------------------------------------------------ addresses and clients

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (``https://`` when started with ``tls=``)."""
        if self._front is None:
            raise RuntimeError(
                "FakeVendors is not running: call start() or use it as a context manager"
            )
        return self._front.url

    def base_url(self, vendor: str) -> str:
        """The base URL to give ``vendor``'s session (Cobee's keeps ``/api/v3``)."""
        return self.url + self.spec(vendor).prefix

    def issuer(self, vendor: str) -> str:
        """The issuer identifier of a vendor that publishes metadata (the generic
        ``oauth2``): its base URL; ``for_vendor("oauth2", issuer=fake.issuer("oauth2"))``."""
        return self.base_url(vendor)

    def token_url(self, vendor: str) -> str:
        """The full token endpoint URL of ``vendor``."""
        return self.base_url(vendor) + self.spec(vendor).token_path

    @contextlib.contextmanager
    def environ(self, *vendors: str) -> Iterator[Dict[str, str]]:
        """Set ``<VENDOR>_CLIENT_ID``, ``_CLIENT_SECRET`` and ``_BASE_URL`` to this fake for
        ``vendors`` (default: every vendor configured by env vars alone), restoring the
        previous values afterwards; yields what was set.

        Example:
            >>> import auth_sessions
            >>> with FakeVendors() as fake, fake.environ("cobee"):
            ...     auth_sessions.for_vendor("cobee").get("/employees").status_code
            200
        """
        names = vendors or self.env_vendors()
        exported = {k: v for name in names for k, v in self.env_vars(name).items()}
        saved = {name: os.environ.get(name) for name in exported}
        os.environ.update(exported)
        try:
            yield exported
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value

    def env_vendors(self) -> Tuple[str, ...]:
        """The vendors a session can be built for from env vars alone (the generic
        ``oauth2`` too: ``OAUTH2_ISSUER`` points at this fake's metadata)."""
        return tuple(self.vendors())

    def env_vars(self, vendor: str) -> Dict[str, str]:
        """``{"COBEE_CLIENT_ID": ..., "COBEE_CLIENT_SECRET": ..., "COBEE_BASE_URL": ...}``."""
        client_id, client_secret = self.credentials(vendor)
        prefix = self.spec(vendor).name.upper()
        found = {
            f"{prefix}_CLIENT_ID": client_id,
            f"{prefix}_CLIENT_SECRET": client_secret,
            f"{prefix}_BASE_URL": self.base_url(vendor),
        }
        if self.spec(vendor).client_methods:  # it publishes metadata: discovery finds the rest
            found[f"{prefix}_ISSUER"] = self.issuer(vendor)
        return found

    def session_kwargs(self, vendor: str, **overrides: Any) -> Dict[str, Any]:
        """Keyword arguments for :func:`auth_sessions.for_vendor` pointing at this fake."""
        client_id, client_secret = self.credentials(vendor)
        kwargs: Dict[str, Any] = {
            "client_id": client_id,
            "client_secret": client_secret,
            "base_url": self.base_url(vendor),
            "token_store": self.store,
        }
        if self.spec(vendor).token_url_option:
            kwargs["token_url"] = self.token_url(vendor)
        if self.clock is not time.time:
            kwargs["clock"] = self.clock
        kwargs.update(overrides)
        return kwargs

    def session(self, vendor: str, **overrides: Any) -> VendorSession:
        """A :class:`~auth_sessions.VendorSession` for ``vendor`` against this fake.

        Uses this fake's own token store (``fake.store``) unless ``token_store=`` is given.
        """
        return for_vendor(vendor, **self.session_kwargs(vendor, **overrides))

    def auth(self, vendor: str, **overrides: Any) -> TokenAuth:
        """The auth object of :meth:`session`, for ``requests.get(..., auth=...)``."""
        return self.session(vendor, **overrides).auth
