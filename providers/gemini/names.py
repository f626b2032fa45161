"""Function names, call ids and property names made legal for Gemini, and mapped back.

- Function names: Gemini takes ``^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$``; Anthropic allows names
  of up to 128 characters starting with a digit or ``-``. ``name_out`` is a pure function
  (prefix + hash), so a declaration and the calls in the history always agree; ``renames``
  lists one request's changed names so answers name the tools the client's way.
- Call ids: Gemini usually gives none. ``call_id_in`` keeps an id Gemini gave and otherwise
  makes one, ``toolu_gemini_<hash>``, from the response id and the call's position, so the
  same answer always gets the same ids. ``call_id_out`` never sends a made-up id back; other
  ids (Gemini's own, or those a client made, as Gemini CLI does) go back unchanged.
- Property names: the ``parameters`` subset wants ``^[A-Za-z_][A-Za-z0-9_]{0,63}$``; Claude
  Code's Grep tool has ``-A``, ``-n`` ... A ``KeyMap`` records the renames of one schema, and
  ``rename_keys`` applies them to a call's arguments in either direction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_LEGAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$")
_ILLEGAL_NAME = re.compile(r"[^A-Za-z0-9_.:-]")
_LEGAL_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_ILLEGAL_KEY = re.compile(r"[^A-Za-z0-9_]")
_LEGAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SYNTHETIC_PREFIX = "toolu_gemini_"


def _digest(value: str, size: int) -> str:
    return hashlib.blake2b(value.encode(), digest_size=8).hexdigest()[:size]


# --- function names -----------------------------------------------------------------------


def name_out(name: str) -> str:
    """A function name Gemini accepts; legal names are unchanged."""
    if _LEGAL_NAME.match(name):
        return name
    clean = _ILLEGAL_NAME.sub("_", name)
    if not clean[:1].isalpha() and clean[:1] != "_":
        clean = "_" + clean
    return f"{clean[:53]}_{_digest(name, 10)}"


def renames(names: Iterable[str]) -> dict[str, str]:
    """``{sent name: client name}`` for the names ``name_out`` changes (usually none)."""
    return {out: name for name in names if (out := name_out(name)) != name}


# --- call ids -----------------------------------------------------------------------------


def call_id_in(given: Any, seed: str) -> str:
    """The canonical id of a function call: Gemini's own when it gave a usable one, else one
    made from ``seed`` (response id + position: the same answer gets the same ids)."""
    if isinstance(given, str) and _LEGAL_ID.match(given):
        return given
    return SYNTHETIC_PREFIX + _digest(seed, 16)


def call_id_out(tool_use_id: str) -> str | None:
    """The id to send Gemini for a call of the history: None for ids ccrelay made up."""
    if not tool_use_id or tool_use_id.startswith(SYNTHETIC_PREFIX):
        return None
    return tool_use_id


# --- property names -----------------------------------------------------------------------


@dataclass
class KeyMap:
    """Property renames of one schema level: ``sent name -> (original, nested map)``;
    ``items`` for an array's elements. Built only for schemas with something renamed."""

    props: dict[str, tuple[str, KeyMap | None]] = field(default_factory=dict)
    items: KeyMap | None = None


def legal_keys(names: Iterable[str]) -> dict[str, str]:
    """``{original: sent}`` for one object's property names (legal ones unchanged; no two
    originals ever share a sent name)."""
    names = list(names)
    taken = {n for n in names if _LEGAL_KEY.match(n)}
    out: dict[str, str] = {}
    for name in names:
        if name in taken:
            out[name] = name
            continue
        clean = _ILLEGAL_KEY.sub("_", name)
        if not clean[:1].isalpha() and clean[:1] != "_":
            clean = "_" + clean
        clean = clean[:64]
        if clean in taken:
            clean = f"{clean[:55]}_{_digest(name, 8)}"
        taken.add(clean)
        out[name] = clean
    return out


def rename_keys(value: Any, keymap: KeyMap | None, *, to_gemini: bool) -> Any:
    """``value`` (a call's arguments) with property names renamed along ``keymap``: to the
    sent names (``to_gemini``) or back to the client's."""
    if keymap is None:
        return value
    if isinstance(value, list):
        if keymap.items is None:
            return value
        return [rename_keys(v, keymap.items, to_gemini=to_gemini) for v in value]
    if not isinstance(value, dict):
        return value
    if to_gemini:
        lookup = {orig: (sent, sub) for sent, (orig, sub) in keymap.props.items()}
    else:
        lookup = keymap.props
    out = {}
    for key, item in value.items():
        new, sub = lookup.get(key, (key, None))
        out[new] = rename_keys(item, sub, to_gemini=to_gemini)
    return out
