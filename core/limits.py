"""Per access key limits for a shared relay: requests per minute and tokens per day.

::

    access_keys:
      - name: intern
        key: ${INTERN_KEY}
        rpm: 30                 # requests per minute (a sliding window)
        tokens_per_day: 2000000 # input + output tokens per local day

Over a limit the client gets a 429 in its own protocol's shape with ``retry-after`` saying
when it may try again. Counters live here, by key name, outside the config snapshot, so a
reload (even one that changes the limits) keeps what was used.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ccrelay.core.errors import ErrorKind, RelayError


@dataclass
class _Usage:
    minute: deque[float] = field(default_factory=deque)
    day: str = ""
    tokens: int = 0


class KeyLimits:
    """Usage per access key name."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._usage: dict[str, _Usage] = {}

    def admit(self, name: str, rpm: int | None, tokens_per_day: int | None) -> None:
        """Count one request for ``name``.

        :raises RelayError: 429 with ``retry-after`` when a limit is reached.
        """
        now = self._clock()
        usage = self._usage.setdefault(name, _Usage())
        if tokens_per_day is not None:
            self._roll(usage, now)
            if usage.tokens >= tokens_per_day:
                wait = _seconds_to_midnight(now)
                raise RelayError(
                    429,
                    f"access key {name!r} has used its {tokens_per_day} tokens for today "
                    f"(access_keys tokens_per_day); it resets at local midnight, in {wait} s",
                    kind=ErrorKind.RATE_LIMITED,
                    headers={"retry-after": str(wait)},
                )
        if rpm is not None:
            window = usage.minute
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= rpm:
                wait = max(1, math.ceil(window[0] + 60 - now))
                raise RelayError(
                    429,
                    f"access key {name!r} is over its {rpm} requests per minute "
                    f"(access_keys rpm); try again in {wait} s",
                    kind=ErrorKind.RATE_LIMITED,
                    headers={"retry-after": str(wait)},
                )
            window.append(now)

    def add_tokens(self, name: str, tokens: int) -> None:
        usage = self._usage.setdefault(name, _Usage())
        self._roll(usage, self._clock())
        usage.tokens += tokens

    def used_today(self, name: str) -> int:
        usage = self._usage.get(name)
        if usage is None:
            return 0
        self._roll(usage, self._clock())
        return usage.tokens

    def _roll(self, usage: _Usage, now: float) -> None:
        day = time.strftime("%Y-%m-%d", time.localtime(now))
        if usage.day != day:
            usage.day, usage.tokens = day, 0


def _seconds_to_midnight(now: float) -> int:
    t = time.localtime(now)
    midnight = time.mktime((t.tm_year, t.tm_mon, t.tm_mday + 1, 0, 0, 0, 0, 0, -1))
    return max(1, math.ceil(midnight - now))
