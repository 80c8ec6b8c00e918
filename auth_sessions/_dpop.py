"""DPoP (RFC 9449): sender-constrained tokens. A key pair per credential key proves, with a
fresh signed proof per request, that whoever sends a token holds its key.

The private key travels with its token (``Token.proof_key``, PEM in a :class:`Secret`), so
every process that reads the token from a shared store can prove it; a sealed store seals
it. Proofs: header ``typ: dpop+jwt``, ``alg``, ``jwk`` (the public key); claims ``jti``,
``htm``, ``htu`` (no query or fragment), ``iat``, and ``nonce`` once the server gave one,
``ath`` (the access token's hash) on resource requests. Servers' nonces are kept per origin,
the newest seen.

Thread-safety: a :class:`Prover` is immutable after construction; :data:`NONCES` is guarded
by a lock.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from typing import Any, Dict, Mapping, Optional, Sequence
from urllib.parse import urlsplit, urlunsplit

from ._jwt import _b64, _thumbprint, need_jwt, public_jwk
from .tokens import Secret, Token

__all__ = ["NONCES", "Nonces", "Prover", "ath", "htu", "nonce_challenge", "prover_of"]

_PREFERRED = ("ES256", "EdDSA", "RS256", "PS256", "ES384", "ES512")


def htu(url: str) -> str:
    """The URL a proof names: the request URL without query and fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def ath(access_token: str) -> str:
    """base64url(sha256(the access token)), unpadded."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class Nonces:
    """The newest ``DPoP-Nonce`` each origin sent."""

    def __init__(self) -> None:
        self._by_origin: Dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> Optional[str]:
        return self._by_origin.get(_origin(url))

    def saw(self, url: str, headers: Mapping[str, str]) -> Optional[str]:
        """Keep the nonce ``headers`` carry (from an answer of ``url``'s origin)."""
        nonce = headers.get("DPoP-Nonce")
        if nonce:
            with self._lock:
                self._by_origin[_origin(url)] = nonce
        return nonce or None

    def after_fork(self) -> None:
        self._lock = threading.Lock()


NONCES = Nonces()


def nonce_challenge(status: int, headers: Mapping[str, str], body: Any = None) -> bool:
    """Whether an answer asks for a (new) nonce: a token endpoint's 400 ``use_dpop_nonce``,
    or a resource server's 401 with ``WWW-Authenticate: DPoP error="use_dpop_nonce"``."""
    if not headers.get("DPoP-Nonce"):
        return False
    if status == 400:
        return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"
    if status == 401:
        challenge = headers.get("WWW-Authenticate", "")
        return challenge.lstrip().lower().startswith("dpop") and "use_dpop_nonce" in challenge
    return False


class Prover:
    """A DPoP key pair: signs proofs. Its repr names only the algorithm and thumbprint."""

    def __init__(self, key: Any, alg: str) -> None:
        need_jwt("dpop")  # before the import: a missing PyJWT is named with its extra
        from jwt.algorithms import get_default_algorithms

        self._key, self.alg = key, alg
        self.jwk = {**public_jwk(key.public_key())}
        self.thumbprint = _thumbprint(key.public_key())
        # The header is the same in every proof of this key: encoded once. Signing goes
        # through PyJWT's algorithm object (one signature per proof, nothing else).
        header = {"alg": alg, "typ": "dpop+jwt", "jwk": self.jwk}
        self._head = _b64(json.dumps(header, separators=(",", ":")).encode()) + "."
        self._signer = get_default_algorithms()[alg]

    def __repr__(self) -> str:
        return f"Prover(alg={self.alg!r}, jkt={self.thumbprint!r})"

    @classmethod
    def generate(cls, algs: Sequence[str] = ()) -> Prover:
        """A new key pair for the first of :data:`_PREFERRED` the server lists (any, when it
        lists none: ES256)."""
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

        need_jwt("dpop")
        alg = next((a for a in _PREFERRED if a in algs), "ES256") if algs else "ES256"
        if alg == "EdDSA":
            key: Any = ed25519.Ed25519PrivateKey.generate()
        elif alg in ("RS256", "PS256"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        else:
            curve = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
            key = ec.generate_private_key(curve[alg])
        return cls(key, alg)

    def secret(self) -> Secret:
        """The private key as PEM, wrapped (it is stored with its token)."""
        from cryptography.hazmat.primitives import serialization

        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return Secret(f"{self.alg}\n{pem.decode('ascii')}")

    def proof(
        self, method: str, url: str, nonce: Optional[str] = None, token: Optional[str] = None
    ) -> str:
        """A fresh proof for one request (``token``: the access token it carries)."""
        claims: Dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method.upper(),
            "htu": htu(url),
            "iat": int(time.time()),
        }
        if nonce:
            claims["nonce"] = nonce
        if token is not None:
            claims["ath"] = ath(token)
        signing_input = self._head + _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = self._signer.sign(signing_input.encode("ascii"), self._key)
        return f"{signing_input}.{_b64(signature)}"


_loaded: Dict[str, Prover] = {}
_loaded_lock = threading.Lock()


def prover_of(token: Token) -> Optional[Prover]:
    """The prover of a DPoP-bound ``token`` (its key loaded once per process), or None."""
    stored = token.proof_key
    if stored is None:
        return None
    text = stored.reveal()
    digest = hashlib.sha256(text.encode()).hexdigest()
    with _loaded_lock:
        found = _loaded.get(digest)
    if found is not None:
        return found
    from cryptography.hazmat.primitives import serialization

    alg, _, pem = text.partition("\n")
    prover = Prover(serialization.load_pem_private_key(pem.encode(), password=None), alg)
    with _loaded_lock:
        if len(_loaded) > 1024:
            _loaded.clear()
        _loaded[digest] = prover
    return prover
