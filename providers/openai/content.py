"""Anthropic content blocks (images, documents, tool-result content) as OpenAI content parts."""

from __future__ import annotations

from typing import Any

from ccrelay.core.errors import InvalidRequest, Unsupported

_EMPTY_RESULT = "(no output)"


def result_content(block: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
    """The text of a tool result (error-marked, never empty) and the images it holds."""
    content = block.get("content")
    texts: list[str] = []
    images: list[dict[str, Any]] = []
    if isinstance(content, str):
        texts.append(content)
    else:
        for j, part in enumerate(content or ()):
            kind = part.get("type")
            if kind == "text":
                texts.append(part.get("text") or "")
            elif kind == "image":
                images.append(image_part(part, f"{where}.content[{j}]"))
            elif kind == "search_result":
                inner = "\n".join(p.get("text", "") for p in part.get("content") or ())
                texts.append(f"{part.get('title', '')} ({part.get('source', '')})\n{inner}")
            elif kind == "document":
                doc = document_part(part, f"{where}.content[{j}]")
                if doc["type"] == "text":
                    texts.append(doc["text"])
                else:
                    images.append(doc)
            else:
                raise Unsupported(f"{where}.content[{j}]: {kind!r} cannot go in a tool result")
    text = "\n".join(t for t in texts if t)
    if block.get("is_error"):
        if not text.lower().startswith("error"):
            text = f"Error: {text}" if text else "Error: the tool failed without output"
    elif not text:
        text = "(no text output; see the images that follow)" if images else _EMPTY_RESULT
    return text, images


def image_part(block: dict[str, Any], where: str) -> dict[str, Any]:
    """An ``image_url`` part for a base64 or url image block."""
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64":
        if not source.get("data") or not source.get("media_type"):
            raise InvalidRequest(f"{where}.source: base64 images need media_type and data")
        url = f"data:{source['media_type']};base64,{source['data']}"
    elif kind == "url" and source.get("url"):
        url = source["url"]
    else:
        raise Unsupported(f"{where}.source.type {kind!r}: only base64 and url images can be sent")
    return {"type": "image_url", "image_url": {"url": url}}


def document_part(block: dict[str, Any], where: str) -> dict[str, Any]:
    """A ``file`` part for a base64 document, a text part for text/content documents."""
    source = block.get("source") or {}
    kind = source.get("type")
    title = block.get("title")
    if kind == "base64":
        return {
            "type": "file",
            "file": {
                "filename": title or "document.pdf",
                "file_data": f"data:{source.get('media_type', 'application/pdf')};base64,"
                f"{source.get('data', '')}",
            },
        }
    if kind == "text":
        text = source.get("data") or ""
    elif kind == "content":
        inner = source.get("content")
        text = (
            inner
            if isinstance(inner, str)
            else "\n".join(p.get("text", "") for p in inner or () if p.get("type") == "text")
        )
    else:
        raise Unsupported(f"{where}.source.type {kind!r}: only base64, text and content documents")
    return {"type": "text", "text": f"{title}\n\n{text}" if title else text}
