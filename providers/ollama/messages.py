"""Canonical messages to Ollama ``/api/chat`` messages (the rest of the body: ``request.py``).

C = converted, D = dropped (reason), R = rejected with a 400 naming the block.

system (string / blocks)  C  a leading ``system`` message (billing header block D)
role system (mid-conv.)   C  ``<system-reminder>`` text in the user message before it (or a
                             new user message): many local chat templates render only a
                             leading system message
text blocks               C  ``content`` (one string: the native API takes no part lists)
image base64              C  ``images: [<base64>]`` on the message
image url / file          R  Ollama takes only inline bytes and ccrelay fetches nothing
document text / content   C  text in ``content``
document base64 / url     R  Ollama reads no PDFs
tool_use                  C  ``tool_calls: [{type: function, function: {index, name,
                             arguments}}]`` with ``arguments`` an object; no id (classic
                             Ollama has none)
tool_result               C  a ``tool`` message with ``tool_name`` (read from the call in the
                             history), in call order, before the turn's other content;
                             ``is_error`` -> text prefixed ``Error:``; images in a result go
                             to a ``user`` message after the tool messages
tool_result, no call      C  user text ``Result of tool call <id>: ...``
tool_use, no result       C  a ``tool`` message ``Error: tool call was not executed``
thinking (any origin)     C  ``thinking`` of the assistant message (no signatures exist here)
signature, redacted       D  other backends' opaque state
cache_control             D  Ollama keeps the prompt cache itself
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.canonical import (
    NOT_EXECUTED,
    document_text,
    error_text,
    orphan_text,
    system_text,
    text_only,
)
from ccrelay.core.errors import InvalidRequest, Unsupported
from ccrelay.core.types import CanonicalRequest

_NOT_EXECUTED = f"Error: {NOT_EXECUTED}"


def to_messages(req: CanonicalRequest) -> list[dict[str, Any]]:
    """Ollama messages for ``req`` (module table)."""
    out: list[dict[str, Any]] = []
    system = system_text(req.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    names: dict[str, str] = {}  # tool_use id -> tool name
    pending: list[str] = []  # calls of the last assistant turn not answered yet
    for i, msg in enumerate(req.get("messages") or ()):
        role = msg.get("role")
        where = f"messages[{i}]"
        content = msg.get("content")
        if role == "user":
            _user(content, out, names, pending, where)
            pending = []
        elif role == "assistant":
            _answer_missing(out, pending, names)
            converted, pending = _assistant(content, names, where)
            if converted is not None:
                out.append(converted)
        elif role == "system":
            _answer_missing(out, pending, names)
            pending = []
            text = text_only(content, where)
            if text:
                note = f"<system-reminder>\n{text}\n</system-reminder>"
                last = out[-1] if out else None
                if last is not None and last["role"] == "user":
                    last["content"] = f"{last['content']}\n\n{note}" if last["content"] else note
                else:
                    out.append({"role": "user", "content": note})
        else:
            raise InvalidRequest(f"{where}.role: expected user, assistant or system")
    _answer_missing(out, pending, names)
    return out


def _answer_missing(out: list[dict[str, Any]], pending: list[str], names: dict[str, str]) -> None:
    for tool_id in pending:
        out.append({"role": "tool", "tool_name": names.get(tool_id, ""), "content": _NOT_EXECUTED})


def _user(
    content: Any,
    out: list[dict[str, Any]],
    names: dict[str, str],
    pending: list[str],
    where: str,
) -> None:
    """Append one user turn: its tool messages in call order, then the user message."""
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
    results: dict[str, tuple[str, list[str]]] = {}
    others: list[Any] = []
    orphans: list[str] = []
    for j, block in enumerate(blocks):
        if block.get("type") == "tool_result":
            tool_id = str(block.get("tool_use_id") or "")
            text, images = _result(block, f"{where}.content[{j}]")
            if tool_id in pending and tool_id not in results:
                results[tool_id] = (text, images)
            else:
                orphans.append(orphan_text(tool_id, text))
        else:
            others.append(block)
    follow_images: list[str] = []
    labels: list[str] = []
    for tool_id in pending:
        text, images = results.get(tool_id, (_NOT_EXECUTED, []))
        out.append({"role": "tool", "tool_name": names.get(tool_id, ""), "content": text})
        if images:
            labels.append(f"Images returned by tool call {tool_id}.")
            follow_images.extend(images)
    text, images = _text(others, where)
    texts = [t for t in (*labels, *orphans, text) if t]
    if texts or images or follow_images:
        msg: dict[str, Any] = {"role": "user", "content": "\n\n".join(texts)}
        if follow_images or images:
            msg["images"] = follow_images + images
        out.append(msg)


def _text(blocks: Any, where: str) -> tuple[str, list[str]]:
    """(joined text, base64 images) of a content value."""
    if isinstance(blocks, str):
        return blocks, []
    texts: list[str] = []
    images: list[str] = []
    for j, block in enumerate(blocks or ()):
        kind = block.get("type")
        at = f"{where}.content[{j}]"
        if kind == "text":
            if block.get("text"):
                texts.append(block["text"])
        elif kind == "image":
            images.append(_image(block, at))
        elif kind == "document":
            texts.append(_document(block, at))
        elif kind not in ("thinking", "redacted_thinking"):
            raise Unsupported(f"{at}: block type {kind!r} has no Ollama equivalent")
    return "\n\n".join(texts), images


def _image(block: dict[str, Any], where: str) -> str:
    source = block.get("source") or {}
    if source.get("type") == "base64" and source.get("data"):
        return str(source["data"])
    raise Unsupported(
        f"{where}.source: Ollama takes images only as inline base64 data "
        f"(got a {source.get('type')!r} source); send the image inline"
    )


def _document(block: dict[str, Any], where: str) -> str:
    text = document_text(block)
    if text is None:
        kind = (block.get("source") or {}).get("type")
        raise Unsupported(f"{where}: Ollama reads no {kind!r} documents (PDFs); send text")
    return text


def _result(block: dict[str, Any], where: str) -> tuple[str, list[str]]:
    content = block.get("content")
    if isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            if part.get("type") == "search_result":
                inner = "\n".join(p.get("text", "") for p in part.get("content") or ())
                part = {"type": "text", "text": f"{part.get('title', '')}\n{inner}"}
            elif part.get("type") not in ("text", "image", "document"):
                raise Unsupported(
                    f"{where}.content[{j}]: {part.get('type')!r} cannot go in a tool result"
                )
            parts.append(part)
        text, images = _text(parts, where)
    else:
        text, images = (content if isinstance(content, str) else ""), []
    if block.get("is_error"):
        text = error_text(text)
    return text, images


def _assistant(
    content: Any, names: dict[str, str], where: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """The assistant message (None when it holds nothing) and the ids of its calls."""
    if isinstance(content, str):
        return ({"role": "assistant", "content": content} if content else None), []
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    ids: list[str] = []
    for j, block in enumerate(content or ()):
        kind = block.get("type")
        if kind == "text":
            if block.get("text"):
                texts.append(block["text"])
        elif kind == "thinking":
            if block.get("thinking"):
                thinking.append(block["thinking"])
        elif kind == "tool_use":
            tool_id = str(block.get("id") or "")
            name = str(block.get("name") or "")
            names[tool_id] = name
            ids.append(tool_id)
            args = block.get("input")
            calls.append({"type": "function", "function": {
                "index": len(calls), "name": name,
                "arguments": args if isinstance(args, dict) else {},
            }})  # fmt: skip
        elif kind != "redacted_thinking":
            raise Unsupported(f"{where}.content[{j}]: block type {kind!r} has no Ollama equivalent")
    if not texts and not calls:
        return None, []
    msg: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts)}
    if thinking:
        msg["thinking"] = "\n\n".join(thinking)
    if calls:
        msg["tool_calls"] = calls
    return msg, ids
