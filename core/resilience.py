"""What the relay remembers between requests: keys, circuit breakers, and load spreading.

- **Keys**: a provider may have several; they are used round robin. A 429 cools a key down
  for its ``Retry-After`` (else ``resilience.key_cooldown``); a 401/403 takes it out until the
  config changes (any reload). When every key is cooling the provider is skipped and the
  error says when the first is back.
- **Circuit breaker**, per provider: after ``breaker_failures`` consecutive connection
  errors, timeouts or 5xx, the provider is skipped for ``breaker_cooloff`` seconds; then one
  trial request decides (half-open): success closes it, failure opens it again.
- **Balancing**: ``round_robin`` rotates a route's targets per request; ``weighted`` uses
  smooth weighted round robin (the nginx algorithm), so 100 requests over weights [3, 1] go
  75 / 25 in an even interleaving. Fallback still walks the rest of the rotated list.

State lives here, outside the immutable config snapshot, keyed by provider name and key, so
it survives a reload for providers that still exist. All of it is touched only by request
greenlets between I/O calls, so it needs no locks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ccrelay.core.routing import Plan, Target


@dataclass(frozen=True)
class ResilienceSettings:
    """The ``resilience`` section of the config."""

    breaker_failures: int = 5
    breaker_cooloff: float = 30.0
    key_cooldown: float = 30.0


@dataclass
class _Key:
    cool_until: float = 0.0
    rejected_under: object | None = None  # the settings snapshot that saw a 401/403
    rejected_status: int = 0


@dataclass
class _Breaker:
    failures: int = 0
    open_until: float = 0.0
    trial_started: float = 0.0  # half-open: when the one trial request began
    last_error: str = ""


@dataclass
class _Weighted:
    targets: tuple[Target, ...]
    current: list[float] = field(default_factory=list)


class Resilience:
    """Key rotation, cool-downs, breakers and balancers for one server process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._keys: dict[tuple[str, str], _Key] = {}
        self._next_key: dict[str, int] = {}
        self._breakers: dict[str, _Breaker] = {}
        self._rr: dict[str, int] = {}
        self._weighted: dict[str, _Weighted] = {}

    # --- balancing ------------------------------------------------------------------

    def order(self, plan: Plan) -> tuple[Target, ...]:
        """The plan's targets in the order to try them for this request."""
        targets = plan.targets
        if plan.balance == "fallback" or len(targets) < 2:
            return targets
        if plan.balance == "round_robin":
            n = self._rr.get(plan.route, 0)
            self._rr[plan.route] = n + 1
            start = n % len(targets)
        else:
            start = self._pick_weighted(plan)
        return targets[start:] + targets[:start]

    def _pick_weighted(self, plan: Plan) -> int:
        state = self._weighted.get(plan.route)
        if state is None or state.targets != plan.targets:
            state = self._weighted[plan.route] = _Weighted(plan.targets, [0.0] * len(plan.targets))
        total = sum(plan.weights)
        for i, w in enumerate(plan.weights):
            state.current[i] += w
        best = max(range(len(state.current)), key=state.current.__getitem__)
        state.current[best] -= total
        return best

    # --- keys -----------------------------------------------------------------------

    def keys(
        self, provider: str, keys: tuple[str, ...], settings: object
    ) -> tuple[list[str], float]:
        """The usable keys of ``provider`` in round-robin order, and (when there are none)
        the seconds until the first cooling key is back (0 when none will be)."""
        if len(keys) <= 1 and not self._keys:
            return list(keys), 0.0  # the common case costs nothing
        now = self._clock()
        start = self._next_key.get(provider, 0)
        self._next_key[provider] = start + 1
        rotated = keys[start % len(keys) :] + keys[: start % len(keys)] if keys else ()
        usable: list[str] = []
        back = float("inf")
        for key in rotated:
            state = self._keys.get((provider, key))
            if state is None:
                usable.append(key)
                continue
            if state.rejected_under is settings:
                continue
            if state.cool_until > now:
                back = min(back, state.cool_until - now)
                continue
            usable.append(key)
        return usable, (0.0 if back == float("inf") else back)

    def cool_key(self, provider: str, key: str, seconds: float) -> None:
        state = self._keys.setdefault((provider, key), _Key())
        state.cool_until = self._clock() + seconds

    def reject_key(self, provider: str, key: str, status: int, settings: object) -> None:
        state = self._keys.setdefault((provider, key), _Key())
        state.rejected_under = settings
        state.rejected_status = status

    # --- breakers ---------------------------------------------------------------------

    def allows(self, provider: str, settings: ResilienceSettings) -> tuple[bool, float]:
        """Whether ``provider`` may be tried now, and if not, seconds until its trial."""
        br = self._breakers.get(provider)
        if br is None or br.failures < settings.breaker_failures:
            return True, 0.0
        now = self._clock()
        if now < br.open_until:
            return False, br.open_until - now
        # Half-open: one trial at a time; a trial that never reported (its client left)
        # gives way after another cool-off.
        if br.trial_started and now - br.trial_started < settings.breaker_cooloff:
            return False, settings.breaker_cooloff - (now - br.trial_started)
        br.trial_started = now
        return True, 0.0

    def succeeded(self, provider: str) -> None:
        br = self._breakers.get(provider)
        if br is not None:
            br.failures = 0
            br.open_until = br.trial_started = 0.0

    def failed(self, provider: str, error: str, settings: ResilienceSettings) -> None:
        """A connection error, timeout or 5xx from ``provider``."""
        br = self._breakers.setdefault(provider, _Breaker())
        br.failures += 1
        br.last_error = error[:200]
        br.trial_started = 0.0
        if br.failures >= settings.breaker_failures:
            br.open_until = self._clock() + settings.breaker_cooloff

    def breaker_note(self, provider: str) -> str:
        br = self._breakers.get(provider)
        return f"{br.failures} consecutive failures, last: {br.last_error}" if br else ""

    # --- /health ----------------------------------------------------------------------

    def snapshot(
        self, providers: Mapping[str, Any], settings: object, rs: ResilienceSettings
    ) -> dict[str, Any]:
        """Per provider: breaker state and each key's state, by ``key_label``."""
        now = self._clock()
        out: dict[str, Any] = {}
        for name, pcfg in providers.items():
            br = self._breakers.get(name)
            if br is None or br.failures < rs.breaker_failures:
                breaker: dict[str, Any] = {"state": "closed", "failures": br.failures if br else 0}
            elif now < br.open_until:
                breaker = {"state": "open", "retry_in": round(br.open_until - now, 1)}
            else:
                breaker = {"state": "half_open"}
            if br is not None and br.last_error:
                breaker["last_error"] = br.last_error
            keys = []
            for i, key in enumerate(pcfg.api_keys):
                state = self._keys.get((name, key))
                entry: dict[str, Any] = {"key": key_label(key, i), "state": "ok"}
                if state is not None and state.rejected_under is settings:
                    entry.update(state="rejected", status=state.rejected_status)
                elif state is not None and state.cool_until > now:
                    entry.update(state="cooling", back_in=round(state.cool_until - now, 1))
                keys.append(entry)
            out[name] = {"breaker": breaker, "keys": keys}
        return out


def key_label(key: str, index: int) -> str:
    """How ``/health`` names a key: its last four characters when it is long enough that they
    give nothing away (12 or more, as ``ccrelay check`` masks), else its place (``key 2``)."""
    return "..." + key[-4:] if len(key) >= 12 else f"key {index + 1}"
