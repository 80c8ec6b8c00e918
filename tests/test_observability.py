"""Events and OpenTelemetry metrics: what an operator sees, with the real OpenTelemetry SDK
and its in-memory reader."""

from __future__ import annotations

import logging
import threading
from typing import Any, Dict, Iterator, List

import pytest

import auth_sessions
from auth_sessions import Event, InvalidCredentials, RedisTokenStore, subscribe
from auth_sessions.events import KINDS
from auth_sessions.testing import FakeVendors


@pytest.fixture
def events() -> Iterator[List[Event]]:
    seen: List[Event] = []
    lock = threading.Lock()

    def record(event: Event) -> None:
        with lock:
            seen.append(event)

    unsubscribe = subscribe(record)
    yield seen
    unsubscribe()


def test_the_event_stream(clocked, events: List[Event], caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    fake, clock = clocked
    fake.set_lifetime("cair", 100)
    session = fake.session("cair")
    with caplog.at_level(logging.INFO, logger="auth_sessions"):
        session.get("/a")  # token_fetched
        fake.fail_api_calls("cair", 1)
        session.get("/b")  # token_invalidated? no: 401 with a valid token -> refresh, replay
        clock.advance(92)
        fake.inject_token_fault("cair", "status", status=500, count=9)
        session.get("/c")  # advisory: renewal fails in the background, valid token kept
        assert session.auth.wait_for_renewal(10)
    kinds = [e.kind for e in events]
    for kind in ("token_fetched", "token_refreshed", "replayed_401", "renewal_failed"):
        assert kind in kinds, kinds
    assert "stale_token_served" in kinds
    fetched = next(e for e in events if e.kind == "token_fetched")
    assert (fetched.vendor, fetched.client_id, fetched.outcome) == ("cair", "cair-client", "ok")
    assert fetched.duration is not None and fetched.duration > 0
    failed = next(e for e in events if e.kind == "renewal_failed")
    assert (failed.outcome, failed.status_code) == ("TokenEndpointError", 500)
    # the log lines are the events' own messages
    logged = [r.getMessage() for r in caplog.records if r.name == "auth_sessions"]
    assert [e.message for e in events if KINDS[e.kind] >= logging.INFO] == logged
    text = repr(events) + "\n".join(logged)
    assert not [s for s in fake.issued_secrets() if s in text]


def test_cooldown_events(fake_vendor: FakeVendors, events: List[Event]) -> None:
    session = fake_vendor.session("orum", client_secret="wrong-secret-123")
    with pytest.raises(InvalidCredentials):
        session.get("/x")
    entered = [e for e in events if e.kind == "cooldown_entered"]
    assert len(entered) == 1 and entered[0].status_code == 401
    right = fake_vendor.session("orum")
    right.get("/x")
    assert "cooldown_left" not in [e.kind for e in events]  # another key never held back


def test_store_outage_and_recovery_events(own_redis, prefix: str, events: List[Event]) -> None:  # type: ignore[no-untyped-def]
    store = RedisTokenStore(own_redis.url, prefix=prefix, retry_interval=0.0)
    with FakeVendors() as fake:
        session = fake.session("sohar", token_store=store)
        session.get("/a")
        own_redis.stop()
        session.auth.forget()
        session.get("/b")
    assert [e.kind for e in events if e.kind.startswith("store_")] == ["store_outage"]


def test_a_failing_subscriber_breaks_nothing(fake_vendor: FakeVendors) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("subscriber bug")

    unsubscribe = subscribe(broken)
    try:
        assert fake_vendor.session("cobee").get("/x").status_code == 200
    finally:
        unsubscribe()


@pytest.fixture(scope="module")
def reader() -> Any:
    sdk = pytest.importorskip("opentelemetry.sdk.metrics")
    export = pytest.importorskip("opentelemetry.sdk.metrics.export")
    from opentelemetry import metrics

    reader = export.InMemoryMetricReader()
    metrics.set_meter_provider(sdk.MeterProvider(metric_readers=[reader]))
    return reader


def _points(reader: Any) -> Dict[str, List[Any]]:
    found: Dict[str, List[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def test_opentelemetry_metrics(reader: Any, fake_vendor: FakeVendors) -> None:
    session = fake_vendor.session("cobee")
    session.get("/a")
    fake_vendor.fail_api_calls("cobee", 1)
    session.get("/b")  # a replay and a renewal
    wrong = fake_vendor.session("cobee", client_secret="wrong-secret-123")
    with pytest.raises(InvalidCredentials):
        wrong.get("/c")
    points = _points(reader)
    assert set(auth_sessions._otel.METRICS) <= set(points)
    requests_ = {
        p.attributes["outcome"]: p.value
        for p in points["auth_sessions.token.requests"]
        if p.attributes["vendor"] == "cobee"
    }
    assert requests_["fetched"] >= 2 and requests_["InvalidCredentials"] >= 1
    assert any(p.value >= 1 for p in points["auth_sessions.replays"])
    assert any(
        p.attributes["reason"] == "InvalidCredentials" for p in points["auth_sessions.cooldowns"]
    )
    durations = [p for p in points["auth_sessions.token.fetch.duration"] if p.count]
    assert durations and all(p.sum > 0 for p in durations)
