"""Canonical answers in Chat Completions words: ``chat.completion``, finish reasons, usage, ids.

| canonical | Chat Completions |
|---|---|
| ``id`` | ``chatcmpl-<id>`` |
| ``model`` | ``model`` (the name the client asked for) |
| ``text`` blocks | ``message.content`` (joined; null when there are none) |
| ``thinking`` blocks | ``message.reasoning_content`` (joined); signed blocks are kept by the dialect's vault under the id of the tool call that follows them |
| ``redacted_thinking`` | nothing shown; kept in the vault like signed thinking |
| ``tool_use`` | ``message.tool_calls[]`` ``{id, type: function, function: {name, arguments}}``; ids over 40 characters (OpenAI's limit) become ``call_<hash>``, mapped back when they return |
| ``stop_reason`` | ``finish_reason``: end_turn, stop_sequence, pause_turn -> ``stop``; max_tokens, model_context_window_exceeded -> ``length``; refusal -> ``content_filter``; any tool call -> ``tool_calls`` unless the answer was cut off (``length``) |
| ``usage`` | ``prompt_tokens`` = input + cache creation + cache read, ``prompt_tokens_details.cached_tokens`` = cache read, ``completion_tokens`` = output, ``completion_tokens_details.reasoning_tokens`` = the backend's count (``output_tokens_details``), else an estimate from the thinking text |
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

from ccrelay.core.jsonutil import dumps_str
from ccrelay.core.types import CanonicalResponse
from ccrelay.core.vault import Vault

FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "refusal": "content_filter",
    "tool_use": "tool_calls",
}
_MAX_ID = 40


def finish_reason(stop_reason: Any, has_calls: bool) -> str:
    """The Chat ``finish_reason``: a tool call decides unless the answer was cut off."""
    reason = FINISH.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"
    if has_calls and reason != "length":
        return "tool_calls"
    return reason


def usage(raw: Mapping[str, Any] | None, thinking_chars: int = 0) -> dict[str, Any]:
    """Chat usage from canonical usage (mapping.md §9)."""
    raw = raw or {}
    cached = raw.get("cache_read_input_tokens") or 0
    prompt = (raw.get("input_tokens") or 0) + (raw.get("cache_creation_input_tokens") or 0)
    prompt += cached
    completion = raw.get("output_tokens") or 0
    details = raw.get("output_tokens_details")
    reasoning = None
    if isinstance(details, dict):
        reasoning = details.get("reasoning_tokens", details.get("thinking_tokens"))
    if not isinstance(reasoning, int):
        # No count from the backend: about four characters a token, never above the total.
        reasoning = min(completion, (thinking_chars + 3) // 4)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": reasoning},
    }


class ToolIds:
    """Tool call ids as the client sees them: canonical ids unless longer than OpenAI's 40
    characters; those become ``call_<hash>`` (the same every time) and the original is kept,
    so the history that comes back carries the backend's id again."""

    def __init__(self, vault: Vault[str]) -> None:
        self.vault = vault

    def out(self, tool_id: str) -> str:
        if len(tool_id) <= _MAX_ID:
            return tool_id
        short = "call_" + hashlib.blake2b(tool_id.encode(), digest_size=16).hexdigest()[:32]
        self.vault.put(short, tool_id)
        return short

    def original(self, client_id: str) -> str | None:
        if len(client_id) != 37 or not client_id.startswith("call_"):
            return None
        return self.vault.get(client_id)


def keep_thinking(
    vault: Vault[list[dict[str, Any]]], blocks: list[dict[str, Any]], call_id: str
) -> None:
    """Keep the signed thinking blocks before a tool call, for the turn that sends it back."""
    signed = [b for b in blocks if b.get("signature") or b.get("type") == "redacted_thinking"]
    if signed:
        vault.put(call_id, blocks)


def render_completion(
    resp: CanonicalResponse,
    ids: ToolIds,
    thinking_vault: Vault[list[dict[str, Any]]],
) -> dict[str, Any]:
    """The ``chat.completion`` body for a finished canonical response."""
    texts: list[str] = []
    reasoning: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[dict[str, Any]] = []
    for block in _blocks(resp.get("content")):
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
        elif kind == "thinking":
            reasoning.append(block.get("thinking") or "")
            thinking.append(dict(block))
        elif kind == "redacted_thinking":
            thinking.append(dict(block))
        elif kind == "tool_use":
            call_id = ids.out(str(block.get("id") or ""))
            if not calls and thinking:
                keep_thinking(thinking_vault, thinking, call_id)
            calls.append({
                "id": call_id,
                "type": "function",
                "function": {"name": block.get("name") or "",
                             "arguments": dumps_str(block.get("input") or {})},
            })  # fmt: skip
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None}
    text_of_reasoning = "".join(reasoning)
    if text_of_reasoning:
        message["reasoning_content"] = text_of_reasoning
    if calls:
        message["tool_calls"] = calls
    message["refusal"] = None
    return {
        "id": completion_id(resp.get("id")),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": resp.get("model") or "",
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": None,
            "finish_reason": finish_reason(resp.get("stop_reason"), bool(calls)),
        }],
        "usage": usage(resp.get("usage"), len(text_of_reasoning)),
    }  # fmt: skip


def completion_id(canonical_id: Any) -> str:
    text = str(canonical_id or "")
    return "chatcmpl-" + (text[4:] if text.startswith("msg_") else text)


def _blocks(content: Any) -> Iterable[dict[str, Any]]:
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []
