"""Token stores: where tokens live between requests, and who may fetch the next one."""

from __future__ import annotations

from .base import TokenStore
from .memory import MemoryTokenStore, default_store

__all__ = ["MemoryTokenStore", "TokenStore", "default_store"]
