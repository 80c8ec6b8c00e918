"""The ``auth-sessions`` command: demo, token, check, vendors.

argparse, not a third-party CLI library: four small commands do not justify a dependency
that every legacy app installing us would inherit.

Exit codes: 0 ok (also when the reader of our output goes away), 1 authentication failed,
2 usage or configuration error, 130 interrupted. Errors are one line on stderr, in the CLI's
own words (``--base-url``, not ``base_url=``); ``--debug`` adds the traceback and DEBUG
logging. A token is printed only with ``--show-token``; ``fake`` prints the fake vendors'
test credentials, which are not secrets of anyone's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
from typing import Any, Dict, List, Optional, Sequence

from . import __version__
from ._vendor import DESCRIPTIONS
from .errors import AuthError, ConfigurationError
from .sessions import env_vars, for_vendor, vendor_class, vendor_names
from .stores import generate_store_key
from .tokens import Token

__all__ = ["main"]

EXIT_OK, EXIT_AUTH, EXIT_USAGE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="auth-sessions", description="Token-managed requests sessions for vendor APIs."
    )
    parser.add_argument("--version", action="version", version=f"auth-sessions {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and DEBUG logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    demo = sub.add_parser("demo", help="run every vendor's flow against built-in fake vendors")
    demo.add_argument("--json", action="store_true", help="print JSON instead of a table")

    token = sub.add_parser("token", help="fetch a token with credentials from the environment")
    token.add_argument("vendor")
    token.add_argument("--environment", help="production (default) or sandbox")
    token.add_argument("--base-url", help="override the environment's base URL")
    token.add_argument("--json", action="store_true", help="print JSON")
    token.add_argument("--show-token", action="store_true", help="print the access token itself")

    check = sub.add_parser("check", help="fetch a token for each vendor with credentials set")
    check.add_argument("vendors", nargs="*", metavar="VENDOR")
    check.add_argument("--json", action="store_true", help="print JSON")

    vendors = sub.add_parser("vendors", help="the vendor table")
    vendors.add_argument("--json", action="store_true", help="print JSON")

    fake = sub.add_parser("fake", help="serve the fake vendors here until Ctrl-C")
    fake.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    fake.add_argument(
        "--tls", action="store_true", help="serve https with a throwaway CA (its path is printed)"
    )
    fake.add_argument(
        "--client-ca", metavar="CA_FILE", help="with --tls: require client certificates it signed"
    )

    sub.add_parser(
        "store-key", help="print a new store encryption key (for AUTH_SESSIONS_STORE_KEYS)"
    )
    return parser


def _table(rows: List[Dict[str, Any]], columns: Sequence[str]) -> str:
    cells = [[str(row.get(c, "")) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def _token_info(vendor: str, token: Token, show: bool) -> Dict[str, Any]:
    info: Dict[str, Any] = {
        "vendor": vendor,
        "token_type": token.token_type,
        "expires_at": token.expires_at.isoformat(),
        "expires_in": round(token.expires_ts - time.time()),
        "has_refresh_token": token.refresh_token is not None,
    }
    if show:
        info["access_token"] = token.access_token.reveal()
    return info


def _cmd_token(args: argparse.Namespace) -> int:
    session = for_vendor(args.vendor, environment=args.environment, base_url=args.base_url)
    with session:
        info = _token_info(session.vendor, session.auth.get_token(), args.show_token)
    if args.json:
        print(json.dumps(info))
    else:
        for key, value in info.items():
            print(f"{key}: {value}")
    return EXIT_OK


def _has_credentials(vendor: str) -> bool:
    var = env_vars(vendor)
    return bool(os.environ.get(var["CLIENT_ID"]) and os.environ.get(var["CLIENT_SECRET"]))


def _cmd_check(args: argparse.Namespace) -> int:
    names = [vendor_class(v).vendor for v in args.vendors] or vendor_names()
    rows = []
    failed = configuration = False
    for name in names:
        row: Dict[str, Any] = {"vendor": name}
        if not _has_credentials(name):
            if args.vendors:
                raise ConfigurationError(
                    f"{name}: no credentials: set {env_vars(name)['CLIENT_ID']} and "
                    f"{env_vars(name)['CLIENT_SECRET']}"
                )
            row.update(status="skipped", detail="no credentials in the environment")
        else:
            try:
                with for_vendor(name) as session:
                    token = session.auth.get_token()
                row.update(status="ok", detail=f"token expires {token.expires_at.isoformat()}")
            except ConfigurationError as exc:
                row.update(status="config error", detail=_cli_words(str(exc)))
                configuration = True
            except AuthError as exc:
                row.update(status="failed", detail=_cli_words(str(exc)))
                failed = True
        rows.append(row)
    print(json.dumps(rows) if args.json else _table(rows, ("vendor", "status", "detail")))
    if configuration:  # API.md section 6: a configuration error is a usage error
        return EXIT_USAGE
    return EXIT_AUTH if failed else EXIT_OK


def _cmd_vendors(args: argparse.Namespace) -> int:
    rows: List[Dict[str, Any]] = []
    for name in vendor_names():
        cls = vendor_class(name)
        envs = {env: url or "(pass base_url)" for env, url in cls.environments.items()} or {
            "production": "(pass token_url)"
        }
        rows.append(
            {
                "vendor": name,
                "environments": envs,
                "token_endpoint": "{base}" + cls.wire.token_path
                if cls.environments
                else "token_url=",
                "env_vars": list(env_vars(name).values()),
                "client_auth": dict(DESCRIPTIONS[name].client_auth),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    flat = [
        {
            "vendor": r["vendor"],
            "environment": env,
            "base URL": url,
            "token endpoint": r["token_endpoint"],
            "env vars": " ".join(r["env_vars"][:2]) + " ...",
        }
        for r in rows
        for env, url in r["environments"].items()
    ]
    print(_table(flat, ("vendor", "environment", "base URL", "token endpoint", "env vars")))
    for row in rows:
        if row["client_auth"]:
            name = row["vendor"]
            print(f"\n{name}: client_auth= methods, with issuer= (or token_url=) and client_id=")
            width = max(map(len, row["client_auth"]))
            for method, sample in row["client_auth"].items():
                print(f"  {method:<{width}}  {sample}")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    rows = run_demo()
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print("auth-sessions demo: every vendor against the built-in fake vendors on loopback")
        print("(no network, no credentials; counts are the fake server's own)\n")
        print(
            _table(
                rows,
                ("vendor", "step", "result", "token requests", "refreshes", "api calls", "401s"),
            )
        )
        ok = all(r["ok"] for r in rows)
        print(f"\n{len(rows)} steps, {'all as expected' if ok else 'SOME UNEXPECTED'}.")
    return EXIT_OK if all(r["ok"] for r in rows) else EXIT_AUTH


def _cmd_fake(args: argparse.Namespace) -> int:
    from .testing import FakeVendors
    from .testing.certs import throwaway_tls

    if args.client_ca and not args.tls:
        raise ConfigurationError("--client-ca needs --tls")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    folder = tempfile.mkdtemp(prefix="auth-sessions-fake-")
    ca_file, server = throwaway_tls(folder) if args.tls else (None, None)
    fake = FakeVendors(tls=server, client_ca=args.client_ca).start(args.port)
    try:
        print(f"# fake vendors on {fake.url} (test credentials only); paste into a shell:")
        if ca_file is not None:
            print(f"# its throwaway CA: {ca_file}")
            print(f"export REQUESTS_CA_BUNDLE={shlex.quote(ca_file)}")
        for vendor in fake.env_vendors():
            for name, value in fake.env_vars(vendor).items():
                print(f"export {name}={shlex.quote(value)}")
        print(f"# counters of every vendor: GET {fake.url}/_stats")
        print("# Ctrl-C to stop", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return EXIT_OK


def _cmd_store_key(args: argparse.Namespace) -> int:
    print(generate_store_key())
    return EXIT_OK


_COMMANDS = {
    "demo": _cmd_demo,
    "token": _cmd_token,
    "check": _cmd_check,
    "vendors": _cmd_vendors,
    "fake": _cmd_fake,
    "store-key": _cmd_store_key,
}

# Library messages name Python arguments; on the command line the same settings are flags.
_FLAGS = (
    ("pass base_url= or set", "pass --base-url or set"),
    ("environment=", "--environment"),
    ("pass client_id= or set ", "set "),
    ("pass client_secret= or set ", "set "),
)


_HOLD_NOTE = re.compile(r" \[not tried again before [^\]]*\]")


def _cli_words(message: str) -> str:
    """A library message as the command line says it: flags and env vars, not Python
    names; no failure-memory note (it holds within one process, not for the next run)."""
    for python, flag in _FLAGS:
        message = message.replace(python, flag)
    return _HOLD_NOTE.sub("", message)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    if args.debug:
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    error: AuthError
    try:
        return _COMMANDS[args.command](args)
    except ConfigurationError as exc:
        code, error = EXIT_USAGE, exc
    except AuthError as exc:
        code, error = EXIT_AUTH, exc
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader went away (`... | head -1`): end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    if args.debug:
        traceback.print_exception(type(error), error, error.__traceback__)
    print(f"auth-sessions: error: {_cli_words(str(error))}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
