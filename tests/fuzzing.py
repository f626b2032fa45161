"""Mutations of real request bodies, for property tests and the fuzz scripts in ``bench/``.

A mutation walks to a random place in a JSON body and replaces the value there with one of
the wrong type (``true``, ``5``, ``[5]``, an object, a 1 MB string, null), deletes the key, or
wraps the value in a list. Property: whatever the mutation, ccrelay answers a 2xx or a 4xx in
the client's own error shape, never a 5xx of its own making.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import strategies as st

HUGE = "x" * (1 << 20)
WRONG_VALUES: list[Any] = [True, False, 5, -1, 1.5, [5], [], {}, {"a": 1}, None, "", "text", HUGE,
                           [{"type": "nope"}], [True], {"type": 5}]  # fmt: skip


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``value`` (keys and list indexes)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:30]):  # long lists: their head is representative
            out += paths(v, (*prefix, i))
    return out


def mutate(body: dict[str, Any], path: tuple[Any, ...], how: str, value: Any) -> dict[str, Any]:
    """A copy of ``body`` with the value at ``path`` replaced, deleted or wrapped."""
    out = copy.deepcopy(body)
    parent: Any = out
    for key in path[:-1]:
        parent = parent[key]
    last = path[-1]
    if how == "delete":
        if isinstance(parent, dict):
            del parent[last]
        else:
            parent.pop(last)
    elif how == "wrap":
        parent[last] = [parent[last]]
    else:
        parent[last] = value
    return out


@st.composite
def mutated(draw: st.DrawFn, bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """A body from ``bodies`` with one to three mutations."""
    body = draw(st.sampled_from(bodies))
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(body)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        how = draw(st.sampled_from(["replace", "replace", "replace", "delete", "wrap"]))
        body = mutate(body, path, how, draw(st.sampled_from(WRONG_VALUES)))
    return body
