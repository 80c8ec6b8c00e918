"""Mutation check: remove one feature at a time and see whether its tests notice.

Each mutation below is a small source edit that switches a feature off. The script copies
the checkout to a temporary folder, applies one mutation there, runs the tests that should
catch it, and reports ``caught`` (they failed), ``MISSED`` (they passed) or ``BROKEN`` (the
edit no longer matches the source: update the table). The unmutated copy is run first:
its tests must pass, or no verdict would mean anything.

    python -m tests.mutations                 # every mutation; exit 1 if any is missed
    python -m tests.mutations --list          # the table
    python -m tests.mutations "origin check"  # the ones whose name contains the text
    python -m tests.mutations --markdown      # the result table for tests/MUTATIONS.md

Run from the project root (a release check; see tests/MUTATIONS.md).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 900.0  # seconds for one mutation's tests; a hang counts as caught, and is shown


@dataclass(frozen=True)
class Mutation:
    name: str
    edits: Tuple[Tuple[str, str, str], ...]  # (file, exact text, replacement), each once
    tests: Tuple[str, ...]


M = Mutation
MUTATIONS: Tuple[Mutation, ...] = (
    M(
        "Retry-After ignored (token calls)",
        (
            (
                "auth_sessions/_transport.py",
                'value = headers.get("Retry-After")',
                "value = None",
            ),
        ),
        ("tests/test_retry_after.py", "tests/test_acquisition.py", "tests/test_fault_matrix.py"),
    ),
    M(
        "Retry-After ignored (API calls)",
        (
            (
                "auth_sessions/_http.py",
                "respect_retry_after_header=True",
                "respect_retry_after_header=False",
            ),
        ),
        ("tests/test_api_retries.py",),
    ),
    M(
        "X-Retry-In ignored",
        (
            (
                "auth_sessions/vendors/orum.py",
                'retry_after_headers=("X-Retry-In",)',
                "retry_after_headers=()",
            ),
        ),
        ("tests/test_retry_after.py", "tests/test_api_retries.py", "tests/vendors"),
    ),
    M(
        "single-flight removed",
        (
            (
                "auth_sessions/manager.py",
                "if flight is not None and self.monotonic() < flight.deadline.at + _GRACE:",
                "if False:",
            ),
            (
                "auth_sessions/manager.py",
                "with self.store.lock(self.key, timeout=timeout) as acquired:",
                "with contextlib.nullcontext(True) as acquired:",
            ),
        ),
        ("tests/test_auth.py", "tests/stores/test_fleet.py", "tests/test_acquisition.py"),
    ),
    M(
        "compare-and-invalidate removed",
        (
            (
                "auth_sessions/manager.py",
                "        if snap is not None and snap.header != sent:\n            place",
                "        if False:\n            place",
            ),
            (
                "auth_sessions/manager.py",
                "if snap.header != flight.stale and window(snap, now) is Window.FRESH:",
                "if flight.stale is None and window(snap, now) is Window.FRESH:",
            ),
            (
                "auth_sessions/manager.py",
                "if snap.header == flight.stale and self.store.invalidate(self.key, current):",
                "if flight.stale is not None and self.store.delete(self.key) is None:",
            ),
        ),
        ("tests/test_auth.py", "tests/stores/test_fleet.py", "tests/stores/test_redis_store.py"),
    ),
    M(
        "body rewind removed",
        (("auth_sessions/_replay.py", "        rewind_body(request)\n", "        pass\n"),),
        ("tests/test_auth.py",),
    ),
    M(
        "origin check removed",
        (
            (
                "auth_sessions/auth.py",
                "if not url.startswith(self._prefix) and origin(url) != self._origin:",
                "if False:",
            ),
        ),
        ("tests/test_auth.py", "tests/test_urls.py", "tests/test_transport.py"),
    ),
    M(
        "advisory window removed",
        (
            (
                "auth_sessions/_policy.py",
                "header(token), expires - advisory, expires - advisory / 2, prover)",
                "header(token), expires - advisory / 2, expires - advisory / 2, prover)",
            ),
        ),
        ("tests/test_background.py", "tests/test_auth.py"),
    ),
    M(
        "scope dropped from the key",
        (
            (
                "auth_sessions/_rfc6749.py",
                'params = {"scope": scope_key(self.scope), "client_auth": method}',
                'params = {"client_auth": method}',
            ),
        ),
        ("tests/vendors/test_oauth2.py",),
    ),
    M(
        "store read on every request",
        (
            (
                "auth_sessions/auth.py",
                "        snap = self._manager.snap\n        if snap is None or",
                "        snap = None\n        if snap is None or",
            ),
            (
                "auth_sessions/manager.py",
                "        snap = self.snap\n        if window(snap, now) is Window.FRESH:",
                "        snap = None\n        if window(snap, now) is Window.FRESH:",
            ),
        ),
        ("tests/stores/test_l1.py",),
    ),
    M(
        "failure memory removed",
        (
            (
                "auth_sessions/manager.py",
                "if isinstance(exc, InvalidCredentials):\n            until, kind",
                "if False:\n            until, kind",
            ),
            (
                "auth_sessions/manager.py",
                "elif isinstance(exc, TokenEndpointError) and exc.retry_after is not None:",
                "elif False:",
            ),
            (
                "auth_sessions/manager.py",
                "            if self._holds(failure, now, fetch.route):",
                "            if False:",
            ),
        ),
        ("tests/test_acquisition.py", "tests/test_retry_after.py"),
    ),
    M(
        "background renewal off",
        (
            (
                "auth_sessions/_settings.py",
                "background: bool = True\n",
                "background: bool = False\n",
            ),
        ),
        ("tests/test_background.py",),
    ),
    M(
        "fork reset a no-op",
        (
            (
                "auth_sessions/manager.py",
                "os.register_at_fork(after_in_child=_reset_in_child)",
                "pass",
            ),
            (
                "auth_sessions/stores/_common.py",
                "os.register_at_fork(after_in_child=_reset_in_child)",
                "pass",
            ),
        ),
        ("tests/stores/test_fleet.py",),
    ),
    M(
        "redaction off",
        (
            (
                "auth_sessions/_http.py",
                "    for secret in secrets:\n        if secret and len(secret) >= 4:",
                "    for secret in ():\n        if secret and len(secret) >= 4:",
            ),
        ),
        ("tests/test_errors.py", "tests/test_leak_scan.py"),
    ),
    M(
        "per-call verify/cert/proxies ignored (token calls use the bound session's)",
        (
            (
                "auth_sessions/sessions.py",
                '            auth.authorize(request, transport, kwargs["timeout"])',
                '            auth.authorize(request, auth._own_transport(), kwargs["timeout"])',
            ),
        ),
        ("tests/test_corporate_network.py", "tests/test_transport.py"),
    ),
    M(
        "mixed clocks (Retry-After hold from wall time)",
        (
            (
                "auth_sessions/manager.py",
                'until, kind = now + exc.retry_after, "unavailable"',
                'until, kind = time.time() + exc.retry_after, "unavailable"',
            ),
        ),
        ("tests/test_retry_after.py", "tests/test_manager.py"),
    ),
    M(
        "407 and TLS failures retried",
        (
            (
                "auth_sessions/_transport.py",
                "retry = self.call.policy.network and cause not in FATAL",
                "retry = self.call.policy.network",
            ),
        ),
        ("tests/test_network_causes.py",),
    ),
    M(
        "gateway HTML 400 taken as a refusal",
        (
            (
                "auth_sessions/_transport.py",
                "if status in (400, 401, 403) and title is not None:",
                "if False:",
            ),
        ),
        ("tests/test_network_causes.py",),
    ),
    M(
        "pooled connections kept across fork",
        (
            (
                "auth_sessions/sessions.py",
                "    os.register_at_fork(after_in_child=_drop_inherited)",
                "    pass",
            ),
        ),
        ("tests/test_prefork.py",),
    ),
    M(
        "cooldown not tied to its transport",
        (
            (
                "auth_sessions/tokens.py",
                "        return not self.route or self.route == route",
                "        return True",
            ),
        ),
        ("tests/test_network_causes.py",),
    ),
    M(
        "lease TTL back to lock_ttl (120 s)",
        (
            (
                "auth_sessions/stores/redis.py",
                "ttl = min(self.lock_ttl, timeout + LEASE_MARGIN)",
                "ttl = self.lock_ttl",
            ),
        ),
        ("tests/stores/test_redis_store.py",),
    ),
    M(
        "lease not renewed while held",
        (
            (
                "auth_sessions/stores/_leases.py",
                "                if until > now:  # never past the holder's budget",
                "                if False:",
            ),
        ),
        ("tests/stores/test_redis_store.py",),
    ),
    M(
        "lease not released at exit, nor fenced after a stall",
        (
            (
                "auth_sessions/stores/_leases.py",
                "    for leases in list(_everyone):\n        leases.release_all()",
                "    pass",
            ),
            (
                "auth_sessions/stores/redis.py",
                "        self._leases.sweep()\n",
                "",
            ),
        ),
        ("tests/stores/test_redis_store.py",),
    ),
    M(
        "misspelled option accepted",
        (("auth_sessions/_settings.py", "        if name not in valid:\n", "        if False:\n"),),
        ("tests/test_settings.py", "tests/test_errors.py"),
    ),
    M(
        "reused jti",
        (("auth_sessions/_jwt.py", '"jti": secrets.token_urlsafe(24),', '"jti": "the-same-jti",'),),
        (
            "tests/vendors/test_oauth2_client_auth.py",
            "tests/test_jwt.py",
            "tests/vendors/test_oauth2_authlib_server.py",
        ),
    ),
    M(
        "aud with a trailing slash",
        (
            (
                "auth_sessions/_rfc6749.py",
                "audience = self.issuer or self.token_url",
                'audience = (self.issuer or self.token_url) + "/"',
            ),
        ),
        ("tests/vendors/test_oauth2_client_auth.py", "tests/vendors/test_oauth2_authlib_server.py"),
    ),
    M(
        "exp an hour ahead",
        (
            (
                "auth_sessions/_jwt.py",
                '"exp": issued + int(ASSERTION_LIFETIME),',
                '"exp": issued + 3600,',
            ),
        ),
        ("tests/vendors/test_oauth2_client_auth.py", "tests/test_jwt.py"),
    ),
    M(
        "issuer check skipped",
        (("auth_sessions/_discovery.py", 'if document.get("issuer") != issuer:', "if False:"),),
        ("tests/vendors/test_oauth2_discovery.py",),
    ),
    M(
        "metadata fetched per session",
        (
            (
                "auth_sessions/_transport.py",
                "    if cached(issuer, vendor) is not None:\n        return\n    lock",
                "    if False:\n        return\n    lock",
            ),
            (
                "auth_sessions/_transport.py",
                "        if cached(issuer, vendor) is not None:\n            return\n        tried",
                "        if False:\n            return\n        tried",
            ),
        ),
        ("tests/vendors/test_oauth2_discovery.py",),
    ),
    M(
        "no nonce retry",
        (
            (
                "auth_sessions/_transport.py",
                "        try:\n            token = proven()\n"
                "        except _NonceRequired as again:",
                '        try:\n            raise _NonceRequired(TokenEndpointError("once"))\n'
                "        except _NonceRequired as again:",
            ),
            (
                "auth_sessions/auth.py",
                "if proven and fine and nonce_challenge(401, r.headers):",
                "if False:",
            ),
        ),
        ("tests/vendors/test_oauth2_dpop.py",),
    ),
    M(
        "a DPoP proof reused across requests",
        (("auth_sessions/_dpop.py", '"jti": secrets.token_urlsafe(16),', '"jti": "one-proof",'),),
        ("tests/vendors/test_oauth2_dpop.py",),
    ),
    M(
        "ath missing",
        (
            (
                "auth_sessions/_dpop.py",
                '        if token is not None:\n            claims["ath"]',
                '        if False:\n            claims["ath"]',
            ),
        ),
        ("tests/vendors/test_oauth2_dpop.py",),
    ),
    M(
        "the key logged at DEBUG",
        (
            (
                "auth_sessions/_dpop.py",
                "        return Secret(f\"{self.alg}\\n{pem.decode('ascii')}\")",
                '        logging.getLogger("auth_sessions").debug("dpop key %s", pem.decode())\n'
                "        return Secret(f\"{self.alg}\\n{pem.decode('ascii')}\")",
            ),
            ("auth_sessions/_dpop.py", "import hashlib\n", "import hashlib\nimport logging\n"),
        ),
        ("tests/vendors/test_oauth2_dpop.py",),
    ),
    M(
        "a store gone back in time not noticed",
        (
            (
                "auth_sessions/manager.py",
                "return stored.generation < held.generation",
                "return False",
            ),
        ),
        ("tests/stores/test_topologies.py",),
    ),
    M(
        "body read unbounded",
        (
            (
                "auth_sessions/_transport.py",
                "            body = read_capped(response, within)",
                "            body = read_capped(response)",
            ),
        ),
        ("tests/test_acquisition.py",),
    ),
    M(
        "store write errors propagated",
        (
            (
                "auth_sessions/stores/_fallback.py",
                "            with contextlib.suppress(Down):\n                self.call(shared)",
                "            if True:\n                self.call(shared)",
            ),
        ),
        ("tests/stores/test_file_store.py", "tests/stores/test_fallback.py"),
    ),
    M(
        "a local cooldown on the wall clock",
        (
            (
                "auth_sessions/manager.py",
                "left = min(left, self._learned[1] - self.monotonic())",
                "left = left",
            ),
        ),
        ("tests/test_errors.py",),
    ),
    M(
        "a pickled TLS store reopened in clear",
        (
            (
                "auth_sessions/stores/_topology.py",
                '            kwargs["ssl"] = True',
                "            pass",
            ),
        ),
        ("tests/stores/test_redis_store.py",),
    ),
    M(
        "a replay given a token near its end",
        (
            (
                "auth_sessions/manager.py",
                "if place is Window.FRESH:\n                return snap  # renewed already",
                "if place is not Window.MANDATORY:\n                return snap",
            ),
        ),
        ("tests/test_manager.py",),
    ),
    M(
        "store calls unbounded for a client object",
        (
            (
                "auth_sessions/stores/_bounded.py",
                "        if self.seconds is None:\n            return action()",
                "        if True:\n            return action()",
            ),
        ),
        ("tests/stores/test_redis_store.py",),
    ),
    M(
        "a timed-out refresh retried with the same token",
        (
            (
                "auth_sessions/_transport.py",
                "once = replace(call, policy=replace(call.policy, network=False))",
                "once = call",
            ),
        ),
        ("tests/vendors/test_cair.py",),
    ),
    M(
        "header-unsafe token accepted",
        (("auth_sessions/_parse.py", "    if not header_safe(access):", "    if False:"),),
        ("tests/test_parse.py", "tests/test_errors.py"),
    ),
    M(
        "keys without the hash tag",
        (
            (
                "auth_sessions/stores/redis.py",
                'return f"{self.prefix}{space}:{{{hashed(key)}}}"',
                'return f"{self.prefix}{space}:{hashed(key)}"',
            ),
        ),
        ("tests/stores/test_topologies.py", "tests/stores/test_fleet.py"),
    ),
    M(
        "cluster errors not treated as an outage",
        (
            (
                "auth_sessions/stores/_topology.py",
                "return (redis.RedisError, redis.exceptions.RedisClusterException, OSError)",
                "return (redis.RedisError, OSError)",
            ),
        ),
        ("tests/stores/test_topologies.py",),
    ),
    M(
        "refresh presented without the spent-mark",
        (
            (
                "auth_sessions/stores/redis.py",
                "if token.refresh_token is not None and self._outages.available():",
                "if False:",
            ),
        ),
        ("tests/stores/test_topologies.py", "tests/stores/test_redis_store.py"),
    ),
    M(
        "encrypt with the last key instead of the first",
        (
            (
                "auth_sessions/stores/_seal.py",
                "key_id, aead = self._keys[0]",
                "key_id, aead = self._keys[-1]",
            ),
        ),
        ("tests/stores/test_sealing.py",),
    ),
    M(
        "no event on a rejected entry",
        (
            (
                "auth_sessions/stores/_seal.py",
                "        if data is None:\n            rejected(UNOPENED)\n",
                "",
            ),
        ),
        ("tests/stores/test_sealing.py",),
    ),
)


def _copy(dest: Path) -> None:
    """The working tree's tracked files (uncommitted edits included), or all of it."""
    try:
        listed = (
            subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True)
            .stdout.decode()
            .split("\0")
        )
    except (OSError, subprocess.CalledProcessError):
        listed = []
    if not listed or listed == [""]:
        shutil.copytree(
            ROOT,
            dest,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__"),
        )
        return
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)


