"""Building canonical answers from an upstream's pieces: the response envelope, and a valid
stream event sequence (anthropic-messages.md §7, §8).

Strategies decide what each upstream piece means; this module holds the shapes they all
build the same way: ``canonical_response`` (a whole answer), ``message_start`` and
``message_end`` (the frame of a stream), and ``BlockEvents``, which emits content blocks one
at a time (opening one closes the open one) for upstreams that send whole parts or simple
fragments (Gemini, Ollama). Events collect in ``BlockEvents.out``; the strategy yields and
clears it after each upstream chunk.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, cast

from ccrelay.core.jsonutil import dumps_str
from ccrelay.core.types import CanonicalEvent, CanonicalResponse, Usage


def message_id() -> str:
    """A new canonical message id (``msg_`` and 24 hex digits)."""
    return f"msg_{uuid.uuid4().hex[:24]}"


def canonical_response(
    model: str, content: list[Any], stop_reason: str, usage: Mapping[str, Any]
) -> CanonicalResponse:
    """A whole canonical answer from ``model`` (the name the client asked for)."""
    return cast(
        CanonicalResponse,
        {
            "id": message_id(),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": usage,
        },
    )


def opening_usage(usage: Usage) -> dict[str, int]:
    """The usage a ``message_start`` reports: the input as known so far, no output yet."""
    return {
        "input_tokens": usage["input_tokens"],
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": usage.get("cache_read_input_tokens", 0),
    }


def message_start(model: str, usage: Mapping[str, Any]) -> CanonicalEvent:
    """The ``message_start`` event of a stream from ``model`` (the client's name for it)."""
    return {
        "type": "message_start",
        "message": {
            "id": message_id(),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        },
    }


def message_end(stop_reason: str, usage: Mapping[str, Any]) -> tuple[CanonicalEvent, ...]:
    """The last two events of a stream: ``message_delta`` (stop reason, usage) and
    ``message_stop``."""
    return (
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
            "usage": usage,
        },
        {"type": "message_stop"},
    )


class BlockEvents:
    """A stream's events, one content block at a time.

    ``message_start`` goes first, with ``opening()``'s usage, when the first block opens (or
    at ``finish``); ``start_block`` closes the open block before it opens the next.

    :param model: the model name the client asked for.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self.out: list[CanonicalEvent] = []
        self.started = False
        self.index = -1  # the index of the last opened block
        self.open: str | None = None  # the type of the open block

    def opening(self) -> dict[str, Any]:
        """The usage ``message_start`` reports (a subclass that knows more says so)."""
        return {"input_tokens": 0, "output_tokens": 0}

    def start(self) -> None:
        """Put ``message_start`` before everything emitted so far."""
        self.started = True
        self.out.insert(0, message_start(self.model, self.opening()))

    def start_block(self, kind: str, block: dict[str, Any]) -> None:
        """Open ``block`` (its start event), closing the open one first."""
        self.stop_block()
        if not self.started:
            self.start()
        self.index += 1
        self.open = kind
        self.out.append(
            {"type": "content_block_start", "index": self.index, "content_block": block}
        )

    def delta(self, delta: dict[str, Any]) -> None:
        """A ``content_block_delta`` for the open block."""
        self.out.append({"type": "content_block_delta", "index": self.index, "delta": delta})

    def stop_block(self) -> None:
        """Close the open block, if any."""
        if self.open is not None:
            self.out.append({"type": "content_block_stop", "index": self.index})
            self.open = None

    def text(self, text: str) -> None:
        """Append ``text`` to the open text block, opening one if another kind is open."""
        if self.open != "text":
            self.start_block("text", {"type": "text", "text": ""})
        delta = {"type": "text_delta", "text": text}
        self.out.append({"type": "content_block_delta", "index": self.index, "delta": delta})

    def thinking(self, text: str) -> None:
        """Append ``text`` to the open thinking block, opening one if another kind is open."""
        if self.open != "thinking":
            self.start_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        delta = {"type": "thinking_delta", "thinking": text}
        self.out.append({"type": "content_block_delta", "index": self.index, "delta": delta})

    def tool_use(self, block: dict[str, Any]) -> None:
        """A whole tool call: its block, its input as one ``input_json_delta``, closed."""
        self.start_block("tool_use", {**block, "input": {}})
        self.delta({"type": "input_json_delta", "partial_json": dumps_str(block["input"])})
        self.stop_block()

    def finish(self, stop_reason: str, usage: Mapping[str, Any]) -> None:
        """Close the open block and end the message (``message_start`` first if no block
        ever opened)."""
        self.stop_block()
        if not self.started:
            self.start()
        self.out.extend(message_end(stop_reason, usage))
