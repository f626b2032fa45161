"""Request and response bodies, for debugging and research: one JSON line per request.

::

    logging:
      bodies: {enabled: false, max_bytes: 262144}   # switchable while ccrelay runs
      keep_days: 30                                 # older token and body logs are deleted

Each finished request appends one line to ``<logging.dir>/bodies_YYYY-MM-DD.jsonl``, keyed by
the token log's ``request_id``: the body as received, and per attempt the body as sent
upstream and the upstream's answer (a stream's bytes put together), then the bytes sent back
to the client. Each part is cut at ``max_bytes``. Headers are never recorded, so neither are
``Authorization`` or ``x-api-key``; configured keys quoted inside a body are replaced by
``***``. Off by default: bodies hold whatever users typed.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ccrelay.core.errors import scrub
from ccrelay.core.jsonutil import dumps

log = logging.getLogger("ccrelay.bodylog")


@dataclass
class BodyRecord:
    """What one request carried, filled in as it runs."""

    request_id: str
    dialect: str
    path: str
    max_bytes: int
    received: bytes = b""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    sent_back: bytearray = field(default_factory=bytearray)

    def attempt(self, provider: str, model: str, sent: Any) -> None:
        self.attempts.append({"provider": provider, "model": model,
                              "sent": self._cut(dumps(sent)), "answer": ""})  # fmt: skip

    def answered(self, data: bytes) -> None:
        if self.attempts:
            self.attempts[-1]["answer"] = self._cut(data)

    def tee_answer(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Pass a stream's bytes through, keeping (up to ``max_bytes`` of) them."""
        kept = bytearray()
        try:
            for chunk in chunks:
                if len(kept) <= self.max_bytes:
                    kept += chunk
                yield chunk
        finally:
            self.answered(bytes(kept))

    def back(self, data: bytes) -> None:
        if len(self.sent_back) <= self.max_bytes:
            self.sent_back += data

    def _cut(self, data: bytes) -> str:
        text = data[: self.max_bytes].decode("utf-8", "replace")
        return text + ("...[cut]" if len(data) > self.max_bytes else "")

    def line(self, secrets: tuple[str, ...]) -> bytes:
        record = {
            "request_id": self.request_id,
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "dialect": self.dialect,
            "path": self.path,
            "received": self._cut(self.received),
            "attempts": self.attempts,
            "sent_back": self._cut(bytes(self.sent_back)),
        }
        return scrub(dumps(record).decode(), secrets).encode() + b"\n"


class BodyLog:
    """Appends records to the day's JSONL file (one ``write`` per line, under a lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def write(self, directory: Path, record: BodyRecord, secrets: tuple[str, ...]) -> None:
        line = record.line(secrets)
        path = Path(directory) / f"bodies_{time.strftime('%Y-%m-%d')}.jsonl"
        try:
            with self._lock:
                os.makedirs(directory, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
        except OSError as exc:
            log.error("cannot write the body log %s: %s", path, exc)


def prune(directory: Path, keep_days: int, now: float | None = None) -> list[str]:
    """Delete token and body logs (``.gz`` rotations too) older than ``keep_days`` days;
    returns the names deleted."""
    cutoff = time.strftime("%Y-%m-%d", time.localtime((now or time.time()) - keep_days * 86400))
    gone = []
    for pattern in ("proxy_*.log*", "bodies_*.jsonl*"):
        for name in glob.glob(os.path.join(str(directory), pattern)):
            day = os.path.basename(name).split("_", 1)[1][:10]
            if len(day) == 10 and day < cutoff:
                try:
                    os.remove(name)
                    gone.append(os.path.basename(name))
                except OSError as exc:
                    log.warning("cannot delete old log %s: %s", name, exc)
    return gone
