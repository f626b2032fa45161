"""A scripted OpenAI-compatible upstream for the benchmark: fast enough never to be the bottleneck.

Raw asyncio (no framework): a minimal HTTP/1.1 keep-alive parser and answers built once at
startup, so a request costs a few microseconds of Python. It answers

- ``POST .../chat/completions`` with ``"stream": false`` (or no stream flag): one fixed
  ``chat.completion`` JSON;
- the same with ``"stream": true``: an SSE stream of N content chunks (plus the role chunk, the
  finish chunk, the ``include_usage`` chunk and ``[DONE]``), chunked transfer encoding.
  N and the spacing D (ms) come from a marker ``[[bench:N:D]]`` anywhere in the request body
  (the benchmark puts it in the user message, which the relay passes through unchanged), or
  from a path prefix ``/s/N/D/...`` in the base URL; the default is 200 chunks sent at once.
  D = 0 writes the whole answer with one ``write``; D > 0 sends content chunk i at
  ``(i + 1) * D`` ms after the headers, on an absolute schedule (no drift).
- ``GET /_last``: the body of the last POST (what the relay sent upstream), so the direct load
  can be exactly what the relay sends; ``GET /_stats``: request counters; anything else: 200 ``{}``.

Content chunk i carries the text ``"w<i> "`` so clients can count and check them.

Run: ``python bench/upstream.py --port 18001`` (``--host`` defaults to 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal

CREATED = 1_700_000_000
MODEL = "bench-model"
ANSWER_TEXT = "This is a fixed benchmark answer from the scripted upstream. " * 4

_MARKER = re.compile(rb"\[\[bench:(\d+):(\d+)\]\]")
_PATH_MODE = re.compile(rb"^/s/(\d+)/(\d+)/")
_STREAM_TRUE = re.compile(rb'"stream"\s*:\s*true')

NONSTREAM_BODY = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": CREATED,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": ANSWER_TEXT},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1200, "completion_tokens": 50, "total_tokens": 1250},
    },
    separators=(",", ":"),
).encode()

NONSTREAM_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(NONSTREAM_BODY)).encode()
    + b"\r\n\r\n"
    + NONSTREAM_BODY
)
STREAM_HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


def _chunk(obj: dict) -> bytes:
    return b"data: " + json.dumps(obj, separators=(",", ":")).encode() + b"\n\n"


def _frame(data: bytes) -> bytes:
    """One HTTP/1.1 chunked-encoding frame."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _base(choices: list, **extra) -> dict:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": MODEL,
        "choices": choices,
        **extra,
    }


