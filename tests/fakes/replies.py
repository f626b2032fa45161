"""Scripted upstream answers in both backend protocols, built from one description.

``openai_*`` build Chat Completions bodies and chunks; ``anthropic_*`` build Messages bodies
and SSE events. Tests describe an answer once (text, thinking, tool calls) and script it for
whichever backend kind they run against.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.upstream import Reply

DONE = "data: [DONE]\n\n"


def openai_completion(
    message: dict[str, Any], finish: str = "stop", usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": "chatcmpl-up", "object": "chat.completion", "created": 1, "model": "up-model",
        "choices": [{"index": 0, "message": {"role": "assistant", **message},
                     "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }  # fmt: skip


def openai_chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, usage: Any = None
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    out: dict[str, Any] = {"id": "chatcmpl-up", "object": "chat.completion.chunk", "created": 1,
                           "model": "up-model", "choices": choices}  # fmt: skip
    if usage is not None:
        out["usage"] = usage
    return out


def anthropic_message(
    content: list[dict[str, Any]], stop: str = "end_turn", usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "id": "msg_up1", "type": "message", "role": "assistant", "model": "up-model",
        "content": content, "stop_reason": stop, "stop_sequence": None,
        "usage": usage or {"input_tokens": 12, "output_tokens": 3},
    }  # fmt: skip


def anthropic_events(
    content: list[dict[str, Any]], stop: str = "end_turn", usage: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The SSE events of ``anthropic_message(content)`` streamed, text and JSON in pieces."""
    usage = usage or {"input_tokens": 12, "output_tokens": 3}
    start = anthropic_message([], None, {**usage, "output_tokens": 1})  # type: ignore[arg-type]
    events: list[dict[str, Any]] = [{"type": "message_start", "message": start}]
    for i, block in enumerate(content):
        kind = block["type"]
        if kind == "text":
            first, pieces = {"type": "text", "text": ""}, _split(block["text"])
            deltas = [{"type": "text_delta", "text": p} for p in pieces]
        elif kind == "thinking":
            first = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": p} for p in _split(block["thinking"])]
            deltas.append({"type": "signature_delta", "signature": block.get("signature", "")})
        elif kind == "tool_use":
            first = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p}
                      for p in _split(json.dumps(block["input"]))]  # fmt: skip
        else:
            first, deltas = block, []
        events.append({"type": "content_block_start", "index": i, "content_block": first})
        events += [{"type": "content_block_delta", "index": i, "delta": d} for d in deltas]
        events.append({"type": "content_block_stop", "index": i})
    events.append({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                   "usage": {"output_tokens": usage["output_tokens"]}})  # fmt: skip
    events.append({"type": "message_stop"})
    return events


def _split(text: str, size: int = 4) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def answer(
    backend: str,
    *,
    text: str = "",
    thinking: str = "",
    signature: str = "sig-1",
    calls: list[tuple[str, str, dict[str, Any]]] = (),  # type: ignore[assignment]
    stream: bool = False,
    usage: dict[str, Any] | None = None,
) -> Reply:
    """One scripted answer (thinking, text, then tool calls ``(id, name, input)``) in the
    protocol of ``backend`` (``openai`` or ``anthropic``), streamed or not."""
    if backend == "anthropic":
        content: list[dict[str, Any]] = []
        if thinking:
            content.append({"type": "thinking", "thinking": thinking, "signature": signature})
        if text:
            content.append({"type": "text", "text": text})
        for call_id, name, args in calls:
            content.append({"type": "tool_use", "id": call_id, "name": name, "input": args})
        stop = "tool_use" if calls else "end_turn"
        if stream:
            return Reply(sse=anthropic_events(content, stop, usage), event_names=True)
        return Reply(json=anthropic_message(content, stop, usage))
    openai_usage = None
    if usage:
        openai_usage = {"prompt_tokens": usage["input_tokens"],
                        "completion_tokens": usage["output_tokens"],
                        "total_tokens": usage["input_tokens"] + usage["output_tokens"]}  # fmt: skip
    finish = "tool_calls" if calls else "stop"
    tool_calls = [{"id": c, "type": "function", "function": {"name": n, "arguments": json.dumps(a)}}
                  for c, n, a in calls]  # fmt: skip
    if not stream:
        message: dict[str, Any] = {"content": text or None}
        if thinking:
            message["reasoning_content"] = thinking
        if tool_calls:
            message["tool_calls"] = tool_calls
        return Reply(json=openai_completion(message, finish, openai_usage))
    sse: list[Any] = [openai_chunk({"role": "assistant", "content": ""})]
    sse += [openai_chunk({"reasoning_content": p}) for p in _split(thinking)] if thinking else []
    sse += [openai_chunk({"content": p}) for p in _split(text)] if text else []
    for n, call in enumerate(tool_calls):
        head = {**call, "index": n, "function": {"name": call["function"]["name"], "arguments": ""}}
        sse.append(openai_chunk({"tool_calls": [head]}))
        for piece in _split(call["function"]["arguments"], 7):
            sse.append(
                openai_chunk({"tool_calls": [{"index": n, "function": {"arguments": piece}}]})
            )
    sse.append(openai_chunk({}, finish))
    sse.append(openai_chunk(None, usage=openai_usage or {"prompt_tokens": 12,
                                                         "completion_tokens": 3}))  # fmt: skip
    sse.append(DONE)
    return Reply(sse=sse)
