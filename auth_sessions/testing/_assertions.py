"""How the fake ``oauth2`` vendor checks client authentication beyond a secret: JWT client
assertions (RFC 7523 section 2.2: ``client_secret_jwt``, ``private_key_jwt``) verified with
joserfc — a JOSE library other than the client's PyJWT — and TLS client certificates
(RFC 8705). Assertion times are wall-clock, as a real server's are."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any, Collection, Dict, List, Optional, Set

from ._vendors import Reject, _oauth2_error

__all__ = ["ASSERTION_TYPE", "NonceMissing", "check_assertion", "check_proof", "public_key"]

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_LIFE = 300  # seconds from iat to exp the fake accepts (5 minutes)
_ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
         "ES256", "ES384", "ES512", "EdDSA", "Ed25519"]  # fmt: skip


def _refuse(message: str) -> Reject:
    return Reject(401, _oauth2_error(401, message))


def public_key(key: Any) -> Any:
    """A joserfc key from a PEM public key, PEM bytes, or a ``cryptography`` key object."""
    from cryptography.hazmat.primitives import serialization
    from joserfc.jwk import ECKey, OKPKey, RSAKey

    if hasattr(key, "public_key"):
        key = key.public_key()
    if hasattr(key, "public_bytes"):
        key = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    for kind in (RSAKey, ECKey, OKPKey):
        try:
            return kind.import_key(key)
        except Exception:  # not this kind of key: try the next
            continue
    raise ValueError("not an RSA, EC or OKP public key")


def check_assertion(
    form: Dict[str, List[str]],
    *,
    client_id: str,
    secret: str,
    keys: Collection[Any],
    audiences: Collection[str],
    seen: Set[str],
    log: Optional[Any] = None,
) -> None:
    """Accept the form's client assertion or raise :class:`Reject` (401 ``invalid_client``)
    naming what is wrong: type, signature, ``iss``/``sub``, ``aud``, ``exp``/``iat`` or a
    ``jti`` seen before."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import OctKey

    if form.get("client_assertion_type") != [ASSERTION_TYPE]:
        raise Reject(400, _oauth2_error(400, "client_assertion_type must be jwt-bearer"))
    value = (form.get("client_assertion") or [""])[0]
    claims: Optional[Dict[str, Any]] = None
    candidates = [OctKey.import_key(secret.encode()), *keys]
    for key in candidates:
        try:
            claims = dict(jwt.decode(value, key, algorithms=_ALGS).claims)
            break
        except (JoseError, ValueError, TypeError):
            continue
    if claims is None:
        raise _refuse("the client assertion's signature does not verify")
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise _refuse("the client assertion's iss and sub must be the client id")
    if "client_id" in form and form["client_id"] != [client_id]:
        raise _refuse("client_id does not match the assertion")
    if claims.get("aud") not in audiences:
        raise _refuse(f"the client assertion's aud must be one of {sorted(audiences)}")
    _check_times(claims)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or jti in seen:
        raise _refuse("the client assertion's jti is missing or was used before")
    seen.add(jti)
    if log is not None:
        log.append(claims)


def _check_times(claims: Dict[str, Any]) -> None:
    now = time.time()
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, (int, float)) or not isinstance(iat, (int, float)):
        raise _refuse("the client assertion needs numeric exp and iat")
    if exp <= now or iat > now + 60:
        raise _refuse("the client assertion is expired or issued in the future")
    if exp - iat > MAX_LIFE or exp > now + MAX_LIFE:
        raise _refuse(f"the client assertion may live at most {MAX_LIFE} s")


# --- DPoP proofs (RFC 9449) -----------------------------------------------------------------


def check_proof(
    proof: str,
    *,
    method: str,
    url: str,
    seen: Set[str],
    nonce: Optional[str] = None,
    token: Optional[str] = None,
    jkt: Optional[str] = None,
) -> str:
    """Accept a DPoP proof for one request, or raise ``ValueError`` naming the problem;
    returns the proof key's thumbprint (``jkt``). ``nonce``: the one the server requires;
    ``token``/``jkt``: the access token the request carries and the key it is bound to."""
    from joserfc.errors import JoseError

    try:
        head, payload, signature = proof.split(".")
        header, key, thumbprint, algorithm = _proof_head(head)
        if not algorithm.verify(f"{head}.{payload}".encode(), _unb64(signature), key):
            raise ValueError("bad signature")
        claims = json.loads(_unb64(payload))
    except (JoseError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise ValueError(f"the DPoP proof does not verify ({type(exc).__name__})") from None
    if header.get("typ") != "dpop+jwt" or "d" in header["jwk"]:
        raise ValueError("the DPoP proof's typ must be dpop+jwt, its jwk public")
    if claims.get("htm") != method or claims.get("htu") != url:
        raise ValueError(f"the DPoP proof is for {claims.get('htm')} {claims.get('htu')}")
    iat = claims.get("iat")
    if not isinstance(iat, (int, float)) or abs(time.time() - iat) > 60:
        raise ValueError("the DPoP proof's iat is not now")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or jti in seen:
        raise ValueError("the DPoP proof's jti is missing or was used before")
    if token is not None:
        digest = hashlib.sha256(token.encode()).digest()
        if claims.get("ath") != base64.urlsafe_b64encode(digest).rstrip(b"=").decode():
            raise ValueError("the DPoP proof's ath does not match the access token")
    if jkt is not None and thumbprint != jkt:
        raise ValueError("the DPoP proof's key is not the one the token is bound to")
    if nonce is not None and claims.get("nonce") != nonce:
        raise NonceMissing("the DPoP proof lacks the server's current nonce")
    seen.add(jti)
    return str(thumbprint)


_heads: Dict[str, Any] = {}


def _unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _proof_head(head: str) -> Any:
    """(header, key, thumbprint, algorithm) of a proof's encoded header, worked out once per
    header: a client sends the same header (its public key) with every proof. The algorithm
    is joserfc's, from a registry allowing the asymmetric ones only (no "none", no HMAC)."""
    from joserfc.jwk import JWKRegistry
    from joserfc.jws import JWSRegistry

    found = _heads.get(head)
    if found is None:
        header = json.loads(_unb64(head))
        key: Any = JWKRegistry.import_key(header["jwk"])
        registry = JWSRegistry(algorithms=[a for a in _ALGS if not a.startswith("HS")])
        algorithm = registry.get_alg(header["alg"])
        algorithm.check_key(key)
        found = (header, key, key.thumbprint(), algorithm)
        if len(_heads) > 4096:
            _heads.clear()
        _heads[head] = found
    return found


class NonceMissing(ValueError):
    """The proof is good but for the nonce the server requires."""
