"""Canonical messages to Gemini ``contents``: parts, function calls and results, signatures.

C = converted, D = dropped (reason), R = rejected with a 400 naming the block.

role user / assistant        C  ``user`` / ``model``; consecutive same-role contents merged
                                (Gemini rejects two in a row); a history starting with a
                                model turn gets a leading user turn
role system (mid-conv.)      C  user text ``<system-reminder>...</system-reminder>`` at its
                                position (Gemini's only system slot is systemInstruction)
text                         C  ``{text}``; empty text D (Gemini rejects empty parts)
image base64                 C  ``inlineData {mimeType, data}``
image / document url         C  ``fileData {mimeType, fileUri}`` for Files API, gs:// and
                                YouTube URIs; R for other web URLs (Gemini fetches none and
                                ccrelay fetches nothing)
image file id                R  Anthropic Files API ids mean nothing to Gemini
document base64 / text /     C  ``inlineData`` (PDF) / a text part
  content
tool_use                     C  ``functionCall {name, args}``; ``id`` unless ccrelay made it
                                up (names.call_id_out); names and property names mapped like
                                the declarations
tool_result                  C  ``functionResponse {name, id?, response: {output | error}}``
                                in call order, all in one user content; the name is read
                                from the call in the history; images in results follow as
                                ``inlineData`` parts of the same content
tool_result, no call         C  user text ``Result of tool call <id>: ...``
tool_use, no result          C  ``functionResponse {error: "tool call was not executed"}``
                                (Gemini wants one response per call)
thinking, Gemini-signed      C  text + signature: a ``thought: true`` part; signature only:
                                the ``thoughtSignature`` of the part that follows it (or of
                                an empty text part when nothing follows)
thinking, other origin /     D  other backends' reasoning state means nothing to Gemini
  unsigned, redacted_thinking
cache_control                D  Gemini caches implicitly (explicit caches: cachedContent)
function calls of the        C  a call turn whose calls carry no signature at all (another
  current turn, unsigned        backend's history, or a client that lost the thinking
                                blocks) gets the documented bypass value on its first call,
                                so Gemini 3 never rejects the conversation
"""

from __future__ import annotations

from typing import Any

from ccrelay.core import signatures
from ccrelay.core.canonical import (
    FAILED_SILENTLY,
    NOT_EXECUTED,
    document_text,
    orphan_text,
    text_only,
    tool_result_content,
)
from ccrelay.core.errors import InvalidRequest, Unsupported

from .names import KeyMap, call_id_out, name_out, rename_keys

ORIGIN = "gemini"
#: documented value that makes Gemini skip thought-signature validation (gemini.md §7)
BYPASS = "skip_thought_signature_validator"
_GOOGLE_URIS = ("https://generativelanguage.googleapis.com/", "gs://", "https://www.youtube.com/",
                "https://youtu.be/")  # fmt: skip
_MIME_BY_EXT = {
    "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp",
    "gif": "image/gif", "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf",
}  # fmt: skip


def to_contents(messages: list[Any], keymaps: dict[str, KeyMap]) -> list[dict[str, Any]]:
    """Gemini ``contents`` for canonical ``messages`` (see the module table).

    :param keymaps: property renames per sent function name (from the declarations).
    """
    calls: dict[str, tuple[str, str | None]] = {}  # tool_use id -> (sent name, gemini id)
    for msg in messages:
        content = msg.get("content")
        if msg.get("role") == "assistant" and isinstance(content, list):
            for block in content:
                if block.get("type") == "tool_use":
                    tool_id = str(block.get("id") or "")
                    calls[tool_id] = (name_out(str(block.get("name") or "")),
                                      call_id_out(tool_id))  # fmt: skip
    out: list[dict[str, Any]] = []
    pending: list[str] = []  # call ids of the last model turn not answered yet
    for i, msg in enumerate(messages):
        role = msg.get("role")
        where = f"messages[{i}]"
        if role == "user":
            parts = _user_parts(msg.get("content"), calls, pending, where)
            pending = []
            _append(out, "user", parts)
        elif role == "assistant":
            _answer_missing(out, pending, calls)
            parts, pending = _model_parts(msg.get("content"), keymaps, where)
            _append(out, "model", parts)
        elif role == "system":
            _answer_missing(out, pending, calls)
            pending = []
            text = text_only(msg.get("content"), where)
            if text:
                _append(out, "user", [{"text": f"<system-reminder>\n{text}\n</system-reminder>"}])
        else:
            raise InvalidRequest(f"{where}.role: expected user, assistant or system")
    _answer_missing(out, pending, calls)
    if out and out[0]["role"] == "model":
        out.insert(0, {"role": "user", "parts": [{"text": "(conversation continues)"}]})
    _bypass_unsigned_calls(out)
    return out


