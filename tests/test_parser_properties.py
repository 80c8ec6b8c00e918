"""Property: for any JSON value, every vendor's parser returns a usable token or raises
TokenResponseError — nothing else."""

from __future__ import annotations

import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import auth_sessions
from auth_sessions import Token, TokenResponseError

from .conftest import VENDORS

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["Bearer", "3600", "2030-01-01T00:00:00Z", "2030-01-01T00:00:00.5+02:00", ""]),
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def vendor_shaped(vendor: str) -> st.SearchStrategy[Any]:
    """Objects using the vendor's own field names, with any values (the interesting cases)."""
    wire = auth_sessions.vendor_class(vendor).wire
    keys = [
        k
        for k in (
            wire.token_field,
            wire.type_field,
            wire.expiry_field,
            wire.refresh_field,
            wire.refresh_expiry_field,
        )
        if k
    ]
    plausible = st.one_of(
        json_values,
        st.integers(min_value=1, max_value=10**13),
        st.floats(min_value=-1e6, max_value=1e13),
        st.just(int(time.time()) + 3600),
    )
    return st.dictionaries(st.sampled_from(keys), plausible, max_size=len(keys))


def _auth(vendor: str) -> auth_sessions.TokenAuth:
    cls = auth_sessions.vendor_class(vendor)
    extra = {} if cls.environments else {"token_url": "https://idp.example.com/token"}
    return cls("id", "secret", base_url="https://api.example.com", **extra)


@pytest.mark.parametrize("vendor", VENDORS)
def test_any_json_gives_token_or_token_response_error(vendor: str) -> None:
    auth = _auth(vendor)

    @settings(max_examples=300, deadline=None)
    @given(st.one_of(json_values, vendor_shaped(vendor)))
    def check(data: Any) -> None:
        try:
            token = auth.endpoint.token_from_response(data, time.time())
        except TokenResponseError as exc:
            assert str(exc).startswith(f"{vendor}: token endpoint ")
        else:
            assert isinstance(token, Token)
            assert token.access_token.reveal()
            assert 0 < token.lifetime <= 10 * 365 * 24 * 3600 + 1

    check()
