"""Helpers for strategies reading canonical (Anthropic-shaped) requests: the pieces every
upstream protocol needs in the same words.

What each strategy does with a field stays in its own field table; this module holds only
what is the same for all of them: the system prompt as text (without Claude Code's billing
header), the text of a text-only message, a tool result flattened to text plus media, the
wording for an unanswered call, an orphan result and a failed tool, a text document's text,
an image as a URL, the structured-output schema, effort levels from a thinking budget, the
merge of extra body fields, and stand-ins for tool names and call ids an upstream's pattern
does not allow. Errors name the canonical field (``messages[2].content[0]``)
and say what the upstream can take instead.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ccrelay.core.errors import InvalidRequest, Unsupported

#: Claude Code's first system block: billing metadata that changes on every request, not an
#: instruction (sent upstream it would only defeat the prompt cache)
BILLING_PREFIX = "x-anthropic-billing-header:"
#: the result given to a tool call the conversation never answered (upstreams reject a call
#: without a result); strategies without an error flag prefix it with "Error: "
NOT_EXECUTED = "tool call was not executed (no result in the conversation)"
#: the text of a tool result that returned nothing (some upstreams reject empty content)
EMPTY_RESULT = "(no output)"
#: the text of a failed tool result that said nothing
FAILED_SILENTLY = "the tool failed without output"

_Media = TypeVar("_Media")
_ILLEGAL = re.compile(r"[^a-zA-Z0-9_-]")


def reject_hosted(req: Mapping[str, Any], why: str) -> None:
    """Refuse ``container`` and ``mcp_servers``: they run at Anthropic; ``why`` says what
    the upstream lacks ("Gemini has no equivalent")."""
    for key in ("container", "mcp_servers"):
        if req.get(key):
            raise Unsupported(f"{key}: Anthropic-hosted feature; {why}")


def system_text(system: Any) -> str:
    """The system prompt as one text: blocks joined by a blank line, empty blocks and the
    billing header block left out."""
    if isinstance(system, str):
        return system
    texts = []
    for i, block in enumerate(system or ()):
        if block.get("type") != "text":
            raise InvalidRequest(f"system[{i}]: only text blocks are allowed in system")
        text = block.get("text") or ""
        if text and not text.startswith(BILLING_PREFIX):
            texts.append(text)
    return "\n\n".join(texts)


def text_only(content: Any, where: str) -> str:
    """The text of a message that may hold only text (a mid-conversation system message),
    blocks joined by a blank line; any other block is refused."""
    if isinstance(content, str):
        return content
    texts = []
    for j, block in enumerate(content or ()):
        if block.get("type") != "text":
            raise Unsupported(f"{where}.content[{j}]: a system message can only hold text")
        if block.get("text"):
            texts.append(block["text"])
    return "\n\n".join(texts)


def tool_result_content(
    block: Mapping[str, Any], where: str, media: Callable[[dict[str, Any], str], str | _Media]
) -> tuple[str, list[_Media]]:
    """(text, media) of a ``tool_result``: its text parts and search results as one text
    (non-empty pieces joined by newlines), and what ``media`` makes of its image and document
    parts in the upstream's shape (a ``str`` it returns is text, a text document's say).

    :raises Unsupported: for any other part type.
    """
    content = block.get("content")
    texts: list[str] = []
    found: list[_Media] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for j, part in enumerate(content or ()):
            kind = part.get("type")
            if kind == "text":
                texts.append(part.get("text") or "")
            elif kind in ("image", "document"):
                converted = media(part, f"{where}.content[{j}]")
                if isinstance(converted, str):
                    texts.append(converted)
                else:
                    found.append(converted)
            elif kind == "search_result":
                inner = "\n".join(p.get("text", "") for p in part.get("content") or ())
                texts.append(f"{part.get('title', '')} ({part.get('source', '')})\n{inner}")
            else:
                raise Unsupported(f"{where}.content[{j}]: {kind!r} cannot go in a tool result")
    return "\n".join(t for t in texts if t), found


def error_text(text: str) -> str:
    """A failed tool result's text for an upstream without an error flag: ``Error: ...``
    unless it already says so."""
    if text.lower().startswith("error"):
        return text
    return f"Error: {text}" if text else f"Error: {FAILED_SILENTLY}"


def orphan_text(tool_id: str, text: str) -> str:
    """A tool result whose call is not in the conversation, as user text (upstreams reject an
    orphan result)."""
    return f"Result of tool call {tool_id}: {text}"


def document_text(block: Mapping[str, Any]) -> str | None:
    """The text of a ``text`` or ``content`` document (its title first), or None for other
    sources (base64, url: the caller decides)."""
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "text":
        text = str(source.get("data") or "")
    elif kind == "content":
        inner = source.get("content")
        text = (
            inner
            if isinstance(inner, str)
            else "\n".join(p.get("text", "") for p in inner or () if p.get("type") == "text")
        )
    else:
        return None
    title = block.get("title")
    return f"{title}\n\n{text}" if title else text


def image_url(block: Mapping[str, Any], where: str) -> str:
    """A base64 image as a ``data:`` URL, a url image as its URL; other sources refused."""
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64":
        if not source.get("data") or not source.get("media_type"):
            raise InvalidRequest(f"{where}.source: base64 images need media_type and data")
        return f"data:{source['media_type']};base64,{source['data']}"
    if kind == "url" and source.get("url"):
        return str(source["url"])
    raise Unsupported(f"{where}.source.type {kind!r}: only base64 and url images can be sent")


def output_format(req: Mapping[str, Any]) -> dict[str, Any] | None:
    """``output_config.format`` when the client asked for structured output (then it is
    ``{type: json_schema, schema: {...}}``, anything else refused), else None."""
    fmt = (req.get("output_config") or {}).get("format")
    if not fmt:
        return None
    if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
        raise Unsupported("output_config.format: only {type: json_schema, schema} is supported")
    return dict(fmt)


def hashed_user(req: Mapping[str, Any]) -> str | None:
    """``metadata.user_id`` as a 32-hex hash (stable per user; the raw id never leaves the
    relay), or None when there is none."""
    user_id = (req.get("metadata") or {}).get("user_id")
    if isinstance(user_id, str) and user_id:
        return hashlib.blake2b(user_id.encode(), digest_size=16).hexdigest()
    return None


def budget_effort(budget: int) -> str:
    """The effort a thinking budget asks for: below 4096 tokens low, below 16384 medium,
    else high."""
    return "low" if budget < 4_096 else "medium" if budget < 16_384 else "high"


def nearest_effort(wanted: str, allowed: Sequence[str], scale: Sequence[str]) -> str:
    """``wanted`` if the model takes it, else the nearest of ``allowed`` on ``scale`` (every
    value is on it), on a tie the higher one: the client asked for more, not less."""
    if wanted in allowed:
        return wanted
    rank = scale.index(wanted)
    return min(allowed, key=lambda e: (abs(scale.index(e) - rank), -scale.index(e)))


def merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge extra fields (``options.extra_body``, a same-protocol client's side fields) into
    an upstream ``body``: a mapping under a key that holds a mapping merges key by key, the
    extra value winning; anything else is set."""
    for key, value in extra.items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            body[key] = {**current, **value}
        else:
            body[key] = value


