"""Fake vendors for tests: a real loopback HTTP server speaking each vendor's token protocol.

Use :class:`FakeVendors` directly, or the ``fake_vendor`` pytest fixture (installed with the
package through the ``pytest11`` entry point).
"""

from __future__ import annotations

from .clock import ManualClock
from .server import FAULTS, Counters, FakeVendors

__all__ = ["FAULTS", "Counters", "FakeVendors", "ManualClock"]
