"""Watching the config by polling, where watchdog cannot run: gunicorn's gevent worker.

That worker patches every module gevent can, ``queue`` included, and watchdog's observer
then crashes on its event queue and delivers nothing (shared/DESIGN.md, "Known traps";
``main.py`` avoids it by not patching ``queue``, which gunicorn does not let an app choose).
So each worker looks every ``interval`` seconds instead: a digest of the config and its
``.env`` files, and the names, sizes, times and inodes of the files in the plugin folders. When
that changes and then holds still for ``DEBOUNCE`` seconds (an editor's write and rename
both done), the store reloads exactly as the watchdog watcher would make it, so invalid
files are rejected and the last good config stays in the same way.

A look costs a few small reads and a few stats; edits apply within about a second.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path

from ccrelay.core.reload import DEBOUNCE, ConfigStore

log = logging.getLogger("ccrelay.config")

#: seconds between two looks
INTERVAL = 1.0
_Look = tuple[bytes, frozenset[tuple[str, int, int, int]]]


class PollingWatcher:
    """Reloads ``store`` when its config, ``.env`` files or plugin folders change; the same
    ``start``/``stop``/``sync`` as ``core.reload.Watcher``."""

    def __init__(self, store: ConfigStore, interval: float = INTERVAL) -> None:
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # A thread here is a greenlet once gevent has patched threading (as under gunicorn).
        self._thread = threading.Thread(target=self._run, name="ccrelay-config-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def sync(self) -> None:
        """Nothing to do: every look lists the plugin folders the config names now."""

    def _run(self) -> None:
        last = self._look()
        while not self._stop.wait(self.interval):
            try:
                now = self._look()
                if now == last:
                    continue
                if self._stop.wait(DEBOUNCE) or self._look() != now:
                    continue  # still being written: the next look sees where it ends
                plugins = now[1] != last[1]
                last = now
                self.store.reload(plugins=plugins)
            except Exception:  # noqa: BLE001 - the watcher must survive anything
                log.exception("config reload failed")

    def _look(self) -> _Look:
        store = self.store
        digest = hashlib.sha256()
        for path in (store.path, *store.env_files):
            try:
                digest.update(path.read_bytes())
            except OSError:
                digest.update(b"-")
        files: set[tuple[str, int, int, int]] = set()
        for folder in store.registry.dirs:
            files |= _listing(folder)
        return digest.digest(), frozenset(files)


def _listing(folder: Path) -> set[tuple[str, int, int, int]]:
    """(path, size, modification time, inode) of every file under ``folder`` but caches (a
    file saved by writing a temporary file and renaming it gets a new inode)."""
    out: set[tuple[str, int, int, int]] = set()
    for root, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            path = os.path.join(root, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            out.add((path, st.st_size, st.st_mtime_ns, st.st_ino))
    return out
