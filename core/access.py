"""Client access keys: only your own clients get in.

::

    access_keys:                # absent: no key needed (and the default bind stays 127.0.0.1)
      - name: claude-code
        key: ${CCRELAY_KEY_CC}
        groups: [default, qwen] # optional: the groups this key may use (default: all)

When keys are configured every request must carry one where its client protocol puts it
(``x-api-key`` or ``Authorization: Bearer`` for Anthropic and OpenAI clients,
``x-goog-api-key`` or ``?key=`` for Gemini, Bearer for Ollama). Keys are compared in
constant time, every configured key each time, so timing tells nothing about which one
matched. A missing or wrong key is a 401, a key not allowed in the group a 403, each in the
client's own error shape. ``/health`` and ``/`` stay open and show no key. The key's *name*
(never the key) is the token log's ``key`` field.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccrelay.core.errors import ErrorKind, RelayError


class AccessError(ValueError):
    """The ``access_keys`` section is invalid; the message names its path."""


@dataclass(frozen=True)
class AccessKey:
    name: str
    key: str = field(repr=False)
    groups: frozenset[str] | None = None  # None: every group
    rpm: int | None = None  # requests per minute (core/limits.py)
    tokens_per_day: int | None = None


def parse_access_keys(
    raw: Any, groups: Mapping[str, Any], substitute: Any
) -> tuple[AccessKey, ...]:
    """Validate ``access_keys``; ``substitute(text, where)`` expands ``${VAR}``.

    :raises AccessError: naming the path of the first problem (an unset variable included:
        a key that silently became empty would let anyone in, or no one).
    """
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise AccessError("access_keys: expected a list of {name, key, groups}")
    out: list[AccessKey] = []
    names: set[str] = set()
    for i, entry in enumerate(raw):
        where = f"access_keys[{i}]"
        if not isinstance(entry, dict):
            raise AccessError(f"{where}: expected {{name, key, groups}}")
        for k in entry:
            if k not in ("name", "key", "groups", "rpm", "tokens_per_day"):
                raise AccessError(
                    f"{where}.{k}: unknown key (allowed: groups, key, name, rpm, tokens_per_day)"
                )
        name = entry.get("name")
        if not isinstance(name, str) or not name or name in names:
            raise AccessError(f"{where}.name: expected a unique name")
        names.add(name)
        key = entry.get("key")
        if not isinstance(key, str):
            raise AccessError(f"{where}.key: expected a string (e.g. ${{CCRELAY_KEY}})")
        key = substitute(key, f"{where}.key")
        if len(key) < 8:
            raise AccessError(f"{where}.key: set, and at least 8 characters long")
        allowed = entry.get("groups")
        if allowed is not None:
            if not isinstance(allowed, list) or not all(isinstance(g, str) for g in allowed):
                raise AccessError(f"{where}.groups: expected a list of group names")
            for g in allowed:
                if g != "default" and g not in groups:
                    raise AccessError(f"{where}.groups: no group named {g!r}")
        limits = []
        for k in ("rpm", "tokens_per_day"):
            value = entry.get(k)
            if value is not None and (type(value) is not int or value < 1):
                raise AccessError(f"{where}.{k}: expected a positive integer")
            limits.append(value)
        out.append(
            AccessKey(name, key, frozenset(allowed) if allowed is not None else None, *limits)
        )
    return tuple(out)


def admit(keys: tuple[AccessKey, ...], presented: str | None, group: str) -> AccessKey:
    """The access key ``presented`` (every key compared, in constant time).

    :raises RelayError: 401 when the key is missing or unknown, 403 when it may not use
        ``group``.
    """
    if not presented:
        raise RelayError(
            401,
            "ccrelay needs an access key: send one of the keys in access_keys "
            "(x-api-key or Authorization: Bearer; x-goog-api-key or ?key= for Gemini clients)",
            kind=ErrorKind.AUTHENTICATION,
        )
    given = presented.encode()
    match: AccessKey | None = None
    for candidate in keys:
        if hmac.compare_digest(given, candidate.key.encode()):
            match = candidate
    if match is None:
        raise RelayError(
            401,
            "this access key is not one of ccrelay's access_keys; check the key your client "
            "sends (ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY ...)",
            kind=ErrorKind.AUTHENTICATION,
        )
    if match.groups is not None and group not in match.groups:
        raise RelayError(
            403,
            f"access key {match.name!r} may not use group {group!r} (allowed: "
            f"{', '.join(sorted(match.groups))}); use its groups or extend access_keys",
            kind=ErrorKind.PERMISSION,
        )
    return match
