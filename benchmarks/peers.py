"""Hot-path cost of each peer's requests auth with a live token, against the same floor.

Each peer gets its token from the fake's RFC 6749 endpoint (``/oauth2/token``); a peer that
cannot be imported is reported as missing rather than failing the run.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, Optional

import requests

from auth_sessions.testing import FakeVendors

from .hot_path import StaticHeaderAuth, interleaved

Factory = Callable[[FakeVendors], Any]


def _token(fake: FakeVendors) -> Dict[str, Any]:
    client_id, secret = fake.credentials("oauth2")
    data = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    response = requests.post(fake.token_url("oauth2"), data=data, timeout=5)
    response.raise_for_status()
    token: Dict[str, Any] = response.json()
    return token


def _requests_oauthlib(fake: FakeVendors) -> Any:
    from requests_oauthlib import OAuth2

    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the fake is http on loopback
    return OAuth2(client_id=fake.credentials("oauth2")[0], token=_token(fake))


def _authlib(fake: FakeVendors) -> Any:
    from authlib.integrations.requests_client import OAuth2Auth

    return OAuth2Auth(_token(fake))


def _requests_auth(fake: FakeVendors) -> Any:
    from requests_auth import OAuth2ClientCredentials

    client_id, secret = fake.credentials("oauth2")
    return OAuth2ClientCredentials(
        fake.token_url("oauth2"), client_id=client_id, client_secret=secret
    )


def _requests_oauth2client(fake: FakeVendors) -> Any:
    from requests_oauth2client import OAuth2Client, OAuth2ClientCredentialsAuth

    client_id, secret = fake.credentials("oauth2")
    client = OAuth2Client(
        token_endpoint=fake.token_url("oauth2"),
        client_id=client_id,
        client_secret=secret,
        testing=True,  # allows the fake's http://127.0.0.1 endpoint
    )
    return OAuth2ClientCredentialsAuth(client)


PEERS: Dict[str, Factory] = {
    "requests-oauthlib OAuth2": _requests_oauthlib,
    "authlib OAuth2Auth": _authlib,
    "requests-auth OAuth2ClientCredentials": _requests_auth,
    "requests-oauth2client OAuth2ClientCredentialsAuth": _requests_oauth2client,
}


def run() -> Dict[str, Optional[float]]:
    """ns per call for the floor, auth_sessions (generic oauth2 and cobee) and each peer,
    timed side by side in interleaved blocks."""
    with FakeVendors() as fake:
        url = fake.base_url("oauth2") + "/things"
        request = requests.Request("GET", url).prepare()
        ours = fake.auth("oauth2")
        ours.get_token()
        cobee = fake.auth("cobee")
        cobee.get_token()
        cobee_request = requests.Request("GET", fake.base_url("cobee") + "/employees").prepare()
        auths = {
            "floor (static header)": (StaticHeaderAuth(), request.copy()),
            "auth_sessions oauth2": (ours, request.copy()),
            "auth_sessions cobee": (cobee, cobee_request),
        }
        missing: Dict[str, Optional[float]] = {}
        for name, factory in PEERS.items():
            try:
                auth = factory(fake)
                auth(request.copy())  # first call may fetch the token
                auths[name] = (auth, request.copy())
            except Exception as exc:  # a peer that cannot run here is reported, not fatal
                print(f"{name}: not measured ({type(exc).__name__}: {exc})")
                missing[name] = None
        results: Dict[str, Optional[float]] = dict(interleaved(auths))
    results.update(missing)
    return results


if __name__ == "__main__":
    rows = run()
    floor = rows["floor (static header)"] or 1.0
    print("| auth | ns/call | x floor |")
    print("|---|---|---|")
    for name, value in rows.items():
        shown = "n/a" if value is None else f"{value:.0f} | {value / floor:.2f}x"
        print(f"| {name} | {shown} |")