_HEAD_FRAME = _frame(
    _chunk(
        _base([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
    )
)
_CONTENT_FRAMES: list[bytes] = []  # grown on demand; frame i carries "w<i> "


def _content_frame(i: int) -> bytes:
    while len(_CONTENT_FRAMES) <= i:
        n = len(_CONTENT_FRAMES)
        _CONTENT_FRAMES.append(
            _frame(
                _chunk(_base([{"index": 0, "delta": {"content": f"w{n} "}, "finish_reason": None}]))
            )
        )
    return _CONTENT_FRAMES[i]


def _tail_frames(n: int) -> bytes:
    finish = _chunk(_base([{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    usage = _chunk(
        _base([], usage={"prompt_tokens": 1200, "completion_tokens": n, "total_tokens": 1200 + n})
    )
    return _frame(finish) + _frame(usage) + _frame(b"data: [DONE]\n\n") + b"0\r\n\r\n"


_BURSTS: dict[int, bytes] = {}


def burst_response(n: int) -> bytes:
    """Headers and the whole n-chunk stream, built once per n."""
    resp = _BURSTS.get(n)
    if resp is None:
        resp = STREAM_HEADERS + _HEAD_FRAME + b"".join(_content_frame(i) for i in range(n))
        resp += _tail_frames(n)
        _BURSTS[n] = resp
    return resp


class Stats:
    requests = 0
    streams = 0
    active_streams = 0
    last_body = b"{}"
    last_path = b""


def _small(status: bytes, body: bytes, ctype: bytes = b"application/json") -> bytes:
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\nContent-Type: "
        + ctype
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


class UpstreamProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.busy = False  # a dripped stream is in flight on this connection
        self.close_after = False  # the client asked for Connection: close

    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.transport = transport

    def connection_lost(self, exc) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.busy:
            self._process()

    def _process(self) -> None:
        buf = self.buf
        while self.transport is not None and not self.busy:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            lines = head.split(b"\r\n")
            try:
                method, target, _ = lines[0].split(b" ", 2)
            except ValueError:
                self.transport.write(_small(b"400 Bad Request", b"{}"))
                self.transport.close()
                return
            length = 0
            chunked = close = False
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                lname = name.strip().lower()
                if lname == b"content-length":
                    length = int(value.strip())
                elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
                elif lname == b"connection" and b"close" in value.lower():
                    close = True
            start = end + 4
            if chunked:
                body = self._dechunk(start)
                if body is None:
                    return
                body, consumed = body
            else:
                if len(buf) < start + length:
                    return
                body = bytes(buf[start : start + length])
                consumed = start + length
            del buf[:consumed]
            self.close_after = close
            self._handle(method, target, body)
            if close and not self.busy and self.transport is not None:
                self.transport.close()  # after the buffered answer is flushed

    def _dechunk(self, pos: int):
        buf = self.buf
        parts = []
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            pos = eol + 2
            if size == 0:
                end = buf.find(b"\r\n", pos)  # no trailers expected
                if end < 0:
                    return None
                return b"".join(parts), end + 2
            if len(buf) < pos + size + 2:
                return None
            parts.append(bytes(buf[pos : pos + size]))
            pos += size + 2

    def _handle(self, method: bytes, target: bytes, body: bytes) -> None:
        t = self.transport
        assert t is not None
        Stats.requests += 1
        if method == b"POST":
            Stats.last_body = body
            Stats.last_path = target
            if not _STREAM_TRUE.search(body):
                t.write(NONSTREAM_RESPONSE)
                return
            Stats.streams += 1
            n, delay = 200, 0
            m = _MARKER.search(body) if b"[[bench:" in body else None
            if m is None:
                m = _PATH_MODE.match(target)
            if m is not None:
                n, delay = int(m.group(1)), int(m.group(2))
            if delay == 0:
                t.write(burst_response(n))
            else:
                self.busy = True
                Stats.active_streams += 1
                asyncio.get_running_loop().create_task(self._drip(n, delay / 1000.0))
            return
        if target.startswith(b"/_last"):
            t.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Bench-Path: "
                + Stats.last_path
                + b"\r\nContent-Length: "
                + str(len(Stats.last_body)).encode()
                + b"\r\n\r\n"
                + Stats.last_body
            )
        elif target.startswith(b"/_stats"):
            stats = {
                "requests": Stats.requests,
                "streams": Stats.streams,
                "active_streams": Stats.active_streams,
                "pid": os.getpid(),
            }
            t.write(_small(b"200 OK", json.dumps(stats).encode()))
        elif method == b"HEAD":
            t.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        else:
            t.write(_small(b"200 OK", b"{}"))

    async def _drip(self, n: int, delay: float) -> None:
        loop = asyncio.get_running_loop()
        t = self.transport
        try:
            if t is None:
                return
            t.write(STREAM_HEADERS + _HEAD_FRAME)
            start = loop.time()
            for i in range(n):
                wait = start + (i + 1) * delay - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if t.is_closing():
                    return
                t.write(_content_frame(i))
            t.write(_tail_frames(n))
        finally:
            Stats.active_streams -= 1
            self.busy = False
            if self.close_after and self.transport is not None:
                self.transport.close()
            elif self.transport is not None and self.buf:
                self._process()


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        UpstreamProtocol, host, port, backlog=4096, reuse_address=True
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18001)
    args = parser.parse_args()
    burst_response(200)  # build the common answers before the first request
    asyncio.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
