"""A fault-injecting upstream: a raw TCP server that misbehaves the way real upstreams do.

Each ``FaultServer`` answers every request with one fault, written byte by byte on a plain
socket so it can do what no HTTP library would: reset the connection before or after the
first byte, stall forever, send garbage or an HTML page with a 200, end a stream without its
end marker. The streams are Anthropic Messages SSE (the canonical protocol), so any client
dialect in front of an ``anthropic`` provider sees exactly what core does with the fault.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from typing import Any

#: the faults, and whether each happens before the first byte reaches the client
FAULTS_BEFORE = ("refused", "reset_before", "status_429", "status_500", "status_529",
                 "slow_first_byte", "html_200", "garbage_first")  # fmt: skip
FAULTS_AFTER = ("reset_after", "garbage_later", "truncated", "no_end_marker", "stall")


def _event(data: dict[str, Any]) -> bytes:
    return f"event: {data['type']}\ndata: {json.dumps(data)}\n\n".encode()


START = _event({"type": "message_start", "message": {
    "id": "msg_f", "type": "message", "role": "assistant", "model": "m", "content": [],
    "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}})  # fmt: skip
BLOCK = _event(
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
)
DELTA = _event({"type": "content_block_delta", "index": 0,
                "delta": {"type": "text_delta", "text": "partial answer"}})  # fmt: skip


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


class FaultServer:
    """Answers every request with ``fault``; ``url`` is its base URL.

    :param stall: seconds a stalled or slow answer waits (the relay's timeout should be
        shorter, so the test sees the relay give up).
    """

    def __init__(self, fault: str, stall: float = 30.0) -> None:
        self.fault = fault
        self.stall = stall
        self.connections = 0
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        if fault == "refused":
            # Bound but not listening: connections are refused, and no other test's server
            # can take the port meanwhile (closing it would let one).
            return
        self._sock.listen(64)
        self._closing = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def close(self) -> None:
        if self.fault != "refused":
            self._closing.set()
        self._sock.close()

    def _serve(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        try:
            request = _read_request(conn)
            stream = b'"stream": true' in request or b'"stream":true' in request
            getattr(self, "_" + self.fault)(conn, stream)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    # --- before the first byte ---------------------------------------------------------

    def _reset_before(self, conn: socket.socket, stream: bool) -> None:
        _reset(conn)

    def _status(self, conn: socket.socket, status: int, reason: str, extra: str = "") -> None:
        body = json.dumps({"type": "error", "error": {"type": "api_error",
                                                      "message": f"fault {status}"}}).encode()  # fmt: skip
        conn.sendall(
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n{extra}"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode()
            + body
        )

    def _status_429(self, conn: socket.socket, stream: bool) -> None:
        self._status(conn, 429, "Too Many Requests", "retry-after: 7\r\n")

    def _status_500(self, conn: socket.socket, stream: bool) -> None:
        self._status(conn, 500, "Internal Server Error")

    def _status_529(self, conn: socket.socket, stream: bool) -> None:
        self._status(conn, 529, "Overloaded")

    def _slow_first_byte(self, conn: socket.socket, stream: bool) -> None:
        self._closing.wait(self.stall)

    def _html_200(self, conn: socket.socket, stream: bool) -> None:
        body = b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (len(body), body)
        )

    def _garbage_first(self, conn: socket.socket, stream: bool) -> None:
        if not stream:
            self._html_200(conn, stream)
            return
        self._stream_head(conn)
        conn.sendall(_chunk(b"data: {this is not json\n\n") + b"0\r\n\r\n")

    # --- after the first byte ------------------------------------------------------------

    def _stream_head(self, conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            b"transfer-encoding: chunked\r\nconnection: close\r\n\r\n"
        )

    def _started(self, conn: socket.socket, stream: bool) -> bool:
        """Send the head and the first events of a stream; False for a non-stream request,
        which then gets a truncated JSON body (the same fault without the stream)."""
        if not stream:
            body = b'{"id": "msg_f", "type": "message", "content": [{"type": "te'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: 500\r\nconnection: close\r\n\r\n" + body
            )
            return False
        self._stream_head(conn)
        conn.sendall(_chunk(START + BLOCK + DELTA))
        time.sleep(0.05)
        return True

    def _reset_after(self, conn: socket.socket, stream: bool) -> None:
        self._started(conn, stream)
        _reset(conn)

    def _garbage_later(self, conn: socket.socket, stream: bool) -> None:
        if self._started(conn, stream):
            conn.sendall(_chunk(b"data: {garbage\n\n") + b"0\r\n\r\n")

    def _truncated(self, conn: socket.socket, stream: bool) -> None:
        if self._started(conn, stream):
            conn.sendall(_chunk(b'event: content_block_delta\ndata: {"type": "content_bl'))
            # FIN without the last chunk: the body ends mid-event

    def _no_end_marker(self, conn: socket.socket, stream: bool) -> None:
        if self._started(conn, stream):
            conn.sendall(_chunk(_event({"type": "content_block_stop", "index": 0})) + b"0\r\n\r\n")

    def _stall(self, conn: socket.socket, stream: bool) -> None:
        self._started(conn, stream)
        self._closing.wait(self.stall)


def _read_request(conn: socket.socket) -> bytes:
    conn.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        part = conn.recv(65536)
        if not part:
            return data
        data += part
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    while len(body) < length:
        part = conn.recv(65536)
        if not part:
            break
        body += part
    return head + b"\r\n\r\n" + body


def _reset(conn: socket.socket) -> None:
    # SO_LINGER with a zero timeout turns close() into an RST.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
