"""The HTTP plumbing the scripted servers share (fakes here, ``tests/manual/scripted_*.py``).

``Handler`` is a quiet HTTP/1.1 request handler with the few ways a fake reads and answers:
the request body, a whole body with its length (``send_body``, ``send_json``), or a chunked
answer written piece by piece (``start_chunks``, ``send_chunk``, ``end_chunks``).
``ServerThread`` serves a handler class on 127.0.0.1 at a free port from a daemon thread,
until ``close``. What each server answers stays in its own module.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_NONE: Mapping[str, str] = {}


class Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 (keep-alive, as ccrelay's pool uses it), no access log lines."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def body_bytes(self) -> bytes:
        """The request body, read by its ``content-length``."""
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def send_body(
        self,
        status: int,
        data: bytes,
        content_type: str = "application/json",
        headers: Mapping[str, str] = _NONE,
    ) -> None:
        """A whole answer with its ``content-length``."""
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def send_json(
        self,
        status: int,
        obj: Any,
        content_type: str = "application/json",
        headers: Mapping[str, str] = _NONE,
    ) -> None:
        """``obj`` as a JSON answer."""
        self.send_body(status, json.dumps(obj).encode(), content_type, headers)

    def start_chunks(
        self, status: int, content_type: str, headers: Mapping[str, str] = _NONE
    ) -> None:
        """The status line and headers of a chunked answer (a stream)."""
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def send_chunk(self, data: bytes) -> None:
        """One chunk, flushed: the relay sees it at once."""
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def end_chunks(self) -> None:
        """The last (empty) chunk."""
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def send_chunked(self, status: int, content_type: str, pieces: Iterable[bytes]) -> None:
        """A whole chunked answer, one chunk per piece."""
        self.start_chunks(status, content_type)
        for piece in pieces:
            self.send_chunk(piece)
        self.end_chunks()


class ServerThread:
    """``handler`` served on 127.0.0.1 at a free port (``url``) from a daemon thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
