"""Upstream stream framings, each parsed into ``SSEEvent``s whose ``data`` is one JSON text.

A strategy declares its upstream's framing (``Provider.stream_framing``) and core picks the
parser here, so strategies stay pure and read every framing the same way:

- ``sse``: server-sent events (``core/sse.py``): OpenAI, Anthropic, Gemini with ``alt=sse``.
- ``ndjson``: one JSON object per line: Ollama.
- ``json_array``: one JSON array whose elements are written as they are ready: Gemini's
  ``streamGenerateContent`` without ``alt=sse``.

Bytes are cut into events before they are decoded, so a UTF-8 character split between two
network reads survives every framing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from ccrelay.core.errors import RelayError
from ccrelay.core.provider import SSEEvent
from ccrelay.core.sse import parse_events


def parse_stream(framing: str, chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """The events of an upstream stream in ``framing``."""
    if framing == "sse":
        return parse_events(chunks)
    if framing == "ndjson":
        return parse_ndjson(chunks)
    if framing == "json_array":
        return parse_json_array(chunks)
    raise ValueError(f"unknown stream framing {framing!r}")


def parse_ndjson(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """One event per non-blank line; a last line without its newline counts too."""
    buf = b""
    for chunk in chunks:
        buf = buf + chunk if buf else chunk
        if b"\n" not in buf:
            continue
        *lines, buf = buf.split(b"\n")
        for line in lines:
            line = line.strip()
            if line:
                yield SSEEvent("", line.decode("utf-8", "replace"))
    if buf.strip():
        yield SSEEvent("", buf.strip().decode("utf-8", "replace"))


_INTERESTING = re.compile(rb'[\[\]{}",\\]')
_STRING_END = re.compile(rb'["\\]')


def parse_json_array(chunks: Iterable[bytes]) -> Iterator[SSEEvent]:
    """One event per object element of a top-level JSON array, as soon as it is complete.

    :raises RelayError: 502 when the body is not an array or ends inside an element.
    """
    buf = b""
    pos = 0  # where scanning resumes in buf
    depth = 0  # bracket depth; elements live at depth 1
    in_string = False
    escaped = False
    start = -1  # start of the current element in buf
    opened = False
    for chunk in chunks:
        buf += chunk
        while pos < len(buf):
            if in_string:
                if escaped:
                    escaped = False
                    pos += 1
                    continue
                m = _STRING_END.search(buf, pos)
                if m is None:
                    pos = len(buf)
                    break
                pos = m.start()
                if buf[pos] == 0x5C:  # backslash
                    escaped = True
                else:
                    in_string = False
                pos += 1
                continue
            if not opened:
                stripped = buf[pos:].lstrip()
                if not stripped:
                    pos = len(buf)
                    break
                if stripped[:1] != b"[":
                    raise RelayError(502, f"upstream stream is not a JSON array: {buf[:80]!r}")
                pos = len(buf) - len(stripped) + 1
                opened, depth = True, 1
                continue
            m = _INTERESTING.search(buf, pos)
            if m is None:
                pos = len(buf)
                break
            pos = m.start()
            c = buf[pos]
            if c == 0x22:  # quote
                in_string = True
            elif c in (0x7B, 0x5B):  # { [
                if depth == 1 and start < 0:
                    start = pos
                depth += 1
            elif c in (0x7D, 0x5D):  # } ]
                depth -= 1
                if depth == 1 and start >= 0:
                    yield SSEEvent("", buf[start : pos + 1].decode("utf-8", "replace"))
                    start = -1
                elif depth == 0:
                    return  # the array is closed; anything after it is ignored
            pos += 1
        if start < 0 and not in_string:  # drop what has been consumed
            buf, pos = buf[pos:], 0
        elif start > 0:
            buf, pos = buf[start:], pos - start
            start = 0
    if opened:
        raise RelayError(502, "upstream stream ended inside its JSON array")
