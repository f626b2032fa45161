"""Cross-origin requests from browser clients (web UIs, browser extensions), off by default.

A browser lets a page call ccrelay only when ccrelay says the page's origin may. By default
it says so for no origin: a relay on 127.0.0.1 holds the user's vendor keys, and any web page
the user visits could otherwise spend them. ``server.cors_origins`` lists the origins that
may, as globs::

    server:
      cors_origins: ["http://localhost:*", "chrome-extension://*"]   # or ["*"]

For an allowed origin, a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is
answered 204 with the methods and the headers it asked for, without an access key (browsers
send none on a preflight); every answer to that origin carries
``Access-Control-Allow-Origin`` and exposes ``retry-after`` and ccrelay's own headers. The
requests themselves still need an access key when ``access_keys`` is set.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from flask import Response, request

_METHODS = "GET, POST, DELETE, HEAD, OPTIONS"
_EXPOSED = ("retry-after, x-request-id, x-ccrelay-warning, x-ccrelay-omitted-tools, "
            "x-ccrelay-omitted-items")  # fmt: skip


def allowed(origin: str, patterns: Sequence[str]) -> bool:
    """Whether ``origin`` matches one of ``patterns`` (globs, case-insensitive)."""
    origin = origin.lower()
    return any(fnmatchcase(origin, p.lower()) for p in patterns)


def preflight(patterns: Sequence[str]) -> Response | None:
    """The answer to a CORS preflight from an allowed origin; None for any other request."""
    origin = request.headers.get("origin")
    if (
        request.method != "OPTIONS"
        or not origin
        or "access-control-request-method" not in request.headers
        or not allowed(origin, patterns)
    ):
        return None
    response = Response(status=204)
    response.headers["access-control-allow-methods"] = _METHODS
    asked = request.headers.get("access-control-request-headers")
    if asked:
        response.headers["access-control-allow-headers"] = asked[:1000]
    response.headers["access-control-max-age"] = "600"
    return response


def decorate(response: Response, patterns: Sequence[str]) -> Response:
    """``response`` with the headers that let an allowed origin's page read it."""
    origin = request.headers.get("origin")
    if origin and patterns and allowed(origin, patterns):
        response.headers["access-control-allow-origin"] = origin
        response.headers["access-control-expose-headers"] = _EXPOSED
        response.headers.add("vary", "Origin")
    return response