def _append(out: list[dict[str, Any]], role: str, parts: list[dict[str, Any]]) -> None:
    if not parts:
        return
    if out and out[-1]["role"] == role:
        last = out[-1]["parts"]
        if role == "user":
            # function responses first: Gemini pairs them with the preceding call turn
            responses = [p for p in parts if "functionResponse" in p]
            if responses:
                at = sum(1 for p in last if "functionResponse" in p)
                last[at:at] = responses
                parts = [p for p in parts if "functionResponse" not in p]
        last.extend(parts)
    else:
        out.append({"role": role, "parts": list(parts)})


def _answer_missing(
    out: list[dict[str, Any]], pending: list[str], calls: dict[str, tuple[str, str | None]]
) -> None:
    parts = []
    for tool_id in pending:
        name, gemini_id = calls.get(tool_id, ("unknown", None))
        parts.append(_response(name, gemini_id, {"error": NOT_EXECUTED}))
    _append(out, "user", parts)
    pending.clear()


def _response(name: str, gemini_id: str | None, response: dict[str, Any]) -> dict[str, Any]:
    fr: dict[str, Any] = {"name": name, "response": response}
    if gemini_id:
        fr["id"] = gemini_id
    return {"functionResponse": fr}


# --- user turns ---------------------------------------------------------------------------


def _user_parts(
    content: Any, calls: dict[str, tuple[str, str | None]], pending: list[str], where: str
) -> list[dict[str, Any]]:
    if isinstance(content, str):
        parts = [{"text": content}] if content else []
        return _with_missing(parts, pending, {}, calls)
    responses: dict[str, dict[str, Any]] = {}
    media: list[dict[str, Any]] = []
    parts = []
    for j, block in enumerate(content or ()):
        kind = block.get("type")
        at = f"{where}.content[{j}]"
        if kind == "text":
            if block.get("text"):
                parts.append({"text": block["text"]})
        elif kind in ("image", "document"):
            parts.append(media_part(block, at))
        elif kind == "tool_result":
            tool_id = str(block.get("tool_use_id") or "")
            response, images, text = _result(block, at)
            if tool_id in pending and tool_id not in responses:
                name, gemini_id = calls[tool_id]
                responses[tool_id] = _response(name, gemini_id, response)
            else:
                parts.append({"text": orphan_text(tool_id, text)})
            media.extend(images)
        elif kind not in ("thinking", "redacted_thinking"):
            raise Unsupported(f"{at}: block type {kind!r} has no Gemini equivalent")
    return _with_missing(media + parts, pending, responses, calls)


def _with_missing(
    parts: list[dict[str, Any]],
    pending: list[str],
    responses: dict[str, dict[str, Any]],
    calls: dict[str, tuple[str, str | None]],
) -> list[dict[str, Any]]:
    """The function responses of the pending calls, in call order (an unanswered call gets
    an error response), then the other parts."""
    ordered = []
    for tool_id in pending:
        if tool_id in responses:
            ordered.append(responses.pop(tool_id))
        else:
            name, gemini_id = calls.get(tool_id, ("unknown", None))
            ordered.append(_response(name, gemini_id, {"error": NOT_EXECUTED}))
    return ordered + parts


def _result(block: dict[str, Any], where: str) -> tuple[dict[str, Any], list[Any], str]:
    """(functionResponse.response, media parts, text) of a tool result."""
    text, media = tool_result_content(block, where, _result_part)
    if block.get("is_error"):
        return {"error": text or FAILED_SILENTLY}, media, text
    return {"output": text}, media, text


def _result_part(block: dict[str, Any], where: str) -> str | dict[str, Any]:
    converted = media_part(block, where)
    return converted["text"] if "text" in converted else converted


