"""A bounded, expiring in-memory store for what a client protocol cannot carry.

Some clients drop what they cannot represent: an OpenAI Chat client keeps no thinking
signatures, an Ollama client no tool-call ids. A dialect that must give such state back to
the backend on the next turn keeps it here, keyed by something the client does send back
(the tool call's id), and looks it up when the history returns. Entries expire after
``ttl`` seconds and the oldest go first beyond ``max_items``, so memory stays bounded.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class Vault(Generic[V]):
    """An LRU map with a time-to-live; safe to share between requests."""

    def __init__(
        self,
        max_items: int = 10_000,
        ttl: float = 6 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_items = max_items
        self.ttl = ttl
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._items[key] = (self._clock() + self.ttl, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def get(self, key: str) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            expires, value = item
            if expires < self._clock():
                del self._items[key]
                return None
            self._items.move_to_end(key)
            return value

    def __len__(self) -> int:
        return len(self._items)
