"""Merging a Responses client's side fields into the upstream body (same protocol only).

When the client speaks OpenAI Responses too (Codex, the openai SDK's ``responses``), its
dialect carries what the canonical form cannot hold in ``ClientCall.side`` under the
request's own top-level names (``text.verbosity``, ``prompt_cache_key``, ``include``,
``metadata``, ``service_tier``, ``truncation``, hosted tools, ...). ``RequestContext.side_for``
hands them only to this strategy. The rules, key by key:

| side key | merge |
|---|---|
| ``model``, ``input``, ``instructions``, ``stream``, ``store`` | never taken: ccrelay built them from the canonical request (``store: false`` because every turn carries the whole conversation and reasoning travels by value) |
| ``previous_response_id``, ``conversation``, ``background`` | never sent: ccrelay is stateless and streams in the foreground; a dialect should reject them with a 400 (a Responses dialect expands nothing server-side) |
| ``include`` | union, ccrelay's first, each value once |
| ``text``, ``reasoning`` | merged one level deep: the client's keys (``verbosity``, ``summary``) are added; the keys ccrelay converted (``text.format``, ``reasoning.effort``) come from the same client and are kept |
| ``tools`` | tools of types the canonical form cannot hold (``web_search``, ``file_search``, ``mcp``, ...) are appended after the function tools; a side tool whose ``name`` equals a converted tool's is skipped, so a ``custom`` tool the dialect turned into a function tool stays the function tool its history and answers use; ``namespace`` tools are skipped too (the dialect offered their tools flattened, as ``<namespace>__<name>``) |
| anything else | set when ccrelay did not set it (``prompt_cache_key``, ``metadata``, ``service_tier``, ``truncation``, ``max_tool_calls``, ``top_logprobs``, ``user``, ...) |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PROTECTED = frozenset({"model", "input", "instructions", "stream", "store"})
STATEFUL = frozenset({"previous_response_id", "conversation", "background"})


def merge_side(body: dict[str, Any], side: Mapping[str, Any]) -> None:
    """Merge ``side`` into ``body`` in place by the rules in the module table."""
    for key, value in side.items():
        if key in PROTECTED or key in STATEFUL:
            continue
        if key == "include" and isinstance(value, list):
            merged = list(body.get("include") or ())
            merged += [v for v in value if v not in merged]
            body["include"] = merged
        elif key in ("text", "reasoning") and isinstance(value, dict):
            body[key] = {**value, **(body.get(key) or {})}
        elif key == "tools" and isinstance(value, list):
            tools = list(body.get("tools") or ())
            names = {t.get("name") for t in tools}
            tools += [t for t in value if not (isinstance(t, dict) and (
                t.get("name") in names or t.get("type") == "namespace"))]  # fmt: skip
            body["tools"] = tools
        elif key not in body:
            body[key] = value
