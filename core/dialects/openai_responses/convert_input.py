"""Responses input items to canonical system blocks and messages.

| input item | canonical |
|---|---|
| message, role ``system`` / ``developer``, before any other item | text blocks of ``system`` (after ``instructions``) |
| message, role ``system`` / ``developer``, later | a ``role: "system"`` message at that place (each strategy decides what its upstream takes) |
| message, role ``user`` | a user message; ``input_text`` / ``output_text`` / ``refusal`` parts as text, ``input_image`` as an image (data URL: base64, https: url), ``input_file`` as a document (PDF base64, text, URL) |
| message, role ``assistant`` | assistant text blocks (``output_text``, ``refusal``, ``input_text``) |
| ``function_call`` | a ``tool_use`` block (``id`` = ``call_id``, ``input`` = the parsed ``arguments``; a ``namespace`` named as ``tools.py`` names the tool) |
| ``additional_tools`` | no message: its tools are declarations (``tools.py``) |
| ``custom_tool_call`` | a ``tool_use`` block with ``input = {"input": <input>}`` |
| ``function_call_output`` / ``custom_tool_call_output`` | a ``tool_result`` block (string output, or text/image/document blocks), placed before any other block of its user turn |
| ``reasoning`` | ``thinking`` / ``redacted_thinking`` blocks (``reasoning.py``) |
| hosted-tool items (``web_search_call``, ``tool_search_call``, ``compaction`` ...) and unknown types | left out with a warning line and the ``x-ccrelay-omitted-items`` header (option ``hosted_tools: reject``: a 400); a Responses backend receives them in the side field |
| ``item_reference`` | rejected: ccrelay keeps no items by id (use ``previous_response_id``) |
| image ``detail``, item ``id`` / ``status``, ``annotations`` | dropped for other backends (kept in the side field) |
| ``file_id`` (images, files), ``input_audio`` | rejected: OpenAI's stored files and audio input cannot reach other backends |

Items of the same role are merged into one message (an Anthropic turn), consecutive
system/developer messages into one. Messages taken over from a stored conversation are copied
before anything is merged into them, so the store is never changed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any

from ccrelay.core.errors import InvalidRequest, Unsupported
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.types import ContentBlock, Message, TextBlock

from .reasoning import blocks_from_item
from .tools import canonical_name

_MEDIA_BY_SUFFIX = {".pdf": "application/pdf", ".txt": "text/plain", ".md": "text/markdown",
                    ".csv": "text/csv", ".json": "text/plain", ".html": "text/html"}  # fmt: skip


class Conversation:
    """Canonical ``system`` blocks and ``messages`` grown item by item.

    :param system: system blocks taken over from a stored conversation.
    :param messages: messages taken over from a stored conversation (never modified).
    :param reject_hosted: hosted-tool items are a 400 instead of being left out.
    """

    def __init__(
        self,
        system: Iterable[TextBlock] = (),
        messages: Iterable[Message] = (),
        *,
        reject_hosted: bool = False,
    ) -> None:
        self.system: list[TextBlock] = list(system)
        self.messages: list[Message] = list(messages)
        self.omitted: list[str] = []  # types of the items left out, each once
        self._reject_hosted = reject_hosted
        self._owned = -1  # index of the message this conversation made last (ours to extend)

    def add(self, items: Iterable[Any], where: str = "input") -> None:
        """Convert ``items`` (validated by ``spec.ITEM``) in order."""
        for i, item in enumerate(items):
            self._item(item, f"{where}.{i}")

    # --- items ----------------------------------------------------------------------------

    def _item(self, item: dict[str, Any], where: str) -> None:
        kind = item.get("type", "message")
        if kind == "message":
            self._message(item, where)
        elif kind == "function_call":
            args = _arguments(item["arguments"], where)
            name = canonical_name(item["name"], item.get("namespace"))
            self._content("assistant").append(
                {"type": "tool_use", "id": item["call_id"], "name": name, "input": args}
            )
        elif kind == "custom_tool_call":
            self._content("assistant").append({
                "type": "tool_use", "id": item["call_id"],
                "name": canonical_name(item["name"], item.get("namespace")),
                "input": {"input": item["input"]},
            })  # fmt: skip
        elif kind == "additional_tools":
            pass  # tool declarations: tools.py reads them
        elif kind in ("function_call_output", "custom_tool_call_output"):
            self._result(item, where)
        elif kind == "reasoning":
            blocks = blocks_from_item(item, where)
            if blocks:
                self._content("assistant").extend(blocks)
        elif kind == "item_reference":
            raise InvalidRequest(
                f"{where}: item_reference needs items stored by id, and ccrelay keeps none; "
                "send the item itself, or continue with previous_response_id",
                param=where,
            )
        elif self._reject_hosted:
            raise InvalidRequest(
                f"{where}: a {kind!r} item belongs to a hosted tool (or a type ccrelay does not "
                "know) and this relay's backends cannot take it; remove it (or set "
                "dialects.openai_responses.hosted_tools: drop to have it left out)",
                param=where,
            )
        elif kind not in self.omitted:
            self.omitted.append(kind)

    def _message(self, item: dict[str, Any], where: str) -> None:
        role = item["role"]
        content = item["content"]
        if role in ("system", "developer"):
            texts = _texts(content, f"{where}.content")
            if not texts:
                return
            if not self.messages:
                self.system.extend(texts)
            else:
                self._content("system").extend(texts)
            return
        blocks = _blocks(content, f"{where}.content", images=role == "user")
        if blocks:
            self._content(role).extend(blocks)

    def _result(self, item: dict[str, Any], where: str) -> None:
        output = item["output"]
        block: dict[str, Any] = {"type": "tool_result", "tool_use_id": item["call_id"]}
        if isinstance(output, str):
            block["content"] = output
        else:
            block["content"] = _blocks(output, f"{where}.output", images=True) or ""
        content = self._content("user")
        n = 0
        while n < len(content) and content[n].get("type") == "tool_result":
            n += 1
        content.insert(n, block)  # type: ignore[arg-type]

    def _content(self, role: str) -> list[ContentBlock]:
        """The content list of the last message if it has ``role`` (copied first if it came
        from the store), else of a new message."""
        messages = self.messages
        if messages and messages[-1]["role"] == role:
            last = messages[-1]
            if self._owned == len(messages) - 1:
                return last["content"]  # type: ignore[return-value]
            content = last["content"]
            copied: list[ContentBlock] = (
                list(content) if isinstance(content, list) else [{"type": "text", "text": content}]
            )
            messages[-1] = {"role": last["role"], "content": copied}
            self._owned = len(messages) - 1
            return copied
        fresh: list[ContentBlock] = []
        messages.append({"role": role, "content": fresh})  # type: ignore[typeddict-item]
        self._owned = len(messages) - 1
        return fresh


# --- content parts ---------------------------------------------------------------------------


def _texts(content: Any, where: str) -> list[TextBlock]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[TextBlock] = []
    for j, part in enumerate(content):
        text = _part_text(part)
        if text is None:
            raise Unsupported(
                f"{where}.{j}: a system or developer message can only hold text",
                param=f"{where}.{j}",
            )
        if text:
            out.append({"type": "text", "text": text})
    return out


def _part_text(part: dict[str, Any]) -> str | None:
    kind = part["type"]
    if kind in ("input_text", "output_text"):
        return str(part["text"])
    if kind == "refusal":
        return str(part["refusal"])
    return None


def _blocks(content: Any, where: str, *, images: bool) -> list[ContentBlock]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    out: list[ContentBlock] = []
    for j, part in enumerate(content):
        at = f"{where}.{j}"
        text = _part_text(part)
        if text is not None:
            if text:
                out.append({"type": "text", "text": text})
            continue
        kind = part["type"]
        if kind == "input_audio":
            raise Unsupported(f"{at}: audio input has no equivalent at this relay's backends",
                              param=at)  # fmt: skip
        if not images:
            raise Unsupported(f"{at}: an assistant message can only hold text", param=at)
        out.append(_image(part, at) if kind == "input_image" else _file(part, at))  # type: ignore[arg-type]
    return out


def _image(part: dict[str, Any], where: str) -> dict[str, Any]:
    url = part.get("image_url")
    if not url:
        if part.get("file_id"):
            raise Unsupported(
                f"{where}.file_id: OpenAI file ids cannot be resolved by this relay; send the "
                "image as image_url (a data: URL or an https URL)",
                param=f"{where}.file_id",
            )
        raise InvalidRequest(f"{where}: an input_image needs an image_url", param=where)
    if url.startswith("data:"):
        media, data = _data_url(url, f"{where}.image_url")
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    if url.startswith(("https://", "http://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    raise InvalidRequest(
        f"{where}.image_url: expected a data: URL or an http(s) URL", param=f"{where}.image_url"
    )


def _file(part: dict[str, Any], where: str) -> dict[str, Any]:
    name = part.get("filename")
    data = part.get("file_data")
    if data:
        if data.startswith("data:"):
            media, b64 = _data_url(data, f"{where}.file_data")
        else:
            suffix = name[name.rfind(".") :].lower() if name and "." in name else ""
            media, b64 = _MEDIA_BY_SUFFIX.get(suffix, "application/pdf"), data
        if media == "application/pdf":
            source: dict[str, Any] = {"type": "base64", "media_type": media, "data": b64}
        elif media.startswith("text/") or media == "application/json":
            source = {"type": "text", "media_type": "text/plain",
                      "data": _decode_text(b64, f"{where}.file_data")}  # fmt: skip
        else:
            raise Unsupported(
                f"{where}.file_data: {media} files cannot be sent to this relay's backends "
                "(PDF and text files can)",
                param=f"{where}.file_data",
            )
    elif part.get("file_url"):
        source = {"type": "url", "url": part["file_url"]}
    elif part.get("file_id"):
        raise Unsupported(
            f"{where}.file_id: OpenAI file ids cannot be resolved by this relay; send the file "
            "as file_data (a data: URL)",
            param=f"{where}.file_id",
        )
    else:
        raise InvalidRequest(f"{where}: an input_file needs file_data or file_url", param=where)
    block: dict[str, Any] = {"type": "document", "source": source}
    if name:
        block["title"] = name
    return block


def _data_url(url: str, where: str) -> tuple[str, str]:
    header, sep, data = url[5:].partition(",")
    if not sep or not header.endswith(";base64") or not data:
        raise InvalidRequest(
            f"{where}: expected a base64 data URL (data:<media type>;base64,<data>)", param=where
        )
    return header[:-7] or "application/octet-stream", data


def _decode_text(b64: str, where: str) -> str:
    try:
        return base64.b64decode(b64, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidRequest(f"{where}: not base64-encoded UTF-8 text", param=where) from None


def _arguments(raw: str, where: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = loads(raw)
    except JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise InvalidRequest(
            f"{where}.arguments: expected a JSON object in a string, got {raw[:80]!r}; "
            "send the arguments the model produced",
            param=f"{where}.arguments",
        )
    return value
