"""Thought signatures between Gemini clients and every backend (``core/signatures.py``).

A Gemini client keeps opaque state only in ``thoughtSignature`` on a part, and sends it back
on the same part next turn. Gemini CLI drops ``thought`` parts from its history but keeps the
signature of a ``functionCall`` part (adding the dummy ``skip_thought_signature_validator``
when one is missing), so state that must survive the round trip rides on the part a thinking
block *precedes*:

| canonical block(s) | what the client sees |
|---|---|
| thinking, Gemini-origin signature, with text | a ``thought`` part carrying the raw signature |
| thinking, Gemini-origin signature, empty text | the raw signature on the next part (or a trailing ``{"text": ""}``) |
| thinking of any other origin (Anthropic, Responses), signed or not; redacted_thinking | the text as a ``thought`` part when thoughts are asked for; all of those blocks, whole, as one *bundle* on the next part |

A bundle is base64 of ``ccrelay-thinking-1`` + zlib(JSON of the blocks). It must be base64:
google-genai types ``thoughtSignature`` as bytes, rejects anything else, and sends it back
URL-safe with padding; the 18-byte marker encodes to the same 24 characters in both
alphabets, so a bundle is recognised whichever way it returns.

On the way in, a bundle restores its canonical blocks exactly (Anthropic's raw signature
with its thinking text, a Responses item, DeepSeek's reasoning), so an Anthropic backend gets
its signed thinking back in a tool loop; any other client signature is Gemini's and is tagged
``ccrelay:gemini:<raw>``, so only a Gemini backend ever receives it.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import Any

from ccrelay.core import signatures
from ccrelay.core.errors import InvalidRequest
from ccrelay.core.jsonutil import JSONDecodeError, dumps, loads

GEMINI = "gemini"
_MAGIC = b"ccrelay-thinking-1"
BUNDLE = base64.b64encode(_MAGIC).decode()  # "Y2NyZWxheS10aGlua2luZy0x", no "+" or "/"


def origin_of(signature: str | None) -> str | None:
    """The origin of a canonical signature, None when there is none."""
    return signatures.split(signature)[0] if signature else None


def gemini_payload(signature: str | None) -> str | None:
    """The raw Gemini signature inside a canonical one made by a Gemini backend."""
    return signatures.payload_for(signature, GEMINI)


def bundle(blocks: list[dict[str, Any]]) -> str:
    """One ``thoughtSignature`` value carrying canonical thinking blocks whole."""
    return base64.b64encode(_MAGIC + zlib.compress(dumps(blocks), 6)).decode("ascii")


def is_bundle(value: str) -> bool:
    return value.startswith(BUNDLE)


def unbundle(value: str, where: str) -> list[dict[str, Any]]:
    """The canonical blocks a bundle carries (base64 of either alphabet, padded or not).

    :raises InvalidRequest: for a bundle ccrelay did not make (or one that was cut).
    """
    text = value.replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        blocks = loads(zlib.decompress(raw[len(_MAGIC) :]))
    except (binascii.Error, ValueError, zlib.error, JSONDecodeError):
        blocks = None
    if not isinstance(blocks, list) or not all(map(_valid_block, blocks)):
        raise InvalidRequest(
            f"{where}: this thoughtSignature starts like one ccrelay made but does not decode; "
            "send signatures back exactly as received, or remove the part's thoughtSignature",
            param=where,
        )
    return blocks


def from_client(value: str) -> str:
    """The canonical signature for a raw signature a client sent (not a bundle)."""
    return signatures.tag(GEMINI, value)


def _valid_block(block: Any) -> bool:
    if not isinstance(block, dict):
        return False
    kind = block.get("type")
    if kind == "thinking":
        return isinstance(block.get("thinking"), str) and isinstance(
            block.get("signature", ""), str
        )
    return kind == "redacted_thinking" and isinstance(block.get("data"), str)
