"""Plugin discovery: provider folders and ``ccrelay`` entry points, through one pluggy hook.

``Registry.refresh()`` builds a fresh plugin manager, registers every folder under the
provider directories and every installed entry point, asks each for its strategies, and swaps
the result in at once. A broken plugin (import error, bad hook, missing method, duplicate name)
becomes a ``PluginProblem`` with its name and reason; the others keep working.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

import pluggy

from ccrelay.core import dialects as builtin_dialects
from ccrelay.core import hookspecs
from ccrelay.core.dialect import Dialect
from ccrelay.core.provider import Provider

log = logging.getLogger("ccrelay.plugins")
ENTRY_POINT_GROUP = hookspecs.PROJECT


@dataclass(frozen=True)
class PluginProblem:
    plugin: str
    reason: str


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str  # "folder:<path>" or "entrypoint:<dist>"
    strategies: tuple[str, ...]


@dataclass(frozen=True)
class _State:
    classes: Mapping[str, type[Provider]] = field(default_factory=dict)
    instances: Mapping[str, Provider] = field(default_factory=dict)
    dialects: Mapping[str, Dialect] = field(default_factory=dict)
    plugins: tuple[PluginInfo, ...] = ()
    problems: tuple[PluginProblem, ...] = ()


def make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("CCRELAY_TRACE_HOOKS") == "1":
        pm.add_hookcall_monitoring(
            lambda name, impls, kw: log.info("hook %s -> %s", name, [i.plugin_name for i in impls]),
            lambda outcome, name, impls, kw: None,
        )
    return pm


class Registry:
    """The loaded provider strategies, by name.

    :param dirs: folders scanned for provider plugins (each subfolder with an
        ``__init__.py`` is one plugin), in order: earlier folders win name clashes.
    :param entrypoints: also load installed distributions' ``ccrelay`` entry points.
    :param blocked: plugin names never registered.
    """

    def __init__(
        self, dirs: Iterable[Path], *, entrypoints: bool = True, blocked: Iterable[str] = ()
    ) -> None:
        self.dirs = tuple(Path(d) for d in dirs)
        self.entrypoints = entrypoints
        self.blocked = frozenset(blocked)
        self._state = _State()
        self._lock = threading.Lock()

    # --- reading (lock-free: one reference read) ------------------------------------------

    @property
    def classes(self) -> Mapping[str, type[Provider]]:
        return self._state.classes

    @property
    def plugins(self) -> tuple[PluginInfo, ...]:
        return self._state.plugins

    @property
    def problems(self) -> tuple[PluginProblem, ...]:
        return self._state.problems

    def get(self, name: str) -> Provider | None:
        return self._state.instances.get(name)

    @property
    def dialects(self) -> Mapping[str, Dialect]:
        """The loaded client dialects by name, in registration order."""
        return self._state.dialects

    # --- loading --------------------------------------------------------------------------

    def configure(self, dirs: Iterable[Path], blocked: Iterable[str]) -> None:
        """Change the scanned folders and the block list (from a new config); call ``refresh``."""
        self.dirs = tuple(Path(d) for d in dirs)
        self.blocked = frozenset(blocked)

    def refresh(self) -> _State:
        """Rescan everything and swap the result in; returns the new state."""
        with self._lock:
            old = self._state
            new = self._scan()
            self._state = new
        added = set(new.classes) - set(old.classes)
        if old.classes and added:
            log.info("new provider strategies: %s", ", ".join(sorted(added)))
        for problem in set(new.problems) - set(old.problems):
            log.error("plugin %s not loaded: %s", problem.plugin, problem.reason)
        return new

    def _scan(self) -> _State:
        pm = make_plugin_manager()
        problems: list[PluginProblem] = []
        sources: dict[str, str] = {}
        for name, source, loader in self._candidates():
            if name in self.blocked:
                continue
            if pm.has_plugin(name) or name in sources:
                problems.append(
                    PluginProblem(name, f"duplicate plugin name (also {sources[name]})")
                )
                continue
            try:
                module = loader()
                pm.register(module, name=name)
            except Exception as exc:  # noqa: BLE001 - any plugin failure is reported, not fatal
                problems.append(PluginProblem(name, _describe(exc)))
                continue
            sources[name] = source
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            bad = getattr(exc, "plugin", None)
            bad_name = pm.get_name(bad) if bad is not None else "?"
            problems.append(PluginProblem(str(bad_name), str(exc)))
            if bad is not None:
                pm.unregister(bad)

        classes, owners, per_plugin = _collect(pm, "ccrelay_register_providers", Provider, problems)
        instances: dict[str, Provider] = {}
        for sname, cls in list(classes.items()):
            try:
                instances[sname] = cls()
            except Exception as exc:  # noqa: BLE001
                problems.append(PluginProblem(owners[sname], f"{cls.__name__}(): {_describe(exc)}"))
                del classes[sname]
        dialect_classes, dialect_owners, dialect_plugins = _collect(
            pm, "ccrelay_register_dialects", Dialect, problems
        )
        dialects: dict[str, Dialect] = {}
        for dname, dcls in dialect_classes.items():
            try:
                dialects[dname] = dcls()
            except Exception as exc:  # noqa: BLE001
                problems.append(
                    PluginProblem(dialect_owners[dname], f"{dcls.__name__}(): {_describe(exc)}")
                )
        for name, offered in dialect_plugins.items():
            per_plugin.setdefault(name, []).extend(offered)
        # pluggy calls hooks last-registered first; report plugins in load order.
        plugins = tuple(
            PluginInfo(name, sources.get(name, "?"), tuple(per_plugin.get(name, ())))
            for name in sources
            if pm.has_plugin(name)
        )
        return _State(
            MappingProxyType(classes),
            MappingProxyType(instances),
            MappingProxyType(dialects),
            plugins,
            tuple(problems),
        )

    def _candidates(self) -> Iterable[tuple[str, str, Any]]:
        # The built-in dialects register through the same hook as any plugin's.
        package = Path(builtin_dialects.__file__).parent
        for path in sorted(package.iterdir()):
            stem = path.stem
            if path.suffix == ".py" and stem != "__init__" or (path / "__init__.py").is_file():
                modname = f"{builtin_dialects.__name__}.{stem}"
                yield (
                    f"dialects.{stem}",
                    f"builtin:{modname}",
                    lambda modname=modname: importlib.import_module(modname),
                )
        for directory in self.dirs:
            try:
                entries = sorted(directory.iterdir())
            except FileNotFoundError:
                continue
            for sub in entries:
                if sub.is_dir() and (sub / "__init__.py").is_file():
                    yield (
                        f"providers.{sub.name}",
                        f"folder:{sub}",
                        lambda sub=sub: _import_folder(sub),
                    )
        if self.entrypoints:
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                dist = getattr(ep, "dist", None)
                dist_name = dist.name if dist is not None else "?"
                yield ep.name, f"entrypoint:{dist_name}", ep.load


def _import_folder(folder: Path) -> ModuleType:
    """Import ``folder/__init__.py`` as a package named after its path (reused when loaded)."""
    modname = "ccrelay_plugin_" + "".join(c if c.isalnum() else "_" for c in str(folder.resolve()))
    existing = sys.modules.get(modname)
    if existing is not None:
        return existing
    spec = importlib.util.spec_from_file_location(
        modname, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {folder}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[modname]
        raise
    return module


def _collect(
    pm: pluggy.PluginManager, hook: str, base: type, problems: list[PluginProblem]
) -> tuple[dict[str, Any], dict[str, str], dict[str, list[str]]]:
    """Ask every plugin implementing ``hook`` for its classes: (classes by name, the plugin
    owning each name, names by plugin). Bad and duplicate classes become problems."""
    classes: dict[str, Any] = {}
    owners: dict[str, str] = {}
    per_plugin: dict[str, list[str]] = {}
    for impl in getattr(pm.hook, hook).get_hookimpls():
        plugin_name = impl.plugin_name
        offered: list[Any] = []
        try:
            impl.function(register=offered.append)
        except Exception as exc:  # noqa: BLE001
            problems.append(PluginProblem(plugin_name, _describe(exc)))
            continue
        for cls in offered:
            reason = _check_class(cls, base)
            if reason:
                problems.append(PluginProblem(plugin_name, reason))
            elif cls.name in classes:
                problems.append(
                    PluginProblem(
                        plugin_name,
                        f"{base.__name__.lower()} name {cls.name!r} already registered by "
                        f"{owners[cls.name]}",
                    )
                )
            else:
                classes[cls.name] = cls
                owners[cls.name] = plugin_name
                per_plugin.setdefault(plugin_name, []).append(cls.name)
    # ``get_hookimpls`` lists plugins in registration order (pluggy *calls* them in reverse),
    # so this keeps registration order: built-in dialects by module name, anthropic first.
    order = list(per_plugin)
    ordered = {n: classes[n] for p in order for n in per_plugin[p]}
    return ordered, owners, per_plugin


def _check_class(cls: Any, base: type) -> str:
    if not (inspect.isclass(cls) and issubclass(cls, base)):
        return f"registered {cls!r}, which is not a {base.__module__}.{base.__name__} subclass"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        return f"{cls.__name__} has no 'name'"
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        return f"{cls.__name__} does not implement: {missing}"
    return ""


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
