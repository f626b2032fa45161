"""OpenAI Chat Completions answer (non-streaming) to a canonical response, plus shared helpers.

reasoning_content / reasoning   a leading ``thinking`` block (signature "")
content (string or text parts)  one ``text`` block; omitted when empty or whitespace only
refusal                         a ``text`` block and stop_reason ``refusal``
tool_calls[]                    ``tool_use`` blocks (id sanitised, name mapped back, arguments
                                parsed; invalid JSON is a 502 unless cut off by ``length``)
finish_reason                   stop -> end_turn (OpenAI does not say which stop sequence
                                matched), length -> max_tokens, tool_calls/function_call ->
                                tool_use, content_filter -> refusal; any tool call -> tool_use
usage                           input = prompt - cached, cache_read = cached
                                (``prompt_tokens_details.cached_tokens`` or DeepSeek
                                ``prompt_cache_hit_tokens``), output = completion;
                                ``completion_tokens_details.reasoning_tokens`` ->
                                ``output_tokens_details.reasoning_tokens`` (Anthropic's newer
                                usage breakdown)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccrelay.core.answer import canonical_response
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.types import CanonicalResponse, ContentBlock, Usage

from .errors import stream_error, upstream_fault
from .names import tool_id_in

STOP_REASONS = {
    "stop": "end_turn",
    "eos": "end_turn",
    "end_turn": "end_turn",
    "length": "max_tokens",
    "max_tokens": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}
# DeepSeek ends a generation it could not finish with this reason: an upstream failure.
OVERLOADED_REASONS = frozenset({"insufficient_system_resource"})


def usage_from(raw: Any) -> Usage:
    """Canonical usage from an OpenAI ``usage`` object (missing numbers count as 0)."""
    if not isinstance(raw, dict):
        return {"input_tokens": 0, "output_tokens": 0}
    prompt = raw.get("prompt_tokens") or 0
    details = raw.get("prompt_tokens_details")
    cached = (
        (details.get("cached_tokens") if isinstance(details, dict) else None)
        or raw.get("prompt_cache_hit_tokens")
        or 0
    )
    cached = min(cached, prompt)
    out: Usage = {
        "input_tokens": prompt - cached,
        "output_tokens": raw.get("completion_tokens") or 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }
    completion = raw.get("completion_tokens_details")
    reasoning = completion.get("reasoning_tokens") if isinstance(completion, dict) else None
    if isinstance(reasoning, int):
        out["output_tokens_details"] = {"reasoning_tokens": reasoning}
    return out


def stop_reason(finish: Any, has_tool_calls: bool) -> str:
    """Canonical stop reason. A tool call decides, whatever the upstream said (OpenAI says
    ``stop`` when a named tool was forced)."""
    if finish in OVERLOADED_REASONS:
        raise RelayError(
            503, f"upstream stopped generating: {finish}", kind=ErrorKind.OVERLOADED,
            retryable=True,
        )  # fmt: skip
    if has_tool_calls:
        return "tool_use"
    return STOP_REASONS.get(finish, "end_turn") if isinstance(finish, str) else "end_turn"


def reasoning_of(obj: dict[str, Any]) -> str:
    """Reasoning text under either vendor name (DeepSeek/Qwen ``reasoning_content``,
    OpenRouter/Ollama ``reasoning``)."""
    text = obj.get("reasoning_content") or obj.get("reasoning")
    return text if isinstance(text, str) else ""


def parse_arguments(raw: Any) -> dict[str, Any] | None:
    """Tool arguments as an object, or None when the JSON is invalid or not an object."""
    if isinstance(raw, dict):
        return raw
    if not raw or (isinstance(raw, str) and not raw.strip()):
        return {}
    try:
        value = loads(raw)
    except (JSONDecodeError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def to_canonical(
    body: Any, client_model: str, request_id: str, names: Mapping[str, str]
) -> CanonicalResponse:
    """Convert one decoded ``chat.completion`` body; raise 502 for empty or malformed ones."""
    if isinstance(body, dict) and body.get("error"):
        raise stream_error(body)
    choices = body.get("choices") if isinstance(body, dict) else None
    if not choices or not isinstance(choices[0], dict):
        raise upstream_fault("upstream answer had no choices (empty or malformed response)")
    choice = choices[0]
    message = choice.get("message") or {}
    finish = choice.get("finish_reason")
    content: list[ContentBlock] = []
    reasoning = reasoning_of(message)
    if reasoning:
        content.append({"type": "thinking", "thinking": reasoning, "signature": ""})
    text = _text_of(message.get("content"))
    refusal = message.get("refusal")
    if isinstance(refusal, str) and refusal:
        text = f"{text}\n\n{refusal}" if text.strip() else refusal
        finish = "content_filter"
    if text.strip():
        content.append({"type": "text", "text": text})
    calls = 0
    for n, call in enumerate(message.get("tool_calls") or ()):
        fn = call.get("function") or {}
        args = parse_arguments(fn.get("arguments"))
        if args is None:
            if finish == "length":
                continue  # cut off by the token limit: report max_tokens, not a broken call
            raise upstream_fault(
                f"upstream tool call {fn.get('name')!r} has invalid JSON arguments: "
                f"{str(fn.get('arguments'))[:200]}"
            )
        content.append({
            "type": "tool_use",
            "id": tool_id_in(call.get("id"), f"{request_id}:{n}"),
            "name": names.get(name := str(fn.get("name") or ""), name),
            "input": args,
        })  # fmt: skip
        calls += 1
    reason = stop_reason(finish, calls > 0)
    if not calls and not text.strip() and reason == "end_turn":
        raise upstream_fault(
            f"upstream answer had no content and no tool calls (finish_reason={finish!r})"
        )
    return canonical_response(client_model, content, reason, usage_from(body.get("usage")))


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # some servers answer with content parts
        return "".join(
            p.get("text") or p.get("refusal") or "" for p in content if isinstance(p, dict)
        )
    return ""
