"""The long soak: ``python -m benchmarks.soak [PER_THREAD]`` — 16 threads per vendor, 1-second
tokens, 5 % of calls forced to 401; prints what was lost (nothing, we hope) and how many
requests' tokens expired on their way after they were prepared (counted, not lost: see
``SoakReport``)."""

from __future__ import annotations

import sys

from auth_sessions import vendor_names
from auth_sessions.testing import FakeVendors
from auth_sessions.testing._vendors import SPECS
from auth_sessions.testing.soak import run_soak

VENDORS = tuple(name for name in vendor_names() if name in SPECS)


def main(per_thread: int) -> int:
    columns = ("vendor", "requests", "seconds", "replays", "token requests", "refreshes",
               "expired in flight", "lost")  # fmt: skip
    print("| " + " | ".join(columns) + " |")
    print("|---|---|---|---|---|---|---|---|")
    lost = 0
    for vendor in VENDORS:
        with FakeVendors() as fake:
            report = run_soak(fake, vendor, threads=16, per_thread=per_thread)
        lost += len(report.problems)
        print(
            f"| {vendor} | {report.requests} | {report.seconds:.1f} | {report.replays} | "
            f"{report.token_requests} | {report.refreshes} | {report.expired_in_flight} | "
            f"{len(report.problems)} |"
        )
        for problem in report.problems[:5]:
            print(f"    {problem}")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
