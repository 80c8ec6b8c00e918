"""The mutation table (tests/mutations.py) still fits the source: each edit applies once and
names tests that exist, so a refactor cannot silently turn a mutation into a no-op."""

from __future__ import annotations

from pathlib import Path

import pytest

from .mutations import MUTATIONS, ROOT, Mutation

REQUIRED = (
    "Retry-After ignored (token calls)",
    "X-Retry-In ignored",
    "single-flight removed",
    "compare-and-invalidate removed",
    "body rewind removed",
    "origin check removed",
    "advisory window removed",
    "scope dropped from the key",
    "store read on every request",
    "failure memory removed",
    "background renewal off",
    "fork reset a no-op",
    "redaction off",
    "per-call verify/cert/proxies ignored (token calls use the bound session's)",
    "mixed clocks (Retry-After hold from wall time)",
    "misspelled option accepted",
    "407 and TLS failures retried",
    "gateway HTML 400 taken as a refusal",
    "pooled connections kept across fork",
    "cooldown not tied to its transport",
    "lease TTL back to lock_ttl (120 s)",
    "lease not released at exit, nor fenced after a stall",
    "keys without the hash tag",
    "cluster errors not treated as an outage",
    "refresh presented without the spent-mark",
    "encrypt with the last key instead of the first",
    "no event on a rejected entry",
    "reused jti",
    "aud with a trailing slash",
    "exp an hour ahead",
    "issuer check skipped",
    "metadata fetched per session",
    "no nonce retry",
    "a DPoP proof reused across requests",
    "ath missing",
    "the key logged at DEBUG",
    "a store gone back in time not noticed",
    "body read unbounded",
    "store write errors propagated",
    "store calls unbounded for a client object",
    "a replay given a token near its end",
    "a pickled TLS store reopened in clear",
    "a local cooldown on the wall clock",
    "lease not renewed while held",
    "a timed-out refresh retried with the same token",
    "header-unsafe token accepted",
)


def test_every_required_mutation_is_in_the_table() -> None:
    assert set(REQUIRED) <= {m.name for m in MUTATIONS}


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_each_edit_applies_exactly_once(mutation: Mutation) -> None:
    for file, old, new in mutation.edits:
        text = (ROOT / file).read_text()
        assert text.count(old) == 1, f"{file}: {old!r}"
        assert old != new
    for test in mutation.tests:
        assert (ROOT / test).exists(), test


def test_the_record_lists_every_mutation() -> None:
    record = (Path(__file__).parent / "MUTATIONS.md").read_text()
    assert [m.name for m in MUTATIONS if f"| {m.name} |" not in record] == []
