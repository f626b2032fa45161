"""Serving: gevent's WSGI server with a handler that lets a request see its client socket.

The socket is exposed (``environ["ccrelay.socket"]``) only so a waiting stream can notice
that its client has gone and close the upstream, instead of holding it open until the model
finishes.
"""

from __future__ import annotations

import logging
from typing import Any

from gevent.pool import Pool
from gevent.pywsgi import WSGIHandler, WSGIServer

from core.app import SOCKET_KEY

#: concurrent connections served at once; more wait in the listen backlog
MAX_CONNECTIONS = 2000


class _Handler(WSGIHandler):
    def get_environ(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_environ()
        env[SOCKET_KEY] = self.socket
        return env


def make_server(app: Any, host: str, port: int, *, access_log: bool = False) -> WSGIServer:
    """A gevent WSGI server for ``app``; per-request access logging is off by default (the
    token log already records every request, and a line per request costs CPU)."""
    return WSGIServer(
        (host, port),
        app,
        spawn=Pool(MAX_CONNECTIONS),
        handler_class=_Handler,
        log=logging.getLogger("ccrelay.access") if access_log else None,
        error_log=logging.getLogger("ccrelay.server"),
    )
