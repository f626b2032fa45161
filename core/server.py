"""Serving: gevent's WSGI server with a handler that lets a request see its client socket.

The socket is exposed (``environ["ccrelay.socket"]``) only so a waiting stream can notice
that its client has gone and close the upstream, instead of holding it open until the model
finishes.
"""

from __future__ import annotations

import logging
import re
import socket
import time
from collections.abc import Iterable, Iterator
from typing import Any

import gevent
from gevent.pool import Pool
from gevent.pywsgi import WSGIHandler, WSGIServer

from ccrelay.core.app import SOCKET_KEY
from ccrelay.core.relay import Relay

_QUERY_KEY = re.compile(r"([?&](?:key|api[-_]?key|access_token)=)[^&\s\"]*", re.IGNORECASE)


def scrub_query_keys(line: str) -> str:
    """``line`` with the values of key-like query parameters (``?key=``) replaced by ``***``."""
    return _QUERY_KEY.sub(r"\1***", line)


#: concurrent connections served at once; more wait in the listen backlog
MAX_CONNECTIONS = 2000


class _Handler(WSGIHandler):  # type: ignore[misc]  # gevent ships no stubs for pywsgi
    def handle(self) -> None:
        # pywsgi writes headers and body separately; without TCP_NODELAY, Nagle plus the
        # client's delayed ACK adds ~40 ms to every request after the first on a connection.
        try:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        super().handle()

    def get_environ(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_environ()
        env[SOCKET_KEY] = self.socket
        return env

    def format_request(self) -> str:
        # Gemini clients may send their key as ?key=...: never write it to the access log.
        return scrub_query_keys(super().format_request())


class _QuietHandler(_Handler):
    def log_request(self) -> None:
        # No access log: skip formatting a line nobody reads (the token log has the facts).
        pass


class InFlight:
    """WSGI middleware counting requests in flight, streams included until their last byte,
    so a graceful stop can wait for them and not for idle keep-alive connections."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        self.count += 1
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self.count -= 1
            raise
        return self._track(result)

    def _track(self, result: Iterable[bytes]) -> Iterator[bytes]:
        try:
            yield from result
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
            self.count -= 1

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.count > 0 and time.monotonic() < deadline:
            gevent.sleep(0.05)
        return self.count == 0


def graceful_stop(
    server: WSGIServer, inflight: InFlight, relay: Relay, timeout: float = 30.0
) -> None:
    """Stop accepting, let requests in flight (streams too) finish for up to ``timeout``
    seconds, end the streams still running with an error event, then close idle keep-alive
    connections."""
    server.stop_accepting()
    if not inflight.wait_idle(timeout):
        relay.end_streams()
        inflight.wait_idle(2.0)
    server.stop(timeout=0.1)


def make_server(
    app: Any, host: str, port: int, *, access_log: bool = False
) -> tuple[WSGIServer, InFlight]:
    """A gevent WSGI server for ``app``; per-request access logging is off by default (the
    token log already records every request, and a line per request costs CPU)."""
    inflight = InFlight(app)
    server = WSGIServer(
        (host, port),
        inflight,
        spawn=Pool(MAX_CONNECTIONS),
        handler_class=_Handler if access_log else _QuietHandler,
        log=logging.getLogger("ccrelay.access") if access_log else None,
        error_log=logging.getLogger("ccrelay.server"),
    )
    return server, inflight
