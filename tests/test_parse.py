"""Token-response parsing: expiry formats and field checks (pure functions, no clock)."""

from __future__ import annotations

import pytest

from auth_sessions._parse import BadField, WireFormat, parse_epoch, parse_iso8601, parse_token

NOW = 1_742_830_000.0  # 2025-03-24T15:26:40Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-24T18:38:47.781Z", 1742841527.781),
        ("2025-03-24T18:38:47Z", 1742841527.0),
        ("2025-03-24T18:38:47.781123456Z", 1742841527.781123456),
        ("2025-03-24T20:38:47.781+02:00", 1742841527.781),
        ("2025-03-24T13:38:47-0500", 1742841527.0),
        ("2025-03-24 18:38:47z", 1742841527.0),
    ],
)
def test_iso8601(text: str, expected: float) -> None:
    assert parse_iso8601(text) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    ["2025-03-24T18:38:47", "yesterday", "2025-13-24T18:38:47Z", "", "2025-03-24T18:38:47+25:00"],
)
def test_iso8601_refused(text: str) -> None:
    with pytest.raises(BadField):
        parse_iso8601(text)


def test_epoch_seconds_or_millis() -> None:
    assert parse_epoch(1742841527) == 1742841527.0
    assert parse_epoch(1742841527781) == pytest.approx(1742841527.781)


def test_parse_seconds_format() -> None:
    token = parse_token(
        {"access_token": "abc", "token_type": "bearer", "expires_in": 3600}, WireFormat(), NOW
    )
    assert token.access_token.reveal() == "abc"
    assert token.token_type == "bearer"
    assert token.expires_ts == NOW + 3600
    assert token.issued_ts == NOW


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token_type": "Bearer", "expires_in": 10}, "access_token"),
        ({"access_token": None, "expires_in": 10}, "access_token"),
        ({"access_token": 5, "expires_in": 10}, "access_token"),
        ({"access_token": "", "expires_in": 10}, "access_token"),
        ({"access_token": "a", "expires_in": "3600"}, "expires_in"),
        ({"access_token": "a", "expires_in": True}, "expires_in"),
        ({"access_token": "a", "expires_in": 0}, "expires_in"),
        ({"access_token": "a", "expires_in": -5}, "expires_in"),
        ({"access_token": "a", "expires_in": 1e300}, "expires_in"),
        ({"access_token": "a", "expires_in": float("nan")}, "expires_in"),
        ({"access_token": "a", "token_type": 7, "expires_in": 10}, "token_type"),
    ],
)
def test_bad_fields_named(body: dict, field: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(BadField, match=field):
        parse_token(body, WireFormat(), NOW)


@pytest.mark.parametrize("body", [[], "x", 3, None, True])
def test_not_an_object(body: object) -> None:
    with pytest.raises(BadField, match="not an object"):
        parse_token(body, WireFormat(), NOW)


def test_wire_format_validates_itself() -> None:
    with pytest.raises(ValueError):
        WireFormat(send="carrier-pigeon")
    with pytest.raises(ValueError):
        WireFormat(expiry_format="fortnights")


@pytest.mark.parametrize(
    "token",
    ["zq9\r\nX-Folded: yes", "zq9\r\n X-Folded: yes", "zq9\x00en", "zq9\nen", "zq9ö€n", "zq9\x7f"],
)
def test_a_token_a_header_cannot_carry_is_refused_without_quoting_it(token: str) -> None:
    body = {"access_token": token, "token_type": "Bearer", "expires_in": 60}
    with pytest.raises(BadField, match="characters an HTTP header cannot carry") as caught:
        parse_token(body, WireFormat(), NOW)
    assert "zq9" not in str(caught.value)


@pytest.mark.parametrize("value", [10**400, -(10**400), 1e308 * 10, float("nan")])
def test_absurd_numbers_are_a_field_error(value: object) -> None:
    body = {"access_token": "tok", "expires_in": value}
    with pytest.raises(BadField, match="'expires_in'"):
        parse_token(body, WireFormat(), NOW)
