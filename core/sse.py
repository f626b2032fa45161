"""Server-sent events both ways: parse upstream bytes into ``SSEEvent``s, encode client events.

Parsing has a fast path for the framing every LLM vendor uses (``\\n`` line ends): whole
events are cut at blank lines and decoded only once complete, so a UTF-8 character split
between reads survives. Any stream that uses ``\\r`` line ends is handed to sseclient-py,
which implements the full framing rules; it is about eight times slower per event, which is
why it is not used for everything (bench/PROFILE.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any

import sseclient

from ccrelay.core.jsonutil import dumps
from ccrelay.core.provider import SSEEvent
from ccrelay.core.types import CanonicalEvent


def parse_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Yield one ``SSEEvent`` per upstream event; comments (``: keep-alive``) are skipped."""
    it = iter(chunks)
    buf = b""
    for chunk in it:
        buf = buf + chunk if buf else chunk
        if b"\r" in buf:
            yield from _full_parser(chain((buf,), it))
            return
        start = 0
        while True:
            end = buf.find(b"\n\n", start)
            if end < 0:
                break
            event = _parse_block(buf[start:end])
            if event is not None:
                yield event
            start = end + 2
        buf = buf[start:]
    if buf.strip():
        event = _parse_block(buf)  # a last event without its blank line
        if event is not None:
            yield event


def _parse_block(block: bytes) -> SSEEvent | None:
    if block[:6] == b"data: " and b"\n" not in block:  # the usual one-line event
        return SSEEvent("", block[6:].decode("utf-8", "replace"))
    name = ""
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if line.startswith(b"data:"):
            value = line[5:]
            data.append(value[1:] if value[:1] == b" " else value)
        elif line.startswith(b"event:"):
            value = line[6:]
            name = (value[1:] if value[:1] == b" " else value).decode("utf-8", "replace")
        # comments (":...") and other fields (id:, retry:) carry nothing a relay needs
    if not data:
        return None
    text = (data[0] if len(data) == 1 else b"\n".join(data)).decode("utf-8", "replace")
    return SSEEvent("" if name == "message" else name, text)


def _full_parser(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    for ev in sseclient.SSEClient(iter(chunks)).events():
        yield SSEEvent(ev.event if ev.event != "message" else "", ev.data)


def encode_event(event: CanonicalEvent) -> bytes:
    """``event: <type>\\ndata: <json>\\n\\n``: an event named by its ``type`` field (the
    Anthropic and OpenAI Responses framing)."""
    etype: str = event["type"]
    return b"event: " + etype.encode() + b"\ndata: " + dumps(event) + b"\n\n"


def encode_data(obj: Any) -> bytes:
    """``data: <json>\\n\\n``: a data-only event (the OpenAI Chat and Gemini framing)."""
    return b"data: " + dumps(obj) + b"\n\n"


#: an SSE comment: clients skip it, proxies see traffic (a keep-alive for data-only streams)
COMMENT_KEEPALIVE = b": keep-alive\n\n"
