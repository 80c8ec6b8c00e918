"""``TokenAuth``: the requests side of a vendor's token — origin scoping, the header, the 401
replay. The token itself comes from the credential set's
:class:`~auth_sessions.manager.TokenManager`, fetched through the vendor's
:class:`~auth_sessions.endpoint.TokenEndpoint` on the transport of the call it is for.
"""

from __future__ import annotations

import weakref
from dataclasses import replace
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type, Union

import requests
from requests.structures import CaseInsensitiveDict

from ._checks import check_credentials, checked_secret
from ._dpop import NONCES, nonce_challenge
from ._parse import WireFormat
from ._policy import Snapshot
from ._replay import replay_once
from ._settings import Settings
from ._time import budget
from ._transport import Fetcher, Transport
from ._urls import origin, origin_prefix, shown
from ._vendor import Vendor
from .endpoint import TokenEndpoint
from .manager import Fetch, manager_for
from .stores.base import TokenStore
from .stores.memory import default_store
from .tokens import Secret, Token

__all__ = ["PENDING", "TokenAuth", "bearer"]

PENDING = "_auth_sessions_pending"
"""Set on a prepared request whose token :meth:`VendorSession.send` fetches, where the call's
own transport settings are known (see :meth:`TokenAuth.deferring`)."""
_FETCHED = "_auth_sessions_fetched"


