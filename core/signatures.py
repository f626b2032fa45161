"""Opaque reasoning state (thinking signatures) across backends: who made it, and who may see it.

Backends hand out opaque state that must come back unchanged on the next turn: Anthropic's
thinking ``signature``, Gemini's ``thoughtSignature``, OpenAI Responses' reasoning
``encrypted_content``. In the canonical form it all travels as the ``signature`` of a
``thinking`` block, tagged with its origin so that no backend ever receives another's:

- Anthropic's own signatures are kept as they are (the canonical form is Anthropic's, and
  Claude Code to Anthropic must stay byte-identical);
- every other origin is ``ccrelay:<origin>:<payload>``, where ``<origin>`` is the ``protocol``
  of the strategy that produced it (``gemini``, ``openai_responses``).

A thinking block whose text is empty and whose signature is tagged carries state that
belongs to the *next* block (Gemini signs a ``functionCall`` part, or a text part): a
strategy of that origin puts it back on that part. Strategies drop thinking blocks of other
origins; client dialects that have a place for opaque strings (Gemini's ``thoughtSignature``,
Responses' ``encrypted_content``) carry the tagged form, and those that have none keep it in
a ``core/vault.py`` store keyed by the tool call it precedes.
"""

from __future__ import annotations

ANTHROPIC = "anthropic"
_PREFIX = "ccrelay:"


def tag(origin: str, payload: str) -> str:
    """The canonical signature for ``payload`` made by a backend of protocol ``origin``."""
    if origin == ANTHROPIC:
        return payload
    return f"{_PREFIX}{origin}:{payload}"


def split(signature: str) -> tuple[str, str]:
    """``(origin, payload)`` of a canonical signature (untagged ones are Anthropic's)."""
    if signature.startswith(_PREFIX):
        origin, sep, payload = signature[len(_PREFIX) :].partition(":")
        if sep:
            return origin, payload
    return ANTHROPIC, signature


def payload_for(signature: str | None, origin: str) -> str | None:
    """The payload of ``signature`` if it was made by ``origin``, else None."""
    if not signature:
        return None
    made_by, payload = split(signature)
    return payload if made_by == origin else None
