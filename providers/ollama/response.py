"""Ollama ``/api/chat`` answers (one object, or NDJSON lines) to canonical form, and errors.

message.thinking       a ``thinking`` block (no signature: Ollama has none)
message.content        a ``text`` block (whitespace alone opens none)
message.tool_calls     ``tool_use`` blocks; ``arguments`` is already an object; the id is
                       Ollama's when it gives a usable one, else ``toolu_ollama_<hash>`` of
                       the answer's time stamp and the call's position
done_reason            stop -> end_turn (tool_use when calls came), length -> max_tokens,
                       load / unload (the model only loaded) -> a 502: nothing was answered
prompt_eval_count      usage ``input_tokens`` (0 when Ollama omits it: a cached prompt)
eval_count             usage ``output_tokens``
{"error": "..."}       a ``RelayError`` (in a stream: the line ends the stream as an error)

Errors (``error_from``): 404 "model ... not found" says to ``ollama pull`` it; "does not
support tools" / "thinking" say which profile field to set; other statuses keep their kind.

Streams: a line per fragment; thinking and text fragments stream into blocks that open
lazily; tool calls arrive whole, each one ``tool_use`` block; the ``done: true`` line carries
``done_reason`` and usage. A stream that ends without it failed (mapping.md §17 #28).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ccrelay.core.answer import BlockEvents, canonical_response
from ccrelay.core.errors import ErrorKind, RelayError, context_length_error, kind_for_status
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.provider import SSEEvent
from ccrelay.core.types import CanonicalEvent, CanonicalResponse, Usage

_LEGAL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_NOT_FOUND = re.compile(r'model "?([^"]+?)"? not found')


def call_id(given: Any, seed: str) -> str:
    if isinstance(given, str) and _LEGAL_ID.match(given):
        return given
    return "toolu_ollama_" + hashlib.blake2b(seed.encode(), digest_size=8).hexdigest()


def usage_from(body: Mapping[str, Any]) -> Usage:
    return {
        "input_tokens": int(body.get("prompt_eval_count") or 0),
        "output_tokens": int(body.get("eval_count") or 0),
    }


def stop_reason(done_reason: Any, has_calls: bool, provider: str) -> str:
    if done_reason in ("load", "unload"):
        raise RelayError(
            502,
            f"provider {provider}: Ollama only {done_reason}ed the model and answered nothing",
            retryable=True,
        )
    if has_calls:
        return "tool_use"
    return "max_tokens" if done_reason == "length" else "end_turn"


def tool_use(call: Any, seed: str) -> dict[str, Any] | None:
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or not fn.get("name"):
        return None
    args = fn.get("arguments")
    if isinstance(args, str):  # some versions and models answer with a JSON string
        try:
            args = loads(args) if args.strip() else {}
        except JSONDecodeError:
            args = None
    if not isinstance(args, dict):
        raise RelayError(
            502, f"Ollama tool call {fn.get('name')!r} has arguments that are not a JSON object"
        )
    return {"type": "tool_use", "id": call_id(call.get("id"), seed), "name": str(fn["name"]),
            "input": args}  # fmt: skip


def to_canonical(body: Any, client_model: str, provider: str) -> CanonicalResponse:
    """A canonical response for a non-streaming ``/api/chat`` answer."""
    if not isinstance(body, dict):
        raise RelayError(502, f"provider {provider}: answer is not a JSON object", retryable=True)
    if body.get("error"):
        raise error_from(500, body, {}).evolve(retryable=True)
    msg = body.get("message") if isinstance(body.get("message"), dict) else {}
    content: list[dict[str, Any]] = []
    thinking = msg.get("thinking")
    if isinstance(thinking, str) and thinking:
        content.append({"type": "thinking", "thinking": thinking, "signature": ""})
    text = msg.get("content")
    if isinstance(text, str) and text.strip():
        content.append({"type": "text", "text": text})
    seed = str(body.get("created_at") or uuid.uuid4().hex)
    calls = 0
    for n, call in enumerate(msg.get("tool_calls") or ()):
        block = tool_use(call, f"{seed}:{n}")
        if block is not None:
            content.append(block)
            calls += 1
    reason = stop_reason(body.get("done_reason"), calls > 0, provider)
    if not calls and not (isinstance(text, str) and text.strip()) and reason == "end_turn":
        raise RelayError(
            502, f"provider {provider}: Ollama answered with no content", retryable=True
        )
    return canonical_response(client_model, content, reason, usage_from(body))


def error_from(status: int, body: Any, headers: Mapping[str, str]) -> RelayError:
    """The ``RelayError`` for an Ollama error answer (``{"error": "..."}``)."""
    if isinstance(body, dict):
        err = body.get("error")
        message = err if isinstance(err, str) else str((err or {}).get("message") or "")
    else:
        message = str(body or "").strip()[:500]
    message = message or f"Ollama answered HTTP {status}"
    out_headers = {"retry-after": headers["retry-after"]} if "retry-after" in headers else {}
    too_long = context_length_error(400 if status < 500 else status, body, message)
    if too_long is not None:
        return too_long
    lowered = message.lower()
    found = _NOT_FOUND.search(message)
    if status == 404 and found:
        message = f"{message} (run `ollama pull {found.group(1)}` on the Ollama host)"
    elif "does not support tools" in lowered:
        message += " (choose a model with tool support, or set profile tools: false for it)"
    elif "does not support thinking" in lowered:
        message += " (set profile thinking: none for this model)"
    kind = kind_for_status(status) if 400 <= status < 600 else ErrorKind.UPSTREAM
    return RelayError(status if 400 <= status < 600 else 502, message, kind=kind,
                      headers=out_headers)  # fmt: skip


# --- streams ------------------------------------------------------------------------------


def convert_stream(
    events: Iterable[SSEEvent], client_model: str, provider: str
) -> Iterator[CanonicalEvent]:
    """Canonical events for an NDJSON ``/api/chat`` stream (module docstring)."""
    state = _State(client_model, provider)
    out = state.out
    for event in events:
        try:
            line = loads(event.data)
        except JSONDecodeError:
            raise RelayError(
                502, f"provider {provider}: malformed stream line: {event.data[:200]}"
            ) from None
        if not isinstance(line, dict):
            raise RelayError(502, f"provider {provider}: malformed stream line: {event.data[:200]}")
        if line.get("error"):
            err = error_from(500, line, {})
            raise err.evolve(message=f"provider {provider}: {err.message}", retryable=True)
        state.feed(line)
        if out:
            yield from out
            out.clear()
        if state.done:
            break
    state.finalise()
    yield from out


class _State(BlockEvents):
    def __init__(self, client_model: str, provider: str) -> None:
        super().__init__(client_model)
        self.provider = provider
        self.held = ""  # whitespace waiting for real text
        self.calls = 0
        self.text_seen = False
        self.done = False
        self.final: dict[str, Any] = {}
        self.seed = ""

    def feed(self, line: dict[str, Any]) -> None:
        if not self.seed:
            self.seed = str(line.get("created_at") or uuid.uuid4().hex)
        msg = line.get("message")
        if isinstance(msg, dict):
            thinking = msg.get("thinking")
            if isinstance(thinking, str) and thinking:
                self.thinking(thinking)
            text = msg.get("content")
            if isinstance(text, str) and text:
                self._text(text)
            for call in msg.get("tool_calls") or ():
                block = tool_use(call, f"{self.seed}:{self.calls}")
                if block is None:
                    continue
                self.calls += 1
                self.held = ""
                self.tool_use(block)
        if line.get("done"):
            self.done = True
            self.final = line

    def _text(self, text: str) -> None:
        if self.open != "text":
            if not text.strip():
                self.held += text
                return
            text, self.held = self.held + text, ""
            self.text_seen = True
        self.text(text)

    def finalise(self) -> None:
        if not self.done:
            raise RelayError(
                502,
                f"provider {self.provider}: Ollama's stream ended without its done line; "
                "the answer is incomplete, send the request again",
            )
        reason = stop_reason(self.final.get("done_reason"), self.calls > 0, self.provider)
        if not self.text_seen and not self.calls and reason == "end_turn":
            raise RelayError(
                502, f"provider {self.provider}: Ollama's stream carried no content",
                retryable=True,
            )  # fmt: skip
        self.finish(reason, dict(usage_from(self.final)))
