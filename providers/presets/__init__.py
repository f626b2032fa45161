"""The built-in vendor presets (``preset: deepseek`` ...), registered like any plugin's.

This folder is a plugin that registers presets, not a strategy: the table is in
``vendors.py``, each value with the vendor documentation it comes from. ``docs/presets.md``
explains how a preset fills a provider section and what each one sets.
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.hookspecs import hookimpl

from .vendors import PRESETS


@hookimpl
def ccrelay_register_presets(register: Any) -> None:
    for preset in PRESETS:
        register(preset)
