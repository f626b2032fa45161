"""The whole plugin contract: ccrelay's pluggy markers and hook specifications.

A plugin is a module (a folder under ``providers/``, or an installed package declaring an
entry point in the ``ccrelay`` group) with ``@hookimpl`` functions named after these specs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ccrelay.core.dialect import Dialect
    from ccrelay.core.presets import Preset
    from ccrelay.core.provider import Provider

PROJECT = "ccrelay"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

RegisterProvider = Callable[["type[Provider]"], None]
RegisterDialect = Callable[["type[Dialect]"], None]
RegisterPreset = Callable[["Preset"], None]


@hookspec
def ccrelay_register_providers(register: RegisterProvider) -> None:
    """Offer provider strategies.

    :param register: call ``register(ProviderSubclass)`` once per strategy. The class's
        ``name`` is what ``providers.<x>.type`` selects in ``config.yaml``; two plugins
        registering the same name is an error reported with both plugin names.
    :return: nothing; results are ignored.

    Example::

        @hookimpl
        def ccrelay_register_providers(register):
            register(MyProvider)
    """


@hookspec
def ccrelay_register_dialects(register: RegisterDialect) -> None:
    """Offer client dialects (the protocols clients speak to ccrelay).

    :param register: call ``register(DialectSubclass)`` once per dialect. Its ``routes``
        are served (also under every group prefix) and its ``name`` keys the config's
        ``dialects.<name>`` options; a name or route registered twice is an error reported
        with both plugin names.
    :return: nothing; results are ignored.

    Example::

        @hookimpl
        def ccrelay_register_dialects(register):
            register(MyDialect)
    """


@hookspec
def ccrelay_register_presets(register: RegisterPreset) -> None:
    """Offer vendor presets: defaults a ``preset: <name>`` provider section starts from.

    :param register: call ``register(Preset(...))`` (``core/presets.py``) once per preset.
        Its ``name`` is what ``providers.<x>.preset`` selects; the section's own keys
        override the preset's. A name registered twice is an error reported with both
        plugin names (the first registration stays).
    :return: nothing; results are ignored.

    Example::

        @hookimpl
        def ccrelay_register_presets(register):
            register(Preset(name="myvendor", type="openai",
                            base_url="https://api.myvendor.example/v1",
                            api_key="${MYVENDOR_API_KEY}"))
    """