def legal_name(name: str, limit: int) -> str:
    """``name`` when it is 1 to ``limit`` characters of ``[a-zA-Z0-9_-]`` (the pattern of
    Anthropic's and OpenAI's tool names), else a stand-in that is: the name with other
    characters as ``_``, cut to fit, then ``_`` and a hash of the whole name. A pure function,
    so a tool, its calls and its choice always get the same stand-in, and two names never
    share one (MCP-style ``server.tool`` or ``ns:tool`` names are the usual case)."""
    if 0 < len(name) <= limit and not _ILLEGAL.search(name):
        return name
    digest = hashlib.blake2b(name.encode(), digest_size=8).hexdigest()[:10]
    return f"{_ILLEGAL.sub('_', name)[: limit - 11]}_{digest}"


def legal_id(tool_id: str) -> str:
    """A call id of ``[a-zA-Z0-9_-]+`` for one that is not (OpenAI-protocol vendors send ids
    such as ``functions.read:0``): illegal characters as ``_`` plus a hash of the id, the same
    for a call and its result."""
    if tool_id and not _ILLEGAL.search(tool_id):
        return tool_id
    digest = hashlib.blake2b(tool_id.encode(), digest_size=8).hexdigest()[:16]
    return f"{_ILLEGAL.sub('_', tool_id)}_{digest}"
