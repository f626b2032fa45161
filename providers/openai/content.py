"""Anthropic content blocks (images, documents, tool-result content) as OpenAI content parts."""

from __future__ import annotations

from typing import Any

from ccrelay.core.canonical import (
    EMPTY_RESULT,
    document_text,
    error_text,
    image_url,
    tool_result_content,
)
from ccrelay.core.errors import Unsupported


def result_content(block: dict[str, Any], where: str) -> tuple[str, list[dict[str, Any]]]:
    """The text of a tool result (error-marked, never empty) and the images it holds."""
    text, images = tool_result_content(block, where, _result_part)
    if block.get("is_error"):
        text = error_text(text)
    elif not text:
        text = "(no text output; see the images that follow)" if images else EMPTY_RESULT
    return text, images


def _result_part(block: dict[str, Any], where: str) -> str | dict[str, Any]:
    if block.get("type") == "image":
        return image_part(block, where)
    doc = document_part(block, where)
    return doc["text"] if doc["type"] == "text" else doc


def image_part(block: dict[str, Any], where: str) -> dict[str, Any]:
    """An ``image_url`` part for a base64 or url image block."""
    return {"type": "image_url", "image_url": {"url": image_url(block, where)}}


def document_part(block: dict[str, Any], where: str) -> dict[str, Any]:
    """A ``file`` part for a base64 document, a text part for text/content documents."""
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "base64":
        return {
            "type": "file",
            "file": {
                "filename": block.get("title") or "document.pdf",
                "file_data": f"data:{source.get('media_type', 'application/pdf')};base64,"
                f"{source.get('data', '')}",
            },
        }
    text = document_text(block)
    if text is None:
        raise Unsupported(f"{where}.source.type {kind!r}: only base64, text and content documents")
    return {"type": "text", "text": text}
