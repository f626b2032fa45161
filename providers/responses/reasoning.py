"""Reasoning items <-> canonical thinking blocks, with their encrypted state as the signature.

With ``store: false`` a Responses upstream keeps nothing between turns: the chain of thought of
a tool loop survives only if each reasoning item comes back, by value, in the next request's
``input`` (openai-responses.md §3). A reasoning item becomes a canonical ``thinking`` block
whose text is the item's summary and whose ``signature`` is the tagged payload
(``core/signatures.py``)::

    ccrelay:openai_responses:{"enc":"<encrypted_content>","src":"<8 hex>","summary":["..."]}

- ``enc``: the item's ``encrypted_content``, opaque, returned unchanged;
- ``src``: a short hash of the provider's ``base_url`` (and of the key, when the provider has
  several, which may belong to different organisations): encrypted content only verifies at
  the organisation that made it (``invalid_encrypted_content``, a 400, otherwise), so a
  reasoning item is replayed only to the upstream that produced it and dropped when a
  fallback provider of the same protocol, or another of its keys, answers the next turn
  (the chain of thought is lost for that turn, the request still succeeds);
- ``summary``: the summary texts exactly as received (the thinking text is their join, which a
  client may show or trim; the replayed item must be the original).

The item ``id`` is not kept: like Codex, ccrelay replays reasoning (and function calls) without
item ids, which a ``store: false`` upstream could not resolve anyway. An item without
``encrypted_content`` cannot be replayed and gets no signature.
"""

from __future__ import annotations

import hashlib
from typing import Any

from ccrelay.core import signatures
from ccrelay.core.config import ProviderConfig
from ccrelay.core.jsonutil import JSONDecodeError, dumps_str, loads
from ccrelay.core.types import ThinkingBlock

ORIGIN = "openai_responses"


def source_of(base_url: str, key: str = "") -> str:
    """The short identity of an upstream that ``src`` records: 32 bits of a hash, which
    tells nothing usable about the key."""
    seed = base_url.rstrip("/") + ("\n" + key if key else "")
    return hashlib.blake2b(seed.encode(), digest_size=4).hexdigest()


def source_for(provider: ProviderConfig) -> str:
    """``source_of`` for a provider: its URL, plus the key when it rotates several."""
    several = len(provider.api_keys) > 1
    return source_of(provider.base_url, provider.api_key if several else "")


def summary_texts(item: dict[str, Any]) -> list[str]:
    """The texts of a reasoning item's ``summary`` parts, in order."""
    return [
        p["text"]
        for p in item.get("summary") or ()
        if isinstance(p, dict) and isinstance(p.get("text"), str)
    ]


def thinking_text(item: dict[str, Any]) -> str:
    """What a reader sees of the reasoning: the summary, else the raw reasoning text that
    open-weight models (gpt-oss) stream as ``reasoning_text`` content."""
    summary = summary_texts(item)
    if summary:
        return "\n\n".join(summary)
    return "".join(
        p["text"]
        for p in item.get("content") or ()
        if isinstance(p, dict) and isinstance(p.get("text"), str)
    )


def signature_for(item: dict[str, Any], source: str) -> str:
    """The canonical signature carrying ``item``'s encrypted state ("" when it has none)."""
    enc = item.get("encrypted_content")
    if not isinstance(enc, str) or not enc:
        return ""
    payload: dict[str, Any] = {"enc": enc, "src": source}
    summary = summary_texts(item)
    if summary:
        payload["summary"] = summary
    return signatures.tag(ORIGIN, dumps_str(payload))


def block_from(item: dict[str, Any], source: str) -> ThinkingBlock | None:
    """The thinking block for a finished reasoning item; None when it has neither text nor
    state (nothing to show, nothing to return)."""
    text = thinking_text(item)
    signature = signature_for(item, source)
    if not text and not signature:
        return None
    return {"type": "thinking", "thinking": text, "signature": signature}


def replay_item(signature: Any, source: str) -> dict[str, Any] | None:
    """The reasoning input item for a canonical signature, or None when the signature was
    made by another backend, by another upstream of this protocol, or is damaged."""
    payload = signatures.payload_for(signature if isinstance(signature, str) else None, ORIGIN)
    if payload is None:
        return None
    try:
        data = loads(payload)
    except JSONDecodeError:
        return None
    if not isinstance(data, dict) or data.get("src") != source:
        return None
    enc = data.get("enc")
    if not isinstance(enc, str) or not enc:
        return None
    summary = data.get("summary") or []
    return {
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": t} for t in summary if isinstance(t, str)],
        "encrypted_content": enc,
    }
