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
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

from ccrelay.core import compat
from ccrelay.core.accounting import Accounting, secrets_of
from ccrelay.core.bodylog import BodyRecord
from ccrelay.core.client import ClientGone, ClientWatch
from ccrelay.core.config import ProviderConfig, Settings
from ccrelay.core.dialect import ClientCall
from ccrelay.core.errors import ErrorKind, RelayError, scrub
from ccrelay.core.framing import parse_stream
from ccrelay.core.groups import Group
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.oauth.manager import TokenManager, retry_after_401
from ccrelay.core.plugins import Registry
from ccrelay.core.profiles import fit_request
from ccrelay.core.provider import Provider, RequestContext
from ccrelay.core.pump import StreamItem, pump
from ccrelay.core.resilience import Resilience
from ccrelay.core.routing import Plan, plan
from ccrelay.core.tokenlog import TokenLog
from ccrelay.core.tokens import estimate_input_tokens
from ccrelay.core.types import CanonicalRequest, CanonicalResponse
from ccrelay.core.upstream import Upstream, UpstreamResponse

log = logging.getLogger("ccrelay.relay")


def new_request_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Who:
    """Who is asking: the client's dialect, its group (None: the default group without its
    own section) and the name of its access key (never the key)."""

    dialect: str
    group_name: str = "default"
    group: Group | None = None
    key_name: str = "-"
    #: the request's bodies, when logging.bodies is on
    record: BodyRecord | None = None


def _plan(settings: Settings, group: Group | None, req: CanonicalRequest) -> Plan:
    """The targets for ``req``: the group's routing where it has its own, else the top level's."""
    chain, routing = settings.chain, settings.routing
    if group is not None:
        chain = group.chain or chain
        routing = group.routing or routing
    return plan(routing, chain, settings.providers, req)


