"""Tool call ids for a protocol that has none: deterministic, so every turn agrees on them.

Classic Ollama clients send tool calls back without ids and answer them by ``tool_name`` and
order; the canonical form needs an id on every ``tool_use`` and ``tool_result``. The id of a
call is derived from what the client does send back, so it comes out the same when the
history returns on the next turn (and the thinking kept for it in the vault is found again):

    call_ + 8 base-36 characters of blake2b(name, arguments as sorted JSON, index in message)

Ids are made in history order; a call identical to an earlier one (same name, arguments and
index) takes the next free variant, so ids within one conversation never collide. The answer's
new calls continue from the ids the request used, which is exactly what the next turn's walk
over the longer history computes. The shape matches Ollama's own ids (``call_`` + 8 lower-case
letters or digits), so the ids ccrelay sends to id-aware clients look like Ollama's.

Trimming the front of a history can shift a variant number only when an identical call was
trimmed; the cost is a missed vault lookup, never a wrong pairing inside one request.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

import orjson

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_ILLEGAL = re.compile(r"[^A-Za-z0-9_-]")


def _base36(data: bytes, n: int = 8) -> str:
    value = int.from_bytes(data, "big")
    out = []
    for _ in range(n):
        value, r = divmod(value, 36)
        out.append(_DIGITS[r])
    return "".join(out)


def _digest(name: str, args: Mapping[str, Any], index: int, variant: int) -> str:
    try:
        canon = orjson.dumps(args, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:  # not JSON-able (cannot come from a JSON body); hash its repr
        canon = repr(args).encode()
    h = hashlib.blake2b(digest_size=10)
    h.update(name.encode("utf-8", "replace"))
    h.update(b"\0")
    h.update(canon)
    h.update(b"\0%d\0%d" % (index, variant))
    return "call_" + _base36(h.digest())


def call_id(name: str, args: Mapping[str, Any], index: int, used: set[str]) -> str:
    """The id of a call at ``index`` in its message, not in ``used``; it is added there."""
    variant = 0
    cid = _digest(name, args, index, variant)
    while cid in used:
        variant += 1
        cid = _digest(name, args, index, variant)
    used.add(cid)
    return cid


def clean_id(client_id: str) -> str:
    """A client-sent id made valid for every backend (``[A-Za-z0-9_-]``, at most 40
    characters); the same transform applies to the ``tool_call_id`` that answers it."""
    return _ILLEGAL.sub("_", client_id)[:40] or "call_"
