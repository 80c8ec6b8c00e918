"""Token stores: where tokens live between requests, and who may fetch the next one."""

from __future__ import annotations

from ._seal import generate_store_key
from .base import BaseTokenStore, TokenStore
from .file import FileTokenStore
from .memory import MemoryTokenStore, default_store
from .redis import RedisTokenStore

__all__ = [
    "BaseTokenStore",
    "FileTokenStore",
    "MemoryTokenStore",
    "RedisTokenStore",
    "TokenStore",
    "default_store",
    "generate_store_key",
]
