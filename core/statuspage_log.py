"""Today's requests for the status page, read from the token log: totals per provider and
the last requests.

The token log is the source rather than counters kept by a relay listener because under
gunicorn every worker appends to the same day file (``core/tokenlog.py``): reading it, any
worker shows the whole server's day, and a restart loses nothing. In-memory counters would
show only the worker that answered the page. Reading costs nothing per request: the file is
read only when the page asks, and then only the bytes added since the last read, so an open
page refreshing every few seconds parses the few lines written meanwhile. A new day (local
midnight, as the token log rolls) starts from zero.

Only what is safe on an open page is kept: provider, models, client protocol, group, route,
status, tokens, duration, time and request id. Not the access key's name, not the error
text (it may quote what a client sent); both stay in the token log.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

#: how many of the last requests the page lists
RECENT = 50
#: bytes parsed between two yields to the event loop (a large day file read the first time)
_CHUNK = 1 << 20
_TEXT = ("request_id", "provider", "model", "client_model", "dialect", "group", "route")
_COUNTS = ("input_tokens", "output_tokens", "cache_read_tokens", "total_tokens", "duration_ms")


@dataclass
class Totals:
    """One provider's day: attempts by status, tokens, and the time its answers took."""

    attempts: int = 0
    success: int = 0
    error: int = 0
    fallback: int = 0
    cancelled: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    total_tokens: int = 0
    #: summed over successful attempts (their mean is this over ``success``)
    success_ms: int = 0


class TodayLog:
    """Reads the token log of today as it grows.

    :param clock: seconds since the epoch (tests pass a fake one to cross midnight).
    :param keep: how many of the last requests to keep.
    :param chunk: bytes parsed between two yields to the event loop.
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, keep: int = RECENT, chunk: int = _CHUNK
    ) -> None:
        self._clock = clock
        self._chunk = chunk
        self._lock = threading.Lock()
        self._dir = ""
        self._day = ""
        self._file: tuple[int, int] | None = None  # (device, inode) of the file read
        self._offset = 0
        self._totals: dict[str, Totals] = {}
        self._recent: deque[dict[str, Any]] = deque(maxlen=keep)
        self._malformed = 0

    def read(self, directory: Path) -> dict[str, Any]:
        """Today so far: ``day``, ``file``, ``providers`` (name -> totals), ``requests``
        (lines that ended a request), ``recent`` (newest first), ``malformed`` and
        ``problem`` (why the log could not be read, else None)."""
        with self._lock:
            problem = self._catch_up(str(directory))
            requests = sum(t.attempts - t.fallback for t in self._totals.values())
            return {
                "day": self._day,
                "file": os.path.join(self._dir, f"proxy_{self._day}.log"),
                "providers": {name: asdict(t) for name, t in sorted(self._totals.items())},
                "requests": requests,
                "recent": list(reversed(self._recent)),
                "malformed": self._malformed,
                "problem": problem,
            }

    def _catch_up(self, directory: str) -> str | None:
        day = time.strftime("%Y-%m-%d", time.localtime(self._clock()))
        if directory != self._dir:
            self._dir = directory
            self._recent.clear()
            self._restart(day)
        elif day != self._day:
            self._restart(day)  # midnight: a new file; the last requests stay listed
        path = os.path.join(directory, f"proxy_{day}.log")
        try:
            with open(path, "rb") as f:
                stat = os.fstat(f.fileno())
                ident = (stat.st_dev, stat.st_ino)
                if self._file != ident or stat.st_size < self._offset:
                    self._restart(day)  # replaced or truncated: read it again from the start
                    self._file = ident
                while self._offset < stat.st_size:
                    f.seek(self._offset)  # a chunk's unfinished last line is read again
                    data = f.read(min(self._chunk, stat.st_size - self._offset))
                    end = data.rfind(b"\n") + 1
                    if not end:
                        if len(data) < self._chunk:
                            break  # a line still being written: it waits for the next read
                        self._chunk *= 2  # a line longer than a chunk
                        continue
                    self._take(data[:end].decode("utf-8", "replace"))
                    self._offset += end
                    time.sleep(0)  # gevent's sleep once patched: let other requests run
        except FileNotFoundError:
            return None  # no request finished today yet
        except OSError as exc:
            return f"cannot read the token log {path}: {exc.strerror or exc}"
        return None

    def _restart(self, day: str) -> None:
        self._day = day
        self._file = None
        self._offset = 0
        self._totals = {}
        self._malformed = 0

    def _take(self, text: str) -> None:
        for line in text.splitlines():
            entry = parse_line(line)
            if entry is None:
                self._malformed += 1
                continue
            totals = self._totals.get(entry["provider"])
            if totals is None:
                totals = self._totals[entry["provider"]] = Totals()
            totals.attempts += 1
            status = entry["status"]
            if status in ("success", "error", "fallback", "cancelled"):
                setattr(totals, status, getattr(totals, status) + 1)
            totals.input_tokens += entry["input_tokens"]
            totals.output_tokens += entry["output_tokens"]
            totals.cache_read_tokens += entry["cache_read_tokens"]
            totals.total_tokens += entry["total_tokens"]
            if status == "success":
                totals.success_ms += entry["duration_ms"]
            self._recent.append(entry)


def parse_line(line: str) -> dict[str, Any] | None:
    """One token-log line as the page shows it, or None when it is not a request line.

    Fields are found by name, so lines of older formats (fewer fields) and newer ones (more
    fields after ``status``) both parse; values never hold ``" | "`` (the log replaces it).
    """
    parts = line.split(" | ")
    if len(parts) < 4 or parts[2] != "REQUEST":
        return None
    raw: dict[str, str] = {}
    for part in parts[3:]:
        key, sep, value = part.partition("=")
        if sep:
            raw[key] = value
    if "status" not in raw:
        return None
    entry: dict[str, Any] = {"time": parts[0], "status": raw["status"]}
    for key in _TEXT:
        entry[key] = raw.get(key, "-")
    entry["stream"] = raw.get("stream") == "true"
    try:
        for key in _COUNTS:
            entry[key] = int(raw.get(key, 0))
    except ValueError:
        return None
    return entry
