"""How entries are written into a shared store: in clear (JSON), or sealed (AES-256-GCM).

A sealed entry is ``as1.`` followed by url-safe base64 of a 4-byte key id, a fresh 12-byte
nonce and the ciphertext of the entry's JSON, with the entry's key name as associated data (an
entry copied under another name does not open). The first key seals; every key opens, so keys
rotate without a miss: ``[A]`` → ``[B, A]`` → ``[B]``. An entry that does not open (another
key, tampered, plaintext from before sealing) is a miss and a ``store_entry_rejected`` event,
never an error to the caller; the next write replaces it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any, Dict, Optional, Sequence, Union

from ..errors import ConfigurationError
from ..events import Event, emit

__all__ = ["ENV", "PLAIN", "Codec", "Sealed", "codec_for", "generate_store_key", "rejected"]

ENV = "AUTH_SESSIONS_STORE_KEYS"
_MARK = "as1."
_NONCE = 12


def generate_store_key() -> str:
    """A new store encryption key: 32 random bytes, url-safe base64 (a str to keep secret)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii")


class Codec:
    """Entries in clear: JSON. Thread-safety: stateless, shared freely."""

    sealed = False

    def seal(self, name: str, data: Dict[str, Any]) -> str:
        return json.dumps(data)

    def open(self, name: str, raw: Union[str, bytes, None]) -> Optional[Dict[str, Any]]:
        """The entry ``raw`` holds, or None (absent, not ours, or does not open)."""
        text = _text(raw)
        if text is None:
            return None
        if text.startswith(_MARK):
            rejected(UNKEYED)
            return None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return data if isinstance(data, dict) else None


PLAIN = Codec()


class Sealed(Codec):
    """Entries sealed with AES-256-GCM under the first of ``keys``; any of them opens.

    Thread-safety: immutable after construction; ``AESGCM`` objects are safe to share.
    """

    sealed = True

    def __init__(self, keys: Sequence[bytes]) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        self._keys = [(_key_id(key), AESGCM(key)) for key in keys]

    def __repr__(self) -> str:
        return f"Sealed({len(self._keys)} keys)"  # never a key

    def seal(self, name: str, data: Dict[str, Any]) -> str:
        key_id, aead = self._keys[0]
        nonce = os.urandom(_NONCE)
        body = aead.encrypt(nonce, json.dumps(data).encode("utf-8"), name.encode("utf-8"))
        return _MARK + base64.urlsafe_b64encode(key_id + nonce + body).decode("ascii")

    def open(self, name: str, raw: Union[str, bytes, None]) -> Optional[Dict[str, Any]]:
        text = _text(raw)
        if text is None:
            return None
        data = self._open(name, text) if text.startswith(_MARK) else None
        if data is None:
            rejected(UNOPENED)
        return data

    def _open(self, name: str, text: str) -> Optional[Dict[str, Any]]:
        from cryptography.exceptions import InvalidTag

        try:
            blob = base64.urlsafe_b64decode(text[len(_MARK) :])
        except (ValueError, binascii.Error):
            return None
        key_id, nonce, body = blob[:4], blob[4 : 4 + _NONCE], blob[4 + _NONCE :]
        for wanted, aead in self._keys:
            if wanted != key_id:
                continue
            try:
                data = json.loads(aead.decrypt(nonce, body, name.encode("utf-8")))
            except (InvalidTag, ValueError, RecursionError):
                return None
            return data if isinstance(data, dict) else None
        return None


def codec_for(keys: Optional[Sequence[str]], owner: str) -> Codec:
    """The codec for ``keys`` (``None``: from :data:`ENV`, plain when that is unset)."""
    if keys is None:
        words = [w.strip() for w in os.environ.get(ENV, "").split(",")]
        keys = [w for w in words if w] or None
        source = ENV
    else:
        source = "encryption_keys="
        if isinstance(keys, (str, bytes)) or not list(keys):
            raise ConfigurationError(f"{owner}: {source} takes a list of at least one key")
    if keys is None:
        return PLAIN
    raw = [_decode_key(key, number, owner, source) for number, key in enumerate(keys, 1)]
    try:
        return Sealed(raw)
    except ImportError:
        raise ConfigurationError(
            f"{owner}: sealing a store needs the cryptography package: "
            "pip install 'auth-sessions[encrypt]'"
        ) from None


def _decode_key(key: Any, number: int, owner: str, source: str) -> bytes:
    """One key's 32 bytes; the error names its position, never its value."""
    problem = f"{owner}: key {number} of {source} is not 32 bytes of url-safe base64"
    if not isinstance(key, str):
        raise ConfigurationError(problem + " (give it as a str, as generate_store_key() does)")
    try:
        value = base64.urlsafe_b64decode(key.strip() + "=" * (-len(key.strip()) % 4))
    except (ValueError, binascii.Error):
        raise ConfigurationError(problem) from None
    if len(value) != 32:
        raise ConfigurationError(f"{problem} (it decodes to {len(value)} bytes)")
    return value


def _text(raw: Union[str, bytes, None]) -> Optional[str]:
    """A stored value as text (Redis answers bytes, the file holds str), or None."""
    if raw is None:
        return None
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _key_id(key: bytes) -> bytes:
    """Four bytes naming a key without revealing it (which key to try first)."""
    return hashlib.sha256(b"auth-sessions store key id\0" + key).digest()[:4]


UNKEYED = f"a sealed store entry was found but no {ENV} are set here; taken as a miss"
UNOPENED = (
    "a store entry did not open with this store's keys (another key, tampered, or written "
    "before sealing); taken as a miss"
)


def rejected(message: str) -> None:
    """Say that an entry was taken as a miss (the ``store_entry_rejected`` event)."""
    emit(Event("store_entry_rejected", "", message, outcome="rejected"))
