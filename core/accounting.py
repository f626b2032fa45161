"""What one request cost: usage taken from canonical answers, one token-log line per attempt.

The relay fills an ``Accounting`` as the answer passes through (a stream's usage arrives in
``message_start`` and the cumulative ``message_delta``) and calls ``write`` once per attempt
and once when the request ends, whatever the client protocol.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ccrelay.core.errors import RelayError, scrub
from ccrelay.core.tokenlog import TokenLog

if TYPE_CHECKING:
    from ccrelay.core.bodylog import BodyRecord
    from ccrelay.core.config import Settings

log = logging.getLogger("ccrelay.relay")


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """Every key the config holds (upstream keys, access keys), for scrubbing messages that
    reach clients or logs."""
    keys = [k for p in settings.providers.values() for k in p.api_keys]
    return (*keys, *(a.key for a in settings.access_keys))


@dataclass
class Accounting:
    """The facts of one request, filled in as it runs; ``fields`` is its token-log line."""

    settings: Settings
    tokenlog: TokenLog
    request_id: str
    client_model: str
    stream: bool
    dialect: str
    group: str = "default"
    key: str = "-"
    #: the request's bodies, when logging.bodies is on
    record: BodyRecord | None = None
    #: called with (this, status) for every line written (metrics, per-key budgets)
    listeners: tuple[Callable[[Accounting, str], None], ...] = ()
    started: float = field(default_factory=time.monotonic)
    provider: str = "-"
    model: str = "-"
    route: str = "-"
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0
    #: this attempt's upstream time to first byte (answer headers), when known
    ttfb: float | None = None
    #: seconds spent waiting on the upstream (non-streaming) / when the request was sent
    upstream_seconds: float = 0.0
    sent_at: float | None = None

    def take_usage(self, usage: Mapping[str, Any] | None) -> None:
        """Keep the latest non-zero counts of a canonical ``usage`` object."""
        if not usage:
            return
        self.input_tokens = usage.get("input_tokens") or self.input_tokens
        self.output_tokens = usage.get("output_tokens") or self.output_tokens
        self.cache_read = usage.get("cache_read_input_tokens") or self.cache_read
        self.cache_write = usage.get("cache_creation_input_tokens") or self.cache_write

    def take_event(self, event: Mapping[str, Any]) -> None:
        """Usage from the canonical stream events that carry it."""
        etype = event.get("type")
        if etype == "message_delta":
            self.take_usage(event.get("usage"))
        elif etype == "message_start":
            self.take_usage(event["message"].get("usage"))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def overhead(self) -> float | None:
        """Seconds spent inside ccrelay: a non-streaming request's duration minus the
        upstream's; for a stream, the time until the upstream request was sent."""
        if self.sent_at is None:
            return None
        if self.stream:
            return self.sent_at - self.started
        return max(0.0, self.elapsed() - self.upstream_seconds)

    def fields(self, status: str, error: RelayError | None = None) -> dict[str, Any]:
        total = self.input_tokens + self.cache_read + self.cache_write + self.output_tokens
        out: dict[str, Any] = {
            "request_id": self.request_id,
            "provider": self.provider,
            "model": self.model,
            "client_model": self.client_model,
            "stream": self.stream,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read,
            "total_tokens": total,
            "duration_ms": int((time.monotonic() - self.started) * 1000),
            "status": status,
            # Fields added after the first release go here, after status, so that line
            # parsers written for the first format keep working; the free-text error is last.
            "dialect": self.dialect,
            "route": self.route,
            "group": self.group,
            "access_key": self.key,
        }
        if error is not None:
            out["error"] = scrub(error.message, secrets_of(self.settings))[:300]
        return out

    def write(self, status: str, error: RelayError | None = None) -> None:
        """Append this request's line to the token log (a failure to write is logged)."""
        for listener in self.listeners:
            listener(self, status)
        try:
            self.tokenlog.write(
                self.settings.log_dir, self.fields(status, error), keep_days=self.settings.keep_days
            )
        except OSError as exc:
            log.error("cannot write the token log in %s: %s", self.settings.log_dir, exc)
