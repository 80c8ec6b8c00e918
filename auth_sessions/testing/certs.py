"""Throwaway certificates for the fake vendors over TLS: a CA of its own and a server
certificate for 127.0.0.1 / localhost, valid for a day. Nothing is trusted system-wide: point
``verify=`` (or ``REQUESTS_CA_BUNDLE``) at the CA file. Needs ``cryptography`` (the
``[encrypt]`` or ``[jwt]`` extra)."""

from __future__ import annotations

import datetime
import ipaddress
import os
from typing import Any, Tuple

from ..errors import ConfigurationError

__all__ = ["throwaway_tls"]


def _write(path: str, data: bytes) -> str:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def throwaway_tls(folder: str) -> Tuple[str, Tuple[str, str]]:
    """``(ca_file, (cert_file, key_file))`` written into ``folder``."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        raise ConfigurationError(
            "the fake's --tls needs cryptography: pip install 'auth-sessions[encrypt]'"
        ) from None
    now = datetime.datetime.now(datetime.timezone.utc)

    def build(subject: str, issuer: Any, key: Any, signer: Any, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth-sessions fake CA")])
    ca = build("auth-sessions fake CA", ca_name, ca_key, ca_key, True)
    server = build("127.0.0.1", ca_name, server_key, ca_key, False)
    pem = serialization.Encoding.PEM
    key_pem = server_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    ca_file = _write(os.path.join(folder, "fake-ca.pem"), ca.public_bytes(pem))
    cert_file = _write(os.path.join(folder, "fake-server.pem"), server.public_bytes(pem))
    key_file = _write(os.path.join(folder, "fake-server.key"), key_pem)
    return ca_file, (cert_file, key_file)
