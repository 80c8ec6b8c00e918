"""Replaying a request once, as requests' own digest auth does: rewind the body, copy the
request with the response's cookies, resend it on the same adapter, keep the first answer
in ``history``. No policy here: :class:`~auth_sessions.TokenAuth` decides when."""

from __future__ import annotations

from typing import Any, Dict

import requests
from requests.cookies import extract_cookies_to_jar
from requests.utils import rewind_body

from .events import Event, emit

__all__ = ["replay", "replay_once", "rewindable"]


def rewindable(request: requests.PreparedRequest) -> bool:
    """Whether ``request``'s body can be sent again (bytes, text, or a seekable stream)."""
    body = request.body
    if body is None or isinstance(body, (bytes, str)):
        return True
    return isinstance(getattr(request, "_body_position", None), int)


def replay(
    r: requests.Response, headers: Dict[str, str], kwargs: Dict[str, Any]
) -> requests.Response:
    """Send ``r``'s request again with ``headers`` set, on the adapter that sent it."""
    request = r.request
    if request.body is not None and not isinstance(request.body, (bytes, str)):
        rewind_body(request)
    r.content  # noqa: B018 - drain so the connection can be reused
    r.close()
    again = request.copy()
    extract_cookies_to_jar(again._cookies, request, r.raw)  # type: ignore[attr-defined,no-untyped-call]
    again.prepare_cookies(again._cookies)  # type: ignore[attr-defined]
    again.headers.update(headers)
    response: requests.Response = r.connection.send(again, **kwargs)
    response.history.append(r)
    response.request = again
    return response


def replay_once(
    r: requests.Response,
    headers: Dict[str, str],
    kwargs: Dict[str, Any],
    vendor: str,
    client_id: str,
) -> requests.Response:
    """``r`` (answered 401) sent again with ``headers`` set (a new ``Authorization``, a
    fresh DPoP proof), with its event; or ``r`` itself, with a ``replay_skipped`` event,
    when its body cannot be rewound."""
    request = r.request
    if not rewindable(request):
        message = f"{vendor}: 401 not replayed: the request body cannot be rewound"
        emit(Event("replay_skipped", vendor, message, client_id))
        return r
    path = (request.path_url or "/").split("?", 1)[0]
    emit(
        Event(
            "replayed_401",
            vendor,
            f"{vendor}: replaying {request.method} {path} after re-auth",
            client_id,
        )
    )
    return replay(r, headers, kwargs)
