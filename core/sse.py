"""Server-sent events both ways: parse upstream bytes into ``SSEEvent``s, encode client events.

Parsing is sseclient-py's (it stitches events split across reads and decodes whole events,
so a UTF-8 character split between reads survives); encoding is a single bytes join per event.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sseclient

from core.jsonutil import dumps
from core.provider import SSEEvent
from core.types import CanonicalEvent


def parse_events(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """Yield one ``SSEEvent`` per upstream event; comments (``: keep-alive``) are skipped."""
    for ev in sseclient.SSEClient(chunks).events():
        yield SSEEvent(ev.event if ev.event != "message" else "", ev.data)


def encode_event(event: CanonicalEvent) -> bytes:
    """``event: <type>\\ndata: <json>\\n\\n`` for one Anthropic stream event."""
    return b"event: " + event["type"].encode() + b"\ndata: " + dumps(event) + b"\n\n"
