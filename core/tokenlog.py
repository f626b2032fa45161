"""The token log: one ``key=value`` line per finished request in ``<dir>/proxy_YYYY-MM-DD.log``.

A new file starts at local midnight. Each line is written with one ``write`` on an
``O_APPEND`` descriptor under a lock, so concurrent requests never interleave. Keys never
reach it: callers pass only the fields listed in ``FIELDS``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ccrelay.core.bodylog import prune

log = logging.getLogger("ccrelay.tokenlog")

FIELDS = (
    "request_id", "provider", "model", "client_model", "stream", "input_tokens",
    "output_tokens", "cache_read_tokens", "total_tokens", "duration_ms", "status",
    # later additions, after status so that parsers of the first format keep working
    "dialect", "route", "group", "access_key",
)  # fmt: skip


class TokenLog:
    """Appends request lines to the day's file in a directory that may change on reload."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._stamp = (-1, "")
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._key: tuple[str, str] | None = None

    def write(
        self, directory: Path, fields: dict[str, Any], level: str = "INFO", keep_days: int = 0
    ) -> None:
        """Append one line. ``fields`` keys outside ``FIELDS`` follow them (``error=...``).

        :param keep_days: when a new day's file opens, delete logs older than this (0: never).
        """
        now = int(self._clock())
        second, stamp = self._stamp  # one strftime per second, not per request
        if now != second:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
            self._stamp = (now, stamp)
        parts = [stamp, level, "REQUEST"]
        for key in FIELDS:
            if key in fields:
                parts.append(f"{key}={_clean(fields[key])}")
        for key, value in fields.items():
            if key not in FIELDS:
                parts.append(f"{key}={_clean(value)}")
        line = (" | ".join(parts) + "\n").encode()
        day = stamp[:10]
        with self._lock:
            fd = self._open(str(directory), day, keep_days)
            os.write(fd, line)

    def _open(self, directory: str, day: str, keep_days: int) -> int:
        key = (directory, day)
        if self._key != key or self._fd is None:
            if keep_days:
                for name in prune(Path(directory), keep_days):
                    log.info("deleted %s (older than logging.keep_days = %s)", name, keep_days)
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            os.makedirs(directory, exist_ok=True)
            path = os.path.join(directory, f"proxy_{day}.log")
            self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self._key = key
        return self._fd

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
                self._key = None


def _clean(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # One line per request, fields split on " | ": keep both intact.
    if "\n" in text or "|" in text:
        text = text.replace("\n", " ").replace("|", "/")
    return text
