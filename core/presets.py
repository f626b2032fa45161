"""Vendor presets: the defaults a ``preset: <name>`` provider section starts from.

A preset names a vendor's strategy ``type``, ``base_url``, the environment variable its key
is usually kept in, and the options its quirks need; the provider section overrides any of
it. Presets are data that plugins register through ``ccrelay_register_presets`` (the
built-in ones live in ``providers/presets/``, one plugin like any other), so no file in core
names a vendor. ``core/config.py`` applies a preset before it validates the section::

    providers:
      ds:
        preset: deepseek          # type, base_url, api_key: ${DEEPSEEK_API_KEY}, options
        model: deepseek-chat      # the section's own keys win
        options: {send_user: false, structured_output: null}   # null drops a preset option

Merge rules: every key the section sets replaces the preset's, except ``options`` and
``headers``, which merge key by key (a key set to null removes the preset's value); a
section key set to null (``model: null``) removes the preset's value too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Preset:
    """One vendor's defaults for a provider section.

    :param name: what ``preset:`` selects.
    :param type: the strategy (``openai``, ``anthropic``, ``responses``, ``azure`` ...).
    :param base_url: the API root, as a config value (``${VAR}`` allowed).
    :param api_key: the key as a config value, usually ``${VENDOR_API_KEY}``; "" for
        servers that need none.
    :param model: a default upstream model, or None (the client's model passes through).
    :param options: strategy options for the vendor's quirks.
    :param headers: extra headers the vendor wants.
    :param description: one line for listings.
    :param docs: the vendor documentation the values come from.
    """

    name: str
    type: str
    base_url: str
    api_key: str = ""
    model: str | None = None
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    description: str = ""
    docs: tuple[str, ...] = ()

    def section(self) -> dict[str, Any]:
        """The preset as a provider section."""
        out: dict[str, Any] = {"type": self.type, "base_url": self.base_url,
                               "api_key": self.api_key}  # fmt: skip
        if self.model is not None:
            out["model"] = self.model
        if self.options:
            out["options"] = dict(self.options)
        if self.headers:
            out["headers"] = dict(self.headers)
        return out


def with_preset(
    section: Mapping[str, Any],
    presets: Mapping[str, Preset],
    where: str,
    types: Iterable[str] = (),
) -> dict[str, Any]:
    """``section`` (which has a ``preset`` key) merged over its preset.

    :param where: the section's config path, for messages.
    :param types: the loaded strategy names (empty: not checked here).
    :raises ValueError: the message names the path and the fix (unknown preset, a preset
        whose strategy is not loaded).
    """
    name = section.get("preset")
    if not isinstance(name, str) or name not in presets:
        known = ", ".join(sorted(presets)) or "none loaded"
        raise ValueError(f"{where}.preset: no preset named {name!r} (known: {known})")
    preset = presets[name]
    merged = preset.section()
    for key, value in section.items():
        if key == "preset":
            continue
        if key in ("options", "headers") and isinstance(value, dict):
            inner = dict(merged.get(key) or {})
            for k, v in value.items():
                if v is None:
                    inner.pop(k, None)
                else:
                    inner[k] = v
            merged[key] = inner
        elif value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    known_types = set(types)
    if known_types and "type" not in section and preset.type not in known_types:
        raise ValueError(
            f"{where}.preset: preset {name!r} uses the {preset.type!r} strategy, which is not "
            f"loaded (loaded: {', '.join(sorted(known_types))}); set type to one of those"
        )
    return merged
