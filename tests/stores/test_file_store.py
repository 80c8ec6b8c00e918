"""FileTokenStore: permissions, atomic writes, corruption, semantics, cross-process locks."""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import stat
import threading
from pathlib import Path
from typing import Any, Callable, List, Tuple

import pytest

from auth_sessions import ConfigurationError, FileTokenStore, Token, subscribe
from auth_sessions.testing import FakeVendors

from ._workers import hold_lock


def _token(value: str, ttl: float = 3600.0, refresh: bool = False) -> Token:
    import time

    now = time.time()
    return Token.create(
        value, expires_ts=now + ttl, issued_ts=now,
        refresh_token="rt-" + value if refresh else None,
        refresh_expires_ts=now + 86400 if refresh else None,
    )  # fmt: skip


def test_is_a_token_store_created_0600(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.json").st_mode) == 0o600
    store.put("k", _token("a"))
    assert stat.S_IMODE(os.stat(tmp_path / "tokens.json").st_mode) == 0o600
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in tmp_path.iterdir())


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_refuses_readable_file(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "tokens.json"
    path.write_text("{}")
    path.chmod(mode)
    with pytest.raises(ConfigurationError, match="readable by group or others"):
        FileTokenStore(path)


def test_put_get_invalidate_round_trip(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    old, new = _token("old", refresh=True), _token("new", refresh=True)
    store.put("k", old)
    got = FileTokenStore(tmp_path / "t.json").get("k")  # another instance, as another process
    assert got == old and got.refresh_token == old.refresh_token
    store.put("k", new)
    assert store.invalidate("k", old) is False
    assert store.invalidate("k", new) is True
    assert store.get("k") is None


def test_expired_entries_leave(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    store.put("gone", _token("a", ttl=-1))
    store.put("kept", _token("b"))
    assert store.get("gone") is None
    assert set(json.loads((tmp_path / "t.json").read_text())) == {"kept"}
    assert "b" not in repr(store)


def test_corrupt_file_is_empty_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t.json"
    store = FileTokenStore(path)
    path.write_text('{"k": {"access_token": "half')
    with caplog.at_level(logging.WARNING):
        assert store.get("k") is None
        assert store.get("k") is None
        store.put("k", _token("fresh"))
    assert [r.getMessage() for r in caplog.records].count(
        f"token file {path} is corrupt; treating it as empty"
    ) == 1
    fresh = store.get("k")
    assert fresh is not None and fresh.access_token.reveal() == "fresh"
    path.write_text('["not", "an", "object"]')
    assert store.get("k") is None


def test_writes_are_atomic_under_concurrency(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "t.json"
    store = FileTokenStore(path)
    stop = threading.Event()
    torn: list = []

    def reader() -> None:
        while not stop.is_set():
            text = path.read_text()
            try:
                json.loads(text or "{}")
            except ValueError:
                torn.append(text)

    def writer(n: int) -> None:
        for i in range(50):
            store.put(f"k{n}", _token(f"t{n}-{i}"))

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert torn == []
    assert len(json.loads(path.read_text())) == 4  # no write lost
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_lock_holds_across_processes(tmp_path: Path) -> None:
    path = str(tmp_path / "t.json")
    FileTokenStore(path)
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    child = ctx.Process(target=hold_lock, args=(("file", path), "key", held, release))
    child.start()
    try:
        assert held.wait(30)
        store = FileTokenStore(path)
        with store.lock("key", blocking=False) as acquired:
            assert acquired is False
        with store.lock("other-key", blocking=False) as acquired:
            assert acquired is True  # per credential set, not one global lock
        with store.lock("key", timeout=0.05) as acquired:
            assert acquired is False
    finally:
        release.set()
        child.join(30)
    with FileTokenStore(path).lock("key", timeout=5) as acquired:
        assert acquired is True


def _count_events(kind: str) -> Tuple[List[str], Callable[[], None]]:
    seen: List[str] = []
    return seen, subscribe(lambda e: seen.append(e.message) if e.kind == kind else None)


def test_a_store_that_cannot_write_never_fails_a_request(tmp_path: Path) -> None:
    folder = tmp_path / "tokens"
    folder.mkdir()
    store = FileTokenStore(folder / "tokens.json")
    outages, unsubscribe = _count_events("store_outage")
    try:
        with FakeVendors() as fake:
            for name in os.listdir(folder):
                os.unlink(folder / name)
            folder.rmdir()  # every read, write and lock of the file now fails (ENOENT)
            sessions = [fake.session("cobee", token_store=store) for _ in range(10)]
            statuses = [s.get("/employees").status_code for s in sessions]
            assert statuses == [200] * 10
            assert fake.counts("cobee").token_requests == 1  # the stand-in shares it
    finally:
        unsubscribe()
    assert len(outages) == 1 and "tokens.json" in outages[0]


@pytest.mark.parametrize(
    "content",
    [b"\xff\xfe\x00binary", b"[" * 100_000, b'{"k": {"expires_ts": 1e999}}', b"null"],
    ids=["binary", "deep", "overflow", "not-an-object"],
)
def test_corrupt_content_is_an_empty_store(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "tokens.json"
    FileTokenStore(path)
    path.write_bytes(content)
    store = FileTokenStore(path)
    assert store.get("k") is None and store.load("k") == (None, None)
    token = _token("fresh")
    store.put("k", token)
    assert FileTokenStore(path).get("k") == token  # and the file is whole again


def test_a_fifo_or_a_symlink_at_the_path_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(ConfigurationError, match="not a regular file"):
        FileTokenStore(fifo)  # would block forever opening a FIFO for reading
    target = tmp_path / "elsewhere.json"
    link = tmp_path / "link.json"
    link.symlink_to(target)
    with pytest.raises(ConfigurationError, match=r"cannot open .*link\.json"):
        FileTokenStore(link)
    assert not target.exists()  # nothing was created where the link pointed


def test_no_lock_file_is_left_behind(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "tokens.json")
    for i in range(200):  # 200 credential sets, each locked and written once
        with store.lock(f"key-{i}") as acquired:
            assert acquired
            store.put(f"key-{i}", _token(f"t{i}"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tokens.json"]
    assert all(store.get(f"key-{i}") is not None for i in (0, 199))


def _open_lock_files(folder: Path) -> int:
    """How many descriptors of this process are open on a lock file in ``folder``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            count += target.startswith(str(folder)) and target.endswith(".lock")
    return count


def _idle_until(done: Any) -> None:
    done.wait(30)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_forking_while_a_thread_waits_for_the_lock_hands_nothing_to_the_child(
    tmp_path: Path,
) -> None:
    # flock belongs to the open file: a child that kept its copy of a descriptor the parent
    # was waiting on would hold the lock, once the parent got it, for the child's whole life.
    path = tmp_path / "tokens.json"
    holder, waiter = FileTokenStore(path), FileTokenStore(path)  # two stores: two descriptors
    got: List[bool] = []
    release = threading.Event()

    def wait_for_it() -> None:
        with waiter.lock("k", timeout=20) as acquired:
            got.append(acquired)

    with holder.lock("k") as acquired:
        assert acquired
        thread = threading.Thread(target=wait_for_it)
        thread.start()
        for _ in range(2000):  # until the waiter has opened the lock file too (it polls flock)
            if _open_lock_files(tmp_path) >= 2:
                break
            release.wait(0.005)
        assert _open_lock_files(tmp_path) >= 2
        done = multiprocessing.get_context("fork").Event()
        child = multiprocessing.get_context("fork").Process(target=_idle_until, args=(done,))
        child.start()  # forked while the thread waits
    thread.join(30)
    try:
        assert got == [True]
        with FileTokenStore(path).lock("k", blocking=False) as free:
            assert free  # the child, still alive, holds nothing
    finally:
        done.set()
        child.join(30)


def test_a_token_file_of_another_user_is_refused(tmp_path: Path) -> None:
    if not hasattr(os, "getuid") or os.getuid() != 0:
        pytest.skip("giving a file to another user needs root (CI runs as root)")
    path = tmp_path / "theirs.json"
    path.write_text("{}")
    path.chmod(0o600)
    os.chown(path, 12345, 12345)
    with pytest.raises(ConfigurationError, match="belongs to another user"):
        FileTokenStore(path)


def test_the_temporary_file_never_follows_a_planted_link(tmp_path: Path) -> None:
    store = FileTokenStore(tmp_path / "t.json")
    target = tmp_path / "elsewhere"
    planted = tmp_path / f".t.json.{os.getpid()}.{threading.get_ident()}.tmp"
    planted.symlink_to(target)
    store.put("k", _token("a"))
    assert not target.exists()  # the link was removed, not written through
    assert store.get("k") is not None
