"""A Gemini ``generateContent`` answer to a canonical response, plus helpers the stream shares.

parts: text                   ``text`` blocks (consecutive unsigned parts joined)
parts: thought: true          ``thinking`` blocks, signature tagged ``ccrelay:gemini:...``
parts: thoughtSignature on a  a ``thinking`` block with empty text and the tagged signature
  text / functionCall part      right before the block it belongs to (core/signatures.py),
                                so the next request puts it back on the same part
parts: signed empty text part the same block, signing what follows; at the very end of the
                                answer it is dropped (an answer must end with its text; Gemini
                                checks no signature of a text answer)
parts: functionCall           ``tool_use``: id kept when Gemini gave one, else made from the
                              response id and position (names.call_id_in); name and
                              property names mapped back to the client's
parts: executableCode,        ``text`` blocks (fenced code / its output)
  codeExecutionResult
parts: inlineData, fileData   dropped with a log line (canonical answers hold no media)
finishReason                  STOP -> end_turn, MAX_TOKENS -> max_tokens, any function
                              call -> tool_use; SAFETY, RECITATION, BLOCKLIST,
                              PROHIBITED_CONTENT, SPII, LANGUAGE, IMAGE_* , MODEL_ARMOR ->
                              refusal (with a text block saying why when nothing else came);
                              MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL,
                              TOO_MANY_TOOL_CALLS -> a retryable 502 (no call is invented);
                              OTHER / unknown -> end_turn (502 when the answer is empty)
promptFeedback.blockReason    refusal with a text block naming the reason
usageMetadata                 input = promptTokenCount + toolUsePromptTokenCount - cached,
                              cache_read = cachedContentTokenCount, output =
                              candidatesTokenCount + thoughtsTokenCount
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccrelay.core import signatures
from ccrelay.core.answer import canonical_response
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.types import CanonicalResponse, Usage

from .contents import ORIGIN
from .names import KeyMap, call_id_in, rename_keys

log = logging.getLogger("ccrelay.gemini")

REFUSALS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE",
     "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION", "MODEL_ARMOR"}
)  # fmt: skip
BAD_CALLS = frozenset({"MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS"})


@dataclass
class Names:
    """One request's tool renames: sent function name -> client name, and property maps."""

    tools: Mapping[str, str] = field(default_factory=dict)
    keys: Mapping[str, KeyMap] = field(default_factory=dict)


def usage_from(meta: Any) -> Usage:
    """Canonical usage from ``usageMetadata`` (mapping.md §9)."""
    if not isinstance(meta, dict):
        return {"input_tokens": 0, "output_tokens": 0}
    prompt = (meta.get("promptTokenCount") or 0) + (meta.get("toolUsePromptTokenCount") or 0)
    cached = min(meta.get("cachedContentTokenCount") or 0, prompt)
    output = (meta.get("candidatesTokenCount") or 0) + (meta.get("thoughtsTokenCount") or 0)
    return {
        "input_tokens": prompt - cached,
        "output_tokens": output,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
    }


def stop_reason(finish: Any, has_calls: bool, message: str, provider: str) -> str:
    """The canonical stop reason for a ``finishReason``; a call decides over STOP.

    :raises RelayError: retryable 502 for the finish reasons that mean a broken call.
    """
    if finish in BAD_CALLS:
        detail = f": {message}" if message else ""
        raise RelayError(
            502,
            f"provider {provider}: Gemini ended with {finish}{detail} (it produced a function "
            "call it could not complete); send the request again",
            kind=ErrorKind.UPSTREAM,
            retryable=True,
        )
    if has_calls:
        return "tool_use"
    if finish == "MAX_TOKENS":
        return "max_tokens"
    if finish in REFUSALS:
        return "refusal"
    return "end_turn"


def refusal_note(finish: str, message: str) -> str:
    """The text a client sees when Gemini filtered an answer that then said nothing."""
    detail = f": {message}" if message else ""
    return f"[Gemini stopped the answer (finish reason {finish}){detail}]"


def blocked_note(feedback: Any) -> str | None:
    """The text for a prompt Gemini blocked outright (no candidates), or None."""
    if not isinstance(feedback, dict) or not feedback.get("blockReason"):
        return None
    detail = feedback.get("blockReasonMessage")
    extra = f": {detail}" if isinstance(detail, str) and detail else ""
    return f"[Gemini blocked the prompt (blockReason {feedback['blockReason']}){extra}]"


