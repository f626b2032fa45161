"""Helpers for the Gemini dialect's tests: google-genai clients and scripted upstream answers.

Upstream answers are built in the two protocols ccrelay's strategies speak: OpenAI Chat
Completions (``chat_*``) and Anthropic Messages (``anthropic_*``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from google import genai
from google.genai import types

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gemini"
GEMINI_FIXTURES = sorted(FIXTURES.glob("*.json"))


def genai_client(url: str, api_version: str = "v1beta", key: str = "client-key") -> genai.Client:
    """A google-genai client pointed at ccrelay, with retries off."""
    return genai.Client(
        api_key=key,
        http_options=types.HttpOptions(
            base_url=url,
            api_version=api_version,
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )


def load_fixture(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


# --- OpenAI Chat Completions ------------------------------------------------------------------


def chat_completion(message: dict[str, Any], finish: str = "stop", usage: Any = None) -> dict:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-up",
        "choices": [{"index": 0, "message": {"role": "assistant", **message},
                     "finish_reason": finish}],
        "usage": usage or {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
    }  # fmt: skip


def chat_chunk(delta: dict | None = None, finish: str | None = None, usage: Any = None) -> dict:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    out: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1,
                           "model": "gpt-up", "choices": choices}  # fmt: skip
    if usage is not None:
        out["usage"] = usage
    return out


def chat_text_stream(text: str, pieces: int = 3) -> list[Any]:
    step = max(1, len(text) // pieces)
    return [
        chat_chunk({"role": "assistant", "content": ""}),
        *[chat_chunk({"content": text[i : i + step]}) for i in range(0, len(text), step)],
        chat_chunk({}, finish="stop"),
        chat_chunk(None, usage={"prompt_tokens": 20, "completion_tokens": 4, "total_tokens": 24}),
        "data: [DONE]\n\n",
    ]


def chat_tool_stream(call_id: str, name: str, args: dict, *, size: int = 4) -> list[Any]:
    """A streamed tool call whose arguments arrive in ``size``-character fragments."""
    raw = json.dumps(args)
    return [
        chat_chunk({"role": "assistant", "content": None}),
        chat_chunk({"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                    "function": {"name": name, "arguments": ""}}]}),
        *[chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": raw[i : i + size]}}]})
          for i in range(0, len(raw), size)],
        chat_chunk({}, finish="tool_calls"),
        chat_chunk(None, usage={"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}),
        "data: [DONE]\n\n",
    ]  # fmt: skip


# --- Anthropic Messages -----------------------------------------------------------------------


def anthropic_message(content: list[dict], stop: str = "end_turn", usage: Any = None) -> dict:
    return {
        "id": "msg_up_1", "type": "message", "role": "assistant", "model": "claude-up",
        "content": content, "stop_reason": stop, "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }  # fmt: skip


def anthropic_events(content: list[dict], stop: str = "end_turn", usage: Any = None) -> list[dict]:
    """The SSE events of a streamed Messages answer with these content blocks (text and
    thinking split into small deltas, tool input into JSON fragments)."""
    events: list[dict] = [{"type": "message_start", "message": {
        "id": "msg_up_1", "type": "message", "role": "assistant", "model": "claude-up",
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 4}}}]  # fmt: skip
    for i, block in enumerate(content):
        kind = block["type"]
        if kind == "text":
            events.append({"type": "content_block_start", "index": i,
                           "content_block": {"type": "text", "text": ""}})  # fmt: skip
            text = block["text"]
            events += [{"type": "content_block_delta", "index": i,
                        "delta": {"type": "text_delta", "text": text[j : j + 3]}}
                       for j in range(0, len(text), 3)]  # fmt: skip
        elif kind == "thinking":
            events.append({"type": "content_block_start", "index": i,
                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})  # fmt: skip
            text = block["thinking"]
            events += [{"type": "content_block_delta", "index": i,
                        "delta": {"type": "thinking_delta", "thinking": text[j : j + 5]}}
                       for j in range(0, len(text), 5)]  # fmt: skip
            events.append({"type": "content_block_delta", "index": i,
                           "delta": {"type": "signature_delta", "signature": block["signature"]}})  # fmt: skip
        elif kind == "redacted_thinking":
            events.append({"type": "content_block_start", "index": i, "content_block": block})
        elif kind == "tool_use":
            events.append({"type": "content_block_start", "index": i, "content_block": {
                "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})  # fmt: skip
            raw = json.dumps(block["input"])
            events += [{"type": "content_block_delta", "index": i,
                        "delta": {"type": "input_json_delta", "partial_json": raw[j : j + 4]}}
                       for j in range(0, len(raw), 4)]  # fmt: skip
        events.append({"type": "content_block_stop", "index": i})
    events.append({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                   "usage": usage or {"output_tokens": 7}})  # fmt: skip
    events.append({"type": "message_stop"})
    return events