def _apply(folder: Path, mutation: Mutation) -> Optional[str]:
    for file, old, new in mutation.edits:
        path = folder / file
        text = path.read_text()
        if text.count(old) != 1:
            return f"{file}: expected the text once, found it {text.count(old)} times: {old!r}"
        path.write_text(text.replace(old, new))
    return None


def _pytest(folder: Path, tests: Sequence[str]) -> Tuple[str, float]:
    """Run ``tests`` in ``folder``: 'passed', 'failed', 'hung' or 'error (exit N)'."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests]
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "hung", time.monotonic() - started
    took = time.monotonic() - started
    return {0: "passed", 1: "failed"}.get(done.returncode, f"error (exit {done.returncode})"), took


def _check_imports_from(folder: Path) -> None:
    probe = subprocess.run(
        [sys.executable, "-c", "import auth_sessions; print(auth_sessions.__file__)"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    if not Path(probe.stdout.strip()).resolve().is_relative_to(folder.resolve()):
        raise SystemExit(f"the copy is not what gets imported: {probe.stdout.strip()}")


def run(selected: Sequence[Mutation]) -> List[Tuple[Mutation, str, float]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="auth-sessions-mutants-") as tmp:
        pristine = Path(tmp) / "pristine"
        pristine.mkdir()
        _copy(pristine)
        _check_imports_from(pristine)
        every = sorted({t for m in selected for t in m.tests})
        outcome, took = _pytest(pristine, every)
        print(f"unmutated: {outcome} in {took:.0f}s", flush=True)
        if outcome != "passed":
            raise SystemExit("the unmutated tests must pass first")
        for index, mutation in enumerate(selected):
            folder = Path(tmp) / f"m{index}"
            shutil.copytree(pristine, folder)
            problem = _apply(folder, mutation)
            if problem is not None:
                verdict, took = f"BROKEN: {problem}", 0.0
            else:
                outcome, took = _pytest(folder, mutation.tests)
                verdict = {"failed": "caught", "hung": "caught (hung)", "passed": "MISSED"}.get(
                    outcome, f"BROKEN: tests {outcome}"
                )
            shutil.rmtree(folder)
            print(f"{verdict:>8}  {took:5.0f}s  {mutation.name}", flush=True)
            results.append((mutation, verdict, took))
    return results


def markdown(results: Sequence[Tuple[Mutation, str, float]]) -> str:
    lines = ["| mutation | tests run | verdict | seconds |", "|---|---|---|---|"]
    for mutation, verdict, took in results:
        tests = ", ".join(f"`{t.removeprefix('tests/')}`" for t in mutation.tests)
        lines.append(f"| {mutation.name} | {tests} | {verdict} | {took:.0f} |")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", help="run the mutations whose name contains one of these"
    )
    parser.add_argument("--list", action="store_true", help="print the table and stop")
    parser.add_argument("--markdown", action="store_true", help="print the results as a table")
    args = parser.parse_args(argv)
    selected = [m for m in MUTATIONS if not args.names or any(n in m.name for n in args.names)]
    if args.list:
        for mutation in selected:
            print(f"{mutation.name}: {', '.join(mutation.tests)}")
        return 0
    results = run(selected)
    if args.markdown:
        print(markdown(results))
    return 0 if all(v.startswith("caught") for _, v, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