def tool_use(call: dict[str, Any], seed: str, names: Names) -> dict[str, Any]:
    """A ``tool_use`` block for a ``functionCall``."""
    sent = str(call.get("name") or "")
    args = call.get("args")
    if not isinstance(args, dict):
        args = {}
    return {
        "type": "tool_use",
        "id": call_id_in(call.get("id"), seed),
        "name": names.tools.get(sent, sent),
        "input": rename_keys(args, names.keys.get(sent), to_gemini=False),
    }


def signature_block(payload: str) -> dict[str, Any]:
    """The empty thinking block that carries the signature of the block after it."""
    return {"type": "thinking", "thinking": "", "signature": signatures.tag(ORIGIN, payload)}


def code_text(part: dict[str, Any]) -> str | None:
    """Text for a code-execution part (the code, or its output), else None."""
    code = part.get("executableCode")
    if isinstance(code, dict):
        lang = str(code.get("language") or "").lower().replace("language_unspecified", "")
        return f"```{lang}\n{code.get('code') or ''}\n```"
    result = part.get("codeExecutionResult")
    if isinstance(result, dict):
        return f"```\n{result.get('output') or ''}\n```"
    return None


def first_candidate(body: dict[str, Any]) -> dict[str, Any] | None:
    candidates = body.get("candidates")
    if isinstance(candidates, list) and candidates and isinstance(candidates[0], dict):
        return candidates[0]
    return None


def to_canonical(
    body: Any, client_model: str, request_id: str, names: Names, provider: str
) -> CanonicalResponse:
    """A canonical response for one decoded ``GenerateContentResponse``."""
    if not isinstance(body, dict):
        raise RelayError(502, f"provider {provider}: answer is not a JSON object", retryable=True)
    seed = str(body.get("responseId") or request_id)
    candidate = first_candidate(body)
    content: list[dict[str, Any]] = []
    calls = 0
    finish: Any = None
    message = ""
    if candidate is not None:
        finish = candidate.get("finishReason")
        message = str(candidate.get("finishMessage") or "")
        parts = (candidate.get("content") or {}).get("parts") or []
        for part in parts:
            if isinstance(part, dict):
                calls += _add_part(content, part, f"{seed}:{calls}", names, provider)
    while content and content[-1]["type"] == "thinking" and not content[-1]["thinking"]:
        content.pop()  # an answer ends with its text or call, never a signature (stream.py)
    blocked = blocked_note(body.get("promptFeedback")) if candidate is None else None
    if blocked is not None:
        content.append({"type": "text", "text": blocked})
        reason = "refusal"
    else:
        reason = stop_reason(finish, calls > 0, message, provider)
        visible = any(b["type"] in ("text", "tool_use") for b in content)
        if reason == "refusal" and not visible:
            content.append({"type": "text", "text": refusal_note(str(finish), message)})
        elif not visible and reason == "end_turn":
            raise RelayError(
                502,
                f"provider {provider}: Gemini answered with no content "
                f"(finishReason {finish!r}{', ' + message if message else ''})",
                retryable=True,
            )
    return canonical_response(client_model, content, reason, usage_from(body.get("usageMetadata")))


def _add_part(
    content: list[dict[str, Any]], part: dict[str, Any], seed: str, names: Names, provider: str
) -> int:
    """Append the blocks of one part; returns 1 for a function call, else 0."""
    sig = part.get("thoughtSignature")
    sig = sig if isinstance(sig, str) and sig else None
    text = part.get("text")
    last = content[-1] if content else None
    if part.get("thought") and isinstance(text, str):
        # a run of thought parts is one block, signed by the part that carries a signature
        if (
            last is not None
            and last["type"] == "thinking"
            and last["thinking"]
            and (not last["signature"])
        ):
            last["thinking"] += text
        else:
            content.append({"type": "thinking", "thinking": text, "signature": ""})
        if sig:
            content[-1]["signature"] = signatures.tag(ORIGIN, sig)
        return 0
    call = part.get("functionCall")
    if sig and text == "" and not isinstance(call, dict):
        # an empty signed part: it signs what follows; at the end it is dropped (stream.py)
        content.append(signature_block(sig))
        return 0
    if sig:
        content.append(signature_block(sig))
    if isinstance(call, dict):
        content.append(tool_use(call, seed, names))
        return 1
    if not isinstance(text, str):
        text = code_text(part)
        if text is None:
            if "inlineData" in part or "fileData" in part:
                log.warning("provider %s: a media part of the answer was dropped", provider)
            return 0
    if text:
        if last is not None and last["type"] == "text" and not sig:
            last["text"] += text
        else:
            content.append({"type": "text", "text": text})
    return 0
