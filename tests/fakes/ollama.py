"""Scripted Ollama ``/api/chat`` answers, framed as ollama.md §2 describes, for ``FakeUpstream``.

``ndjson`` streams one JSON object per line (``application/x-ndjson``); ``line`` builds a
content line and ``done`` the final line with ``done_reason`` and the counts.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.upstream import Reply

CREATED = "2026-11-30T17:15:24.097Z"


def line(content: str = "", thinking: str | None = None, tool_calls: list[Any] | None = None,
         model: str = "qwen3:8b") -> dict[str, Any]:  # fmt: skip
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        msg["thinking"] = thinking
    if tool_calls is not None:
        msg["tool_calls"] = tool_calls
    return {"model": model, "created_at": CREATED, "message": msg, "done": False}


def done(reason: str = "stop", prompt: int = 26, out: int = 12, model: str = "qwen3:8b",
         **message: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "model": model, "created_at": CREATED,
        "message": {"role": "assistant", "content": "", **message},
        "done": True, "done_reason": reason, "total_duration": 4883583458,
        "load_duration": 1334875, "prompt_eval_count": prompt,
        "prompt_eval_duration": 342546000, "eval_count": out, "eval_duration": 4535599000,
    }  # fmt: skip


def call(name: str, arguments: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return {"function": {"index": index, "name": name, "arguments": arguments}}


def ndjson(lines: list[Any], **kw: Any) -> Reply:
    """An NDJSON stream; strings are sent raw (split lines, garbage)."""
    raw = [x if isinstance(x, str) else json.dumps(x) + "\n" for x in lines]
    return Reply(sse=raw, content_type="application/x-ndjson", **kw)
