"""Gemini ``contents`` to canonical messages: parts, function-call ids, result pairing.

| Gemini | canonical | notes |
|---|---|---|
| role ``user``, ``function``, ``tool`` (or none) | ``user`` | function results ride in user turns |
| role ``model`` | ``assistant`` | consecutive same-role contents are merged |
| ``text`` | text block | empty text dropped (it carries nothing); consecutive text parts of a model turn are one text (a streamed answer comes back one part per chunk) |
| ``thought: true`` parts (model) | one thinking block per run of thought parts | signature of the run's last part; unsigned runs next to a ccrelay bundle are display copies and dropped |
| ``thought`` parts in a user turn | dropped | no meaning there |
| ``thoughtSignature`` | a thinking block before the part's block | see ``thoughts.py`` |
| ``inlineData`` image/png, jpeg, gif, webp | image block (base64) | |
| ``inlineData`` application/pdf | document block (base64) | |
| ``inlineData`` text/plain | document block (text) | base64 decoded, must be UTF-8 |
| ``inlineData`` other types (audio, video ...) | document block (base64, that media type) | only a Gemini backend: others 400 |
| ``inlineData`` in a model turn | image/document block | only a Gemini backend (others take no media from the model) |
| ``fileData`` | image/document block, ``source: {type: url, url, media_type}`` | only a Gemini backend can read Files-API / GCS URIs: others 400, naming the part and the fix (send inlineData) |
| ``functionCall`` (model) | tool_use | ``id`` kept (made legal) or made from the content and part position and the name, so the same history always gives the same ids |
| ``functionCall`` in a user turn | 400 | |
| ``functionResponse`` | tool_result, first in its user message, in call order | paired by ``id`` when it matches a call of the previous model turn, else by name and order; ``response.output`` string -> text, ``response.error`` -> ``is_error``, other objects -> JSON text; ``parts`` media -> image blocks |
| ``functionResponse`` matching no call | text ``Result of function <name>: ...`` | an orphan tool_result is rejected by every backend |
| call without a response in the next user turn | tool_result ``is_error``: not executed | every backend rejects unanswered calls |
| ``executableCode`` / ``codeExecutionResult`` | text (fenced code / its output) | Google's code tool ran them; the text keeps them readable |
| ``videoMetadata``, ``partMetadata``, ``mediaResolution`` | dropped with a warning | sampling hints for Google's media pipeline |
| ``willContinue``, ``scheduling`` (Live API) | dropped with a warning | no meaning outside a live session |
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ccrelay.core.errors import InvalidRequest
from ccrelay.core.jsonutil import dumps_str

from . import thoughts
from .spec import get

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
NOT_EXECUTED = "Error: the function call was not executed (no functionResponse for it)"
_LEGAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ILLEGAL = re.compile(r"[^A-Za-z0-9_-]")
_IGNORED_PART_KEYS = ("videoMetadata", "partMetadata", "mediaResolution")


@dataclass
class Notes:
    """What parsing found beyond the canonical request: side fields, warnings, and reasons
    only a Gemini backend can serve the call."""

    side: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    needs_gemini: list[str] = field(default_factory=list)

    def gemini_only(self, where: str, what: str, fix: str) -> None:
        self.needs_gemini.append(f"{where}: {what}, which only a Gemini backend can use; {fix}")

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


@dataclass
class _Result:
    """A functionResponse waiting to be paired with its call."""

    name: str
    id: str | None
    block: dict[str, Any]
    where: str


def call_id(raw: Any, content: int, part: int, name: str) -> str:
    """The canonical id of a function call: the client's, made legal for every backend, or a
    deterministic one when it has none."""
    if isinstance(raw, str) and raw:
        if _LEGAL_ID.match(raw):
            return raw
        return f"{_ILLEGAL.sub('_', raw)[:40]}_{_digest(raw, 8)}"
    return f"call_{_digest(f'{content}:{part}:{name}', 18)}"


def to_messages(contents: list[Any], notes: Notes) -> list[dict[str, Any]]:
    """Canonical messages for validated ``contents`` (see the module table)."""
    turns: list[tuple[str, list[Any]]] = []
    for i, content in enumerate(contents):
        role = content.get("role") or "user"
        parts = get(content, "parts") or []
        if role == "model":
            blocks = _model_parts(parts, i, notes)
            role = "assistant"
        else:
            blocks = _user_parts(parts, i, notes)
            role = "user"
        if not blocks:
            continue
        if turns and turns[-1][0] == role:
            turns[-1][1].extend(blocks)
        else:
            turns.append((role, blocks))
    return _pair(turns)


# --- model turns ------------------------------------------------------------------------


def _model_parts(parts: list[Any], i: int, notes: Notes) -> list[Any]:
    decoded: dict[int, list[dict[str, Any]]] = {}
    for j, part in enumerate(parts):
        sig = get(part, "thoughtSignature")
        if sig and thoughts.is_bundle(sig):
            decoded[j] = thoughts.unbundle(sig, f"contents[{i}].parts[{j}].thoughtSignature")
    out: list[Any] = []
    run: list[str] = []  # text of consecutive thought parts not yet signed
    joinable = -1  # index in out of a text block the next text part may extend

    def end_run() -> None:
        # An unsigned run beside a bundle is the display copy of the bundled thinking.
        text = "".join(run)
        if text and not decoded:
            out.append({"type": "thinking", "thinking": text})
        run.clear()

    for j, part in enumerate(parts):
        sig = get(part, "thoughtSignature")
        if get(part, "thought") is True:
            if j in decoded:
                end_run()
                out.extend(decoded[j])
                continue
            run.append(get(part, "text") or "")
            if sig:
                out.append(
                    {
                        "type": "thinking",
                        "thinking": "".join(run),
                        "signature": thoughts.from_client(sig),
                    }
                )
                run.clear()
            continue
        end_run()
        if j in decoded:
            out.extend(decoded[j])
        elif sig:
            out.append({"type": "thinking", "thinking": "", "signature": thoughts.from_client(sig)})
        where = f"contents[{i}].parts[{j}]"
        call = get(part, "functionCall")
        if call is not None:
            name = call.get("name")
            if not name:
                raise InvalidRequest(f"{where}.functionCall.name: Field required", param=where)
            out.append({
                "type": "tool_use",
                "id": call_id(call.get("id"), i, j, name),
                "name": name,
                "input": call.get("args") or {},
            })  # fmt: skip
            continue
        if get(part, "functionResponse") is not None:
            raise InvalidRequest(
                f"{where}.functionResponse: function responses belong in a user turn "
                "(role 'user'), after the model turn that called them",
                param=where,
            )
        block = _data(part, where, notes, model=True)
        if block is None:
            continue
        plain = part.get("text") is not None
        if plain and joinable >= 0 and joinable == len(out) - 1:
            # A streamed answer comes back as one part per chunk: one text again.
            out[-1] = {"type": "text", "text": out[-1]["text"] + block["text"]}
        else:
            out.append(block)
        joinable = len(out) - 1 if plain else -1
    end_run()
    return out


# --- user turns -------------------------------------------------------------------------


def _user_parts(parts: list[Any], i: int, notes: Notes) -> list[Any]:
    out: list[Any] = []
    for j, part in enumerate(parts):
        where = f"contents[{i}].parts[{j}]"
        if get(part, "thought") is True:
            continue
        response = get(part, "functionResponse")
        if response is not None:
            out.append(_result(response, f"{where}.functionResponse", notes))
            continue
        if get(part, "functionCall") is not None:
            raise InvalidRequest(
                f"{where}.functionCall: function calls belong in a model turn (role 'model')",
                param=where,
            )
        block = _data(part, where, notes, model=False)
        if block is not None:
            out.append(block)
    return out


def _result(response: dict[str, Any], where: str, notes: Notes) -> _Result:
    name = response.get("name")
    if not name:
        raise InvalidRequest(f"{where}.name: Field required (the function's name)", param=where)
    for key in ("willContinue", "scheduling"):
        if get(response, key) is not None:
            notes.warn(f"{where}.{key}: Live-API field, ignored")
    body = response.get("response") or {}
    error = body.get("error")
    output = body.get("output")
    if error not in (None, "", {}, []):
        text = error if isinstance(error, str) and len(body) == 1 else dumps_str(body)
    elif isinstance(output, str) and len(body) == 1:
        text = output
    else:
        text = dumps_str(body) if body else ""
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": ""}
    media = [
        b
        for k, p in enumerate(response.get("parts") or ())
        if (b := _data(p, f"{where}.parts[{k}]", notes, model=False)) is not None
    ]
    if media:
        block["content"] = ([{"type": "text", "text": text}] if text else []) + media
    elif text:
        block["content"] = text
    if error not in (None, "", {}, []):
        block["is_error"] = True
    rid = response.get("id")
    return _Result(name, rid if isinstance(rid, str) and rid else None, block, where)


# --- data parts -------------------------------------------------------------------------


def _data(part: dict[str, Any], where: str, notes: Notes, *, model: bool) -> dict[str, Any] | None:
    """The canonical block for a part's data field (None for a part without one)."""
    text = part.get("text")
    if text is not None:
        return {"type": "text", "text": text} if text else None
    inline = get(part, "inlineData")
    if inline is not None:
        return _inline(inline, f"{where}.inlineData", notes, model)
    file_data = get(part, "fileData")
    if file_data is not None:
        uri = get(file_data, "fileUri")
        mime = get(file_data, "mimeType") or ""
        if not uri:
            raise InvalidRequest(f"{where}.fileData.fileUri: Field required", param=where)
        notes.gemini_only(
            f"{where}.fileData", f"a file URI ({uri[:80]})",
            "send the file's bytes as inlineData {mimeType, data} instead",
        )  # fmt: skip
        kind = "image" if mime in IMAGE_TYPES else "document"
        return {"type": kind, "source": {"type": "url", "url": uri, "media_type": mime}}
    code = get(part, "executableCode")
    if code is not None:
        return {"type": "text", "text": f"```{(code.get('language') or '').lower()}\n"
                                        f"{code.get('code') or ''}\n```"}  # fmt: skip
    result = get(part, "codeExecutionResult")
    if result is not None:
        return {"type": "text", "text": f"Code execution result ({result.get('outcome') or '?'}):"
                                        f"\n{result.get('output') or ''}"}  # fmt: skip
    for key in _IGNORED_PART_KEYS:
        if get(part, key) is not None:
            notes.warn(f"{where}.{key}: a media sampling hint ccrelay does not convert, ignored")
    return None


