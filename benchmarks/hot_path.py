"""Hot path: the cost of ``TokenAuth.__call__`` with a live cached token, against the floor
(an AuthBase that only sets a static ``Authorization`` header), measured in the same run."""

from __future__ import annotations

import statistics
import time
import timeit
from typing import Any, Callable, Dict, List, Tuple

import requests

from auth_sessions.testing import FakeVendors


class StaticHeaderAuth(requests.auth.AuthBase):
    """The floor: what any auth must at least do."""

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = "Bearer static-token"
        return r


def per_call_ns(
    auth: Callable[[requests.PreparedRequest], Any],
    request: requests.PreparedRequest,
    number: int = 20000,
    repeat: int = 7,
) -> float:
    hooks = request.hooks["response"]

    def call() -> None:
        auth(request)
        hooks.clear()  # our auth appends its 401 hook per request; the floor pays this too

    times = timeit.repeat(call, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e9


def interleaved(
    auths: Dict[str, Tuple[Callable[[requests.PreparedRequest], Any], requests.PreparedRequest]],
    block: int = 2000,
    rounds: int = 60,
) -> Dict[str, float]:
    """Median ns per call of each auth, timed in small blocks taken in turn (A B C A B C
    ...), so that a shared machine's swings fall on every auth alike."""
    samples: Dict[str, List[float]] = {name: [] for name in auths}
    for _ in range(rounds):
        for name, (auth, request) in auths.items():
            hooks = request.hooks["response"]
            started = time.perf_counter()
            for _ in range(block):
                auth(request)
                hooks.clear()
            samples[name].append((time.perf_counter() - started) / block * 1e9)
    return {name: statistics.median(values) for name, values in samples.items()}


def run(vendor: str = "cobee") -> Dict[str, float]:
    with FakeVendors() as fake:
        auth = fake.auth(vendor)
        auth.get_token()
        request = requests.Request("GET", fake.base_url(vendor) + "/employees").prepare()
        timed = interleaved({"floor": (StaticHeaderAuth(), request), "ours": (auth, request)})
        floor, ours = timed["floor"], timed["ours"]
    return {"floor_ns": floor, "ours_ns": ours, "ratio": ours / floor}


if __name__ == "__main__":
    result = run()
    print(
        f"floor {result['floor_ns']:.0f} ns/call, TokenAuth {result['ours_ns']:.0f} ns/call, "
        f"ratio {result['ratio']:.2f}x (target <= 2x)"
    )
