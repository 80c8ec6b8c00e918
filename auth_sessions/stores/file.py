"""``FileTokenStore``: tokens in one 0600 file, shared by the processes of one host."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import threading
import time
from pathlib import Path
from typing import (
    Any,
    Callable,
    ContextManager,
    Dict,
    Iterator,
    Optional,
    Sequence,
    Set,
    Tuple,
    Union,
)

from ..errors import ConfigurationError
from ..events import Event, emit
from ..tokens import Failure, Token
from ._common import hashed, token_from_dict, token_to_dict
from ._fallback import Down, Fallback
from ._seal import UNKEYED, UNOPENED, codec_for, rejected
from .base import BaseTokenStore

__all__ = ["FileTokenStore"]


_POLL_FIRST, _POLL_MAX = 0.002, 0.05


_FAILURE = "failure|"  # entries of failure memory: this prefix + the credential key
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_LOCK_FLAGS = os.O_CREAT | os.O_RDWR | _NOFOLLOW
_UNUSABLE = (OSError, ValueError, RecursionError, OverflowError)
"""What a token file can throw: a full or read-only disk, permissions, a timed-out lock,
content that is not ours. Each is an outage of the store, never the caller's error."""


class FileTokenStore(BaseTokenStore):
    """Tokens persisted in one JSON file, for short-lived processes on one host (cron jobs,
    CLIs, worker pools without Redis).

    The file is created with mode 0600 (never through a symlink), and an existing file that
    group or others may read, or that is not a regular file, is refused. Writes go to a
    temporary file that is renamed over the old one, so a crash never leaves a torn file; a
    corrupt file (binary, not JSON, absurd numbers) is treated as empty (one warning). The
    store is a cache: when the file cannot be read or written (a full or read-only disk, a
    removed directory, permissions) a memory stand-in serves, with one ``store_outage``
    event, and no request fails for it. Single-flight holds
    across processes through ``flock`` on a lock file per credential set, next to the token
    file, and so does failure memory. Thread-safe, and fork-safe: a child never inherits a
    lock held in the parent. With ``encryption_keys`` (or ``AUTH_SESSIONS_STORE_KEYS``)
    every entry is sealed (AES-256-GCM) under a digest of its credential key: the file then
    shows no token, client id or vendor name, only when each entry may be pruned.

    Args:
        path: the token file; created if absent (its directory must exist).
        clock: epoch-seconds clock that expiries are compared with.
        encryption_keys: url-safe base64 32-byte keys; the first seals, all open. None: from
            ``AUTH_SESSIONS_STORE_KEYS``, in clear when that is unset.

    Raises:
        ConfigurationError: the file exists and is readable by group or others, or is not a
            regular file; a key is malformed, or ``cryptography`` is missing for keys.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        *,
        clock: Callable[[], float] = time.time,
        encryption_keys: Optional[Sequence[str]] = None,
    ) -> None:
        super().__init__(clock=clock)
        self._codec = codec_for(encryption_keys, "FileTokenStore")
        self._given_keys = None if encryption_keys is None else list(encryption_keys)
        self.path = Path(path)
        try:  # no symlink followed, and a FIFO planted at the path cannot block the open
            fd = os.open(self.path, os.O_CREAT | os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK, 0o600)
        except OSError as exc:
            raise ConfigurationError(
                f"FileTokenStore: cannot open {self.path} ({exc.strerror or type(exc).__name__})"
                "; choose a path in a private directory of yours"
            ) from None
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigurationError(f"FileTokenStore: {self.path} is not a regular file")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise ConfigurationError(
                f"FileTokenStore: {self.path} belongs to another user (uid {info.st_uid}); "
                "choose a path in a private directory of yours"
            )
        if info.st_mode & 0o077:
            raise ConfigurationError(
                f"FileTokenStore: {self.path} is readable by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 it or choose another path"
            )
        self._write_lock = threading.Lock()
        self._held: Set[int] = set()
        self._warned_corrupt = False
        self._outages = Fallback(
            f"token file {self.path}", _UNUSABLE, retry_interval=5.0, clock=clock
        )
        self._memory = self._outages.memory

    def __repr__(self) -> str:
        sealed = ", sealed" if self._codec.sealed else ""
        return f"FileTokenStore({str(self.path)!r}{sealed})"

    def __reduce__(self) -> Any:
        return (_reopen, (str(self.path), self._given_keys))  # reopened from its path

    # ---------------------------------------------------------------- entries

    def _name(self, key: str) -> str:
        """An entry's name in the file: the credential key, or its digest when sealed."""
        return hashed(key) if self._codec.sealed else key

    def _pack(self, name: str, data: Dict[str, Any], until: float) -> Dict[str, Any]:
        if not self._codec.sealed:
            return data
        return {"until_ts": until, "sealed": self._codec.seal(name, data)}

    def _find(self, data: Dict[str, Any], key: str, space: str = "") -> Tuple[str, Any]:
        """``(name, entry)`` of ``key`` in ``data``; an entry of the other kind (in clear
        when sealed, sealed when in clear) is a miss, and said so."""
        name = space + self._name(key)
        if name not in data:
            other = space + (key if self._codec.sealed else hashed(key))
            if other in data:
                rejected(UNOPENED if self._codec.sealed else UNKEYED)
        return name, data.get(name)

    def _keeps(self, entry: Any, now: float) -> bool:
        """Whether a write keeps ``entry``: alive, and sealed when this store seals (a
        sealed store never leaves a token in clear behind it)."""
        plain = isinstance(entry, dict) and "sealed" not in entry
        return _alive(entry, now) and not (self._codec.sealed and plain)

    def _unpack(self, name: str, entry: Any) -> Optional[Dict[str, Any]]:
        if not isinstance(entry, dict):
            return None
        if self._codec.sealed or "sealed" in entry:
            return self._codec.open(name, entry.get("sealed"))
        return entry

    def after_fork(self) -> None:
        self._outages.after_fork()
        self._write_lock = threading.Lock()
        for fd in list(self._held):  # the parent's locks, held or awaited: drop our copies
            with contextlib.suppress(OSError):
                os.close(fd)
        self._held = set()

    # ---------------------------------------------------------------- the file

    def _read(self) -> Dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError):  # binary, not JSON, nested past the stack
            if not self._warned_corrupt:
                self._warned_corrupt = True
                message = f"token file {self.path} is corrupt; treating it as empty"
                emit(Event("store_corrupt", "", message, outcome="corrupt"))
            return {}
        return data

    def _write(self, data: Dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # a leftover of a crash, or a link planted there: never followed
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def _mutate(self) -> Iterator[Dict[str, Any]]:
        """Read, change and atomically rewrite the file under the write lock."""
        with (
            self._write_lock,
            self._flock(self.path.with_name(self.path.name + ".lock"), True, 60.0) as got,
        ):
            if not got:
                raise TimeoutError(f"could not lock {self.path} for writing")
            data = self._read()
            now = self.clock()
            for key in [k for k, v in data.items() if not self._keeps(v, now)]:
                del data[key]
            yield data
            self._write(data)

    @contextlib.contextmanager
    def _flock(self, lock_path: Path, blocking: bool, timeout: float) -> Iterator[bool]:
        """``flock`` on ``lock_path``, polling until ``timeout``; the lock file is removed
        when released, so none is left per credential set. A waiter that gets the lock of a
        file already removed (its inode no longer at the path) opens the path again."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not self._outages.available():
                    raise Down
                fd = self._outages.call(lambda: os.open(lock_path, _LOCK_FLAGS, 0o600))
            except Down:  # the directory fails us: the in-process lock is what we have
                yield True
                return
            acquired = current = False
            try:
                self._held.add(fd)  # held or waited on: a forked child closes its copy either way
                acquired = _take(fd, blocking, deadline)
                current = acquired and _same_file(fd, lock_path)
                if acquired and not current:
                    continue  # a removed lock file: the finally closes it; open the path again
                yield acquired
                return
            finally:
                if current:  # ours, and still the one at the path: remove it before letting go
                    with contextlib.suppress(OSError):
                        os.unlink(lock_path)
                os.close(fd)  # closing releases the flock, whatever interrupts what follows
                self._held.discard(fd)

    # ---------------------------------------------------------------- TokenStore

    def get(self, key: str) -> Optional[Token]:
        return self.load(key)[0]

    def get_failure(self, key: str) -> Optional[Failure]:
        return self.load(key)[1]

    def load(self, key: str) -> Tuple[Optional[Token], Optional[Failure]]:
        def shared() -> Tuple[Optional[Token], Optional[Failure]]:
            data, now = self._read(), self.clock()
            name, entry = self._find(data, key)
            failure_name, failed = self._find(data, key, _FAILURE)
            token = token_from_dict(self._unpack(name, entry)) if _alive(entry, now) else None
            opened = self._unpack(failure_name, failed) if failed is not None else None
            failure = Failure.from_dict(opened) if opened is not None else None
            return token, failure if failure is not None and failure.until_ts > now else None

        return self._outages.read(shared, lambda: self._memory.load(key))

    def put(self, key: str, token: Token) -> None:
        self._memory.put(key, token)  # the stand-in, warm for when the file fails
        name = self._name(key)
        entry = self._pack(name, token_to_dict(token), token.keep_until)
        self._outages.write(lambda: self._change(lambda data: data.update({name: entry})))
        self._outages.fetched(key)  # after the write: recorded if it began an outage

    def invalidate(self, key: str, token: Token) -> bool:
        local = self._memory.invalidate(key, token)
        name = self._name(key)

        def drop(data: Dict[str, Any]) -> bool:
            current = token_from_dict(self._unpack(name, data.get(name)))
            if current is None or current.access_token != token.access_token:
                return False
            del data[name]
            return True

        return bool(self._outages.read(lambda: self._change(drop), lambda: local))

    def delete(self, key: str) -> None:
        self._memory.delete(key)
        names = (self._name(key), _FAILURE + self._name(key))
        self._outages.write(lambda: self._change(lambda data: [data.pop(n, None) for n in names]))

    def put_failure(self, key: str, failure: Failure) -> None:
        self._memory.put_failure(key, failure)
        name = _FAILURE + self._name(key)
        entry = self._pack(name, failure.to_dict(), failure.until_ts)
        self._outages.write(lambda: self._change(lambda data: data.update({name: entry})))

    def may_refresh(self, key: str, token: Token) -> bool:
        return self._outages.may_refresh(key)

    def clear_storage(self) -> None:
        self._memory.clear_storage()
        self._outages.write(lambda: self._change(lambda data: data.clear()))

    def _change(self, change: Callable[[Dict[str, Any]], Any]) -> Any:
        with self._mutate() as data:
            return change(data)

    def process_lock(self, key: str, blocking: bool, timeout: float) -> ContextManager[bool]:
        lock_path = self.path.with_name(f"{self.path.name}.{hashed(key)[:16]}.lock")
        return self._flock(lock_path, blocking, timeout)


def _reopen(path: str, keys: Optional[Sequence[str]]) -> FileTokenStore:
    return FileTokenStore(path, encryption_keys=keys)


def _take(fd: int, blocking: bool, deadline: float) -> bool:
    """``flock(fd)``, polling with backoff until ``deadline`` when ``blocking``."""
    pause = _POLL_FIRST
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if not blocking or time.monotonic() >= deadline:
                return False
            time.sleep(pause)  # another process holds it: poll, backing off
            pause = min(pause * 2, _POLL_MAX)


def _same_file(fd: int, path: Path) -> bool:
    """Whether ``fd`` is still the file at ``path`` (not one removed since it was opened)."""
    try:
        return os.fstat(fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
    except OSError:
        return False


def _alive(entry: Any, now: float) -> bool:
    if not isinstance(entry, dict):
        return False
    try:
        keep = max(
            float(entry.get("expires_ts") or 0),
            float(entry.get("refresh_expires_ts") or 0),
            float(entry.get("until_ts") or 0),
        )
    except (TypeError, ValueError):
        return False
    return keep > now
