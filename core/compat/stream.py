"""The answer side of compat mode: the model's text turned back into tool_use blocks.

``compat_events`` rewrites a canonical event stream as it flows; ``compat_response`` does
the same to a finished response. Both run every text block through one ``CallParser`` per
message (``core/compat/parser.py``):

- text passes at once (minus a held tail that may start a call) in a text block of its own
  index; a text block is opened only for text that is not just whitespace;
- a complete call closes the open text block and becomes a ``tool_use`` block: start (with
  an id ``toolu_<request id>_<n>``, stable and unique per request), one ``input_json_delta``
  with the whole arguments object, stop;
- thinking, redacted thinking and any other block pass untouched, renumbered: output
  indexes count 0, 1, 2 ... in order, whatever the upstream's were;
- after the calls the turn is over: later blocks and text are dropped (logged at INFO);
- ``message_delta.stop_reason`` becomes ``tool_use`` when a call was made (even after
  ``max_tokens``: the calls made are complete and the client should run them).

Nothing is held past the end of a text block, so the stream never waits for more than the
upstream sends; an upstream error mid-stream propagates unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator
from typing import Any

from ccrelay.core.jsonutil import dumps_str
from ccrelay.core.types import CanonicalEvent, CanonicalResponse

from .parser import CallParser, Segment

log = logging.getLogger("ccrelay.compat")


def compat_events(
    events: Iterable[CanonicalEvent],
    tools: Collection[str],
    single: bool,
    request_id: str,
) -> Iterator[CanonicalEvent]:
    """Canonical events with the model's ``<tool_call>`` text turned into tool_use blocks.

    :param tools: the names of the tools the client offered.
    :param single: keep only the first call (``disable_parallel_tool_use``).
    """
    out = _Blocks(CallParser(tools, single, request_id), request_id)
    text_index: Any = None  # the upstream index of the text block being parsed
    mapped: dict[Any, int | None] = {}  # other upstream blocks: their output index (None: dropped)
    for ev in events:
        etype = ev.get("type")
        if etype == "content_block_delta":
            idx = ev.get("index")
            if idx == text_index:
                delta = ev.get("delta") or {}
                if delta.get("type") == "text_delta":
                    segs = out.parser.feed(delta.get("text") or "")
                    if segs:
                        yield from out.segments(segs)
                elif out.open is not None:
                    yield {**ev, "index": out.open}  # citations: they belong to the text
            else:
                target = mapped.get(idx)
                if target is not None:
                    yield {**ev, "index": target}
        elif etype == "content_block_start":
            block = ev.get("content_block") or {}
            if block.get("type") == "text":
                text_index = ev.get("index")
                if block.get("text"):
                    yield from out.segments(out.parser.feed(block["text"]))
            elif out.parser.over:
                mapped[ev.get("index")] = None
            else:
                n = mapped[ev.get("index")] = out.next_index()
                yield {**ev, "index": n}
        elif etype == "content_block_stop":
            idx = ev.get("index")
            if idx == text_index:
                text_index = None
                yield from out.segments(out.parser.flush())
                yield from out.close_text()
            else:
                target = mapped.get(idx)
                if target is not None:
                    yield {**ev, "index": target}
        elif etype == "message_delta":
            if text_index is not None:  # an upstream that never closed its text block
                text_index = None
                yield from out.segments(out.parser.flush())
                yield from out.close_text()
            out.report()
            if out.parser.calls:
                delta = {**(ev.get("delta") or {}), "stop_reason": "tool_use"}
                delta["stop_sequence"] = None
                yield {**ev, "delta": delta}
            else:
                yield ev
        else:  # message_start, message_stop, ping, error
            yield ev


def compat_response(
    resp: CanonicalResponse, tools: Collection[str], single: bool, request_id: str
) -> CanonicalResponse:
    """A finished response with the model's ``<tool_call>`` text turned into tool_use blocks."""
    out = _Blocks(CallParser(tools, single, request_id), request_id)
    content: list[Any] = []
    for block in resp.get("content") or ():
        if block["type"] == "text":
            segs = out.parser.feed(str(block.get("text") or "")) + out.parser.flush()
            text: list[str] = []
            for seg in segs:
                if isinstance(seg, str):
                    text.append(seg)
                    continue
                if text and not "".join(text).isspace():
                    content.append({"type": "text", "text": "".join(text)})
                text = []
                content.append(
                    {"type": "tool_use", "id": out.new_id(), "name": seg.name, "input": seg.input}
                )
            if text and not "".join(text).isspace():
                content.append({**block, "text": "".join(text)})
        elif not out.parser.over:
            content.append(block)
    out.report()
    result: dict[str, Any] = {**resp, "content": content}
    if out.parser.calls:
        result["stop_reason"] = "tool_use"
        result["stop_sequence"] = None
    return result  # type: ignore[return-value]


class _Blocks:
    """The output side: indexes, the open text block, ids for calls."""

    __slots__ = ("parser", "request_id", "open", "_next", "_calls")

    def __init__(self, parser: CallParser, request_id: str) -> None:
        self.parser = parser
        self.request_id = request_id
        self.open: int | None = None  # output index of the open text block
        self._next = 0
        self._calls = 0

    def next_index(self) -> int:
        n = self._next
        self._next += 1
        return n

    def new_id(self) -> str:
        self._calls += 1
        return f"toolu_{self.request_id}_{self._calls}"

    def segments(self, segs: list[Segment]) -> Iterator[CanonicalEvent]:
        for seg in segs:
            if isinstance(seg, str):
                if self.open is None:
                    if seg.isspace():
                        continue  # never open a whitespace-only text block
                    self.open = self.next_index()
                    yield {
                        "type": "content_block_start",
                        "index": self.open,
                        "content_block": {"type": "text", "text": ""},
                    }
                yield {
                    "type": "content_block_delta",
                    "index": self.open,
                    "delta": {"type": "text_delta", "text": seg},
                }
                continue
            yield from self.close_text()
            n = self.next_index()
            yield {
                "type": "content_block_start",
                "index": n,
                "content_block": {
                    "type": "tool_use",
                    "id": self.new_id(),
                    "name": seg.name,
                    "input": {},
                },
            }
            yield {
                "type": "content_block_delta",
                "index": n,
                "delta": {"type": "input_json_delta", "partial_json": dumps_str(seg.input)},
            }
            yield {"type": "content_block_stop", "index": n}

    def close_text(self) -> Iterator[CanonicalEvent]:
        if self.open is not None:
            yield {"type": "content_block_stop", "index": self.open}
            self.open = None

    def report(self) -> None:
        parser = self.parser
        if parser.dropped:
            log.info(
                "request %s: tool compat: %d characters after the tool calls dropped (the "
                "turn ends at its calls)",
                self.request_id,
                parser.dropped,
            )
