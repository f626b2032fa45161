"""Scripted OpenAI Responses answers: output items, the non-streaming body, and the named SSE
event stream with sequence numbers, shaped as ``shared/protocols/openai-responses.md`` §5-§6.

Build the items a turn produces, then ``response_body(items)`` for a JSON answer or
``response_events(items)`` for a stream (serve it with ``Reply(sse=..., event_names=True)``)::

    items = [reasoning("rs_1", "Need a file.", enc="gAAA1"), function_call("call_1", "Write", args)]
    upstream.reply(Reply(sse=response_events(items), event_names=True))
"""

from __future__ import annotations

import json
from typing import Any

USAGE = {
    "input_tokens": 120,
    "input_tokens_details": {"cached_tokens": 20},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 150,
}


def message(text: str, item_id: str = "msg_1", refusal: str | None = None) -> dict[str, Any]:
    part: dict[str, Any] = (
        {"type": "refusal", "refusal": refusal}
        if refusal is not None
        else {"type": "output_text", "text": text, "annotations": []}
    )
    return {"type": "message", "id": item_id, "role": "assistant", "status": "completed",
            "content": [part]}  # fmt: skip


def reasoning(item_id: str, *summary: str, enc: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "type": "reasoning",
        "id": item_id,
        "summary": [{"type": "summary_text", "text": s} for s in summary],
    }
    if enc is not None:
        item["encrypted_content"] = enc
    return item


def function_call(call_id: str, name: str, arguments: Any, item_id: str = "") -> dict[str, Any]:
    args = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"type": "function_call", "id": item_id or f"fc_{call_id}", "call_id": call_id,
            "name": name, "arguments": args, "status": "completed"}  # fmt: skip


def response_body(
    items: list[dict[str, Any]],
    *,
    status: str = "completed",
    incomplete: str | None = None,
    error: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    model: str = "gpt-up",
) -> dict[str, Any]:
    """A complete ``response`` object (the non-streaming answer, and the terminal event's)."""
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1741476542,
        "status": status,
        "error": error,
        "incomplete_details": {"reason": incomplete} if incomplete else None,
        "model": model,
        "output": items,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": USAGE if usage is None else usage,
    }


def response_events(
    items: list[dict[str, Any]],
    *,
    status: str = "completed",
    incomplete: str | None = None,
    error: dict[str, Any] | None = None,
    usage: dict[str, Any] | None = None,
    chunk: int = 4,
    terminal: bool = True,
) -> list[dict[str, Any]]:
    """The event stream of a response producing ``items``: the full lifecycle per item
    (added, deltas of ``chunk`` characters, done events, output_item.done), then
    ``response.completed`` / ``.incomplete`` / ``.failed`` unless ``terminal`` is false."""
    seq = _Seq()
    shell = {"id": "resp_1", "object": "response", "status": "in_progress", "output": [],
             "usage": None}  # fmt: skip
    events = [seq("response.created", response=shell),
              seq("response.in_progress", response=shell)]  # fmt: skip
    for n, item in enumerate(items):
        events += _item_events(seq, n, item, chunk)
    if terminal:
        final = response_body(items, status=status, incomplete=incomplete, error=error,
                              usage=usage)  # fmt: skip
        name = {"completed": "response.completed", "incomplete": "response.incomplete",
                "failed": "response.failed"}[status]  # fmt: skip
        events.append(seq(name, response=final))
    return events


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


class _Seq:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self, etype: str, **fields: Any) -> dict[str, Any]:
        event = {"type": etype, "sequence_number": self.n, **fields}
        self.n += 1
        return event


def _item_events(seq: _Seq, n: int, item: dict[str, Any], chunk: int) -> list[dict[str, Any]]:
    kind = item["type"]
    iid = item["id"]
    out: list[dict[str, Any]] = []
    if kind == "message":
        out.append(seq("response.output_item.added", output_index=n,
                       item={**item, "status": "in_progress", "content": []}))  # fmt: skip
        for c, part in enumerate(item["content"]):
            empty = (
                {**part, "text": ""} if part["type"] == "output_text" else {**part, "refusal": ""}
            )
            out.append(seq("response.content_part.added", item_id=iid, output_index=n,
                           content_index=c, part=empty))  # fmt: skip
            if part["type"] == "output_text":
                for piece in pieces(part["text"], chunk):
                    out.append(seq("response.output_text.delta", item_id=iid, output_index=n,
                                   content_index=c, delta=piece))  # fmt: skip
                out.append(seq("response.output_text.done", item_id=iid, output_index=n,
                               content_index=c, text=part["text"]))  # fmt: skip
            else:
                for piece in pieces(part["refusal"], chunk):
                    out.append(seq("response.refusal.delta", item_id=iid, output_index=n,
                                   content_index=c, delta=piece))  # fmt: skip
                out.append(seq("response.refusal.done", item_id=iid, output_index=n,
                               content_index=c, refusal=part["refusal"]))  # fmt: skip
            out.append(seq("response.content_part.done", item_id=iid, output_index=n,
                           content_index=c, part=part))  # fmt: skip
    elif kind == "reasoning":
        added = {"type": "reasoning", "id": iid, "summary": []}
        out.append(seq("response.output_item.added", output_index=n, item=added))
        for s, part in enumerate(item["summary"]):
            out.append(seq("response.reasoning_summary_part.added", item_id=iid, output_index=n,
                           summary_index=s, part={"type": "summary_text", "text": ""}))  # fmt: skip
            for piece in pieces(part["text"], chunk):
                out.append(seq("response.reasoning_summary_text.delta", item_id=iid,
                               output_index=n, summary_index=s, delta=piece))  # fmt: skip
            out.append(seq("response.reasoning_summary_text.done", item_id=iid, output_index=n,
                           summary_index=s, text=part["text"]))  # fmt: skip
            out.append(seq("response.reasoning_summary_part.done", item_id=iid, output_index=n,
                           summary_index=s, part=part))  # fmt: skip
    elif kind == "function_call":
        out.append(seq("response.output_item.added", output_index=n,
                       item={**item, "arguments": "", "status": "in_progress"}))  # fmt: skip
        for piece in pieces(item["arguments"], chunk):
            out.append(seq("response.function_call_arguments.delta", item_id=iid,
                           output_index=n, delta=piece))  # fmt: skip
        out.append(seq("response.function_call_arguments.done", item_id=iid, output_index=n,
                       arguments=item["arguments"]))  # fmt: skip
    else:
        out.append(seq("response.output_item.added", output_index=n, item=item))
    out.append(seq("response.output_item.done", output_index=n, item=item))
    return out
