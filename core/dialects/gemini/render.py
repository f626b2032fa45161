"""Canonical answers to Gemini ``GenerateContentResponse`` bodies, and Gemini's error shape.

| canonical | Gemini |
|---|---|
| text block | ``{"text"}`` part (empty text dropped) |
| thinking block | a ``thought: true`` part when the client set ``includeThoughts``; its signature as ``thoughts.py`` says |
| redacted_thinking | carried in the next part's ``thoughtSignature`` bundle |
| tool_use | a whole ``{"functionCall": {"id", "name", "args"}}`` part |
| stop_reason end_turn, stop_sequence, tool_use, pause_turn | ``finishReason: STOP`` (Gemini says STOP for calls too) |
| stop_reason max_tokens, model_context_window_exceeded | ``MAX_TOKENS`` |
| stop_reason refusal | ``SAFETY`` |
| any other stop reason | ``OTHER`` |
| usage | ``usageMetadata``: prompt = input + cache read + cache write; candidates = output - thinking; thoughts = the thinking tokens a backend reports (``output_tokens_details``), else 0 (counted in candidates); cached = cache read; total = prompt + output |
| id, model | ``responseId``, ``modelVersion`` |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccrelay.core.errors import ErrorKind, RelayError

from . import thoughts

_FINISH = {
    "end_turn": "STOP",
    "stop_sequence": "STOP",
    "tool_use": "STOP",
    "pause_turn": "STOP",
    "max_tokens": "MAX_TOKENS",
    "model_context_window_exceeded": "MAX_TOKENS",
    "refusal": "SAFETY",
}
# google.rpc status names for each kind (gemini.md §10)
_STATUS = {
    ErrorKind.INVALID_REQUEST: "INVALID_ARGUMENT",
    ErrorKind.AUTHENTICATION: "UNAUTHENTICATED",
    ErrorKind.BILLING: "FAILED_PRECONDITION",
    ErrorKind.PERMISSION: "PERMISSION_DENIED",
    ErrorKind.NOT_FOUND: "NOT_FOUND",
    ErrorKind.TOO_LARGE: "INVALID_ARGUMENT",
    ErrorKind.RATE_LIMITED: "RESOURCE_EXHAUSTED",
    ErrorKind.CONTEXT_TOO_LONG: "INVALID_ARGUMENT",
    ErrorKind.OVERLOADED: "UNAVAILABLE",
    ErrorKind.TIMEOUT: "DEADLINE_EXCEEDED",
    ErrorKind.UPSTREAM: "INTERNAL",
    ErrorKind.NOT_CONFIGURED: "FAILED_PRECONDITION",
}
#: Gemini's own wording for a prompt over the model's window
TOO_LONG = "The input token count exceeds the maximum number of tokens allowed"


def finish_reason(stop_reason: Any) -> str:
    if stop_reason is None:
        return "STOP"
    return _FINISH.get(stop_reason, "OTHER")


def usage_metadata(usage: Mapping[str, Any] | None) -> dict[str, int]:
    usage = usage or {}
    cached = usage.get("cache_read_input_tokens") or 0
    prompt = (
        (usage.get("input_tokens") or 0) + cached + (usage.get("cache_creation_input_tokens") or 0)
    )
    output = usage.get("output_tokens") or 0
    details = usage.get("output_tokens_details")
    thinking = 0
    if isinstance(details, dict):
        thinking = details.get("thinking_tokens") or details.get("reasoning_tokens") or 0
    thinking = min(thinking, output)
    return {
        "promptTokenCount": prompt,
        "candidatesTokenCount": output - thinking,
        "thoughtsTokenCount": thinking,
        "cachedContentTokenCount": cached,
        "totalTokenCount": prompt + output,
    }


def error_object(err: RelayError) -> dict[str, Any]:
    """``{"code", "message", "status"}`` (+ ``details`` with a retry delay) for ``err``."""
    message = err.message
    if err.kind is ErrorKind.CONTEXT_TOO_LONG and "exceeds the maximum" not in message:
        message = f"{TOO_LONG}: {message}"
    status = "CANCELLED" if err.status == 499 else _STATUS.get(err.kind, "INTERNAL")
    out: dict[str, Any] = {"code": err.status, "message": message, "status": status}
    retry = err.headers.get("retry-after")
    if retry and retry.strip().isdigit():
        out["details"] = [
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry.strip()}s"}
        ]
    return out


class Parts:
    """Gemini parts from canonical blocks in order, each signature on the part it precedes.

    Call ``thought`` for thinking text as it arrives, ``thinking_done`` when a thinking block
    is complete, ``redacted``, ``add`` for every text or functionCall part, then ``finish``.
    ``take`` hands out (and forgets) the parts made so far.
    """

    __slots__ = ("include", "out", "pending", "bundle")

    def __init__(self, include_thoughts: bool) -> None:
        self.include = include_thoughts
        self.out: list[dict[str, Any]] = []
        self.pending: str | None = None  # a raw Gemini signature for the next part
        self.bundle: list[dict[str, Any]] = []  # other origins' blocks for the next part

    def thought(self, text: str) -> None:
        if self.include and text:
            last = self.out[-1] if self.out else None
            if last is not None and last.get("thought") and "thoughtSignature" not in last:
                last["text"] += text  # deltas of one batch: one part
            else:
                self.out.append({"text": text, "thought": True})

    def thinking_done(self, text: str, signature: str | None, *, streamed: bool) -> None:
        """A complete thinking block; ``streamed`` when its text went out through ``thought``."""
        payload = thoughts.gemini_payload(signature)
        if payload is not None:
            if text:  # Gemini signed the thought part itself
                shown = text if self.include and not streamed else ""
                self.out.append({"text": shown, "thought": True, "thoughtSignature": payload})
            else:
                if self.pending is not None:
                    self.out.append({"text": "", "thoughtSignature": self.pending})
                self.pending = payload
            return
        if not streamed:
            self.thought(text)
        if text or signature:
            block: dict[str, Any] = {"type": "thinking", "thinking": text}
            if signature:
                block["signature"] = signature
            self.bundle.append(block)

    def redacted(self, data: str) -> None:
        self.bundle.append({"type": "redacted_thinking", "data": data})

    def add(self, part: dict[str, Any]) -> None:
        last = self.out[-1] if self.out else None
        if (
            last is not None
            and self.pending is None
            and not self.bundle
            and len(part) == 1
            and "text" in part
            and "text" in last
            and not last.get("thought")
        ):
            last["text"] += part["text"]  # deltas of one batch: one part
            return
        if self.bundle:
            if self.pending is not None:
                self.out.append({"text": "", "thoughtSignature": self.pending})
                self.pending = None
            part["thoughtSignature"] = thoughts.bundle(self.bundle)
            self.bundle = []
        elif self.pending is not None:
            part["thoughtSignature"] = self.pending
            self.pending = None
        self.out.append(part)

    def finish(self) -> None:
        """Signatures with no part after them go on a trailing empty text part."""
        if self.pending is not None or self.bundle:
            self.add({"text": ""})

    def take(self) -> list[dict[str, Any]]:
        out, self.out = self.out, []
        return out


def response_body(resp: Mapping[str, Any], include_thoughts: bool, model: str) -> dict[str, Any]:
    """The ``GenerateContentResponse`` for a finished canonical response."""
    parts = Parts(include_thoughts)
    for block in resp.get("content") or ():
        kind = block.get("type")
        if kind == "text":
            if block.get("text"):
                parts.add({"text": block["text"]})
        elif kind == "thinking":
            parts.thinking_done(block.get("thinking") or "", block.get("signature"), streamed=False)
        elif kind == "redacted_thinking":
            parts.redacted(block.get("data") or "")
        elif kind == "tool_use":
            parts.add(function_call(block.get("id"), block.get("name"), block.get("input")))
    parts.finish()
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts.take()},
                "finishReason": finish_reason(resp.get("stop_reason")),
                "index": 0,
            }
        ],
        "usageMetadata": usage_metadata(resp.get("usage")),
        "modelVersion": model,
        "responseId": resp.get("id") or "",
    }


def function_call(call_id: Any, name: Any, args: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"name": name or "", "args": args if isinstance(args, dict) else {}}
    if call_id:
        call["id"] = call_id
    return {"functionCall": call}
