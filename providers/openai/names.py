"""Tool-name and tool-call-id transforms that make Anthropic values legal for OpenAI and back.

Both transforms are pure functions of their input (prefix + hash), so a call and its result
always map to the same value. To map names back in answers, ``renames`` lists the renamed
tools of one request; the provider keeps it in that request's ``RequestContext.state``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from ccrelay.core.canonical import legal_name

_LEGAL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_LEGAL_ID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
_ILLEGAL = re.compile(r"[^a-zA-Z0-9_-]")


def _digest(value: str, size: int) -> str:
    return hashlib.blake2b(value.encode(), digest_size=8).hexdigest()[:size]


def tool_name_out(name: str) -> str:
    """A name OpenAI accepts (``^[a-zA-Z0-9_-]{1,64}$``); legal names are unchanged."""
    return legal_name(name, 64)


def renames(names: Iterable[str]) -> dict[str, str]:
    """``{sent name: client name}`` for the names ``tool_name_out`` changes (usually none)."""
    return {out: name for name in names if (out := tool_name_out(name)) != name}


def tool_id_out(tool_id: str) -> str:
    """A call id OpenAI accepts (≤ 40 chars of ``[a-zA-Z0-9_-]``); legal ids are unchanged."""
    if _LEGAL_ID.match(tool_id):
        return tool_id
    return f"{_ILLEGAL.sub('_', tool_id)[:23]}_{_digest(tool_id, 16)}"


def tool_id_in(tool_id: object, fallback_seed: str) -> str:
    """An id the Anthropic client accepts (``^[a-zA-Z0-9_-]+$``) for an upstream call id.

    Vendors send ids such as ``functions.get_weather:0`` or none at all; those become
    sanitised or synthesised ids (``toolu_`` + hash of ``fallback_seed``).
    """
    if isinstance(tool_id, str) and tool_id:
        if _LEGAL_NAME.match(tool_id) or not _ILLEGAL.search(tool_id):
            return tool_id
        return _ILLEGAL.sub("_", tool_id)
    return f"toolu_{_digest(fallback_seed, 16)}"
