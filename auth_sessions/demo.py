"""The ``auth-sessions demo`` scenario: every vendor's flow against the fake vendors."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Tuple

from .sessions import VendorSession, vendor_names
from .testing import FakeVendors, ManualClock

__all__ = ["run_demo"]


def _steps(fake: FakeVendors, clock: ManualClock, vendor: str, session: VendorSession) -> List[Any]:
    """(step name, action, expected (token requests, refreshes)) for one vendor."""
    refreshing = session.auth.wire.refresh_path is not None

    def forced_401() -> Tuple[int, str]:
        fake.fail_api_calls(vendor, 1)
        response = session.get("/demo/replayed", timeout=10)
        history = [r.status_code for r in response.history]
        first = history[0] if history else "-"
        return response.status_code, f"{first} -> re-auth -> replay {response.status_code}"

    def expiry() -> Tuple[int, str]:
        before = session.auth.get_token()
        clock.advance(3600)
        response = session.get("/demo/after-expiry", timeout=10)
        after = session.auth.get_token()
        rotated = (
            " (refresh token rotated)"
            if refreshing and before.refresh_token != after.refresh_token
            else ""
        )
        return response.status_code, f"{response.status_code}, renewed{rotated}"

    def get(path: str) -> Callable[[], Tuple[int, str]]:
        def call() -> Tuple[int, str]:
            status = session.get(path, timeout=10).status_code
            return status, str(status)

        return call

    return [
        ("first request", get("/demo/first"), (1, 0)),
        ("second request", get("/demo/second"), (1, 0)),
        ("forced 401", forced_401, (1, 1) if refreshing else (2, 0)),
        ("token expiry", expiry, (1, 2) if refreshing else (3, 0)),
    ]


def run_demo() -> List[Dict[str, Any]]:
    """Run the demo and return one row per step with the fake's server-side counts."""
    clock = ManualClock()
    rows: List[Dict[str, Any]] = []
    with FakeVendors(clock=clock) as fake:
        for vendor in [name for name in vendor_names() if name in fake.vendors()]:
            with fake.session(vendor) as session:
                for step, action, expected in _steps(fake, clock, vendor, session):
                    status, result = action()
                    counts = fake.counts(vendor)
                    got = (counts.token_requests, counts.refreshes)
                    rows.append(
                        {
                            "vendor": vendor,
                            "step": step,
                            "result": result,
                            "token requests": counts.token_requests,
                            "refreshes": counts.refreshes,
                            "api calls": counts.api_calls,
                            "401s": counts.unauthorized,
                            "ok": got == expected and status == 200,
                        }
                    )
    return rows
