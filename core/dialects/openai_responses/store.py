"""The conversations ccrelay answered, kept so a client can continue one by ``previous_response_id``.

OpenAI keeps responses server-side; a client continuing with ``previous_response_id`` sends
only the new items. ccrelay keeps each answered conversation in memory, keyed by the
response id it minted: the canonical system blocks that came from the input's developer
messages (``instructions`` are not inherited, as at OpenAI), the canonical messages including
the answer, and the same conversation as Responses items (for a Responses backend's side
field). Entries share their message objects with their parent conversation and are never
modified, so a chain of turns costs little more than its new items.

Bounded by count and age (``dialects.openai_responses.store_max_responses`` and
``store_max_age``); the oldest entry goes first. Answers to ``store: false`` requests are not
kept. The store lives in the dialect instance: it is emptied when ccrelay restarts or the
plugin set is rescanned. Thread- and greenlet-safe (``core/vault.py``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ccrelay.core.types import Message, TextBlock
from ccrelay.core.vault import Vault

DEFAULT_MAX_RESPONSES = 500
DEFAULT_MAX_AGE = 3600.0


@dataclass(frozen=True)
class Stored:
    """One answered conversation.

    :param system: system blocks from the input's developer/system messages.
    :param messages: every canonical message, the answer last.
    :param items: the same conversation as Responses items (side-field form).
    """

    system: tuple[TextBlock, ...]
    messages: tuple[Message, ...]
    items: tuple[Any, ...]


class ConversationStore:
    """Stored conversations by response id, within the configured bounds."""

    def __init__(
        self,
        max_responses: int = DEFAULT_MAX_RESPONSES,
        max_age: float = DEFAULT_MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._vault: Vault[Stored] = Vault(max_items=max_responses, ttl=max_age, clock=clock)

    @property
    def max_responses(self) -> int:
        return self._vault.max_items

    @property
    def max_age(self) -> float:
        return self._vault.ttl

    def configure(self, max_responses: int, max_age: float) -> None:
        """New bounds (from a reloaded config); entries already kept keep their expiry."""
        self._vault.max_items = max_responses
        self._vault.ttl = max_age

    def put(self, response_id: str, stored: Stored) -> None:
        if self._vault.max_items > 0:
            self._vault.put(response_id, stored)

    def get(self, response_id: str) -> Stored | None:
        return self._vault.get(response_id)

    def __len__(self) -> int:
        return len(self._vault)
