"""Canned upstream answers for the Responses dialect's tests: one script, two backend protocols.

``Answer`` describes what a model says (thinking, text, tool calls, stop reason); ``chat_json``
/ ``chat_sse`` and ``anthropic_json`` / ``anthropic_sse`` render it as an OpenAI Chat
Completions or an Anthropic Messages upstream would, so a test can run the same conversation
against both backend kinds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import one_provider
from tests.fakes.upstream import Reply

BACKENDS = ("openai", "anthropic")


@dataclass
class Call:
    id: str
    name: str
    args: dict[str, Any]


@dataclass
class Answer:
    text: str = ""
    thinking: str = ""
    signature: str = ""
    calls: list[Call] = field(default_factory=list)
    stop: str = ""  # end_turn | tool_use | max_tokens (derived when empty)
    input_tokens: int = 21
    output_tokens: int = 7
    cached: int = 0

    @property
    def stop_reason(self) -> str:
        return self.stop or ("tool_use" if self.calls else "end_turn")


_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def relay_config(kind: str, url: str, **extra: Any) -> dict[str, Any]:
    """One provider of strategy ``kind`` (openai or anthropic) at ``url``; the OpenAI one
    takes ``reasoning_effort`` (its model name is not in the capability table)."""
    if kind == "openai":
        extra.setdefault("options", {"reasoning_effort": True})
    return one_provider(kind, url, model=f"{kind}-up", **extra)


def reply(kind: str, answer: Answer, stream: bool) -> Reply:
    if kind == "openai":
        return Reply(sse=chat_sse(answer)) if stream else Reply(json=chat_json(answer))
    if stream:
        return Reply(sse=anthropic_sse(answer), event_names=True)
    return Reply(json=anthropic_json(answer))


# --- OpenAI Chat Completions --------------------------------------------------------------


def _chat_usage(a: Answer) -> dict[str, Any]:
    return {"prompt_tokens": a.input_tokens + a.cached, "completion_tokens": a.output_tokens,
            "total_tokens": a.input_tokens + a.cached + a.output_tokens,
            "prompt_tokens_details": {"cached_tokens": a.cached}}  # fmt: skip


def chat_json(a: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": a.text or None}
    if a.thinking:
        message["reasoning_content"] = a.thinking
    if a.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.args)}}
            for c in a.calls
        ]  # fmt: skip
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up",
            "choices": [{"index": 0, "message": message, "finish_reason": _FINISH[a.stop_reason]}],
            "usage": _chat_usage(a)}  # fmt: skip


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> dict:
    out: dict[str, Any] = {
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up",
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }  # fmt: skip
    if usage is not None:
        out["usage"] = usage
    return out


def chat_sse(a: Answer) -> list[Any]:
    events: list[Any] = [_chunk({"role": "assistant", "content": ""})]
    for i in range(0, len(a.thinking), 5):
        events.append(_chunk({"reasoning_content": a.thinking[i : i + 5]}))
    for i in range(0, len(a.text), 4):
        events.append(_chunk({"content": a.text[i : i + 4]}))
    for n, c in enumerate(a.calls):
        events.append(_chunk({"tool_calls": [{"index": n, "id": c.id, "type": "function",
                                              "function": {"name": c.name, "arguments": ""}}]}))  # fmt: skip
        args = json.dumps(c.args)
        for i in range(0, len(args), 3):  # split mid-string and mid-escape
            events.append(_chunk({"tool_calls": [{"index": n, "function": {"arguments": args[i : i + 3]}}]}))  # fmt: skip
    events.append(_chunk({}, _FINISH[a.stop_reason]))
    events.append(_chunk(None, usage=_chat_usage(a)))
    events.append("data: [DONE]\n\n")
    return events


# --- Anthropic Messages ---------------------------------------------------------------------


def _blocks(a: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if a.thinking:
        blocks.append({"type": "thinking", "thinking": a.thinking, "signature": a.signature})
    if a.text:
        blocks.append({"type": "text", "text": a.text})
    for c in a.calls:
        blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": c.args})
    return blocks


def anthropic_json(a: Answer) -> dict[str, Any]:
    return {"id": "msg_up", "type": "message", "role": "assistant", "model": "up",
            "content": _blocks(a), "stop_reason": a.stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": a.input_tokens, "output_tokens": a.output_tokens,
                      "cache_read_input_tokens": a.cached, "cache_creation_input_tokens": 0}}  # fmt: skip


def anthropic_sse(a: Answer) -> list[Any]:
    events: list[Any] = [{"type": "message_start", "message": {
        "id": "msg_up", "type": "message", "role": "assistant", "model": "up", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": a.input_tokens, "output_tokens": 1,
                  "cache_read_input_tokens": a.cached, "cache_creation_input_tokens": 0}}}]  # fmt: skip
    for i, block in enumerate(_blocks(a)):
        kind = block["type"]
        if kind == "thinking":
            events.append({"type": "content_block_start", "index": i,
                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})  # fmt: skip
            for j in range(0, len(a.thinking), 6):
                events.append({"type": "content_block_delta", "index": i, "delta": {
                    "type": "thinking_delta", "thinking": a.thinking[j : j + 6]}})  # fmt: skip
            if a.signature:
                events.append({"type": "content_block_delta", "index": i, "delta": {
                    "type": "signature_delta", "signature": a.signature}})  # fmt: skip
        elif kind == "text":
            events.append({"type": "content_block_start", "index": i,
                           "content_block": {"type": "text", "text": ""}})  # fmt: skip
            for j in range(0, len(a.text), 4):
                events.append({"type": "content_block_delta", "index": i, "delta": {
                    "type": "text_delta", "text": a.text[j : j + 4]}})  # fmt: skip
        else:
            events.append({"type": "content_block_start", "index": i, "content_block": {
                "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})  # fmt: skip
            args = json.dumps(block["input"])
            for j in range(0, len(args), 3):
                events.append({"type": "content_block_delta", "index": i, "delta": {
                    "type": "input_json_delta", "partial_json": args[j : j + 3]}})  # fmt: skip
        events.append({"type": "content_block_stop", "index": i})
    events.append({"type": "message_delta", "delta": {"stop_reason": a.stop_reason,
                   "stop_sequence": None}, "usage": {"output_tokens": a.output_tokens}})  # fmt: skip
    events.append({"type": "message_stop"})
    return events
