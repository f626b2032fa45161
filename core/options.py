"""Option values: the checks strategies and dialects run in ``check_options``, in config-error words.

``core/config.py`` calls ``check_options`` when the config loads and prefixes each problem
with its path, so every bad value reads like any other config error:
``providers.grok.options.max_stop_sequences: expected an integer, got "x"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: what an option may be: a type (``bool``, ``int``, ``float``, ``str``, ``dict``; ``list``
#: means a list of strings) or the tuple of the strings it may be
OptionType = type | tuple[str, ...]
_EXPECTED = {bool: "true or false", int: "an integer", float: "a number", str: "a string",
             dict: "a mapping", list: "a list of strings"}  # fmt: skip


def check_option(
    options: Mapping[str, Any], key: str, expected: OptionType, *, minimum: float | None = None
) -> list[str]:
    """``[]`` when ``options[key]`` is absent or fits ``expected``, else one problem in the
    words config errors use: ``["max_stop_sequences: expected an integer, got \"x\""]``."""
    if key not in options:
        return []
    value = options[key]
    if isinstance(expected, tuple):
        if value in expected:
            return []
        what = "one of " + ", ".join(expected)
    else:
        what = _EXPECTED.get(expected, expected.__name__)
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif expected is list:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if ok and minimum is not None and value < minimum:
            ok, what = False, f"{what} >= {minimum:g}"
        if ok:
            return []
    return [f"{key}: {expected_value(what, value)}"]


def expected_value(what: str, value: Any) -> str:
    """``expected <what>, got <value>``, the value quoted the way config errors quote it."""
    return f"expected {what}, got {show(value)}"


def show(value: Any) -> str:
    """A value as config errors quote it: strings in double quotes, the rest as Python."""
    return f'"{value}"' if isinstance(value, str) else repr(value)
