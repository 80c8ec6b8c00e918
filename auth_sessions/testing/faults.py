"""The ways a fake token endpoint can misbehave: one class per kind, each rendering its answer.

A fault answers with a :class:`Reply` (data: the HTTP plumbing writes it, socket-free code can
read it) or with None, meaning "now answer normally" (the waiting kinds). Thread-safe: a fault
is used by the one request that took it from the queue.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar, Dict, Mapping, Optional, Type

from ._vendors import VendorSpec

__all__ = ["FAULTS", "Fault", "FaultContext", "Reply", "make_fault"]

Json = Dict[str, Any]


@dataclass(frozen=True)
class Reply:
    """An HTTP answer as data.

    ``declared_length`` larger than the body announces more than is sent (the connection is
    then cut); ``drop`` closes the connection without answering at all; ``trickle`` sends the
    body one byte every ``trickle`` seconds.
    """

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    declared_length: Optional[int] = None
    drop: bool = False
    trickle: Optional[float] = None

    @classmethod
    def json(cls, status: int, payload: Any, headers: Optional[Mapping[str, str]] = None) -> Reply:
        return cls(status, json.dumps(payload).encode(), dict(headers or {}))

    def payload(self) -> Any:
        """The body parsed as JSON (for socket-free tests)."""
        return json.loads(self.body.decode("utf-8"))


@dataclass(frozen=True)
class FaultContext:
    """What a fault may use: the vendor's description, a valid token answer, the stop flag."""

    spec: VendorSpec
    good_body: Callable[[], Json]
    stopping: threading.Event


class Fault:
    """One misbehaviour of a token endpoint."""

    kind: ClassVar[str]

    def arrive(self) -> None:
        """The request that took this fault has come in (called before :meth:`respond`)."""

    def respond(self, ctx: FaultContext) -> Optional[Reply]:
        raise NotImplementedError


@dataclass
class Status(Fault):
    """Answer ``status`` with the vendor's error body (or ``body``) and its delay header."""

    kind: ClassVar[str] = "status"
    status: int = 503
    retry_after: Optional[str] = None
    body: Any = None

    def respond(self, ctx: FaultContext) -> Reply:
        body = (
            ctx.spec.error_body(self.status, "injected fault") if self.body is None else self.body
        )
        return Reply.json(self.status, body, ctx.spec.retry_headers(self.status, self.retry_after))


@dataclass
class Html(Fault):
    """``status`` (default 200) with an HTML page, titled ``title`` when given: what a
    gateway or proxy in front of the vendor answers (nginx: "400 No required SSL
    certificate was sent")."""

    kind: ClassVar[str] = "html"
    status: int = 200
    title: str = ""

    def respond(self, ctx: FaultContext) -> Reply:
        head = f"<head><title>{self.title}</title></head>" if self.title else ""
        page = f"<html>{head}<body>Service maintenance</body></html>".encode()
        return Reply(self.status, page, content_type="text/html")


@dataclass
class Empty(Fault):
    """200 with no body."""

    kind: ClassVar[str] = "empty"

    def respond(self, ctx: FaultContext) -> Reply:
        return Reply(200)


@dataclass
class InvalidJson(Fault):
    """200 with broken JSON."""

    kind: ClassVar[str] = "invalid_json"

    def respond(self, ctx: FaultContext) -> Reply:
        return Reply(200, b'{"access_token": ')


@dataclass
class NotObject(Fault):
    """200 with a JSON array."""

    kind: ClassVar[str] = "not_object"

    def respond(self, ctx: FaultContext) -> Reply:
        return Reply.json(200, [1, 2, 3])


@dataclass
class Body(Fault):
    """200 with the JSON value ``body``."""

    kind: ClassVar[str] = "body"
    body: Any = None

    def respond(self, ctx: FaultContext) -> Reply:
        return Reply.json(200, self.body)


@dataclass
class MissingField(Fault):
    """200 with a real token answer whose first field (the token) is left out."""

    kind: ClassVar[str] = "missing_field"

    def respond(self, ctx: FaultContext) -> Reply:
        good = ctx.good_body()
        good.pop(next(iter(good)))
        return Reply.json(200, good)


@dataclass
class Huge(Fault):
    """200 with a body over 1 MiB."""

    kind: ClassVar[str] = "huge"

    def respond(self, ctx: FaultContext) -> Reply:
        return Reply(200, b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}')


@dataclass
class Delay(Fault):
    """Wait ``delay`` seconds (or until the fake stops), then answer normally."""

    kind: ClassVar[str] = "delay"
    delay: float = 0.0

    def respond(self, ctx: FaultContext) -> None:
        ctx.stopping.wait(self.delay)


@dataclass
class Hold(Fault):
    """Wait until the test sets ``gate`` (or the fake stops), then answer normally.

    A window the test opens and closes itself, not a timing guess; ``arrived``, if given, is
    set when the held request has come in.
    """

    kind: ClassVar[str] = "hold"
    gate: Optional[threading.Event] = None
    arrived: Optional[threading.Event] = None

    def __post_init__(self) -> None:
        if self.gate is None:
            raise ValueError("a 'hold' fault needs gate=threading.Event()")

    def arrive(self) -> None:
        if self.arrived is not None:
            self.arrived.set()

    def respond(self, ctx: FaultContext) -> None:
        assert self.gate is not None
        while not self.gate.wait(0.05) and not ctx.stopping.is_set():
            pass  # checking for stop() meanwhile


@dataclass
class Drop(Fault):
    """Close the connection without answering."""

    kind: ClassVar[str] = "drop"

    def respond(self, ctx: FaultContext) -> Reply:
        return Reply(0, drop=True)


@dataclass
class DropMid(Fault):
    """Send the headers and part of the body, then close."""

    kind: ClassVar[str] = "drop_mid"

    def respond(self, ctx: FaultContext) -> Reply:
        return Reply(200, b'{"access_token": "abc", ', declared_length=400)


@dataclass
class Trickle(Fault):
    """Answer a good token, its body one byte every ``interval`` seconds (headers at once):
    each read succeeds, and the whole answer takes minutes."""

    kind: ClassVar[str] = "trickle"
    interval: float = 0.2

    def respond(self, ctx: FaultContext) -> Reply:
        body = json.dumps(ctx.good_body()).encode()
        return Reply(200, body, trickle=self.interval)


KINDS: Dict[str, Type[Fault]] = {
    cls.kind: cls
    for cls in (
        Status,
        Html,
        Empty,
        InvalidJson,
        NotObject,
        Body,
        MissingField,
        Huge,
        Delay,
        Hold,
        Drop,
        DropMid,
        Trickle,
    )
}
FAULTS = tuple(KINDS)
"""The fault kinds :meth:`~auth_sessions.testing.FakeVendors.inject_token_fault` knows."""


def make_fault(kind: str, **options: Any) -> Fault:
    """The fault ``kind`` built from the options it takes; options it does not take are
    ignored when left at None or 0, and refused otherwise."""
    try:
        cls = KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown fault {kind!r}; one of {', '.join(FAULTS)}") from None
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    stray = sorted(k for k, v in options.items() if k not in names and v not in (None, 0))
    if stray:
        raise ValueError(f"fault {kind!r} takes no {', '.join(stray)}")
    return cls(**{k: v for k, v in options.items() if k in names})
