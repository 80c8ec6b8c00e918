"""Fake vendors for tests: a real loopback HTTP server speaking each vendor's token protocol.

Use :class:`FakeVendors` directly (or :class:`VendorModel`, the same vendors without a
socket), or the ``fake_vendor`` pytest fixture (installed with the
package through the ``pytest11`` entry point).
"""

from __future__ import annotations

from ._vendors import Incoming
from .clock import ManualClock
from .faults import FAULTS, Reply
from .model import Counters, VendorModel
from .server import FakeVendors

__all__ = ["FAULTS", "Counters", "FakeVendors", "Incoming", "ManualClock", "Reply", "VendorModel"]