def _inline(blob: dict[str, Any], where: str, notes: Notes, model: bool) -> dict[str, Any]:
    mime = get(blob, "mimeType")
    data = blob.get("data")
    if not mime or data is None:
        raise InvalidRequest(f"{where}: mimeType and data are both required", param=where)
    mime = mime.lower()
    if model:
        notes.gemini_only(where, f"{mime} data in a model turn",
                          "remove it from the history or describe it in text")  # fmt: skip
    if mime in IMAGE_TYPES:
        return {"type": "image", "source": {"type": "base64", "media_type": mime, "data": data}}
    if mime == "text/plain":
        try:
            text = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            raise InvalidRequest(
                f"{where}.data: text/plain data must be base64 of UTF-8 text", param=where
            ) from None
        return {"type": "document", "source": {"type": "text", "media_type": mime, "data": text}}
    if mime != "application/pdf":
        notes.gemini_only(where, f"{mime} data",
                          "send images (png, jpeg, gif, webp), PDF or text instead")  # fmt: skip
    return {"type": "document", "source": {"type": "base64", "media_type": mime, "data": data}}


# --- pairing ------------------------------------------------------------------------------


def _pair(turns: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
    """Messages with every functionResponse tied to its call (or turned into text)."""
    messages: list[dict[str, Any]] = []
    pending: list[tuple[str, str]] = []  # (id, name) of the last model turn's calls
    for role, blocks in turns:
        if role == "assistant":
            messages.append({"role": "assistant", "content": blocks})
            pending = [(b["id"], b["name"]) for b in blocks if b.get("type") == "tool_use"]
            continue
        results = [b for b in blocks if isinstance(b, _Result)]
        others = [b for b in blocks if not isinstance(b, _Result)]
        answered: dict[str, dict[str, Any]] = {}
        orphans: list[dict[str, Any]] = []
        matched = {id(r): _by_id(r, pending, answered) for r in results if r.id is not None}
        for res in results:
            tool_id = matched.get(id(res)) or _by_name(res, pending, answered)
            if tool_id is None:
                orphans.append({"type": "text", "text": f"Result of function {res.name}: "
                                                        f"{_result_text(res.block)}"})  # fmt: skip
                content = res.block.get("content")
                if isinstance(content, list):
                    orphans.extend(b for b in content if b.get("type") != "text")
                continue
            answered[tool_id] = {**res.block, "tool_use_id": tool_id}
        head = [
            answered.get(tool_id)
            or {"type": "tool_result", "tool_use_id": tool_id, "content": NOT_EXECUTED,
                "is_error": True}
            for tool_id, _ in pending
        ]  # fmt: skip
        pending = []
        messages.append({"role": "user", "content": head + orphans + others})
    return messages


def _by_id(
    res: _Result, pending: list[tuple[str, str]], answered: dict[str, dict[str, Any]]
) -> str | None:
    """The call whose id the result names (ids first: they decide before names do)."""
    wanted = call_id(res.id, 0, 0, res.name)
    for tool_id, _ in pending:
        if tool_id == wanted and tool_id not in answered:
            answered[tool_id] = {}  # taken; filled in below
            return tool_id
    return None


def _by_name(
    res: _Result, pending: list[tuple[str, str]], answered: dict[str, dict[str, Any]]
) -> str | None:
    """The first call of that name not yet answered."""
    for tool_id, name in pending:
        if name == res.name and tool_id not in answered:
            return tool_id
    return None


def _result_text(block: dict[str, Any]) -> str:
    content = block.get("content", "")
    if isinstance(content, str):
        return content
    return "\n".join(b.get("text", "") for b in content if b.get("type") == "text")


def _digest(value: str, size: int) -> str:
    return hashlib.blake2b(value.encode(), digest_size=16).hexdigest()[:size]
