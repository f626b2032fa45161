"""Live config: a ``ConfigStore`` holding the current snapshot, swapped on file changes.

A watchdog observer watches the config's folder (editors save by writing a temp file and
renaming it, so created/moved events count too) and the provider folders. Changes are
debounced, the new file is validated, and only a valid file replaces the snapshot; the old
one stays in force otherwise. Requests read ``store.current`` once and keep that snapshot.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ccrelay.core.config import ConfigError, Settings, load_settings
from ccrelay.core.plugins import Registry

log = logging.getLogger("ccrelay.config")
DEBOUNCE = 0.2


class ConfigStore:
    """The current ``Settings`` and the machinery that replaces it."""

    def __init__(self, path: Path, registry: Registry) -> None:
        self.path = Path(path)
        self.registry = registry
        self._lock = threading.Lock()
        self._digest = b""
        self.current: Settings = self._load()  # raises ConfigError at start-up
        self.last_error: str = ""

    def _inputs_digest(self) -> bytes:
        """A digest of everything a load reads: the config and the ``.env`` beside it."""
        h = hashlib.sha256()
        for path in (self.path, self.path.parent / ".env"):
            h.update(path.read_bytes() if path.exists() else b"-")
        return h.digest()

    def _load(self) -> Settings:
        digest = self._inputs_digest()
        settings = load_settings(
            self.path,
            strategies=lambda: self.registry.classes,
            dialects=lambda: self.registry.dialects,
            presets=lambda: self.registry.presets,
        )
        self._digest = digest
        return settings

    def reload(self, *, force: bool = False) -> bool:
        """Validate the file again and swap it in if valid; returns whether it changed."""
        with self._lock:
            try:
                digest = self._inputs_digest()
            except OSError as exc:
                log.error("config reload skipped: cannot read %s: %s", self.path, exc)
                return False
            if not force and digest == self._digest:
                return False
            old = self.current
            try:
                new = self._load()
            except ConfigError as exc:
                self.last_error = str(exc)
                log.error("config reload rejected, keeping the last good config: %s", exc)
                return False
            self.registry.configure(_plugin_dirs(new, self.registry), new.blocked_plugins)
            self.current = new
            self.last_error = ""
        log.info("config reloaded from %s: %s", self.path, describe_changes(old, new))
        return True


def _plugin_dirs(settings: Settings, registry: Registry) -> list[Path]:
    # The built-in folder(s) the registry started with stay first; config adds more.
    base = [d for d in registry.dirs if d not in settings.plugin_dirs]
    return base + list(settings.plugin_dirs)


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
    """Watches the config folder and provider folders; debounces and reloads."""

    def __init__(self, store: ConfigStore) -> None:
        self.store = store
        self.observer: Any = None
        self._timer: threading.Timer | None = None
        self._plugins_changed = False
        self._lock = threading.Lock()

    def start(self) -> None:
        self.observer = Observer()
        handler = _Handler(self)
        self.observer.schedule(handler, str(self.store.path.parent.resolve()), recursive=False)
        for directory in self.store.registry.dirs:
            if directory.is_dir():
                self.observer.schedule(handler, str(directory.resolve()), recursive=True)
        self.observer.daemon = True
        self.observer.start()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self.observer is not None:
            self.observer.stop()

    def notify(self, event: FileSystemEvent) -> None:
        config = self.store.path.resolve()
        paths = {Path(str(event.src_path))}
        if getattr(event, "dest_path", ""):
            paths.add(Path(str(event.dest_path)))
        touches_config = any(p == config or p.name == ".env" for p in paths)
        touches_plugins = any(
            str(p).startswith(str(d.resolve())) for p in paths for d in self.store.registry.dirs
        )
        if not (touches_config or touches_plugins):
            return
        if "__pycache__" in str(event.src_path):
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
            if plugins:
                self.store.registry.refresh()
            # After a plugin change, re-validate even an unchanged file: a config that named
            # a strategy not yet dropped in is valid now.
            self.store.reload(force=plugins)
        except Exception:  # noqa: BLE001 - the watcher must survive anything
            log.exception("config reload failed")
