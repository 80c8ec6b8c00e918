"""A real redis-server on a free loopback port, no persistence; stopped afterwards.

Without redis-server the Redis tests skip with the reason, except under CI=true, where a
missing server is a failure (.ci/run installs it).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from auth_sessions.testing.redis_server import RedisServer


def _start(folder: Path) -> RedisServer:
    try:
        return RedisServer(str(folder))
    except FileNotFoundError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{exc}; CI must install it")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with _start(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may kill."""
    with _start(tmp_path) as server:
        yield server


@pytest.fixture
def prefix() -> str:
    """A key prefix no other test uses."""
    return f"t-{uuid.uuid4().hex[:8]}:"
