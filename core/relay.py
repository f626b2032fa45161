"""One client call through the provider chain: convert, send, fall back, and hand back data.

Providers are tried in config order while nothing has reached the client. A connection error,
a timeout, or a 408/429/5xx answer moves on; any other 4xx goes back to the client as it is.
A stream's first event is fetched before committing to a provider, so an upstream that says
200 and fails at once still falls back. The answer is canonical data (a response, or stream
items from ``core/pump.py``) that the client's dialect renders; every attempt and every
finished request writes one token-log line.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

from ccrelay.core.accounting import Accounting, secrets_of
from ccrelay.core.client import ClientGone, ClientWatch
from ccrelay.core.config import ProviderConfig, Settings
from ccrelay.core.dialect import ClientCall
from ccrelay.core.errors import ErrorKind, RelayError, scrub
from ccrelay.core.framing import parse_stream
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.plugins import Registry
from ccrelay.core.provider import Provider, RequestContext
from ccrelay.core.pump import StreamItem, pump
from ccrelay.core.tokenlog import TokenLog
from ccrelay.core.tokens import estimate_input_tokens
from ccrelay.core.types import CanonicalResponse
from ccrelay.core.upstream import Upstream, UpstreamResponse

log = logging.getLogger("ccrelay.relay")


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


class Relay:
    """Runs client calls against the configured providers."""

    def __init__(self, registry: Registry, upstream: Upstream, tokenlog: TokenLog) -> None:
        self.registry = registry
        self.upstream = upstream
        self.tokenlog = tokenlog
        self._ending = False

    def end_streams(self) -> None:
        """Make every stream in flight end now with an overloaded error (server shutdown)."""
        self._ending = True

    def _is_ending(self) -> bool:
        return self._ending

    def run(
        self,
        settings: Settings,
        call: ClientCall,
        dialect: str,
        request_id: str,
        client: ClientWatch | None = None,
    ) -> CanonicalResponse | Iterator[StreamItem]:
        """Answer one call: a canonical response, or stream items for a stream.

        :param dialect: the client's protocol (side fields go only to strategies of it).
        :param client: the client's connection; when it closes, the upstream is closed too
            (``ClientGone`` is raised before an answer exists, a stream just ends).
        :raises RelayError: when no provider could answer (the last provider's error, or
            a summary naming each).
        """
        acct = Accounting(
            settings, self.tokenlog, request_id, call.request["model"], call.stream, dialect
        )
        try:
            with client.guard() if client is not None else nullcontext():
                return self._attempts(settings, call, dialect, acct, client)
        except RelayError as err:
            raise err.evolve(message=scrub(err.message, secrets_of(settings))) from None

    def _attempts(
        self,
        settings: Settings,
        call: ClientCall,
        dialect: str,
        acct: Accounting,
        client: ClientWatch | None,
    ) -> CanonicalResponse | Iterator[StreamItem]:
        req = call.request
        failures: list[str] = []
        errors: list[RelayError] = []
        for name in settings.chain:
            pcfg = settings.providers[name]
            acct.provider = name
            acct.model = pcfg.model or req["model"]
            try:
                strategy = self._usable(settings, pcfg)
                ctx = RequestContext(
                    pcfg, acct.model, req["model"], call.forward_headers, acct.request_id,
                    client_protocol=dialect, side=call.side,
                )  # fmt: skip
                if call.stream:
                    return self._stream(strategy, ctx, call, acct, client)
                return self._once(strategy, ctx, call, acct)
            except ClientGone:
                acct.write("cancelled")
                raise
            except RelayError as err:
                if not err.retryable:
                    acct.write("error", err)
                    raise
                prefix = f"provider {name}"
                failures.append(
                    err.message if err.message.startswith(prefix) else f"{prefix}: {err.message}"
                )
                errors.append(err)
                acct.write("fallback" if name != settings.chain[-1] else "error", err)
        raise _final_error(errors, failures)

    def _usable(self, settings: Settings, pcfg: ProviderConfig) -> Provider:
        """The provider's strategy, or a retryable ``NOT_CONFIGURED`` error saying what to fix."""
        strategy = self.registry.get(pcfg.type)
        if strategy is None:
            raise RelayError(
                400,
                f"provider {pcfg.name}: strategy {pcfg.type!r} is not loaded "
                "(see /health for plugin problems)",
                kind=ErrorKind.NOT_CONFIGURED,
                retryable=True,
            )
        if not pcfg.configured:
            raise RelayError(
                400,
                f"provider {pcfg.name} is not configured: {pcfg.problem} "
                f"(set it in the environment or in {settings.path.parent / '.env'})",
                kind=ErrorKind.NOT_CONFIGURED,
                retryable=True,
            )
        return strategy

    def count_tokens(self, settings: Settings, call: ClientCall, request_id: str) -> int:
        """The first usable provider's own count when it has a count endpoint, else (or when
        that fails) the local estimate of ``core/tokens.py``."""
        req = call.request
        for name in settings.chain:
            pcfg = settings.providers[name]
            strategy = self.registry.get(pcfg.type)
            if strategy is None or not pcfg.configured:
                continue
            model = pcfg.model or req["model"]
            ctx = RequestContext(pcfg, model, req["model"], call.forward_headers, request_id)
            upreq = strategy.count_tokens_request(req, ctx)
            if upreq is None:
                break
            try:
                resp = self.upstream.send(pcfg, strategy, upreq)
                try:
                    if resp.status == 200:
                        count = loads(resp.read()).get("input_tokens")
                        if isinstance(count, int):
                            return count
                    log.warning("provider %s: count_tokens answered %s; estimating locally",
                                name, resp.status)  # fmt: skip
                finally:
                    resp.close()
            except (RelayError, JSONDecodeError, AttributeError) as exc:
                log.warning("provider %s: count_tokens failed (%s); estimating locally", name, exc)
            break
        return estimate_input_tokens(req)

    # --- one attempt ----------------------------------------------------------------------

    def _open(self, strategy: Provider, ctx: RequestContext, call: ClientCall) -> UpstreamResponse:
        upreq = strategy.convert_request(call.request, ctx)
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
            raise err.evolve(
                message=f"provider {ctx.provider.name}: {err.message}",
                retryable=resp.status in (408, 429) or resp.status >= 500,
            )
        return resp

    def _once(
        self, strategy: Provider, ctx: RequestContext, call: ClientCall, acct: Accounting
    ) -> CanonicalResponse:
        resp = self._open(strategy, ctx, call)
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
        acct.write("success")
        return out

    def _stream(
        self,
        strategy: Provider,
        ctx: RequestContext,
        call: ClientCall,
        acct: Accounting,
        client: ClientWatch | None,
    ) -> Iterator[StreamItem]:
        resp = self._open(strategy, ctx, call)
        events = strategy.stream(parse_stream(strategy.stream_framing, resp.iter_bytes()), ctx)
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
            retry = err.retryable or err.status in (408, 429) or err.status >= 500
            raise err.evolve(retryable=retry) from None
        except BaseException:
            resp.close()
            raise
        return pump(first, events, resp, acct, client, self._is_ending)


def _final_error(errors: list[RelayError], failures: list[str]) -> RelayError:
    """The error for a call no provider could answer.

    When every provider failed for a configuration reason, that is the answer (a 4xx that
    clients do not retry); otherwise the last upstream failure decides the status, and the
    message names every provider that was tried.
    """
    real = [e for e in errors if e.kind is not ErrorKind.NOT_CONFIGURED]
    last = real[-1] if real else errors[-1]
    if len(failures) > 1:
        return last.evolve(message="every provider failed: " + "; ".join(failures))
    return last
