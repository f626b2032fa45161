"""Reasoning items and canonical thinking blocks: readable text both ways, opaque state carried.

A Responses client keeps a backend's opaque reasoning state in a reasoning item's
``encrypted_content`` and sends it back on the next turn (Codex does, with ``store: false``
and ``include: ["reasoning.encrypted_content"]``). ccrelay uses that slot for every backend:

| canonical block | ``encrypted_content`` sent to the client |
|---|---|
| ``thinking``, signature made by a Responses backend (``ccrelay:openai_responses:<p>``) | ``<p>``, unchanged, so the backend gets its own state back |
| ``thinking`` with any other signature (Anthropic's raw one, ``ccrelay:gemini:...``) or none | ``ccrelay.v1:`` + base64 of the block as JSON (text and signature) |
| ``redacted_thinking`` | ``ccrelay.v1:`` + base64 of the block as JSON |

On the way back a ``ccrelay.v1:`` value becomes the exact block it came from (an Anthropic
backend validates the thinking text and signature byte for byte); any other value is a
Responses backend's state and becomes the signature ``ccrelay:openai_responses:<value>``
(``core/signatures.py``). The thinking text is also shown as the item's one ``summary_text``
part; an item without ``encrypted_content`` becomes an unsigned thinking block of its summary
(or ``reasoning_text`` content) text.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from ccrelay.core import signatures
from ccrelay.core.errors import InvalidRequest
from ccrelay.core.jsonutil import JSONDecodeError, dumps, loads
from ccrelay.core.types import ContentBlock

#: the origin of state a Responses backend made (its strategy's ``protocol``)
ORIGIN = "openai_responses"
#: marks an ``encrypted_content`` that ccrelay wrapped around another backend's block
WRAP = "ccrelay.v1:"


def encrypted_for(block: dict[str, Any]) -> str | None:
    """The ``encrypted_content`` that carries ``block`` (a thinking or redacted_thinking block)
    through the client, or None when there is nothing to carry."""
    if block.get("type") == "thinking":
        signature = block.get("signature") or ""
        own = signatures.payload_for(signature, ORIGIN)
        if own is not None:
            return own
        if not signature and not block.get("thinking"):
            return None
        carried: dict[str, Any] = {"type": "thinking", "thinking": block.get("thinking") or ""}
        if signature:
            carried["signature"] = signature
    else:
        carried = {"type": "redacted_thinking", "data": block.get("data") or ""}
    return WRAP + base64.b64encode(dumps(carried)).decode("ascii")


def summary_text(item: dict[str, Any]) -> str:
    """The readable text of a reasoning item: its summary parts, else its reasoning content."""
    parts = item.get("summary") or item.get("content") or ()
    return "\n\n".join(p["text"] for p in parts if p.get("text"))


def blocks_from_item(item: dict[str, Any], where: str) -> list[ContentBlock]:
    """The canonical blocks of one reasoning input item (none when it carries nothing)."""
    encrypted = item.get("encrypted_content")
    if encrypted and encrypted.startswith(WRAP):
        return [_unwrap(encrypted, where)]
    text = summary_text(item)
    if encrypted:
        return [
            {"type": "thinking", "thinking": text, "signature": signatures.tag(ORIGIN, encrypted)}
        ]
    if text:
        return [{"type": "thinking", "thinking": text}]
    return []


def is_wrapped(item: dict[str, Any]) -> bool:
    """Whether a reasoning item carries another backend's state (never for a Responses one)."""
    encrypted = item.get("encrypted_content")
    return isinstance(encrypted, str) and encrypted.startswith(WRAP)


def _unwrap(encrypted: str, where: str) -> ContentBlock:
    try:
        block = loads(base64.b64decode(encrypted[len(WRAP) :], validate=True))
    except (binascii.Error, ValueError, JSONDecodeError):
        block = None
    if isinstance(block, dict):
        kind = block.get("type")
        if kind == "thinking" and isinstance(block.get("thinking"), str):
            sig = block.get("signature")
            if sig is None or isinstance(sig, str):
                return block  # type: ignore[return-value]
        if kind == "redacted_thinking" and isinstance(block.get("data"), str):
            return block  # type: ignore[return-value]
    raise InvalidRequest(
        f"{where}.encrypted_content: it starts with ccrelay's marker {WRAP!r} but does not "
        "decode; send reasoning items back exactly as ccrelay returned them",
        param=f"{where}.encrypted_content",
    )