def media_part(block: dict[str, Any], where: str) -> dict[str, Any]:
    """``inlineData`` / ``fileData`` (or a text part, for text documents) for an image or
    document block."""
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64":
        mime = source.get("media_type") or (
            "application/pdf" if block.get("type") == "document" else None
        )
        if not mime or not source.get("data"):
            raise InvalidRequest(f"{where}.source: base64 data needs media_type and data")
        return {"inlineData": {"mimeType": mime, "data": source["data"]}}
    if kind == "url":
        url = str(source.get("url") or "")
        if not url.startswith(_GOOGLE_URIS):
            raise Unsupported(
                f"{where}.source.url: Gemini reads only inline data and Google Files API, "
                "gs:// or YouTube URIs; send the file inline (base64)"
            )
        ext = url.rsplit(".", 1)[-1].lower() if "." in url.rsplit("/", 1)[-1] else ""
        mime = _MIME_BY_EXT.get(ext, "application/octet-stream")
        return {"fileData": {"mimeType": mime, "fileUri": url}}
    if block.get("type") == "document":
        text = document_text(block)
        if text is not None:
            return {"text": text}
    raise Unsupported(f"{where}.source.type {kind!r}: Gemini takes base64 data or Google URIs")


# --- model turns --------------------------------------------------------------------------


def _model_parts(
    content: Any, keymaps: dict[str, KeyMap], where: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The model turn's parts and the canonical ids of its calls, in order."""
    if isinstance(content, str):
        return ([{"text": content}] if content else []), []
    parts: list[dict[str, Any]] = []
    ids: list[str] = []
    pending_sig: str | None = None  # a signature waiting for the part it belongs to
    for j, block in enumerate(content or ()):
        kind = block.get("type")
        if kind == "thinking":
            sig = signatures.payload_for(block.get("signature"), ORIGIN)
            if sig is None:
                continue  # another backend's reasoning, or unsigned text
            if pending_sig is not None:
                parts.append({"text": "", "thoughtSignature": pending_sig})
            text = block.get("thinking") or ""
            if text:
                parts.append({"text": text, "thought": True, "thoughtSignature": sig})
                pending_sig = None
            else:
                pending_sig = sig
            continue
        if kind == "text":
            text = block.get("text") or ""
            if not text and pending_sig is None:
                continue
            part: dict[str, Any] = {"text": text}
        elif kind == "tool_use":
            name = name_out(str(block.get("name") or ""))
            args = block.get("input")
            args = args if isinstance(args, dict) else {}
            call: dict[str, Any] = {
                "name": name,
                "args": rename_keys(args, keymaps.get(name), to_gemini=True),
            }
            tool_id = str(block.get("id") or "")
            ids.append(tool_id)
            gemini_id = call_id_out(tool_id)
            if gemini_id:
                call["id"] = gemini_id
            part = {"functionCall": call}
        elif kind == "redacted_thinking":
            continue
        else:
            raise Unsupported(f"{where}.content[{j}]: block type {kind!r} has no Gemini equivalent")
        if pending_sig is not None:
            part["thoughtSignature"] = pending_sig
            pending_sig = None
        parts.append(part)
    if pending_sig is not None:
        parts.append({"text": "", "thoughtSignature": pending_sig})
    return parts, ids


def _bypass_unsigned_calls(contents: list[dict[str, Any]]) -> None:
    """Give the first call of each call turn of the current turn the bypass signature when
    none of its calls has a signature (gemini.md §7: Gemini 3 rejects such a turn).

    The current turn starts after the last user content with text and no function response;
    counting from there errs towards more bypassed turns, never fewer.
    """
    start = 0
    for i in range(len(contents) - 1, -1, -1):
        parts = contents[i]["parts"]
        if (
            contents[i]["role"] == "user"
            and any("text" in p for p in parts)
            and not any("functionResponse" in p for p in parts)
        ):
            start = i + 1
            break
    for content in contents[start:]:
        if content["role"] != "model":
            continue
        calls = [p for p in content["parts"] if "functionCall" in p]
        if calls and not any("thoughtSignature" in p for p in calls):
            calls[0]["thoughtSignature"] = BYPASS
