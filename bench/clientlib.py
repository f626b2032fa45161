"""Raw-socket HTTP client pieces shared by ``run.py`` (plain) and ``streams.py`` (gevent-patched).

A stream is timed from the moment the request is written (the socket is already connected),
to the first response byte (TTFB), the first text chunk (TTFT) and the terminal event (TTLB):
``message_stop`` for the Anthropic side, ``data: [DONE]`` for the OpenAI side. The texts
``w0 .. w<N-1>`` the scripted upstream sends are extracted and checked in order, so a stream
only counts as complete when every chunk arrived.
"""

from __future__ import annotations

import json
import re
import socket
import time

ANTHROPIC_TEXT = re.compile(rb'"text"\s*:\s*"(w\d+ )"')
OPENAI_TEXT = re.compile(rb'"content"\s*:\s*"(w\d+ )"')
ANTHROPIC_END = b"message_stop"
OPENAI_END = b"data: [DONE]"


def http_request(path: str, body: bytes, headers: dict[str, str], host: str, port: int) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _done(buf: bytearray, end_marker: bytes) -> bool:
    i = buf.rfind(end_marker)
    if i < 0:
        return False
    return buf.find(b"\n\n", i) >= 0 or buf.find(b"\r\n\r\n", i) >= 0


def stream_once(
    host: str,
    port: int,
    raw_request: bytes,
    *,
    anthropic: bool,
    expect_chunks: int,
    timeout: float = 60.0,
) -> dict:
    """Send one streaming request and time it; returns a dict (``ok`` False on any problem)."""
    end_marker = ANTHROPIC_END if anthropic else OPENAI_END
    t_connect = time.perf_counter()
    result: dict = {"ok": False}
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        result["error"] = f"connect: {exc}"
        return result
    buf = bytearray()
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        result["connect_s"] = t0 - t_connect
        sock.sendall(raw_request)
        first = first_text = None
        text_marker = b"text_delta" if anthropic else b'"content":"w'
        while True:
            data = sock.recv(262144)
            now = time.perf_counter()
            if not data:
                result["error"] = "connection closed before the terminal event"
                break
            if first is None:
                first = now
            buf += data
            if first_text is None and text_marker in buf:
                first_text = now
            if _done(buf, end_marker):
                result["ttlb_s"] = now - t0
                break
        result["ttfb_s"] = None if first is None else first - t0
        result["ttft_s"] = None if first_text is None else first_text - t0
        result["total_s"] = time.perf_counter() - t_connect
    except OSError as exc:
        result["error"] = f"io: {exc}"
    finally:
        sock.close()
    status = bytes(buf[:12])
    result["status"] = status[9:12].decode(errors="replace")
    texts = (ANTHROPIC_TEXT if anthropic else OPENAI_TEXT).findall(buf)
    result["chunks"] = len(texts)
    expected = [b"w%d " % i for i in range(expect_chunks)]
    result["ok"] = "ttlb_s" in result and result["status"] == "200" and texts == expected
    if not result["ok"] and "error" not in result:
        result["error"] = f"status {result['status']}, {len(texts)}/{expect_chunks} chunks in order"
    return result


def post_json(
    host: str, port: int, path: str, body: bytes, headers: dict[str, str], timeout: float = 10.0
) -> tuple[int, bytes]:
    """One non-streaming POST on a fresh connection; returns (status, body)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(http_request(path, body, {**headers, "Connection": "close"}, host, port))
        buf = bytearray()
        while True:
            data = sock.recv(262144)
            if not data:
                break
            buf += data
    head, _, payload = bytes(buf).partition(b"\r\n\r\n")
    status = int(head[9:12]) if len(head) >= 12 else 0
    if b"transfer-encoding: chunked" in head.lower():
        payload = dechunk(payload)
    return status, payload


def dechunk(data: bytes) -> bytes:
    out, pos = [], 0
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return b"".join(out)
        size = int(data[pos:eol].split(b";")[0], 16)
        if size == 0:
            return b"".join(out)
        out.append(data[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2


def valid_anthropic_message(payload: bytes) -> bool:
    try:
        msg = json.loads(payload)
    except ValueError:
        return False
    return (
        isinstance(msg, dict)
        and msg.get("type") == "message"
        and msg.get("role") == "assistant"
        and isinstance(msg.get("content"), list)
        and any(b.get("type") == "text" and b.get("text") for b in msg["content"])
    )


def valid_chat_completion(payload: bytes) -> bool:
    try:
        out = json.loads(payload)
    except ValueError:
        return False
    return (
        isinstance(out, dict)
        and out.get("object") == "chat.completion"
        and bool(out.get("choices"))
        and bool(out["choices"][0].get("message", {}).get("content"))
    )
