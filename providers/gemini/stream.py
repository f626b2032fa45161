"""Gemini stream chunks (``alt=sse`` events or JSON-array elements) to canonical events.

Every chunk is a whole ``GenerateContentResponse`` holding only new parts (gemini.md §8):
text and thought parts are fragments to append, function calls arrive whole, a signature
may ride on any part (or an empty text part), ``finishReason`` comes on the last candidate
chunk and ``usageMetadata`` on many (the last wins). Blocks open lazily and close before
the next one opens:

- thought parts stream into one ``thinking`` block; a signature on a thought part is its
  ``signature_delta`` and closes the block;
- a signature on any other part becomes a signature-only ``thinking`` block right before
  the block of that part (``core/signatures.py``), so the next request returns it on the
  same part: for a function call exactly, for text on the part that follows the text
  streamed so far (Gemini only checks function-call signatures);
- a signature on an empty text part waits for the next part and goes before it; at the
  end of the answer it is dropped: an answer must end with its text, not a thinking block
  (Claude Code reports the last block as its result, Anthropic rejects a final thinking
  block), and Gemini checks no signature of a text answer;
- a function call is a ``tool_use`` block with its whole input in one delta.

Nothing is sent before the first chunk has been read in full, so a stream that fails at
once (an error object, ``MALFORMED_FUNCTION_CALL``) still lets core try the next provider.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ccrelay.core import signatures
from ccrelay.core.answer import BlockEvents, opening_usage
from ccrelay.core.errors import RelayError
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.provider import SSEEvent
from ccrelay.core.types import CanonicalEvent

from .contents import ORIGIN
from .errors import stream_error
from .response import (
    BAD_CALLS,
    Names,
    blocked_note,
    code_text,
    first_candidate,
    refusal_note,
    stop_reason,
    tool_use,
    usage_from,
)


def convert_stream(
    events: Iterable[SSEEvent], client_model: str, request_id: str, names: Names, provider: str
) -> Iterator[CanonicalEvent]:
    """Canonical events for a Gemini stream (module docstring).

    :raises RelayError: for an error chunk, a malformed chunk, a broken function call, or a
        stream that ends before a finish reason.
    """
    state = _State(client_model, request_id, names, provider)
    out = state.out
    for event in events:
        data = event.data
        if not data:
            continue
        try:
            chunk = loads(data)
        except JSONDecodeError:
            raise RelayError(
                502, f"provider {provider}: malformed stream chunk: {data[:200]}"
            ) from None
        if not isinstance(chunk, dict):
            raise RelayError(502, f"provider {provider}: malformed stream chunk: {data[:200]}")
        if "error" in chunk:
            raise stream_error(chunk, provider)
        state.feed(chunk)
        if out:
            yield from out
            out.clear()
    state.finalise()
    yield from out


class _State(BlockEvents):
    def __init__(self, client_model: str, request_id: str, names: Names, provider: str) -> None:
        super().__init__(client_model)
        self.names = names
        self.provider = provider
        self.seed = request_id
        self.seeded = False
        self.calls = 0
        self.visible = False
        self.usage: Any = None
        self.finish_reason: Any = None
        self.message = ""
        self.blocked: str | None = None
        self.pending: str | None = None  # the signature of an empty text part

    def opening(self) -> dict[str, Any]:
        return opening_usage(usage_from(self.usage))

    def feed(self, chunk: dict[str, Any]) -> None:
        if chunk.get("usageMetadata"):
            self.usage = chunk["usageMetadata"]
        if not self.seeded and chunk.get("responseId"):
            self.seed, self.seeded = str(chunk["responseId"]), True
        candidate = first_candidate(chunk)
        if candidate is None:
            self.blocked = blocked_note(chunk.get("promptFeedback")) or self.blocked
            return
        finish = candidate.get("finishReason")
        if finish in BAD_CALLS:
            stop_reason(finish, False, str(candidate.get("finishMessage") or ""), self.provider)
        for part in (candidate.get("content") or {}).get("parts") or ():
            if isinstance(part, dict):
                self._part(part)
        if finish:
            self.finish_reason = finish
            self.message = str(candidate.get("finishMessage") or "")

    # --- parts ----------------------------------------------------------------------------

    def _part(self, part: dict[str, Any]) -> None:
        sig = part.get("thoughtSignature")
        sig = sig if isinstance(sig, str) and sig else None
        text = part.get("text")
        call = part.get("functionCall")
        if sig and text == "" and not part.get("thought"):
            if self.pending:
                self._signature(self.pending)
            self.pending = sig  # an empty signed part: see the module docstring
            return
        if self.pending and (text or isinstance(call, dict) or code_text(part) or sig):
            self._signature(self.pending)
            self.pending = None
        if part.get("thought") and isinstance(text, str):
            if self.open != "thinking":
                self.start_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
            if text:
                self.thinking(text)
            if sig:
                self.delta({"type": "signature_delta", "signature": signatures.tag(ORIGIN, sig)})
                self.stop_block()
            return
        if sig:
            self._signature(sig)
        if isinstance(call, dict):
            block = tool_use(call, f"{self.seed}:{self.calls}", self.names)
            self.calls += 1
            self.visible = True
            self.tool_use(block)
            return
        if not isinstance(text, str):
            text = code_text(part)
        if text:
            self.visible = True
            self.text(text)

    def _signature(self, sig: str) -> None:
        """A signature-only thinking block (it signs the block after it)."""
        self.start_block("thinking", {"type": "thinking", "thinking": "", "signature": ""})
        self.delta({"type": "signature_delta", "signature": signatures.tag(ORIGIN, sig)})
        self.stop_block()

    # --- end ------------------------------------------------------------------------------

    def finalise(self) -> None:
        if self.blocked is not None and self.finish_reason is None and not self.visible:
            reason = "refusal"
            self.text(self.blocked)
        elif self.finish_reason is None:
            raise RelayError(
                502,
                f"provider {self.provider}: Gemini's stream ended before a finishReason; "
                "the answer is incomplete, send the request again",
            )
        else:
            reason = stop_reason(self.finish_reason, self.calls > 0, self.message, self.provider)
            if reason == "refusal" and not self.visible:
                self.text(refusal_note(str(self.finish_reason), self.message))
            elif reason == "end_turn" and not self.visible:
                raise RelayError(
                    502,
                    f"provider {self.provider}: Gemini's stream carried no content "
                    f"(finishReason {self.finish_reason!r})",
                    retryable=True,
                )
        self.finish(reason, dict(usage_from(self.usage)))
