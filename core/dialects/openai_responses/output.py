"""Canonical answers as Responses output: items, status, usage and the ``response`` object.

| canonical | Responses |
|---|---|
| ``thinking`` / ``redacted_thinking`` block | a ``reasoning`` item: the text as one ``summary_text`` part, the state in ``encrypted_content`` (``reasoning.py``) |
| ``text`` block | a ``message`` item with one ``output_text`` part |
| ``tool_use`` of a function tool | a ``function_call`` item (``call_id`` = the tool_use id, ``arguments`` = its input as JSON text) |
| ``tool_use`` of a custom tool | a ``custom_tool_call`` item whose ``input`` is the tool_use's ``input.input`` string |
| ``tool_use`` of a tool declared in a namespace | the call item names it as declared: ``name`` and ``namespace`` |
| other block types (server tools) | left out: ccrelay never offers server tools, so none should come back |
| ``stop_reason`` ``max_tokens`` | ``status: incomplete``, ``incomplete_details.reason: max_output_tokens`` |
| ``stop_reason`` ``refusal`` | ``status: incomplete``, ``incomplete_details.reason: content_filter`` |
| any other stop reason | ``status: completed`` |
| usage | ``input_tokens`` = input + cache read + cache write, ``cached_tokens`` = cache read, ``output_tokens``; ``reasoning_tokens`` from the backend when it says (``output_tokens_details``), else estimated from the thinking text, never above ``output_tokens`` |

Ids are minted per item (``ids.py``); the item order is the block order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from ccrelay.core.jsonutil import dumps_str
from ccrelay.core.tokens import estimate_text_tokens

from .ids import new_id
from .reasoning import encrypted_for
from .tools import client_name

_NONE: Mapping[str, tuple[str, str]] = MappingProxyType({})
_INCOMPLETE = {"max_tokens": "max_output_tokens", "refusal": "content_filter"}


def message_item(item_id: str, text: str, status: str = "completed") -> dict[str, Any]:
    return {
        "id": item_id,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
    }


def reasoning_item(item_id: str, block: Mapping[str, Any]) -> dict[str, Any]:
    text = block.get("thinking") or ""
    item: dict[str, Any] = {
        "id": item_id,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": text}] if text else [],
    }
    encrypted = encrypted_for(dict(block))
    if encrypted is not None:
        item["encrypted_content"] = encrypted
    return item


def call_item(
    item_id: str,
    block: Mapping[str, Any],
    custom: frozenset[str],
    namespaces: Mapping[str, tuple[str, str]] = _NONE,
) -> dict[str, Any]:
    """A ``function_call`` or ``custom_tool_call`` item for a finished tool_use block."""
    name = block.get("name") or ""
    args = block.get("input")
    if name in custom:
        return {"id": item_id, "type": "custom_tool_call", "status": "completed",
                "call_id": block.get("id") or "", **client_name(name, namespaces),
                "input": custom_input(args)}  # fmt: skip
    return {"id": item_id, "type": "function_call", "status": "completed",
            "call_id": block.get("id") or "", **client_name(name, namespaces),
            "arguments": args if isinstance(args, str) else dumps_str(args or {})}  # fmt: skip


def custom_input(args: Any) -> str:
    """The string a custom tool receives: ``input.input``, else the only string value, else
    the whole input as JSON text (a model that ignored the schema still gets its call)."""
    if isinstance(args, dict):
        value = args.get("input")
        if isinstance(value, str):
            return value
        strings = [v for v in args.values() if isinstance(v, str)]
        if len(args) == 1 and len(strings) == 1:
            return strings[0]
        return dumps_str(args) if args else ""
    return args if isinstance(args, str) else ""


def items_from_blocks(
    blocks: Sequence[Mapping[str, Any]],
    custom: frozenset[str],
    namespaces: Mapping[str, tuple[str, str]] = _NONE,
) -> list[dict[str, Any]]:
    """The output items of a finished canonical answer, in block order."""
    out: list[dict[str, Any]] = []
    for block in blocks:
        kind = block.get("type")
        if kind in ("thinking", "redacted_thinking"):
            out.append(reasoning_item(new_id("rs"), block))
        elif kind == "text":
            if block.get("text"):
                out.append(message_item(new_id("msg"), block["text"]))
        elif kind == "tool_use":
            prefix = "ctc" if block.get("name") in custom else "fc"
            out.append(call_item(new_id(prefix), block, custom, namespaces))
    return out


def mark_incomplete(items: list[dict[str, Any]]) -> None:
    """The last item, when it is a message, was cut off: its status says so."""
    if items and items[-1]["type"] == "message":
        items[-1]["status"] = "incomplete"


def status_of(stop_reason: Any) -> tuple[str, dict[str, str] | None]:
    """``(status, incomplete_details)`` for a canonical stop reason."""
    reason = _INCOMPLETE.get(stop_reason) if isinstance(stop_reason, str) else None
    if reason is None:
        return "completed", None
    return "incomplete", {"reason": reason}


def usage_of(usage: Mapping[str, Any] | None, thinking: str = "") -> dict[str, Any]:
    """Responses usage for canonical usage; ``thinking`` is the answer's thinking text."""
    usage = usage or {}
    cached = _int(usage.get("cache_read_input_tokens"))
    inp = _int(usage.get("input_tokens")) + cached + _int(usage.get("cache_creation_input_tokens"))
    out = _int(usage.get("output_tokens"))
    details = usage.get("output_tokens_details")
    reasoning = _int(details.get("reasoning_tokens")) if isinstance(details, dict) else 0
    if not reasoning and thinking:
        reasoning = estimate_text_tokens(thinking)
    return {
        "input_tokens": inp,
        "input_tokens_details": {"cached_tokens": cached},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": min(reasoning, out)},
        "total_tokens": inp + out,
    }


def thinking_text(blocks: Sequence[Mapping[str, Any]]) -> str:
    return "".join(b.get("thinking") or "" for b in blocks if b.get("type") == "thinking")


def response_object(
    envelope: Mapping[str, Any],
    status: str,
    output: list[dict[str, Any]],
    usage: dict[str, Any] | None,
    incomplete: dict[str, str] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``response`` object: the request's echo (``envelope``) plus this state."""
    out = dict(envelope)
    out["status"] = status
    out["output"] = output
    out["usage"] = usage
    out["incomplete_details"] = incomplete
    out["error"] = error
    return out


def _int(value: Any) -> int:
    return value if type(value) is int and value > 0 else 0
