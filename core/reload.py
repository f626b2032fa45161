"""Live config: a ``ConfigStore`` holding the current snapshot, swapped on file changes.

A watchdog observer watches the config's folder (editors save by writing a temp file and
renaming it, so created/moved events count too), the ``.env`` files, and every plugin
folder. Changes are debounced; then the config is read, the plugin folders it names are
scanned (with its block list), the config is validated against that scan, and only then are
the plugin state and the config swapped in together. An invalid config keeps both the last
good config and the plugins it was validated with. Requests read ``store.current`` once
and keep that snapshot.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ccrelay.core.config import ConfigError, Settings, read_config, validate
from ccrelay.core.dotenv import dotenv_paths
from ccrelay.core.plugins import PluginState, Registry

log = logging.getLogger("ccrelay.config")
DEBOUNCE = 0.2


class ConfigStore:
    """The current ``Settings`` (and the plugin state it was validated with), and the
    machinery that replaces them.

    :param cwd: the working directory whose ``.env`` is read (default: the current one).
    :param env_file_hint: the ``.env`` that messages suggest for a missing variable
        (default: the one beside the config).
    :raises ConfigError: when the config is invalid at start-up.
    """

    def __init__(
        self,
        path: Path,
        registry: Registry,
        *,
        cwd: Path | None = None,
        env_file_hint: Path | None = None,
    ) -> None:
        self.path = Path(path)
        self.registry = registry
        self.env_files = dotenv_paths(self.path, cwd)
        self.env_file_hint = env_file_hint
        self._lock = threading.Lock()
        self._digest = b""
        self.last_error: str = ""
        #: when a reload last swapped a config in or rejected one (None: none since start)
        self.last_reload_at: float | None = None
        state, self.current = self._load()
        self.registry.install(state)

    def _inputs_digest(self) -> bytes:
        """A digest of everything a load reads: the config and the ``.env`` files."""
        h = hashlib.sha256()
        for path in (self.path, *self.env_files):
            h.update(path.read_bytes() if path.exists() else b"-")
        return h.digest()

    def _load(self) -> tuple[PluginState, Settings]:
        digest = self._inputs_digest()
        raw = read_config(self.path, env_files=self.env_files, env_file_hint=self.env_file_hint)
        # The config's own plugin folders are scanned before its types are checked.
        state = self.registry.scan(raw.plugin_dirs, raw.blocked_plugins)
        settings = validate(raw, state.classes, state.dialects, state.unavailable, state.presets)
        self._digest = digest
        return state, settings

    def reload(self, *, force: bool = False, plugins: bool = False) -> bool:
        """Read the config again, rescan its plugin folders, and swap both in if the config
        is valid; returns whether anything was swapped in.

        :param force: reload even if the config and ``.env`` files are unchanged (SIGHUP).
        :param plugins: plugin code changed: reload even if the config did not, and log
            only what the plugins changed when it did not.
        """
        with self._lock:
            try:
                digest = self._inputs_digest()
            except OSError as exc:
                log.error("config reload skipped: cannot read %s: %s", self.path, exc)
                return False
            unchanged = digest == self._digest
            if unchanged and not (force or plugins):
                return False
            old = self.current
            try:
                state, new = self._load()
            except ConfigError as exc:
                self.last_error = str(exc)
                self.last_reload_at = time.time()
                log.error("config reload rejected, keeping the last good config: %s", exc)
                return False
            # Plugins first: a request reading the new config must find its strategies.
            self.registry.install(state)
            self.current = new
            self.last_error = ""
            self.last_reload_at = time.time()
        if force or not unchanged:
            log.info("config reloaded from %s: %s", self.path, describe_changes(old, new))
        return True


def describe_changes(old: Settings, new: Settings) -> str:
    """A one-line summary of what a reload changed, without secrets."""
    changes: list[str] = []
    if old.active != new.active:
        changes.append(f"active provider {old.active} -> {new.active}")
    if old.fallbacks != new.fallbacks:
        changes.append(f"fallbacks {list(old.fallbacks)} -> {list(new.fallbacks)}")
    for name in sorted(set(old.providers) | set(new.providers)):
        a, b = old.providers.get(name), new.providers.get(name)
        if a is None:
            changes.append(f"provider {name} added")
        elif b is None:
            changes.append(f"provider {name} removed")
        elif a != b:
            fields = [
                f for f in ("type", "base_url", "model", "models", "timeout", "options", "headers")
                if getattr(a, f) != getattr(b, f)
            ]  # fmt: skip
            if a.api_key != b.api_key:
                fields.append("api_key")
            changes.append(f"provider {name} changed ({', '.join(fields) or 'status'})")
    for attr in ("log_level", "log_dir", "max_body_bytes", "plugin_dirs", "blocked_plugins"):
        if getattr(old, attr) != getattr(new, attr):
            changes.append(f"{attr} changed")
    return "; ".join(changes) or "no effective change"


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        self.watcher.notify(event)


class Watcher:
    """Watches the config and ``.env`` folders and the plugin folders; debounces and
    reloads. After each reload the watched plugin folders follow the config's
    ``plugins.dirs``."""

    def __init__(self, store: ConfigStore) -> None:
        self.store = store
        self.observer: Any = None
        self._handler = _Handler(self)
        self._watches: dict[tuple[Path, bool], Any] = {}
        self._timer: threading.Timer | None = None
        self._plugins_changed = False
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()

    def start(self) -> None:
        self.observer = Observer()
        self.observer.daemon = True
        self.sync()
        self.observer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.observer is not None:
            self.observer.stop()

    def _wanted(self) -> set[tuple[Path, bool]]:
        """(folder, recursive) pairs to watch now."""
        store = self.store
        wanted = {(store.path.parent.resolve(), False)}
        wanted |= {(p.parent.resolve(), False) for p in store.env_files if p.parent.is_dir()}
        for d in store.registry.dirs:
            if d.is_dir():
                wanted.add((d.resolve(), True))
            elif d.parent.is_dir():  # a folder named before it exists: see it appear
                wanted.add((d.parent.resolve(), False))
        return wanted

    def sync(self) -> None:
        """Watch the folders the current config and plugin state name, and no others."""
        if self.observer is None:
            return
        with self._sync_lock:
            self._sync()

    def _sync(self) -> None:
        wanted = self._wanted()
        for key in set(self._watches) - wanted:
            self.observer.unschedule(self._watches.pop(key))
        for key in wanted - set(self._watches):
            folder, recursive = key
            try:
                self._watches[key] = self.observer.schedule(
                    self._handler, str(folder), recursive=recursive
                )
            except OSError as exc:
                log.warning("cannot watch %s: %s", folder, exc)
            else:
                if recursive:
                    log.debug("watching plugin folder %s", folder)

    def notify(self, event: FileSystemEvent) -> None:
        store = self.store
        paths = {Path(str(event.src_path))}
        if getattr(event, "dest_path", ""):
            paths.add(Path(str(event.dest_path)))
        if any("__pycache__" in p.parts for p in paths):
            return
        config = store.path.resolve()
        env_files = {e.resolve() for e in store.env_files}
        touches_config = any(p == config or p in env_files for p in paths)
        dirs = [d.resolve() for d in store.registry.dirs]
        touches_plugins = any(p.is_relative_to(d) for p in paths for d in dirs)
        if not (touches_config or touches_plugins):
            return
        with self._lock:
            self._plugins_changed |= touches_plugins
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(DEBOUNCE, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            plugins, self._plugins_changed = self._plugins_changed, False
        try:
            # After a plugin change, reload even an unchanged file: a config naming a
            # strategy not yet dropped in is valid now, and changed code is imported again.
            self.store.reload(plugins=plugins)
            self.sync()
        except Exception:  # noqa: BLE001 - the watcher must survive anything
            log.exception("config reload failed")
