"""OpenTelemetry metrics, fed by the event stream (extra ``[otel]``: opentelemetry-api only).

Recorded through the global MeterProvider (whatever the application sets, before or after
importing us); when OpenTelemetry is not installed, nothing is subscribed and nothing happens.

Instruments (attributes in brackets):
- ``auth_sessions.token.requests`` counter [vendor, outcome: fetched | refreshed | error class]
- ``auth_sessions.token.fetch.duration`` histogram, seconds [vendor, outcome]
- ``auth_sessions.replays`` counter: requests replayed after a 401 [vendor]
- ``auth_sessions.cooldowns`` counter: credential sets held back [vendor, reason]
"""

from __future__ import annotations

from typing import Any

from .events import Event, subscribe

__all__ = ["METRICS", "install"]

METRICS = (
    "auth_sessions.token.requests",
    "auth_sessions.token.fetch.duration",
    "auth_sessions.replays",
    "auth_sessions.cooldowns",
)

_OUTCOMES = {"token_fetched": "fetched", "token_refreshed": "refreshed"}


def install(version: str) -> bool:
    """Subscribe the metrics to the event stream; False when OpenTelemetry is absent."""
    try:
        from opentelemetry import metrics
    except ImportError:
        return False
    meter: Any = metrics.get_meter("auth_sessions", version)
    requests_ = meter.create_counter(
        METRICS[0], unit="{request}", description="Token requests made, by outcome"
    )
    duration = meter.create_histogram(
        METRICS[1], unit="s", description="Time a token request took, retries included"
    )
    replays = meter.create_counter(
        METRICS[2], unit="{request}", description="API requests replayed after a 401"
    )
    cooldowns = meter.create_counter(
        METRICS[3], unit="{cooldown}", description="Credential sets held back"
    )

    def record(event: Event) -> None:
        vendor = {"vendor": event.vendor}
        if event.kind in ("token_fetched", "token_refreshed", "renewal_failed"):
            attributes = {**vendor, "outcome": _OUTCOMES.get(event.kind, event.outcome)}
            requests_.add(1, attributes)
            if event.duration is not None:
                duration.record(event.duration, attributes)
        elif event.kind == "replayed_401":
            replays.add(1, vendor)
        elif event.kind == "cooldown_entered":
            cooldowns.add(1, {**vendor, "reason": event.outcome})

    subscribe(record)
    return True
