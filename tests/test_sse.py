"""SSE parsing: every framing variant upstreams use, split anywhere, gives the same events."""

from __future__ import annotations

import pytest

from ccrelay.core.provider import SSEEvent
from ccrelay.core.sse import encode_event, parse_events

EXPECTED = [
    SSEEvent("message_start", '{"a":"é"}'),
    SSEEvent("", '{"b":1}'),
    SSEEvent("", "line one\nline two"),
    SSEEvent("", "[DONE]"),
]


def stream(nl: str, space: str = " ") -> bytes:
    text = (
        f'event:{space}message_start{nl}data:{space}{{"a":"é"}}{nl}{nl}'
        f": OPENROUTER PROCESSING{nl}{nl}"
        f'data:{space}{{"b":1}}{nl}id: 7{nl}{nl}'
        f"data:{space}line one{nl}data:{space}line two{nl}{nl}"
        f"event: ping{nl}{nl}"  # no data: not dispatched
        f"data:{space}[DONE]"  # last event without its blank line
    )
    return text.encode()


def splits(raw: bytes, size: int) -> list[bytes]:
    return [raw[i : i + size] for i in range(0, len(raw), size)]


@pytest.mark.parametrize("nl", ["\n", "\r\n"])
@pytest.mark.parametrize("space", [" ", ""])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 1000])
def test_framings_and_splits(nl, space, size):
    # size 1 splits the two bytes of "é" apart: events are decoded only once complete.
    assert list(parse_events(splits(stream(nl, space), size))) == EXPECTED


def test_encode_event():
    assert encode_event({"type": "ping"}) == b'event: ping\ndata: {"type":"ping"}\n\n'
