"""One request through the provider chain: convert, send, fall back, stream, account.

Providers are tried in config order while nothing has reached the client. A connection error,
a timeout, or a 408/429/5xx answer moves on; any other 4xx goes back to the client as it is.
Once a stream's first byte is out, a failure ends it with an ``error`` event. Every attempt
and every finished request writes one token-log line.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import gevent
from ccrelay.core.client import ClientGone, ClientWatch
from ccrelay.core.config import Settings
from ccrelay.core.errors import RelayError, anthropic_error_body
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.plugins import Registry
from ccrelay.core.provider import Provider, RequestContext
from ccrelay.core.sse import encode_event, parse_events
from ccrelay.core.tokenlog import TokenLog
from ccrelay.core.tokens import estimate_input_tokens
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse
from ccrelay.core.upstream import Upstream, UpstreamResponse
from gevent.queue import Empty, Queue

log = logging.getLogger("ccrelay.relay")

#: how often a waiting stream checks whether its client is still there
CLIENT_CHECK_INTERVAL = 0.5
_PING = encode_event({"type": "ping"})
_END = object()


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


def scrub(text: str, settings: Settings) -> str:
    """``text`` with every configured key replaced by ``***``: upstream error messages
    sometimes quote the key they were sent, and they go to clients and logs."""
    for pcfg in settings.providers.values():
        key = pcfg.api_key
        if len(key) >= 8 and key in text:
            text = text.replace(key, "***")
    return text


@dataclass
class _Accounting:
    """What one request cost, filled in as the answer passes through."""

    settings: Settings
    request_id: str
    client_model: str
    stream: bool
    started: float = field(default_factory=time.monotonic)
    provider: str = "-"
    model: str = "-"
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0

    def take_usage(self, usage: Mapping[str, Any] | None) -> None:
        if not usage:
            return
        self.input_tokens = usage.get("input_tokens") or self.input_tokens
        self.output_tokens = usage.get("output_tokens") or self.output_tokens
        self.cache_read = usage.get("cache_read_input_tokens") or self.cache_read
        self.cache_write = usage.get("cache_creation_input_tokens") or self.cache_write

    def fields(self, status: str, **extra: Any) -> dict[str, Any]:
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
        }
        out.update(extra)
        return out


class Relay:
    """Runs canonical requests against the configured providers."""

    def __init__(self, registry: Registry, upstream: Upstream, tokenlog: TokenLog) -> None:
        self.registry = registry
        self.upstream = upstream
        self.tokenlog = tokenlog
        self._ending = False

    def end_streams(self) -> None:
        """Make every stream in flight end now with an ``error`` event (server shutdown)."""
        self._ending = True

    def messages(
        self,
        settings: Settings,
        req: CanonicalRequest,
        client_headers: Mapping[str, str],
        request_id: str,
        client: ClientWatch | None = None,
    ) -> CanonicalResponse | Iterator[bytes]:
        """Answer one Messages request: a canonical response, or SSE bytes for a stream.

        :param client: the client's connection; when it closes, the upstream is closed too
            (``ClientGone`` is raised before an answer exists, a stream just ends).
        :raises RelayError: when no provider could answer (the last provider's error).
        """
        try:
            with client.guard() if client is not None else nullcontext():
                return self._attempts(settings, req, client_headers, request_id, client)
        except RelayError as err:
            err.message = scrub(err.message, settings)
            raise

    def _attempts(
        self,
        settings: Settings,
        req: CanonicalRequest,
        client_headers: Mapping[str, str],
        request_id: str,
        client: ClientWatch | None,
    ) -> CanonicalResponse | Iterator[bytes]:
        stream = bool(req.get("stream"))
        acct = _Accounting(settings, request_id, req["model"], stream)
        failures: list[str] = []
        last: RelayError | None = None
        for name in settings.chain:
            pcfg = settings.providers[name]
            acct.provider = name
            acct.model = pcfg.model or req["model"]
            strategy = self.registry.get(pcfg.type)
            try:
                if strategy is None:
                    raise RelayError(
                        503,
                        f"provider {name}: strategy {pcfg.type!r} is not loaded "
                        "(see /health for plugin problems)",
                        retryable=True,
                    )
                if not pcfg.configured:
                    raise RelayError(
                        503,
                        f"provider {name} is not configured: {pcfg.problem} "
                        f"(set it in the environment or in {settings.path.parent / '.env'})",
                        retryable=True,
                    )
                ctx = RequestContext(pcfg, acct.model, req["model"], client_headers, request_id)
                if stream:
                    return self._stream(strategy, ctx, req, acct, client)
                return self._once(strategy, ctx, req, acct)
            except ClientGone:
                self._log(acct, "cancelled")
                raise
            except RelayError as err:
                if not err.retryable:
                    self._log(acct, "error", err)
                    raise
                prefix = f"provider {name}"
                failures.append(
                    err.message if err.message.startswith(prefix) else f"{prefix}: {err.message}"
                )
                last = err
                self._log(acct, "fallback" if name != settings.chain[-1] else "error", err)
        assert last is not None
        if len(failures) > 1:
            last = RelayError(
                last.status,
                "every provider failed: " + "; ".join(failures),
                error_type=last.error_type,
                headers=last.headers,
            )
        raise last

    def count_tokens(
        self,
        settings: Settings,
        req: CanonicalRequest,
        client_headers: Mapping[str, str],
        request_id: str,
    ) -> dict[str, Any]:
        """``{"input_tokens": n}``: the first usable provider's own count when it has a count
        endpoint, else (or when that fails) the local estimate of ``core/tokens.py``."""
        for name in settings.chain:
            pcfg = settings.providers[name]
            strategy = self.registry.get(pcfg.type)
            if strategy is None or not pcfg.configured:
                continue
            model = pcfg.model or req["model"]
            ctx = RequestContext(pcfg, model, req["model"], client_headers, request_id)
            upreq = strategy.count_tokens_request(req, ctx)
            if upreq is None:
                break
            try:
                resp = self.upstream.send(pcfg, strategy, upreq)
                try:
                    if resp.status == 200:
                        count = loads(resp.read()).get("input_tokens")
                        if isinstance(count, int):
                            return {"input_tokens": count}
                    log.warning("provider %s: count_tokens answered %s; estimating locally",
                                name, resp.status)  # fmt: skip
                finally:
                    resp.close()
            except (RelayError, JSONDecodeError, AttributeError) as exc:
                log.warning("provider %s: count_tokens failed (%s); estimating locally", name, exc)
            break
        return {"input_tokens": estimate_input_tokens(req)}

    # --- one attempt ----------------------------------------------------------------------

    def _open(
        self, strategy: Provider, ctx: RequestContext, req: CanonicalRequest
    ) -> UpstreamResponse:
        upreq = strategy.convert_request(req, ctx)
        resp = self.upstream.send(ctx.provider, strategy, upreq)
        if resp.status >= 400:
            try:
                raw = resp.read()
            finally:
                resp.close()
            try:
                body: Any = loads(raw) if raw else ""
            except JSONDecodeError:
                body = raw.decode("utf-8", "replace")
            err = strategy.map_error(resp.status, body, resp.headers)
            err.message = f"provider {ctx.provider.name}: {err.message}"
            err.retryable = resp.status in (408, 429) or resp.status >= 500
            raise err
        return resp

    def _once(
        self, strategy: Provider, ctx: RequestContext, req: CanonicalRequest, acct: _Accounting
    ) -> CanonicalResponse:
        resp = self._open(strategy, ctx, req)
        try:
            raw = resp.read()
        finally:
            resp.close()
        try:
            body = loads(raw)
        except JSONDecodeError:
            raise RelayError(
                502,
                f"provider {ctx.provider.name}: answer is not JSON: {raw[:200]!r}",
                retryable=True,
            ) from None
        out = strategy.convert_response(body, ctx)
        acct.take_usage(out.get("usage"))
        self._log(acct, "success")
        return out

    def _stream(
        self,
        strategy: Provider,
        ctx: RequestContext,
        req: CanonicalRequest,
        acct: _Accounting,
        client: ClientWatch | None,
    ) -> Iterator[bytes]:
        resp = self._open(strategy, ctx, req)
        events = strategy.stream(parse_events(resp.iter_bytes()), ctx)
        # Take the first event before committing to this provider: an upstream that says 200
        # and then fails at once still lets the next provider answer.
        try:
            first = next(events)
        except StopIteration:
            resp.close()
            raise RelayError(
                502, f"provider {ctx.provider.name}: empty stream", retryable=True
            ) from None
        except RelayError as err:
            resp.close()
            err.retryable = err.retryable or err.status in (408, 429) or err.status >= 500
            raise
        except BaseException:
            resp.close()
            raise
        if first.get("type") == "message_start":
            acct.take_usage(first["message"].get("usage"))
        return self._pump(first, events, resp, acct, client)

    def _pump(
        self,
        first: CanonicalEvent,
        events: Iterator[CanonicalEvent],
        resp: UpstreamResponse,
        acct: _Accounting,
        client: ClientWatch | None,
    ) -> Iterator[bytes]:
        """Relay events to the client from a reader greenlet, with pings during silences."""
        queue: Queue[Any] = Queue()

        def reader() -> None:
            try:
                for ev in events:
                    etype = ev["type"]
                    if etype == "message_delta":
                        acct.take_usage(ev.get("usage"))
                    queue.put(encode_event(ev))
                queue.put(_END)
            except RelayError as err:
                queue.put(err)
            except OSError as exc:
                queue.put(RelayError(502, f"upstream connection lost mid-stream: {exc}"))
            except gevent.GreenletExit:
                raise
            except Exception as exc:  # noqa: BLE001 - a strategy bug must still end the stream
                log.exception("strategy failed mid-stream (request %s)", acct.request_id)
                queue.put(RelayError(500, f"ccrelay failed converting the stream: {exc!r}"))

        glet = gevent.spawn(reader)
        status = "error"
        error: RelayError | None = None
        ping_interval = acct.settings.ping_interval
        try:
            yield encode_event(first)
            silent = 0.0
            while True:
                if self._ending:
                    item = RelayError(
                        503, "ccrelay is shutting down; send the request again",
                        error_type="overloaded_error",
                    )  # fmt: skip
                else:
                    try:
                        item = queue.get(timeout=CLIENT_CHECK_INTERVAL)
                    except Empty:
                        silent += CLIENT_CHECK_INTERVAL
                        if client is not None and not client.alive():
                            status = "cancelled"
                            return
                        if silent >= ping_interval:
                            silent = 0.0
                            yield _PING
                        continue
                silent = 0.0
                # Send everything already waiting in one write.
                batch: list[bytes] = []
                while True:
                    if item is _END or isinstance(item, RelayError):
                        break
                    batch.append(item)
                    if queue.empty():
                        item = None
                        break
                    item = queue.get_nowait()
                if batch:
                    yield b"".join(batch)
                if item is _END:
                    status = "success"
                    return
                if isinstance(item, RelayError):
                    error = item
                    item.message = scrub(item.message, acct.settings)
                    body = anthropic_error_body(item.error_type, item.message)
                    yield encode_event(body)
                    return
        except GeneratorExit:
            status = "cancelled"
            raise
        finally:
            glet.kill(block=True, timeout=1)
            resp.close()
            self._log(acct, status, error)

    def _log(self, acct: _Accounting, status: str, err: RelayError | None = None) -> None:
        extra = {"error": scrub(err.message, acct.settings)[:300]} if err is not None else {}
        try:
            self.tokenlog.write(acct.settings.log_dir, acct.fields(status, **extra))
        except OSError as exc:
            log.error("cannot write the token log in %s: %s", acct.settings.log_dir, exc)
