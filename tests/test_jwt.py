"""Client assertions and signing keys (``auth_sessions._jwt``) on their own: claims, key
types, the RFC 7638 thumbprint (its published example), and what a repr shows."""

from __future__ import annotations

import time

import pytest

jwt = pytest.importorskip("jwt", reason="the [jwt] extra (PyJWT) is not installed")

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa  # noqa: E402

from auth_sessions import ConfigurationError  # noqa: E402
from auth_sessions._jwt import (  # noqa: E402
    ASSERTION_LIFETIME,
    SigningKey,
    client_assertion,
    public_jwk,
)

# RFC 7638 section 3.1: this RSA public key's thumbprint is NzbLsXh8...
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECP"
    "ebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY"
    "368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0f"
    "M4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def _b64_int(text: str) -> int:
    import base64

    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def test_the_thumbprint_is_rfc_7638s() -> None:
    public = rsa.RSAPublicNumbers(_b64_int("AQAB"), _b64_int(RFC7638_N)).public_key()
    assert public_jwk(public)["n"] == RFC7638_N
    from auth_sessions import _jwt

    assert _jwt._thumbprint(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(
    "key, alg",
    [
        (rsa.generate_private_key(public_exponent=65537, key_size=2048), "RS256"),
        (ec.generate_private_key(ec.SECP256R1()), "ES256"),
        (ec.generate_private_key(ec.SECP384R1()), "ES384"),
        (ed25519.Ed25519PrivateKey.generate(), "EdDSA"),
    ],
)
def test_an_assertion_carries_exactly_the_claims_asked(key: object, alg: str) -> None:
    signer = SigningKey(key, None, "kid-7", "test")
    assert signer.alg == alg and "PRIVATE" not in repr(signer)
    before = time.time()
    first = client_assertion("svc", "https://idp.example/token", signer)
    second = client_assertion("svc", "https://idp.example/token", signer)
    header = jwt.get_unverified_header(first)
    claims = jwt.decode(
        first,
        key.public_key(),
        algorithms=[alg],
        audience="https://idp.example/token",  # type: ignore[attr-defined]
    )
    assert header["kid"] == "kid-7" and header["alg"] == alg
    assert claims["iss"] == claims["sub"] == "svc"
    assert claims["aud"] == "https://idp.example/token"  # exactly: no slash added
    assert claims["exp"] - claims["iat"] == ASSERTION_LIFETIME <= 300
    assert int(before) <= claims["iat"] <= time.time()
    assert jwt.decode(second, options={"verify_signature": False})["jti"] != claims["jti"]


def test_client_secret_jwt_signs_with_the_secret() -> None:
    token = client_assertion("svc", "https://idp.example/t", b"s" * 32, "HS384")
    claims = jwt.decode(token, b"s" * 32, algorithms=["HS384"], audience="https://idp.example/t")
    assert claims["sub"] == "svc"


def test_a_symmetric_algorithm_cannot_sign_with_a_private_key() -> None:
    with pytest.raises(ConfigurationError, match="cannot sign with a private key"):
        SigningKey(ec.generate_private_key(ec.SECP256R1()), "HS256", None, "test")
