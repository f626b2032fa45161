"""OpenAI Responses answer (non-streaming) to a canonical response, plus helpers the stream
converter shares. Wire reference: openai-responses.md §5, §7.

output[] reasoning         a ``thinking`` block: the summary text (or raw ``reasoning_text``),
                           signature = the tagged encrypted state (reasoning.py); left out when
                           it carries neither
output[] message           one ``text`` block per message (``output_text`` parts joined);
                           whitespace-only text left out
  refusal part             its text as a ``text`` block, stop_reason ``refusal``
output[] function_call     ``tool_use``: id = ``call_id`` (sanitised), name mapped back,
                           ``arguments`` parsed (invalid JSON: a 502, or dropped when the answer
                           was cut off by ``max_output_tokens``)
other output items         dropped: hosted-tool calls (web search, file search, ...) ran at
                           the vendor and their effect is in the message text
status completed           end_turn, or tool_use when a function call is present
status incomplete          max_output_tokens -> max_tokens, content_filter -> refusal (a
                           complete function call still makes it tool_use)
status failed              the ``error`` as a RelayError (kind from its code)
status queued/in_progress  a 502: background responses need polling, which ccrelay never asks for
usage                      input = input_tokens - cached, cache_read = cached
                           (``input_tokens_details.cached_tokens``), output = output_tokens
                           (reasoning included); ``output_tokens_details.reasoning_tokens``
                           kept under the same name
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccrelay.core.answer import canonical_response
from ccrelay.core.errors import RelayError
from ccrelay.core.types import CanonicalResponse, ContentBlock, ToolUseBlock
from ccrelay.providers.openai.convert_response import parse_arguments
from ccrelay.providers.openai.errors import stream_error, upstream_fault
from ccrelay.providers.openai.names import tool_id_in

from .reasoning import block_from

_INCOMPLETE = {"max_output_tokens": "max_tokens", "content_filter": "refusal"}


def usage_from(raw: Any) -> dict[str, Any]:
    """Canonical usage from a Responses ``usage`` object (missing numbers count as 0)."""
    if not isinstance(raw, dict):
        return {"input_tokens": 0, "output_tokens": 0}
    total_in = raw.get("input_tokens") or 0
    details = raw.get("input_tokens_details")
    cached = details.get("cached_tokens") or 0 if isinstance(details, dict) else 0
    cached = min(cached, total_in)
    usage: dict[str, Any] = {
        "input_tokens": total_in - cached,
        "output_tokens": raw.get("output_tokens") or 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }
    out_details = raw.get("output_tokens_details")
    reasoning = out_details.get("reasoning_tokens") if isinstance(out_details, dict) else None
    if isinstance(reasoning, int) and reasoning:
        usage["output_tokens_details"] = {"reasoning_tokens": reasoning}
    return usage


def failure(error: Any, where: str = "answer") -> RelayError:
    """The RelayError for a ``failed`` response's ``error`` or a top-level ``error`` event."""
    err = error if isinstance(error, dict) else {"message": str(error or "")}
    message = str(err.get("message") or f"upstream reported a failed {where}")
    return stream_error({"error": {"code": err.get("code"), "message": message}})


def check_status(response: dict[str, Any]) -> None:
    """Raise for a response that failed or is not finished."""
    status = response.get("status")
    if status == "failed":
        raise failure(response.get("error"))
    if status in ("queued", "in_progress"):
        raise upstream_fault(
            f"upstream answered with an unfinished response (status {status}); ccrelay does "
            "not use background mode, check the upstream"
        )
    if status == "cancelled":
        raise upstream_fault("upstream cancelled the response")


def stop_reason(response: dict[str, Any], has_calls: bool, refused: bool) -> str:
    """Canonical stop reason: a function call decides, then ``incomplete_details``."""
    if has_calls:
        return "tool_use"
    if response.get("status") == "incomplete":
        details = response.get("incomplete_details") or {}
        reason = details.get("reason") if isinstance(details, dict) else None
        return _INCOMPLETE.get(reason, "max_tokens") if isinstance(reason, str) else "max_tokens"
    return "refusal" if refused else "end_turn"


def tool_use_from(
    item: dict[str, Any], arguments: Any, seed: str, names: Mapping[str, str]
) -> ToolUseBlock | None:
    """The tool_use block of a function call; None when its arguments are not a JSON object."""
    args = parse_arguments(arguments)
    if args is None:
        return None
    name = str(item.get("name") or "")
    return {
        "type": "tool_use",
        "id": tool_id_in(item.get("call_id"), seed),
        "name": names.get(name, name),
        "input": args,
    }


def message_text(item: dict[str, Any]) -> tuple[str, bool]:
    """(text, refused) of a message item's content parts."""
    texts = []
    refused = False
    for part in item.get("content") or ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "refusal" and isinstance(part.get("refusal"), str):
            refused = True
            texts.append(part["refusal"])
        elif isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "".join(texts), refused


def output_blocks(
    response: dict[str, Any], request_id: str, names: Mapping[str, str], source: str
) -> tuple[list[ContentBlock], int, bool]:
    """(blocks, number of tool calls, refused) for a finished response's ``output``."""
    incomplete = response.get("status") == "incomplete"
    blocks: list[ContentBlock] = []
    calls = 0
    refused = False
    for n, item in enumerate(response.get("output") or ()):
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "reasoning":
            thinking = block_from(item, source)
            if thinking is not None:
                blocks.append(thinking)
        elif kind == "message":
            text, refusal = message_text(item)
            refused = refused or refusal
            if text.strip():
                blocks.append({"type": "text", "text": text})
        elif kind == "function_call":
            block = tool_use_from(item, item.get("arguments"), f"{request_id}:{n}", names)
            if block is None:
                if incomplete:
                    continue  # cut off by the token limit: report max_tokens, not a broken call
                raise upstream_fault(
                    f"upstream function call {item.get('name')!r} has invalid JSON arguments: "
                    f"{str(item.get('arguments'))[:200]}"
                )
            blocks.append(block)
            calls += 1
    return blocks, calls, refused


def to_canonical(
    body: Any, client_model: str, request_id: str, names: Mapping[str, str], source: str
) -> CanonicalResponse:
    """Convert one decoded ``response`` object; raise for failed, unfinished or empty ones."""
    if not isinstance(body, dict):
        raise upstream_fault("upstream answer is not a JSON object")
    if body.get("error") and body.get("status") != "failed":
        raise failure(body["error"])
    check_status(body)
    if not isinstance(body.get("output"), list):
        raise upstream_fault("upstream answer has no output list (empty or malformed response)")
    blocks, calls, refused = output_blocks(body, request_id, names, source)
    reason = stop_reason(body, calls > 0, refused)
    if reason == "end_turn" and not any(b["type"] in ("text", "tool_use") for b in blocks):
        raise upstream_fault("upstream answer had no text and no function call")
    return canonical_response(client_model, blocks, reason, usage_from(body.get("usage")))
