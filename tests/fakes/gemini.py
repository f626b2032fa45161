"""Scripted Gemini answers, framed exactly as gemini.md §8 describes, for ``FakeUpstream``.

``sse`` frames chunks the way ``streamGenerateContent?alt=sse`` does (``data: <json>`` and a
blank line, ``\\r\\n`` line ends, no event names, no terminator); ``json_array`` the way the
same endpoint answers without ``alt=sse`` (one JSON array written element by element);
``chunk`` and ``response`` build ``GenerateContentResponse`` objects.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.upstream import Reply


def response(
    parts: list[dict[str, Any]] | None = None,
    finish: str | None = "STOP",
    usage: dict[str, Any] | None = None,
    response_id: str = "resp-1",
    **candidate: Any,
) -> dict[str, Any]:
    """One ``GenerateContentResponse`` (a whole answer, or one stream chunk)."""
    cand: dict[str, Any] = {"content": {"role": "model", "parts": parts or []}, "index": 0}
    if finish:
        cand["finishReason"] = finish
    cand.update(candidate)
    out: dict[str, Any] = {"candidates": [cand], "modelVersion": "gemini-up",
                           "responseId": response_id}  # fmt: skip
    if usage is not None:
        out["usageMetadata"] = usage
    return out


def chunk(*parts: dict[str, Any], finish: str | None = None, **kw: Any) -> dict[str, Any]:
    """A stream chunk holding only the new ``parts``."""
    return response(list(parts), finish=finish, **kw)


def usage(prompt: int = 10, out: int = 5, thoughts: int = 0, cached: int = 0) -> dict[str, Any]:
    meta = {"promptTokenCount": prompt, "candidatesTokenCount": out,
            "totalTokenCount": prompt + out + thoughts}  # fmt: skip
    if thoughts:
        meta["thoughtsTokenCount"] = thoughts
    if cached:
        meta["cachedContentTokenCount"] = cached
    return meta


def sse(chunks: list[Any], **kw: Any) -> Reply:
    """An ``alt=sse`` stream; strings are sent raw (errors, broken framing)."""
    events = [c if isinstance(c, str) else f"data: {json.dumps(c)}\r\n\r\n" for c in chunks]
    return Reply(sse=events, **kw)


def json_array(chunks: list[dict[str, Any]], **kw: Any) -> Reply:
    """The same stream without ``alt=sse``: a JSON array, one element per network write."""
    pieces = []
    for i, c in enumerate(chunks):
        pieces.append(("[" if i == 0 else ",\r\n") + json.dumps(c, indent=1))
    pieces.append("]" if chunks else "[]")
    return Reply(sse=pieces, content_type="application/json", **kw)


def error(code: int, message: str, status: str, **extra: Any) -> dict[str, Any]:
    """Gemini's error body (gemini.md §10)."""
    return {"error": {"code": code, "message": message, "status": status, **extra}}
