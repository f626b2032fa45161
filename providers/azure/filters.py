"""Azure content-filter results: which categories were flagged, and a visible notice when a
filtered answer would otherwise reach the client empty.

Azure annotates prompts (``prompt_filter_results``) and choices (``content_filter_results``)
with one entry per category (``hate``, ``sexual``, ``violence``, ``self_harm``, ``jailbreak``,
``protected_material_text``, ``profanity``, custom blocklists ...), each with ``filtered``
(and ``severity`` or ``detected``). A blocked prompt is a 400 whose
``error.innererror.content_filter_result`` has the same shape; a filtered answer ends with
``finish_reason: content_filter``, which the OpenAI converters report as stop_reason
``refusal``, often with no content at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.provider import SSEEvent
from ccrelay.core.types import CanonicalEvent, CanonicalResponse


def _flagged(results: Any, out: list[str]) -> None:
    if isinstance(results, list):  # custom_blocklists: {"filtered", "details": [...]} or a list
        for entry in results:
            _flagged(entry, out)
        return
    if not isinstance(results, dict):
        return
    for name, value in results.items():
        if isinstance(value, dict) and value.get("filtered") is True and name not in out:
            out.append(name)


def filtered_categories(body: Any) -> list[str]:
    """The categories Azure filtered in an error body, an answer or a stream chunk."""
    out: list[str] = []
    if not isinstance(body, dict):
        return out
    err = body.get("error")
    if isinstance(err, dict):
        inner = err.get("innererror")
        if isinstance(inner, dict):
            _flagged(inner.get("content_filter_result"), out)
    for prompt in body.get("prompt_filter_results") or ():
        if isinstance(prompt, dict):
            _flagged(prompt.get("content_filter_results"), out)
    for choice in body.get("choices") or ():
        if isinstance(choice, dict):
            _flagged(choice.get("content_filter_results"), out)
    return out


def notice(categories: list[str]) -> str:
    flagged = ", ".join(categories) if categories else "unspecified"
    return f"[Azure's content filter stopped this answer (flagged: {flagged}).]"


def _empty(blocks: Iterable[dict[str, Any]]) -> bool:
    return not any(b.get("type") in ("text", "tool_use") for b in blocks)


def with_filter_notice(resp: CanonicalResponse, body: Any) -> CanonicalResponse:
    """``resp`` with a text block explaining a content-filter stop that produced nothing."""
    if resp["stop_reason"] == "refusal" and _empty(resp["content"]):  # type: ignore[arg-type]
        resp["content"].append({"type": "text", "text": notice(filtered_categories(body))})
    return resp


def with_filter_notice_stream(
    events: Iterable[SSEEvent],
    convert: Callable[[Iterable[SSEEvent]], Iterator[CanonicalEvent]],
) -> Iterator[CanonicalEvent]:
    """The canonical stream of ``convert(events)``, plus a notice block before the end when a
    content-filter stop produced no text (chunks are decoded twice only when they report a
    filtered category, which is rare)."""
    flagged: list[str] = []

    def tap() -> Iterator[SSEEvent]:
        for event in events:
            if '"filtered"' in event.data and "true" in event.data:
                try:
                    obj = loads(event.data)
                except JSONDecodeError:
                    obj = None
                for name in filtered_categories(obj):
                    if name not in flagged:
                        flagged.append(name)
            yield event

    last_index = -1
    visible = False
    for event in convert(tap()):
        etype = event.get("type")
        if etype == "content_block_start":
            last_index = event["index"]
            visible = visible or event["content_block"].get("type") in ("text", "tool_use")
        elif etype == "message_delta" and not visible:
            if (event.get("delta") or {}).get("stop_reason") == "refusal":
                i = last_index + 1
                yield {"type": "content_block_start", "index": i,
                       "content_block": {"type": "text", "text": ""}}  # fmt: skip
                yield {"type": "content_block_delta", "index": i,
                       "delta": {"type": "text_delta", "text": notice(flagged)}}  # fmt: skip
                yield {"type": "content_block_stop", "index": i}
        yield event
