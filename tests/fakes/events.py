"""Canonical stream checking for strategy tests: the Anthropic event grammar, and the message
the events add up to (as the anthropic SDK accumulates it, signatures included)."""

from __future__ import annotations

import json
from typing import Any

_DELTAS = {
    "text": ("text_delta",),
    "thinking": ("thinking_delta", "signature_delta"),
    "tool_use": ("input_json_delta",),
}


def accumulate(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Check the grammar of a canonical event list and return ``{content, stop_reason,
    usage, start_usage}``; content blocks are what a client stores in its history."""
    assert events and events[0]["type"] == "message_start", "message_start must come first"
    start = events[0]["message"]
    assert start["content"] == [] and start["stop_reason"] is None
    blocks: list[dict[str, Any]] = []
    open_index: int | None = None
    for ev in events[1:-2]:
        kind = ev["type"]
        if kind == "content_block_start":
            assert open_index is None, "a block started before the previous one closed"
            assert ev["index"] == len(blocks), "block indexes must be sequential"
            block = json.loads(json.dumps(ev["content_block"]))
            block["_json"] = ""
            blocks.append(block)
            open_index = ev["index"]
        elif kind == "content_block_delta":
            assert open_index is not None and ev["index"] == open_index, "delta outside its block"
            block = blocks[open_index]
            delta = ev["delta"]
            assert delta["type"] in _DELTAS[block["type"]], (block["type"], delta["type"])
            if delta["type"] == "text_delta":
                block["text"] += delta["text"]
            elif delta["type"] == "thinking_delta":
                block["thinking"] += delta["thinking"]
            elif delta["type"] == "signature_delta":
                assert not block["signature"], "one signature per thinking block"
                block["signature"] = delta["signature"]
            else:
                block["_json"] += delta["partial_json"]
        elif kind == "content_block_stop":
            assert open_index is not None and ev["index"] == open_index
            open_index = None
        else:
            raise AssertionError(f"unexpected event {kind} inside the message")
    assert open_index is None, "a block was left open"
    delta, stop = events[-2], events[-1]
    assert delta["type"] == "message_delta" and delta["delta"]["stop_reason"] is not None
    assert stop == {"type": "message_stop"}
    assert sum(e["type"] == "message_delta" for e in events) == 1
    for block in blocks:
        raw = block.pop("_json")
        if block["type"] == "tool_use":
            block["input"] = json.loads(raw) if raw else {}
        elif block["type"] == "text":
            assert block["text"].strip(), "empty or whitespace-only text block"
    return {
        "content": blocks,
        "stop_reason": delta["delta"]["stop_reason"],
        "usage": delta["usage"],
        "start_usage": start["usage"],
    }
