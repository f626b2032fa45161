"""Prometheus metrics: what ``GET /metrics`` reports, fed by the same facts as the token log.

Every token-log line (one per attempt, fallbacks included) also counts here, so the two
never disagree. Metrics (all prefixed ``ccrelay_``):

| metric | type | labels |
|---|---|---|
| ``requests_total`` | counter | provider, model, dialect, group, status |
| ``tokens_total`` | counter | provider, model, kind (input, output, cache_read, cache_write) |
| ``upstream_ttfb_seconds`` | histogram | provider: time from sending to the answer's headers |
| ``request_duration_seconds`` | histogram | provider, status |
| ``overhead_seconds`` | histogram | stream: time spent inside ccrelay (a non-streaming request's duration minus the upstream's; for a stream, the time until the upstream request is sent) |
| ``requests_in_flight``, ``streams_in_flight`` | gauge | |
| ``key_cooling``, ``key_rejected`` | gauge | provider: keys cooling down / taken out |
| ``breaker_open`` | gauge | provider: 0 closed, 1 half-open, 2 open |

Config: ``metrics: {enabled: true, public: false}``; with ``access_keys`` set, ``/metrics``
needs one unless ``public: true``. Under gunicorn with several workers, set
``PROMETHEUS_MULTIPROC_DIR`` to a shared empty folder so every worker's counters are summed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from ccrelay.core.accounting import Accounting
    from ccrelay.core.config import Settings
    from ccrelay.core.resilience import Resilience

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_TTFB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
_DURATION_BUCKETS = (0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)


class Metrics:
    """The metrics of one process."""

    def __init__(
        self,
        resilience: Resilience,
        settings: Callable[[], Settings],
        in_flight: Callable[[], tuple[int, int]],
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "ccrelay_requests", "Attempts and requests, one per token-log line",
            ["provider", "model", "dialect", "group", "status"], registry=r,
        )  # fmt: skip
        self.tokens = Counter(
            "ccrelay_tokens", "Tokens by kind", ["provider", "model", "kind"], registry=r
        )
        self.ttfb = Histogram(
            "ccrelay_upstream_ttfb_seconds", "Upstream time to first byte (answer headers)",
            ["provider"], buckets=_TTFB_BUCKETS, registry=r,
        )  # fmt: skip
        self.duration = Histogram(
            "ccrelay_request_duration_seconds", "Total duration per attempt",
            ["provider", "status"], buckets=_DURATION_BUCKETS, registry=r,
        )  # fmt: skip
        self.overhead = Histogram(
            "ccrelay_overhead_seconds", "Time spent inside ccrelay per request",
            ["stream"], buckets=_OVERHEAD_BUCKETS, registry=r,
        )  # fmt: skip
        r.register(_StateCollector(resilience, settings, in_flight))
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            self.registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.registry)  # type: ignore[no-untyped-call]
            self.registry.register(_StateCollector(resilience, settings, in_flight))

    def observe(self, acct: Accounting, status: str) -> None:
        """Count one token-log line."""
        provider, model = acct.provider, acct.model
        self.requests.labels(provider, model, acct.dialect, acct.group, status).inc()
        for kind, n in (
            ("input", acct.input_tokens), ("output", acct.output_tokens),
            ("cache_read", acct.cache_read), ("cache_write", acct.cache_write),
        ):  # fmt: skip
            if n:
                self.tokens.labels(provider, model, kind).inc(n)
        if acct.ttfb is not None:
            self.ttfb.labels(provider).observe(acct.ttfb)
        self.duration.labels(provider, status).observe(acct.elapsed())
        if status != "fallback" and acct.overhead is not None:
            self.overhead.labels("true" if acct.stream else "false").observe(acct.overhead)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _StateCollector(Collector):
    """Gauges read at scrape time from state kept elsewhere."""

    def __init__(
        self,
        resilience: Resilience,
        settings: Callable[[], Settings],
        in_flight: Callable[[], tuple[int, int]],
    ) -> None:
        self.resilience = resilience
        self.settings = settings
        self.in_flight = in_flight

    def collect(self) -> Iterator[Any]:
        requests, streams = self.in_flight()
        yield GaugeMetricFamily("ccrelay_requests_in_flight", "Requests being relayed", requests)
        yield GaugeMetricFamily("ccrelay_streams_in_flight", "Streams being relayed", streams)
        settings = self.settings()
        snap = self.resilience.snapshot(settings.providers, settings, settings.resilience)
        cooling = GaugeMetricFamily("ccrelay_key_cooling", "Keys cooling down", labels=["provider"])
        rejected = GaugeMetricFamily(
            "ccrelay_key_rejected", "Keys taken out after 401/403", labels=["provider"]
        )
        breaker = GaugeMetricFamily(
            "ccrelay_breaker_open", "0 closed, 1 half-open, 2 open", labels=["provider"]
        )
        states = {"closed": 0, "half_open": 1, "open": 2}
        for name, entry in snap.items():
            keys = entry["keys"]
            cooling.add_metric([name], sum(1 for k in keys if k["state"] == "cooling"))
            rejected.add_metric([name], sum(1 for k in keys if k["state"] == "rejected"))
            breaker.add_metric([name], states[entry["breaker"]["state"]])
        yield cooling
        yield rejected
        yield breaker
