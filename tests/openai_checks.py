"""What OpenAI's Chat Completions validator would reject, checked on a converted body.

Shared by the converter's unit tests and the end-to-end tests of real Claude Code requests.
"""

from __future__ import annotations

import json
import re
from typing import Any

OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
OPENAI_ID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
_ANTHROPIC_ONLY = {
    "cache_control", "thinking", "context_management", "output_config", "metadata",
    "stop_sequences", "top_k", "system", "input_schema", "tool_use_id", "is_error",
    "max_tokens_to_sample", "anthropic_version",
}  # fmt: skip


def _walk_keys(value: Any, found: set[str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            found.add(k)
            _walk_keys(v, found)
    elif isinstance(value, list):
        for v in value:
            _walk_keys(v, found)


def assert_openai_valid(body: dict[str, Any], allow: set[str] = frozenset()) -> None:
    """What OpenAI's validator would reject, checked on a converted body."""
    outside_schemas = {k: v for k, v in body.items() if k not in ("tools", "response_format")}
    keys: set[str] = set()
    _walk_keys(outside_schemas, keys)
    for tool in body.get("tools", []):
        _walk_keys({k: v for k, v in tool["function"].items() if k != "parameters"}, keys)
    left = keys & _ANTHROPIC_ONLY - allow
    assert not left, f"Anthropic-only fields left: {left}"
    assert isinstance(body["model"], str) and body["model"]
    if "tools" in body:
        assert 0 < len(body["tools"]) <= 128
        names = [t["function"]["name"] for t in body["tools"]]
        assert all(OPENAI_NAME.match(n) for n in names), names
        assert len(set(names)) == len(names)
        assert all(t["type"] == "function" for t in body["tools"])
    else:
        assert "tool_choice" not in body and "parallel_tool_calls" not in body
    pending: set[str] = set()
    for i, msg in enumerate(body["messages"]):
        role = msg["role"]
        assert role in ("system", "developer", "user", "assistant", "tool"), role
        if role == "tool":
            assert msg["tool_call_id"] in pending, f"messages[{i}]: orphan tool message"
            pending.discard(msg["tool_call_id"])
            assert isinstance(msg["content"], str) and msg["content"], f"messages[{i}] empty"
            continue
        assert not pending, f"messages[{i}]: calls {pending} unanswered before a {role} message"
        content = msg.get("content")
        if role == "assistant" and msg.get("tool_calls"):
            assert content is None or (isinstance(content, str) and content)
            for call in msg["tool_calls"]:
                assert OPENAI_ID.match(call["id"]), call["id"]
                assert call["type"] == "function"
                assert OPENAI_NAME.match(call["function"]["name"])
                assert isinstance(json.loads(call["function"]["arguments"]), dict)
                pending.add(call["id"])
            continue
        if isinstance(content, str):
            assert content, f"messages[{i}]: empty content"
        else:
            assert isinstance(content, list) and content, f"messages[{i}]: empty content"
            assert role == "user", "only user messages carry non-text parts here"
            for part in content:
                assert part["type"] in ("text", "image_url", "file"), part
                if part["type"] == "text":
                    assert part["text"]
    assert not pending, f"calls {pending} never answered"
