"""Plugin discovery: built-in dialects, provider folders and ``ccrelay`` entry points, via pluggy.

``Registry.scan(dirs, blocked)`` builds a fresh plugin manager and a complete ``PluginState``
(strategies, dialects, plugins, problems) without touching the one in use; ``install`` swaps
it in with one reference write, so strategies and dialects change together and a request
sees either the old set or the new one. ``core/reload.py`` scans with the folders and block
list of a new config, validates that config against the scan, and installs both only if it
is valid.

A folder whose code changed since its last import is imported again as a new version
(``core/plugin_import.py``); if the new version fails (import error, bad hook, bad class)
the last good version keeps serving and the failure is reported. Any broken plugin becomes a
``PluginProblem`` with its name and reason; the others keep working.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any, NamedTuple

import pluggy

from ccrelay.core import dialects as builtin_dialects
from ccrelay.core import hookspecs
from ccrelay.core.dialect import Dialect
from ccrelay.core.plugin_import import FolderVersion, fingerprint, import_folder
from ccrelay.core.presets import Preset
from ccrelay.core.provider import Provider

log = logging.getLogger("ccrelay.plugins")
ENTRY_POINT_GROUP = hookspecs.PROJECT
_HOOKS = (
    ("ccrelay_register_providers", Provider),
    ("ccrelay_register_dialects", Dialect),
    ("ccrelay_register_presets", Preset),  # instances, not classes
)


@dataclass(frozen=True)
class PluginProblem:
    plugin: str
    reason: str
    #: the config's ``plugins.blocked`` names it: deliberate, logged at INFO, not ERROR
    blocked: bool = False


@dataclass(frozen=True)
class PluginInfo:
    name: str
    source: str  # "builtin:<module>", "folder:<path>" or "entrypoint:<dist>"
    strategies: tuple[str, ...]  # the strategy and dialect names it registered


@dataclass(frozen=True)
class PluginState:
    """Everything one scan found; never changed after it is built.

    :param unavailable: strategy name -> why it is not loaded although a config may name
        it (its plugin is blocked); such a type is accepted by the config and its requests
        get the "strategy not loaded" error.
    """

    classes: Mapping[str, type[Provider]] = field(default_factory=dict)
    instances: Mapping[str, Provider] = field(default_factory=dict)
    dialects: Mapping[str, Dialect] = field(default_factory=dict)
    plugins: tuple[PluginInfo, ...] = ()
    problems: tuple[PluginProblem, ...] = ()
    dirs: tuple[Path, ...] = ()
    blocked: frozenset[str] = frozenset()
    unavailable: Mapping[str, str] = field(default_factory=dict)
    #: folder -> the version in this state (for reusing unchanged code and for reverting)
    versions: Mapping[Path, FolderVersion] = field(default_factory=dict)
    #: vendor presets by name (``core/presets.py``)
    presets: Mapping[str, Preset] = field(default_factory=dict)


def make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("CCRELAY_TRACE_HOOKS") == "1":
        pm.add_hookcall_monitoring(
            lambda name, impls, kw: log.info("hook %s -> %s", name, [i.plugin_name for i in impls]),
            lambda outcome, name, impls, kw: log.info(
                "hook %s done%s", name, f": {outcome.exception!r}" if outcome.exception else ""
            ),
        )
    return pm


def blocked_names(blocked: Iterable[str]) -> frozenset[str]:
    """The plugin names a ``plugins.blocked`` list blocks: each name as written, and a bare
    folder name (``myvendor``) also as its folder plugin (``providers.myvendor``)."""
    out: set[str] = set()
    for name in blocked:
        out.add(name)
        if "." not in name:
            out.add(f"providers.{name}")
    return frozenset(out)


class Registry:
    """The installed plugin state, and the scanning that builds the next one.

    :param dirs: folders always scanned for provider plugins (each subfolder with an
        ``__init__.py`` is one plugin), before the config's ``plugins.dirs``; earlier
        folders win name clashes.
    :param entrypoints: also load installed distributions' ``ccrelay`` entry points.
    :param blocked: plugin names never loaded (the config's list is passed to ``scan``).
    """

    def __init__(
        self, dirs: Iterable[Path], *, entrypoints: bool = True, blocked: Iterable[str] = ()
    ) -> None:
        self.base_dirs = _unique(Path(d) for d in dirs)
        self.entrypoints = entrypoints
        self._state = PluginState(dirs=self.base_dirs, blocked=frozenset(blocked))
        self._scan_lock = threading.Lock()
        #: plugin name -> what it registered when last loaded (explains a later block)
        self._offered: dict[str, tuple[str, ...]] = {}
        #: folder versions imported by scans since the last install
        self._pending: list[FolderVersion] = []

    # --- reading (lock-free: one reference read) ------------------------------------------

    @property
    def state(self) -> PluginState:
        return self._state

    @property
    def classes(self) -> Mapping[str, type[Provider]]:
        return self._state.classes

    @property
    def presets(self) -> Mapping[str, Preset]:
        """The registered vendor presets by name (``core/presets.py``)."""
        return self._state.presets

    @property
    def dialects(self) -> Mapping[str, Dialect]:
        """The loaded client dialects by name, in registration order."""
        return self._state.dialects

    @property
    def plugins(self) -> tuple[PluginInfo, ...]:
        return self._state.plugins

    @property
    def problems(self) -> tuple[PluginProblem, ...]:
        return self._state.problems

    @property
    def dirs(self) -> tuple[Path, ...]:
        """Every folder scanned: the base folders, then the config's ``plugins.dirs``."""
        return self._state.dirs

    def get(self, name: str) -> Provider | None:
        return self._state.instances.get(name)

    def offered_by(self, plugin: str) -> tuple[str, ...] | None:
        """What ``plugin`` registered when it was last loaded (None: never loaded)."""
        return self._offered.get(plugin)

    # --- loading --------------------------------------------------------------------------

    def refresh(
        self, extra_dirs: Iterable[Path] | None = None, blocked: Iterable[str] | None = None
    ) -> PluginState:
        """Scan (with the installed folders and block list unless given) and install."""
        current = self._state
        extra = (
            [d for d in current.dirs if d not in self.base_dirs]
            if extra_dirs is None
            else extra_dirs
        )
        state = self.scan(extra, current.blocked if blocked is None else blocked)
        self.install(state)
        return state

    def install(self, state: PluginState) -> None:
        """Make ``state`` the one in use and log what changed."""
        with self._scan_lock:
            old, self._state = self._state, state
            for plugin in state.plugins:
                self._offered[plugin.name] = plugin.strategies
            # Versions no longer in use leave sys.modules (objects in use live on).
            keep = {id(v) for v in state.versions.values()}
            for version in [*old.versions.values(), *self._pending]:
                if id(version) not in keep:
                    version.forget()
            self._pending.clear()
        _log_changes(old, state)

    def scan(self, extra_dirs: Iterable[Path] = (), blocked: Iterable[str] = ()) -> PluginState:
        """Build a new state for these folders and block list; the installed one is unchanged.

        A folder whose files are unchanged since the installed state keeps its module; a
        changed one is imported again, and if that fails the installed version stays.
        """
        with self._scan_lock:
            scan = _Scan(self, _unique([*self.base_dirs, *extra_dirs]), frozenset(blocked))
            state = scan.run()
            self._pending.extend(scan.imported)
            return state

    def candidates(self, dirs: Iterable[Path]) -> Iterator[_Candidate]:
        """Every plugin that could load, in load order: built-in dialects, folders, entry
        points.

        Each module and package in ``core/dialects/`` is a built-in dialect plugin, except
        those named with a leading underscore: helpers the dialects share (``_openai_errors``).
        """
        package = Path(builtin_dialects.__file__).parent
        for path in sorted(package.iterdir()):
            stem = path.stem
            if stem.startswith("_"):
                continue  # __init__, __pycache__, shared helper modules
            if path.suffix == ".py" or (path / "__init__.py").is_file():
                modname = f"{builtin_dialects.__name__}.{stem}"
                yield _Candidate(f"dialects.{stem}", f"builtin:{modname}", _importer(modname))
        for directory in dirs:
            try:
                entries = sorted(directory.iterdir())
            except OSError as exc:
                yield _Candidate(str(directory), f"folder:{directory}", None, problem=_folder(exc))
                continue
            for sub in entries:
                if sub.is_dir() and (sub / "__init__.py").is_file():
                    yield _Candidate(f"providers.{sub.name}", f"folder:{sub}", None, folder=sub)
        if self.entrypoints:
            # Not pm.load_setuptools_entrypoints: it stops at the first entry point that fails
            # to import; here each loads alone (blocked ones never), and a failure costs only it.
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                dist = getattr(ep, "dist", None)
                dist_name = dist.name if dist is not None else "?"
                yield _Candidate(ep.name, f"entrypoint:{dist_name}", ep.load)


@dataclass
class _Candidate:
    name: str
    source: str
    load: Callable[[], ModuleType] | None
    folder: Path | None = None
    problem: str = ""


class _Failed(Exception):
    """One plugin version could not be used; the message says why."""


class _Scan:
    """One scan: register each plugin in turn and ask it (and only it) what it offers."""

    def __init__(self, registry: Registry, dirs: tuple[Path, ...], blocked: frozenset[str]):
        self.registry = registry
        self.dirs = dirs
        self.blocked = blocked
        self.installed = registry.state.versions
        self.pm = make_plugin_manager()
        for name in blocked_names(blocked):
            self.pm.set_blocked(name)
        self.problems: list[PluginProblem] = []
        self.classes: dict[str, type[Provider]] = {}
        self.instances: dict[str, Provider] = {}
        self.dialects: dict[str, Dialect] = {}
        self.presets: dict[str, Preset] = {}
        self.owners: dict[str, str] = {}
        self.plugins: list[PluginInfo] = []
        self.versions: dict[Path, FolderVersion] = {}
        self.unavailable: dict[str, str] = {}
        #: versions this scan imported (the registry forgets those it does not install)
        self.imported: list[FolderVersion] = []

    def run(self) -> PluginState:
        seen: dict[str, str] = {}
        for cand in self.registry.candidates(self.dirs):
            if cand.problem:
                self.problems.append(PluginProblem(cand.name, cand.problem))
            elif self.pm.is_blocked(cand.name):
                self._blocked(cand)
            elif cand.name in seen:
                reason = f"duplicate plugin name (also {seen[cand.name]})"
                self.problems.append(PluginProblem(cand.name, reason))
            else:
                seen[cand.name] = cand.source
                self._load(cand)
        return PluginState(
            MappingProxyType(self.classes),
            MappingProxyType(self.instances),
            MappingProxyType(self.dialects),
            tuple(self.plugins),
            tuple(self.problems),
            self.dirs,
            self.blocked,
            MappingProxyType(self.unavailable),
            MappingProxyType(self.versions),
            MappingProxyType(self.presets),
        )

    def _blocked(self, cand: _Candidate) -> None:
        # Never imported. What it registered when it last loaded (else, for a folder, its
        # name) is what the config may still name; those requests say why they fail.
        known = self.registry.offered_by(cand.name)
        guess = (cand.folder.name,) if cand.folder is not None else (cand.name,)
        reason = f"plugin {cand.name} is blocked by plugins.blocked"
        for name in known or guess:
            self.unavailable.setdefault(name, reason)
        listed = f" (it offers {', '.join(known)})" if known else ""
        self.problems.append(
            PluginProblem(cand.name, f"blocked by plugins.blocked{listed}", blocked=True)
        )

    def _load(self, cand: _Candidate) -> None:
        if cand.folder is not None:
            self._load_folder(cand, cand.folder)
            return
        assert cand.load is not None
        try:
            offers = self._try(cand.name, cand.load)
        except _Failed as exc:
            self.problems.append(PluginProblem(cand.name, str(exc)))
            return
        self._accept(cand, offers)

    def _load_folder(self, cand: _Candidate, folder: Path) -> None:
        digest = fingerprint(folder)
        good = self.installed.get(folder)
        if good is not None and good.fingerprint == digest:
            version = good
        else:
            imported: list[FolderVersion] = []

            def load() -> ModuleType:
                imported.append(import_folder(folder, digest))
                return imported[0].module

            try:
                offers = self._try(cand.name, load)
            except _Failed as exc:
                for failed in imported:
                    failed.forget()
                if good is None:
                    self.problems.append(PluginProblem(cand.name, str(exc)))
                    return
                # The new code fails: the installed version keeps serving.
                reason = f"{exc}; the previous version is still serving"
                self.problems.append(PluginProblem(cand.name, reason))
                version = good
            else:
                self.imported.extend(imported)
                self.versions[folder] = imported[0]
                self._accept(cand, offers)
                return
        try:
            offers = self._try(cand.name, lambda: version.module)
        except _Failed as exc:  # code that loaded before clashes now (a name taken, say)
            self.problems.append(PluginProblem(cand.name, str(exc)))
            return
        self.versions[folder] = version
        self._accept(cand, offers)

    def _try(self, name: str, load: Callable[[], ModuleType]) -> list[_Offer]:
        """Import (``load``) and register one plugin and call its hooks alone; any failure
        is a ``_Failed`` and leaves the plugin unregistered.

        Each hook is called through pluggy (``subset_hook_caller`` restricted to this one
        plugin) rather than by calling the implementation: monitoring
        (``CCRELAY_TRACE_HOOKS``) and pluggy's call machinery apply, what ``register`` is
        given is attributed to the plugin that gave it, and a plugin whose hook raises
        costs only itself. (A plugin's hook wrappers therefore wrap only its own
        registrations.)
        """
        try:
            module = load()
            if self.pm.register(module, name=name) is None:
                raise _Failed("blocked by plugins.blocked")
        except _Failed:
            raise
        except Exception as exc:  # noqa: BLE001 - any plugin failure is reported, not fatal
            raise _Failed(_describe(exc)) from None
        try:
            self.pm.check_pending()  # a misspelled hook name fails here, for this plugin
            others = [p for p in self.pm.get_plugins() if p is not module]
            offers: list[_Offer] = []
            for hook, base in _HOOKS:
                caller = self.pm.subset_hook_caller(hook, remove_plugins=others)
                if not caller.get_hookimpls():
                    continue  # this plugin does not implement it: nothing to call or trace
                got: list[Any] = []
                caller(register=got.append)
                for cls in got:
                    if base is Preset:
                        if not isinstance(cls, Preset) or not cls.name:
                            raise _Failed(f"registered {cls!r}, which is not a Preset")
                        offers.append(_Offer("preset", cls.name, None, cls))
                        continue
                    reason = _check_class(cls, base)
                    if reason:
                        raise _Failed(reason)
                    try:
                        instance = cls()
                    except Exception as exc:  # noqa: BLE001
                        raise _Failed(f"{cls.__name__}(): {_describe(exc)}") from None
                    kind = "dialect" if base is Dialect else "provider"
                    offers.append(_Offer(kind, cls.name, cls, instance))
            return offers
        except _Failed:
            self.pm.unregister(module)
            raise
        except Exception as exc:  # noqa: BLE001 - any plugin failure is reported, not fatal
            self.pm.unregister(module)
            raise _Failed(_describe(exc)) from None

    def _accept(self, cand: _Candidate, offers: list[_Offer]) -> None:
        names: list[str] = []
        for offer in offers:
            kind = offer.kind
            key = f"{kind}:{offer.name}"
            if key in self.owners:
                reason = f"{kind} {offer.name!r} already registered by {self.owners[key]}"
                self.problems.append(PluginProblem(cand.name, reason))
                continue
            if kind == "dialect":
                self.dialects[offer.name] = offer.instance
            elif kind == "preset":
                self.presets[offer.name] = offer.instance
            else:
                self.classes[offer.name] = offer.cls
                self.instances[offer.name] = offer.instance
            self.owners[key] = cand.name
            names.append(offer.name)
        self.plugins.append(PluginInfo(cand.name, cand.source, tuple(names)))


class _Offer(NamedTuple):
    """One class a plugin registered, with its instance (a preset is its own instance)."""

    kind: str  # provider | dialect | preset
    name: str
    cls: Any
    instance: Any


def _importer(modname: str) -> Callable[[], ModuleType]:
    return lambda: importlib.import_module(modname)


def _log_changes(old: PluginState, new: PluginState) -> None:
    first = not (old.classes or old.dialects)
    for problem in new.problems if first else set(new.problems) - set(old.problems):
        level = logging.INFO if problem.blocked else logging.ERROR
        log.log(level, "plugin %s not loaded: %s", problem.plugin, problem.reason)
    if first:
        return
    added = sorted(set(new.classes) - set(old.classes))
    if added:
        log.info("new provider strategies: %s", ", ".join(added))
    gone = sorted(set(old.classes) - set(new.classes))
    if gone:
        log.info("provider strategies no longer offered: %s", ", ".join(gone))
    for folder, version in new.versions.items():
        before = old.versions.get(folder)
        if before is not None and before is not version:
            log.info("plugin folder %s reloaded (its code changed)", folder)
    for directory in new.dirs:
        if directory not in old.dirs:
            log.info("plugin folder %s added to the scan", directory)


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


def _unique(paths: Iterable[Path]) -> tuple[Path, ...]:
    return tuple(dict.fromkeys(Path(p) for p in paths))


def _folder(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "plugin folder not found"
    if isinstance(exc, NotADirectoryError):
        return "not a folder"
    return f"cannot read the plugin folder: {exc.strerror or exc}"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