class Relay:
    """Runs client calls against the configured providers."""

    def __init__(
        self,
        registry: Registry,
        upstream: Upstream,
        tokenlog: TokenLog,
        oauth: TokenManager | None = None,
    ) -> None:
        self.registry = registry
        #: tokens of ``auth: oauth`` providers (core/oauth/)
        self.oauth = oauth or TokenManager()
        self.upstream = upstream
        self.tokenlog = tokenlog
        self.resilience = Resilience()
        #: called with (accounting, status) for every token-log line (metrics, budgets)
        self.listeners: list[Callable[[Accounting, str], None]] = []
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
        who: Who,
        request_id: str,
        client: ClientWatch | None = None,
    ) -> CanonicalResponse | Iterator[StreamItem]:
        """Answer one call: a canonical response, or stream items for a stream.

        :param who: the client's protocol (side fields go only to strategies of it), group
            (its routing replaces the top level's) and access key name.
        :param client: the client's connection; when it closes, the upstream is closed too
            (``ClientGone`` is raised before an answer exists, a stream just ends).
        :raises RelayError: when no provider could answer (the last provider's error, or
            a summary naming each).
        """
        acct = Accounting(
            settings, self.tokenlog, request_id, call.request["model"], call.stream, who.dialect,
            group=who.group_name, key=who.key_name, listeners=tuple(self.listeners),
            record=who.record,
        )  # fmt: skip
        try:
            with client.guard() if client is not None else nullcontext():
                return self._attempts(settings, call, who, acct, client)
        except RelayError as err:
            raise err.evolve(message=scrub(err.message, secrets_of(settings))) from None

    def _attempts(
        self,
        settings: Settings,
        call: ClientCall,
        who: Who,
        acct: Accounting,
        client: ClientWatch | None,
    ) -> CanonicalResponse | Iterator[StreamItem]:
        req = call.request
        route = _plan(settings, who.group, req)
        acct.route = route.route
        state = self.resilience
        rs = settings.resilience
        failures: list[str] = []
        errors: list[RelayError] = []
        targets = state.order(route)
        for target in targets:
            name = target.provider
            pcfg = settings.providers[name]
            acct.provider = name
            acct.model = target.model or pcfg.model or req["model"]
            try:
                strategy = self._usable(settings, pcfg)
                if call.needs_protocol and strategy.protocol != call.needs_protocol:
                    # Only a backend of the client's own protocol can serve this call; the
                    # next provider may be one.
                    raise RelayError(400, f"provider {name}: {call.needs_reason}", retryable=True)
                keys = self._keys(pcfg, settings)
                allowed, wait = state.allows(name, rs)
                if not allowed:
                    raise RelayError(
                        503,
                        f"provider {name} is skipped for {wait:.0f} s after "
                        f"{state.breaker_note(name)} (circuit breaker)",
                        kind=ErrorKind.OVERLOADED,
                        headers={"retry-after": str(max(1, round(wait)))},
                        retryable=True,
                    )
            except RelayError as err:
                failures.append(err.message)
                errors.append(err)
                acct.write("fallback" if target != targets[-1] else "error", err)
                continue
            for key in keys:
                attempt = pcfg if key == pcfg.api_key else replace(pcfg, api_key=key)
                ctx = RequestContext(
                    attempt, acct.model, req["model"], call.forward_headers, acct.request_id,
                    client_protocol=who.dialect, side=call.side,
                )  # fmt: skip
                try:
                    if call.stream:
                        out: Any = self._stream(strategy, ctx, call, acct, client)
                    else:
                        out = self._once(strategy, ctx, call, acct)
                    state.succeeded(name)
                    return out  # type: ignore[no-any-return]
                except ClientGone:
                    acct.write("cancelled")
                    raise
                except RelayError as err:
                    if pcfg.auth == "oauth" and err.status == 401:  # refresh once, retry once
                        err, next_key = retry_after_401(self.oauth, pcfg, key, keys, err)
                    else:
                        next_key = self._judge(name, key, err, settings)
                    if not err.retryable and not next_key:
                        acct.write("error", err)
                        raise
                    prefix = f"provider {name}"
                    failures.append(
                        err.message
                        if err.message.startswith(prefix)
                        else f"{prefix}: {err.message}"
                    )
                    errors.append(err)
                    last = target == targets[-1] and key == keys[-1]
                    acct.write("error" if last else "fallback", err)
                    if not next_key:
                        break
        raise _final_error(errors, failures)

    def _keys(self, pcfg: ProviderConfig, settings: Settings) -> list[str]:
        """The provider's usable keys in round-robin order, or a retryable error saying when
        the first cooling key is back."""
        if pcfg.auth == "oauth":
            return [self.oauth.access_token(pcfg)]  # a subscription login's current token
        if not pcfg.api_keys:
            return [pcfg.api_key]  # keyless upstreams (local servers) still get one attempt
        keys, back = self.resilience.keys(pcfg.name, pcfg.api_keys, settings)
        if keys:
            return keys
        if back > 0:
            raise RelayError(
                429,
                f"provider {pcfg.name}: every key is cooling down after rate limits; the "
                f"first is back in {back:.0f} s",
                kind=ErrorKind.RATE_LIMITED,
                headers={"retry-after": str(max(1, round(back)))},
                retryable=True,
            )
        raise RelayError(
            401,
            f"provider {pcfg.name}: every key was rejected by the upstream (401/403); fix "
            f"providers.{pcfg.name}.api_key (keys are tried again after any config change)",
            kind=ErrorKind.AUTHENTICATION,
            retryable=True,
        )

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
                # the problem names the variable or key to set and where (core/config.py)
                f"provider {pcfg.name} is not configured: {pcfg.problem}",
                kind=ErrorKind.NOT_CONFIGURED,
                retryable=True,
            )
        return strategy

    def _judge(self, provider: str, key: str, err: RelayError, settings: Settings) -> bool:
        """Record what ``err`` says about the key and the provider; True when the next key of
        the same provider should be tried at once."""
        state = self.resilience
        if err.status == 429:
            state.cool_key(provider, key, _retry_after(err, settings.resilience.key_cooldown))
            return True
        if err.status in (401, 403):
            state.reject_key(provider, key, err.status, settings)
            return True
        if err.retryable and err.status != 400:
            # connection errors, timeouts and 5xx count toward the breaker
            state.failed(provider, err.message, settings.resilience)
        return False

    def count_tokens(
        self, settings: Settings, call: ClientCall, request_id: str, group: Group | None = None
    ) -> int:
        """The first usable provider's own count when it has a count endpoint, else (or when
        that fails) the local estimate of ``core/tokens.py``."""
        req = call.request
        route = _plan(settings, group, req)
        for target in route.targets:
            name = target.provider
            pcfg = settings.providers[name]
            strategy = self.registry.get(pcfg.type)
            if strategy is None or not pcfg.configured:
                continue
            if pcfg.auth == "oauth":
                try:
                    pcfg = replace(pcfg, api_key=self.oauth.access_token(pcfg))
                except RelayError:
                    continue
            model = target.model or pcfg.model or req["model"]
            ctx = RequestContext(pcfg, model, req["model"], call.forward_headers, request_id)
            upreq = strategy.count_tokens_request(compat.request(call, ctx), ctx)
            if upreq is None:
                break
            try:
                resp = self.upstream.send(pcfg, strategy, upreq, settings.max_response_bytes)
                try:
                    if resp.status == 200:
                        count = strategy.count_tokens_answer(loads(resp.read()))
                        if count is not None:
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

    def _open(
        self, strategy: Provider, ctx: RequestContext, call: ClientCall, acct: Accounting
    ) -> UpstreamResponse:
        upreq = strategy.convert_request(fit_request(compat.request(call, ctx), ctx), ctx)
        if acct.record is not None:
            acct.record.attempt(ctx.provider.name, ctx.model, upreq.body)
        acct.ttfb = None
        acct.sent_at = sent = time.monotonic()
        resp = self.upstream.send(ctx.provider, strategy, upreq, acct.settings.max_response_bytes)
        acct.ttfb = time.monotonic() - sent
        if resp.status >= 400:
            try:
                raw = resp.read()
            finally:
                resp.close()
            if acct.record is not None:
                acct.record.answered(raw)
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
        resp = self._open(strategy, ctx, call, acct)
        try:
            raw = resp.read()
        finally:
            resp.close()
        acct.upstream_seconds = time.monotonic() - (acct.sent_at or acct.started)
        if acct.record is not None:
            acct.record.answered(raw)
        try:
            body = loads(raw)
        except JSONDecodeError:
            raise RelayError(
                502,
                f"provider {ctx.provider.name}: answer is not JSON: {raw[:200]!r}",
                retryable=True,
            ) from None
        out = compat.response(call, ctx, strategy.convert_response(body, ctx))
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
        resp = self._open(strategy, ctx, call, acct)
        chunks = resp.iter_bytes()
        if acct.record is not None:
            chunks = acct.record.tee_answer(chunks)
        events = strategy.stream(parse_stream(strategy.stream_framing, chunks), ctx)
        events = compat.events(call, ctx, events)
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


def _retry_after(err: RelayError, default: float) -> float:
    value = err.headers.get("retry-after", "")
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if 0 < seconds <= 24 * 3600 else default


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