class TokenAuth(requests.auth.AuthBase):
    """A requests auth that sends a vendor's bearer token, renewed as needed, and replays a
    request answered 401 once with a fresh token.

    Thread-safe: one instance may serve any number of threads and sessions, and every
    instance with the same credentials in the process shares one live token.

    Args:
        client_id: the client id (whatever the vendor calls it: a merchant id...).
        client_secret: the client secret (or merchant secret...).
        **options: keyword options, checked once (an unknown name is a
            ``ConfigurationError`` naming the closest valid one):

            - ``base_url``: overrides the environment's base URL.
            - ``environment``: ``"production"`` (default) or ``"sandbox"``, case-insensitive.
            - ``token_store``: where tokens are kept; default the process-wide memory store.
            - ``leeway``: seconds before expiry at which renewal starts; None for
              ``min(60, 10 % of the lifetime)``. Always capped at half the token's lifetime.
            - ``timeout``: (connect, read) timeout of each token-endpoint attempt.
            - ``retry``: how the token endpoint is retried (:class:`RetryPolicy`).
            - ``headers``: extra headers sent on every in-scope API call.
            - ``clock`` / ``monotonic``: epoch-seconds and monotonic clocks, for tests.
            - ``token_session``: a ``requests.Session`` to send token calls with, as it is.
            - ``token_deadline``: seconds a token fetch may take in all, and the longest a
              call without a timeout waits for a token (default 30).
            - ``cooldown``: seconds refused credentials are held back (default 60).
            - ``background``: renew in the advisory window off the request path (default True).
            - the vendor's own options (``scope=`` for ``oauth2``...).

    Raises:
        ConfigurationError: a missing or malformed credential or option, an unknown
            environment, no base URL, or a URL that is not https (plain http is allowed to
            loopback hosts only).

    Example:
        >>> import auth_sessions
        >>> auth = auth_sessions.OAuth2Auth("id", "secret", token_url="https://idp.example/token")
        >>> auth.base_url
        'https://idp.example'
    """

    spec: ClassVar[Vendor] = Vendor("custom")
    """The vendor's description. A subclass sets it, or (the older form) the attributes
    below, from which the description is then made."""
    vendor: ClassVar[str] = "custom"
    environments: ClassVar[Mapping[str, Optional[str]]] = {}
    wire: ClassVar[WireFormat] = WireFormat()
    endpoint_class: ClassVar[Type[TokenEndpoint]] = TokenEndpoint
    default_headers: ClassVar[Mapping[str, str]] = {}
    options: ClassVar[Tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "spec" not in cls.__dict__:  # the older form: the attributes describe the vendor
            cls.spec = Vendor.described_by(cls)
        spec = cls.spec
        cls.vendor, cls.environments, cls.wire = spec.name, spec.environments, spec.wire
        cls.endpoint_class, cls.default_headers = spec.endpoint, spec.default_headers
        cls.options = spec.options

    def __init__(
        self, client_id: Optional[str], client_secret: Union[str, Secret, None], **options: Any
    ) -> None:
        vendor = self.vendor
        settings = self.configure(Settings.build(vendor, options, self.options))
        header = self.wire.send == "headers"
        if not client_secret and self.spec.secret_optional(settings.options):
            check_credentials(vendor, client_id, Secret("-"), header=header)
            secret = Secret("")  # a key or a client certificate authenticates instead
        else:
            secret = checked_secret(vendor, client_id, client_secret, header)
        assert client_id is not None
        self.settings, self.client_id, self._secret = settings, client_id, secret
        self.environment, self.base_url, self.endpoint = self.spec.bind(
            settings.environment, settings.base_url, client_id, secret, settings.options
        )
        self.token_url = self.endpoint.token_url
        self.store_key = self.endpoint.credential_key()
        self._manager = manager_for(
            settings.token_store or default_store,
            self.store_key,
            vendor=vendor,
            client_id=client_id,
            url=shown(self.token_url),
            clock=settings.clock,
            policy=settings.policy,
            monotonic=settings.monotonic,
            header=bearer,
        )
        self._clock = settings.clock
        self._bound: Optional[weakref.ReferenceType[requests.Session]] = None
        self.headers: Dict[str, str] = {**self.default_headers, **settings.headers}
        self._extra_headers = tuple(self.headers.items())
        self._origin = origin(self.base_url)
        self._prefix = origin_prefix(self.base_url)
        self._hook = self._on_response
        self._defer = False  # set here, like every attribute, so views share the key layout
        self._view: Optional[TokenAuth] = None

    @classmethod
    def configure(cls, settings: Settings) -> Settings:
        """The settings with the vendor's own options checked and defaults filled in."""
        base_url, options = cls.spec.configure(settings.base_url, settings.options)
        return replace(settings, base_url=base_url, options=dict(options))

    # ------------------------------------------------------------------------ public API

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(vendor={self.vendor!r}, client_id={self.client_id!r}, "
            f"base_url={shown(self.base_url)!r})"
        )

    @property
    def token_store(self) -> TokenStore:
        """The store this auth's tokens are kept in."""
        return self._manager.store

    def get_token(self) -> Token:
        """The current token, fetched or renewed as needed (what a request would carry)."""
        return self._current(self._own_transport(), None).token

    def forget(self) -> None:
        """Drop this credential set's token and failure memory (here, in the store, and for
        every open session sharing it): the next call fetches anew."""
        self._manager.forget()

    def wait_for_renewal(self, timeout: float = 30.0) -> bool:
        """Wait (at most ``timeout`` s) for a token fetch in flight, such as a background
        renewal; True when none is left. For tests and orderly shutdowns."""
        return self._manager.settle(timeout)

    def bind(self, session: requests.Session) -> None:
        """Send token calls made outside a call of ``session`` (a standalone use of this
        auth, :meth:`get_token`) with its ``verify``, ``cert``, ``proxies`` and
        ``trust_env``, read at each call. A :class:`VendorSession` binds its own auth."""
        self._bound = weakref.ref(session)
        if self._view is not None:
            self._view._bound = self._bound

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = r.url or ""
        if not url.startswith(self._prefix) and origin(url) != self._origin:
            return r  # another origin: never send it our token
        snap = self._manager.snap
        if snap is None or self._clock() >= snap.renew_at:
            snap = self._slow(r)
            if snap is None:
                return r  # left PENDING for the VendorSession's send()
        headers = r.headers
        if type(headers) is CaseInsensitiveDict:  # requests' own layout: a third of the cost
            headers._store["authorization"] = ("Authorization", snap.header)  # type: ignore[attr-defined]
        else:
            headers["Authorization"] = snap.header
        r.hooks["response"].append(self._hook)
        if snap.prover is not None:  # DPoP: a fresh proof beside the header, every request
            headers["DPoP"] = _proof(snap, r.method or "GET", url)
        if self._extra_headers:
            for name, value in self._extra_headers:
                if name not in headers:
                    headers[name] = value
        return r

    def deferring(self) -> TokenAuth:
        """This auth as a :class:`VendorSession` prepares requests with: the same state and
        token, but a request whose token is not at hand is left :data:`PENDING` for the
        session's ``send()``, which knows the call's own transport settings."""
        view = self._view
        if view is None:  # a twin built from the same settings: the same manager and token
            view = _restore(type(self), self.client_id, self._secret, self.settings.given())
            view._defer, view._bound = True, self._bound
            self._view = view
        return view

    def authorize(self, r: requests.PreparedRequest, transport: Transport, timeout: Any) -> None:
        """Give ``r`` (left :data:`PENDING`) its token, fetched on ``transport`` and waiting
        at most as long as ``timeout`` (a requests timeout) allows."""
        r.__dict__[_FETCHED] = self._current(transport, timeout)
        self(r)

    def prove(self, r: requests.PreparedRequest) -> None:
        """Give ``r`` (a redirect of a request this auth authorized, still carrying its
        token) a fresh DPoP proof for its own method and URL."""
        snap = self._manager.snap
        ours = snap is not None and r.headers.get("Authorization") == snap.header
        if ours and snap is not None and snap.prover is not None:
            r.headers["DPoP"] = _proof(snap, r.method or "GET", r.url or "")

    def _slow(self, r: requests.PreparedRequest) -> Optional[Snapshot]:
        """The token for ``r`` when the live one is not fresh: fetched now on this auth's own
        transport, or (a deferring view) the one :meth:`authorize` fetched, or None after
        marking ``r`` :data:`PENDING`."""
        if not self._defer:
            return self._current(self._own_transport(), None)
        fetched: Optional[Snapshot] = r.__dict__.pop(_FETCHED, None)
        if fetched is None:
            r.__dict__[PENDING] = self
        return fetched

    # ------------------------------------------------------------------------ internals

    def _fetcher(self, transport: Transport) -> Fetch:
        settings = self.settings
        return Fetcher(self.endpoint, transport, settings.timeout, settings.retry, settings.clock)

    def _own_transport(self) -> Transport:
        """For token calls outside a session's call: the token session given, else the
        bound session's settings, else requests' environment defaults."""
        bound = self._bound() if self._bound is not None else None
        return Transport.of(bound) if bound is not None else Transport()

    def _transport(self, transport: Transport) -> Transport:
        session = self.settings.token_session
        return transport if session is None else Transport(session=session)

    def _current(self, transport: Transport, timeout: Any) -> Snapshot:
        fetch, allowance = self._fetcher(self._transport(transport)), self.settings.token_deadline
        return self._manager.current(fetch, budget(timeout, allowance), allowance)

    def _on_response(self, r: requests.Response, **kwargs: Any) -> requests.Response:
        """Response hook: on 401, re-auth once and replay the request (digest-auth style),
        the token call travelling as the refused call did (``kwargs``: its send settings).
        A DPoP server's nonce is kept; its ``use_dpop_nonce`` 401 is replayed once with it."""
        request = r.request
        proven = self.endpoint.dpop and "DPoP" in request.headers
        if proven:
            NONCES.saw(r.url, r.headers)
        if r.status_code != 401:
            return r
        sent = request.headers.get("Authorization")
        if sent is None or not str(sent).startswith(("Bearer ", "DPoP ")):
            return r  # e.g. a redirect to another origin, which carried no token
        snap = self._manager.snap
        fine = snap is not None and snap.header == sent and snap.prover is not None
        if proven and fine and nonce_challenge(401, r.headers):  # the token is fine: prove again
            assert snap is not None
            proof = _proof(snap, request.method or "GET", request.url or "")
            return replay_once(r, {"DPoP": proof}, kwargs, self.vendor, self.client_id)
        transport = self._transport(Transport.of_call(kwargs, self._own_transport()))
        fresh = self._manager.after_401(
            str(sent),
            self._fetcher(transport),
            budget(kwargs.get("timeout"), self.settings.token_deadline),
            self.settings.token_deadline,
        )
        headers = {"Authorization": fresh.header}
        if fresh.prover is not None:
            headers["DPoP"] = _proof(fresh, request.method or "GET", request.url or "")
        return replay_once(r, headers, kwargs, self.vendor, self.client_id)

    # ------------------------------------------------------------------------ copies

    def __reduce__(self) -> Any:
        """Pickles as its settings (the client secret included): loaded in another process it
        attaches to that process's manager and store."""
        return (_restore, (type(self), self.client_id, self._secret, self.settings.given()))

    def __copy__(self) -> TokenAuth:
        return _restore(type(self), self.client_id, self._secret, self.settings.given())

    def __deepcopy__(self, memo: Dict[int, Any]) -> TokenAuth:
        return self.__copy__()  # settings are values or shared resources (store, clock)


def bearer(token: Token) -> str:
    """The ``Authorization`` value that carries ``token``: the contract's ``Bearer <token>``
    whatever ``token_type`` says, and ``DPoP <token>`` for a DPoP-bound one (RFC 9449)."""
    scheme = "Bearer " if token.proof_key is None else "DPoP "
    return scheme + token.access_token.reveal()


def _proof(snap: Snapshot, method: str, url: str) -> str:
    """A fresh DPoP proof for one request carrying ``snap``'s token."""
    prover = snap.prover
    assert prover is not None
    return str(prover.proof(method, url, NONCES.get(url), snap.token.access_token.reveal()))


def _restore(cls: Type[TokenAuth], client_id: str, secret: Secret, kwargs: Any) -> TokenAuth:
    return cls(client_id, secret, **kwargs)
