"""Tests beside CPU burners: ``python -m benchmarks.under_load [--runs 5] [--burners 2]
[PYTEST ARGS...]`` runs a pytest selection (default: the soak, ``tests/test_soak.py``) again
and again while other processes keep every core busy, and reports each run.

A test that passes only on an idle machine is timing-dependent; this is how the soak's
robustness is checked (issue 14: 5 of 5 runs beside two burners). Exit 1 unless every run
passed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import subprocess
import sys
import time
from typing import List, Optional


def _burn() -> None:  # pragma: no cover - runs in a child process until terminated
    while True:
        pass


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.under_load")
    parser.add_argument("--runs", type=int, default=5, help="pytest runs (default 5)")
    parser.add_argument("--burners", type=int, default=2, help="CPU-burning processes (2)")
    args, pytest_args = parser.parse_known_args(argv)  # the rest (paths, -s, -k ...) is pytest's
    pytest_args = pytest_args or ["tests/test_soak.py"]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *pytest_args]
    burners = [multiprocessing.Process(target=_burn, daemon=True) for _ in range(args.burners)]
    for burner in burners:
        burner.start()
    passed = 0
    try:
        print(f"{args.burners} burners; pytest {' '.join(pytest_args)}")
        for run in range(1, args.runs + 1):
            started = time.monotonic()
            result = subprocess.run(command, capture_output=True, text=True, check=False)
            tail = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
            passed += result.returncode == 0
            took = time.monotonic() - started
            print(f"run {run}: exit {result.returncode}, {took:.0f} s: {tail}")
            if result.returncode != 0:
                print(result.stdout[-3000:])
    finally:
        for burner in burners:
            burner.terminate()
            burner.join(10)
    print(f"{passed} of {args.runs} runs passed beside {args.burners} burners")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
