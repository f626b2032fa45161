"""A scripted upstream: a real HTTP server on 127.0.0.1 that answers from a per-test script.

Each test queues ``Reply`` objects (JSON bodies, SSE streams with optional delays, errors)
and afterwards reads ``requests`` to see exactly what the relay sent upstream.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tests.fakes import server


@dataclass
class Reply:
    """One scripted answer.

    :param json: a JSON body (non-streaming).
    :param sse: SSE events: dicts become ``data: <json>``, strings are sent raw (so tests can
        send ``"data: [DONE]\\n\\n"``, comments, or broken framing).
    :param delay: seconds before the status line.
    :param chunk_delay: seconds between SSE events.
    :param hang: after the events, keep the connection open this long (a silent upstream).
    :param path: only answer requests whose path ends with this (others fall through).
    :param hold: an SSE reply sends its first ``hold_after`` events, then waits (up to 60 s)
        for this event to be set before the rest: a stream a test can keep running.
    :param content_type: the answer's content type (default: ``text/event-stream`` for
        ``sse``, ``application/json`` otherwise); NDJSON and JSON-array streams set theirs.
    """

    status: int = 200
    json: Any = None
    sse: list[Any] | None = None
    raw: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    hang: float = 0.0
    event_names: bool = False
    hold: threading.Event | None = None
    hold_after: int = 0
    content_type: str | None = None


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    #: set when the relay closed the connection while this request was being answered
    closed: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


class FakeUpstream(server.ServerThread):
    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.requests: list[Recorded] = []
        self.default: Reply | None = None
        #: when set, builds the reply from the request (after scripted replies run out)
        self.responder: Any = None
        self._lock = threading.Lock()
        fake = self

        class Handler(server.Handler):
            def do_GET(self) -> None:
                self._serve(None)

            def do_POST(self) -> None:
                raw = self.body_bytes()
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw
                self._serve(body)

            def _serve(self, body: Any) -> None:
                rec = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    body,
                )
                with fake._lock:
                    fake.requests.append(rec)
                    reply = fake.answer(rec)
                if reply is None:
                    reply = Reply(
                        500, json={"error": {"message": "fake upstream: no reply scripted"}}
                    )
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    rec.closed.set()
                finally:
                    rec.finished.set()

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.sse is None:
                    data = reply.raw if reply.raw is not None else json.dumps(reply.json).encode()
                    ctype = reply.content_type or "application/json"
                    self.send_body(reply.status, data, ctype, reply.headers)
                    return
                ctype = reply.content_type or "text/event-stream"
                self.start_chunks(reply.status, ctype, reply.headers)
                for i, ev in enumerate(reply.sse):
                    if i and reply.chunk_delay:
                        time.sleep(reply.chunk_delay)
                    if reply.hold is not None and i == reply.hold_after:
                        reply.hold.wait(60)
                    if isinstance(ev, dict):
                        name = (
                            f"event: {ev['type']}\n" if reply.event_names and "type" in ev else ""
                        )
                        ev = f"{name}data: {json.dumps(ev)}\n\n"
                    self.send_chunk(ev.encode() if isinstance(ev, str) else ev)
                deadline = time.monotonic() + reply.hang
                while time.monotonic() < deadline:
                    time.sleep(0.05)
                    # An empty-looking chunk extension keeps the stream open while letting us
                    # notice a closed peer.
                    self._probe()
                self.end_chunks()

            def _probe(self) -> None:
                import select
                import socket

                r, _, _ = select.select([self.connection], [], [], 0)
                if r and self.connection.recv(1, socket.MSG_PEEK) == b"":
                    raise ConnectionResetError("relay closed the connection")

        super().__init__(Handler)

    def answer(self, rec: Recorded) -> Reply | None:
        """The reply for ``rec`` (called under the lock): the next scripted one, else the
        ``responder``'s, else the default. Subclasses that check requests as a real vendor
        would (``tests/fakes/azure.py``) override this."""
        if self.replies:
            return self.replies.pop(0)
        if self.responder is not None:
            return self.responder(rec)
        return self.default

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)
