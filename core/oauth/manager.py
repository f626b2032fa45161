"""Each ``auth: oauth`` provider's access token, fresh for every attempt.

The relay asks ``access_token(provider)`` once per attempt. A token that expires within the
margin (5 minutes, or half its lifetime for short ones) is refreshed first, and only once:

- in one process, the first request that finds it due refreshes and the others wait on an
  event for its result (single flight per provider; under gevent the waiting is cooperative);
- across processes, the refresh holds the auth file's lock (``store.py``) and reads the file
  again under it: when another worker already refreshed, its token is taken and no request
  is sent. The rotated refresh token is written before the lock is let go.

``after_rejection`` is the same refresh, forced, for a token the upstream answered 401 to.
A refused refresh is written into the file, so every worker reports the provider as needing
a new login (and none hammers the token endpoint) until ``ccrelay login`` replaces the entry.
Changes made by others (another worker's refresh, a login, a logout) are noticed by the
file's signature, one ``stat`` per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.oauth import flow
from ccrelay.core.oauth.store import AuthFile, AuthFileError, TokenEntry, default_path

if TYPE_CHECKING:
    from ccrelay.core.config import ProviderConfig

log = logging.getLogger("ccrelay.oauth")

#: refresh this long before expiry (at most half the token's lifetime)
MARGIN = 300.0
#: how long a request waits for another process's refresh (the lock) or its own process's
LOCK_TIMEOUT = 60.0
WAIT_TIMEOUT = LOCK_TIMEOUT + flow.CONNECT_TIMEOUT + flow.READ_TIMEOUT


@dataclass
class _Flight:
    """One refresh in progress in this process; waiters read its outcome when ``done``."""

    done: threading.Event = field(default_factory=threading.Event)
    token: str = field(default="", repr=False)
    error: RelayError | None = None


class TokenManager:
    """Tokens of every ``auth: oauth`` provider, read from one auth file.

    :param store: the auth file (default: ``$CCRELAY_AUTH_FILE`` or
        ``~/.config/ccrelay/auth.json``, resolved on first use).
    :param clock: epoch seconds (tests move time).
    """

    def __init__(
        self, store: AuthFile | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._clock = clock
        self._signature: tuple[int, int, int] | None = None
        self._entries: dict[str, TokenEntry] = {}
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()

    @property
    def store(self) -> AuthFile:
        if self._store is None:
            self._store = AuthFile(default_path())
        return self._store

    # --- for the relay ---------------------------------------------------------------

    def access_token(self, provider: ProviderConfig) -> str:
        """A token that is good for this attempt.

        :raises RelayError: retryable ``NOT_CONFIGURED`` when there is no login or its
            refresh was refused (the message says to run ``ccrelay login``); retryable 502
            when the token endpoint could not be reached and the token has expired.
        """
        entry = self._current(provider.name)
        if entry.refused:
            raise _refused(provider.name, entry.refused)
        if self._due(entry):
            return self._refresh(provider, entry.access_token)
        return entry.access_token

    def after_rejection(self, provider: ProviderConfig, token: str) -> str:
        """A new token after the upstream answered 401 to ``token`` (refreshed once, even when
        many requests were rejected together)."""
        return self._refresh(provider, token, forced=True)

    def describe(self, provider: ProviderConfig) -> dict[str, Any]:
        """Whether ``provider`` is logged in, until when and with which scopes (never a
        token), for ``/health``."""
        try:
            entries = self._load(provider.name)
        except RelayError as err:
            return {"logged_in": False, "problem": err.message}
        return describe_entry(provider.name, entries.get(provider.name), self._clock())

    # --- reading ------------------------------------------------------------------------

    def _load(self, name: str) -> dict[str, TokenEntry]:
        """Every saved entry, read again only when the file changed since the last read."""
        try:
            signature = self.store.signature()
            if signature != self._signature:
                self._entries = self.store.read() if signature is not None else {}
                self._signature = signature
        except AuthFileError as exc:
            raise RelayError(
                500, f"provider {name}: {exc}", kind=ErrorKind.UPSTREAM, retryable=True
            ) from None
        return self._entries

    def _current(self, name: str) -> TokenEntry:
        entry = self._load(name).get(name)
        if entry is None:
            raise RelayError(
                400,
                f"provider {name} is not configured: run `ccrelay login {name}` (no login "
                f"saved in {self.store.path})",
                kind=ErrorKind.NOT_CONFIGURED,
                retryable=True,
            )
        return entry

    def _due(self, entry: TokenEntry) -> bool:
        if entry.expires_at is None:
            return False  # the server gave no lifetime: refreshed when the upstream says 401
        lifetime = entry.expires_at - entry.obtained_at
        margin = min(MARGIN, lifetime / 2) if lifetime > 0 else MARGIN
        return self._clock() >= entry.expires_at - margin

    # --- refreshing ---------------------------------------------------------------------

    def _refresh(self, provider: ProviderConfig, seen: str, *, forced: bool = False) -> str:
        """Single flight per provider in this process: the first caller refreshes, the
        others wait for its outcome."""
        name = provider.name
        with self._lock:
            flight = self._flights.get(name)
            leader = flight is None
            if flight is None:
                flight = self._flights[name] = _Flight()
        if not leader:
            if not flight.done.wait(WAIT_TIMEOUT):
                raise RelayError(
                    504,
                    f"provider {name}: the token refresh did not finish in {WAIT_TIMEOUT:g} s",
                    kind=ErrorKind.TIMEOUT,
                    retryable=True,
                )
            if flight.error is not None:
                raise flight.error
            return flight.token
        try:
            flight.token = self._refresh_shared(provider, seen, forced)
            return flight.token
        except RelayError as err:
            flight.error = err
            raise
        finally:
            with self._lock:
                del self._flights[name]
            flight.done.set()

    def _refresh_shared(self, provider: ProviderConfig, seen: str, forced: bool) -> str:
        """Under the file lock: take a token another process refreshed, or refresh and write."""
        name = provider.name
        store = self.store
        try:
            with store.locked(LOCK_TIMEOUT):
                signature = store.signature()
                entries = store.read()
                self._entries, self._signature = entries, signature
                entry = self._current(name)
                if entry.refused:
                    raise _refused(name, entry.refused)
                if entry.access_token != seen and not self._due(entry):
                    return entry.access_token  # another worker refreshed it meanwhile
                assert provider.oauth is not None, "auth: oauth providers have an oauth spec"
                try:
                    new = flow.refresh(provider.oauth, entry, now=self._clock())
                except flow.TokenEndpointError as exc:
                    if not exc.refused:
                        return self._transient(name, entry, exc, forced)
                    entries[name] = replace(entry, refused=exc.message)
                    self._save(entries)
                    log.warning("provider %s: the token refresh was refused: %s", name, exc)
                    raise _refused(name, exc.message) from None
                entries[name] = new
                self._save(entries)
        except AuthFileError as exc:
            raise RelayError(
                500, f"provider {name}: {exc}", kind=ErrorKind.UPSTREAM, retryable=True
            ) from None
        life = f"{new.expires_at - new.obtained_at:.0f} s" if new.expires_at else "unknown"
        rotated = "rotated" if new.refresh_token != entry.refresh_token else "kept"
        log.info("provider %s: access token refreshed (lifetime %s, refresh token %s)",
                 name, life, rotated)  # fmt: skip
        return new.access_token

    def _save(self, entries: dict[str, TokenEntry]) -> None:
        self.store.write(entries)
        self._entries, self._signature = entries, self.store.signature()

    def _transient(
        self, name: str, entry: TokenEntry, exc: flow.TokenEndpointError, forced: bool
    ) -> str:
        """A refresh that failed for a passing reason: the old token while it lasts."""
        if not forced and entry.expires_at is not None and self._clock() < entry.expires_at:
            log.warning("provider %s: token refresh failed (%s); the current token is good "
                        "for %.0f s more", name, exc, entry.expires_at - self._clock())  # fmt: skip
            return entry.access_token
        raise RelayError(
            502,
            f"provider {name}: could not refresh the access token: {exc.message}; it is "
            "tried again on the next request",
            kind=ErrorKind.UPSTREAM,
            retryable=True,
        )


def describe_entry(name: str, entry: TokenEntry | None, now: float) -> dict[str, Any]:
    """A login's public facts: logged in or not, expiry, scopes, the problem if any."""
    if entry is None:
        return {"logged_in": False, "problem": f"not logged in: run `ccrelay login {name}`"}
    out: dict[str, Any] = {
        "logged_in": not entry.refused,
        "expires_at": None,
        "expires_in": None,
        "scopes": list(entry.scopes),
    }
    if entry.expires_at is not None:
        out["expires_at"] = datetime.fromtimestamp(entry.expires_at, timezone.utc).isoformat(
            timespec="seconds"
        )
        out["expires_in"] = round(entry.expires_at - now)
    if entry.refused:
        out["problem"] = (
            f"the refresh was refused ({entry.refused}): run `ccrelay login {name}` again"
        )
    return out


def _refused(name: str, reason: str) -> RelayError:
    return RelayError(
        400,
        f"provider {name} is not configured: the refresh was refused ({reason}); run "
        f"`ccrelay login {name}` again",
        kind=ErrorKind.NOT_CONFIGURED,
        retryable=True,
    )


def retry_after_401(
    tokens: TokenManager,
    provider: ProviderConfig,
    token: str,
    keys: list[str],
    err: RelayError,
) -> tuple[RelayError, bool]:
    """The relay's judgement of a 401 to an ``auth: oauth`` provider's ``token``: refresh once
    and queue the new token in ``keys`` for one retry of the same request (True: try it
    now). A second 401, or a refused refresh, moves on to the next provider with the error
    that says why."""
    if len(keys) > 1:
        return err.evolve(retryable=True), False
    try:
        keys.append(tokens.after_rejection(provider, token))
    except RelayError as refresh_err:
        return refresh_err, False
    return err, True
