"""Ids ccrelay mints for responses and output items, and how it recognises them coming back.

Minted ids carry a ``ccr`` mark after the usual prefix (``resp_ccr…``, ``msg_ccr…``,
``fc_ccr…``, ``ctc_ccr…``, ``rs_ccr…``). They mean nothing to a real Responses backend, which
rejects unknown item ids, so the items of the side field (``request.py``) lose them.
"""

from __future__ import annotations

import uuid
from typing import Any

from .reasoning import is_wrapped

_MARK = "_ccr"


def new_id(prefix: str) -> str:
    """``<prefix>_ccr<32 hex digits>``."""
    return f"{prefix}{_MARK}{uuid.uuid4().hex}"


def is_minted(value: Any) -> bool:
    return isinstance(value, str) and _MARK in value[:8]


def side_item(item: Any) -> Any | None:
    """``item`` as a Responses backend may receive it: None for a reasoning item carrying
    another backend's state, a copy without ``id`` when ccrelay minted the id."""
    if type(item) is not dict:
        return item
    if item.get("type") == "reasoning" and is_wrapped(item):
        return None
    if is_minted(item.get("id")):
        return {k: v for k, v in item.items() if k != "id"}
    return item
