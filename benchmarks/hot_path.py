"""Hot path: the cost of ``TokenAuth.__call__`` with a live cached token, against the floor
(an AuthBase that only sets a static ``Authorization`` header), measured in the same run."""

from __future__ import annotations

import statistics
import timeit
from typing import Any, Callable, Dict

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


def run(vendor: str = "cobee") -> Dict[str, float]:
    with FakeVendors() as fake:
        auth = fake.auth(vendor)
        auth.get_token()
        request = requests.Request("GET", fake.base_url(vendor) + "/employees").prepare()
        floor = per_call_ns(StaticHeaderAuth(), request)
        ours = per_call_ns(auth, request)
    return {"floor_ns": floor, "ours_ns": ours, "ratio": ours / floor}


if __name__ == "__main__":
    result = run()
    print(
        f"floor {result['floor_ns']:.0f} ns/call, TokenAuth {result['ours_ns']:.0f} ns/call, "
        f"ratio {result['ratio']:.2f}x (target <= 3x)"
    )
