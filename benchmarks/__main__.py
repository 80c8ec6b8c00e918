"""``python -m benchmarks``: every benchmark, printed as a table."""

from __future__ import annotations

from . import hot_path

result = hot_path.run()
print("| measure | floor | auth_sessions | ratio | target |")
print("|---|---|---|---|---|")
print(
    f"| hot path (ns/call, live token) | {result['floor_ns']:.0f} | {result['ours_ns']:.0f} | "
    f"{result['ratio']:.2f}x | <= 3x |"
)
