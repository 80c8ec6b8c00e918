"""JWT client authentication (RFC 7523 section 2.2, OIDC Core section 9): signing keys and
client assertions, on PyJWT with ``cryptography`` (the ``[jwt]`` extra).

A key is loaded once (a PEM path, PEM text or bytes, or a ``cryptography`` private key) and
held in a :class:`SigningKey`, whose repr names only its algorithm and thumbprint. Each token
request gets a fresh assertion: ``iss`` = ``sub`` = the client id, ``aud`` exactly as given,
a random ``jti``, ``iat`` now and ``exp`` :data:`ASSERTION_LIFETIME` later.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from typing import Any, Dict, Optional, Union

from .errors import ConfigurationError

__all__ = [
    "ASSERTION_LIFETIME",
    "ASSERTION_TYPE",
    "SigningKey",
    "client_assertion",
    "need_jwt",
]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 120.0
"""Seconds from an assertion's ``iat`` to its ``exp`` (RFC 7523 asks for a short life; OIDC
providers commonly refuse more than 5 minutes)."""

ASYMMETRIC = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
              "EdDSA")  # fmt: skip
SYMMETRIC = ("HS256", "HS384", "HS512")
_CURVES = {"secp256r1": "ES256", "secp384r1": "ES384", "secp521r1": "ES512"}


def need_jwt(owner: str) -> Any:
    """The ``jwt`` module (PyJWT), or a ``ConfigurationError`` naming the extra."""
    try:
        import jwt
        from cryptography.hazmat.primitives import serialization  # noqa: F401 - PyJWT[crypto]
    except ImportError:
        raise ConfigurationError(
            f"{owner}: JWT client authentication needs PyJWT and cryptography: "
            "pip install 'auth-sessions[jwt]'",
            vendor=owner,
        ) from None
    return jwt


class SigningKey:
    """A private key for client assertions, with its algorithm, ``kid`` and RFC 7638
    thumbprint. Never shows the key. Thread-safety: immutable after construction."""

    def __init__(self, key: Any, alg: Optional[str], kid: Optional[str], owner: str) -> None:
        need_jwt(owner)
        self._key = _load(key, owner)
        self.alg = alg or _default_alg(self._key, owner)
        if self.alg not in ASYMMETRIC:
            raise ConfigurationError(
                f"{owner}: signing_alg={self.alg!r} cannot sign with a private key; use one "
                f"of {', '.join(ASYMMETRIC)}",
                vendor=owner,
            )
        self.kid = kid
        self.thumbprint = _thumbprint(self._key.public_key())

    def __repr__(self) -> str:
        return f"SigningKey(alg={self.alg!r}, thumbprint={self.thumbprint!r})"

    def sign(self, claims: Dict[str, Any]) -> str:
        headers = {"kid": self.kid} if self.kid else None
        return str(need_jwt("").encode(claims, self._key, algorithm=self.alg, headers=headers))


def client_assertion(
    client_id: str,
    audience: str,
    signer: Union[SigningKey, bytes],
    alg: str = "HS256",
    now: Optional[float] = None,
) -> str:
    """A fresh client assertion for one token request. ``signer`` is a :class:`SigningKey`
    (``private_key_jwt``) or the client secret's bytes (``client_secret_jwt``, ``alg``)."""
    issued = int(time.time() if now is None else now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "jti": secrets.token_urlsafe(24),
        "iat": issued,
        "exp": issued + int(ASSERTION_LIFETIME),
    }
    if isinstance(signer, SigningKey):
        return signer.sign(claims)
    return str(need_jwt("").encode(claims, signer, algorithm=alg))


def _load(key: Any, owner: str) -> Any:
    """A ``cryptography`` private key from a key object, PEM text/bytes or a PEM file path."""
    from cryptography.hazmat.primitives import serialization

    if hasattr(key, "public_key") and hasattr(key, "sign"):
        return key
    data: Optional[bytes] = None
    if isinstance(key, bytes):
        data = key
    elif isinstance(key, str) and "-----BEGIN" in key:
        data = key.encode()
    elif isinstance(key, (str, os.PathLike)):
        try:
            with open(key, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise ConfigurationError(
                f"{owner}: cannot read private_key file {os.fspath(key)!r} "
                f"({exc.strerror or type(exc).__name__})",
                vendor=owner,
            ) from None
    if data is None:
        raise ConfigurationError(
            f"{owner}: private_key= takes a PEM file path, PEM text or a private key object, "
            f"not a {type(key).__name__}",
            vendor=owner,
        )
    try:
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise ConfigurationError(
            f"{owner}: private_key= is not an unencrypted PEM private key (load an encrypted "
            "one yourself and pass the key object)",
            vendor=owner,
        ) from None
    except Exception as exc:  # cryptography's UnsupportedAlgorithm and the like
        raise ConfigurationError(
            f"{owner}: private_key= could not be loaded ({type(exc).__name__})", vendor=owner
        ) from None


def _default_alg(key: Any, owner: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVES:
        return _CURVES[key.curve.name]
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "EdDSA"
    raise ConfigurationError(
        f"{owner}: private_key= is a {type(key).__name__}; use an RSA, EC (P-256/384/521) or "
        "Ed25519 key",
        vendor=owner,
    )


def public_jwk(public_key: Any) -> Dict[str, str]:
    """The public key as a JWK with only the members RFC 7638 hashes."""
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        return {"e": _b64_int(numbers.e), "kty": "RSA", "n": _b64_int(numbers.n)}
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        size = (public_key.curve.key_size + 7) // 8
        point = public_key.public_numbers()
        crv = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}
        return {
            "crv": crv.get(public_key.curve.name, public_key.curve.name),
            "kty": "EC",
            "x": _b64(point.x.to_bytes(size, "big")),
            "y": _b64(point.y.to_bytes(size, "big")),
        }
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"crv": "Ed25519", "kty": "OKP", "x": _b64(raw)}
    raise TypeError(f"no JWK form for {type(public_key).__name__}")


def _thumbprint(public_key: Any) -> str:
    """RFC 7638: sha256 of the required members, sorted, no whitespace; base64url."""
    canonical = json.dumps(public_jwk(public_key), sort_keys=True, separators=(",", ":"))
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64_int(value: int) -> str:
    return _b64(value.to_bytes((value.bit_length() + 7) // 8 or 1, "big"))
