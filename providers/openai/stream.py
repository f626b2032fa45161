"""OpenAI Chat Completions SSE chunks to a valid Anthropic Messages event sequence.

Anthropic streams one content block at a time; OpenAI streams text, reasoning and several
tool calls (keyed by ``index``, possibly interleaved) at once. Blocks open lazily and close
before the next one opens. A tool call streams live while calls arrive in order; a call
that starts while the open one's arguments are still incomplete JSON waits in a queue with
its fragments buffered, and opens (its buffer as one delta) once the open call's JSON is
complete, or at the end of the stream. Whitespace-only text before a block is held back so
no whitespace-only text block is ever opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ccrelay.core.answer import message_end, message_start, opening_usage
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.provider import SSEEvent
from ccrelay.core.types import CanonicalEvent

from .convert_response import (
    OVERLOADED_REASONS,
    parse_arguments,
    stop_reason,
    usage_from,
)
from .errors import stream_error, upstream_fault
from .names import tool_id_in


class _Call:
    __slots__ = ("id", "name", "seed", "args", "opened", "closed")

    def __init__(self, call_id: str, seed: str) -> None:
        self.id = call_id
        self.name = ""
        self.seed = seed  # synthesises an id if the upstream never sends one
        self.args: list[str] = []
        self.opened = False
        self.closed = False


class _Deferred:
    """Text or reasoning that arrived while a tool call was open with incomplete arguments."""

    __slots__ = ("kind", "parts")

    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind
        self.parts = [text]


def convert_stream(
    events: Iterable[SSEEvent], client_model: str, request_id: str, names: Mapping[str, str]
) -> Iterator[CanonicalEvent]:
    """Yield canonical events for the upstream SSE ``events`` (see the module docstring).

    :raises RelayError: for an in-stream error object, a malformed chunk, a stream that ends
        before a finish_reason, or one that carried no content at all.
    """
    state = _State(client_model, request_id, names)
    out = state.out
    done = False
    for event in events:
        data = event.data
        if not data:
            continue
        if data == "[DONE]":
            done = True
            break
        try:
            chunk = loads(data)
        except JSONDecodeError:
            raise upstream_fault(f"upstream sent a malformed stream chunk: {data[:200]}") from None
        if not isinstance(chunk, dict):
            raise upstream_fault(f"upstream sent a malformed stream chunk: {data[:200]}")
        if chunk.get("error") or event.event == "error":
            raise stream_error(chunk)
        state.feed(chunk)
        if out:
            yield from out
            out.clear()
    if state.finish is None and not done:
        raise upstream_fault(
            "upstream stream ended early (no finish_reason and no [DONE]); "
            "the answer is incomplete, retry the request"
        )
    state.finalise()
    yield from out


class _State:
    def __init__(self, client_model: str, request_id: str, names: Mapping[str, str]) -> None:
        self.names = names  # sent tool name -> the client's name, for renamed tools
        self.client_model = client_model
        self.request_id = request_id
        self.out: list[CanonicalEvent] = []
        self.started = False
        self.index = -1  # index of the last opened block
        self.open: str | None = None  # "text" | "thinking" | "tool_use"
        self.live: _Call | None = None
        self.calls: dict[int, _Call] = {}
        self.order: list[_Call] = []
        self.queue: list[_Call | _Deferred] = []
        self.held = ""  # whitespace waiting for a text/thinking block
        self.held_kind = ""
        self.text_seen = False
        self.refused = False
        self.finish: str | None = None
        self.usage: Any = None

    # --- per chunk --------------------------------------------------------------------

    def feed(self, chunk: dict[str, Any]) -> None:
        usage = chunk.get("usage")
        if usage:
            self.usage = usage
        if not self.started:
            self._start()
        choices = chunk.get("choices")
        if not choices:
            return
        choice = choices[0]
        delta = choice.get("delta")
        if delta:
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning and isinstance(reasoning, str):
                self._prose("thinking", reasoning)
            content = delta.get("content")
            if content and isinstance(content, str):
                self._prose("text", content)
            refusal = delta.get("refusal")
            if refusal and isinstance(refusal, str):
                self.refused = True
                self._prose("text", refusal)
            tool_calls = delta.get("tool_calls")
            if tool_calls:
                for tc in tool_calls:
                    self._tool_fragment(tc)
        finish = choice.get("finish_reason")
        if finish:
            if finish in OVERLOADED_REASONS:
                stop_reason(finish, False)  # raises the retryable upstream error
            self.finish = finish

    def _start(self) -> None:
        self.started = True
        self.out.append(message_start(self.client_model, opening_usage(usage_from(self.usage))))

    def _prose(self, kind: str, text: str) -> None:
        if self.open == kind:
            self._delta(kind, text)
            return
        if not text.strip():  # never open a block for whitespace alone
            if self.held_kind != kind:
                self.held, self.held_kind = "", kind
            self.held += text
            return
        if self.held_kind == kind:
            text = self.held + text
        self.held = self.held_kind = ""
        if self.queue or (self.open == "tool_use" and not self._live_complete()):
            last = self.queue[-1] if self.queue else None
            if isinstance(last, _Deferred) and last.kind == kind:
                last.parts.append(text)
            else:
                self.queue.append(_Deferred(kind, text))
            return
        self._open(kind)
        self._delta(kind, text)

    def _tool_fragment(self, tc: dict[str, Any]) -> None:
        fn = tc.get("function") or {}
        idx = tc.get("index")
        raw_id = tc.get("id")
        call_id = tool_id_in(raw_id, "") if raw_id and isinstance(raw_id, str) else ""
        if not isinstance(idx, int):  # some servers omit index: match by id, else the last call
            known = [i for i, c in self.calls.items() if call_id and c.id == call_id]
            if known:
                idx = known[0]
            else:
                idx = len(self.calls) if call_id or not self.calls else max(self.calls)
        call = self.calls.get(idx)
        if call is None:
            call = _Call(call_id, f"{self.request_id}:{idx}")
            self.calls[idx] = call
            self.order.append(call)
            self.queue.append(call)
            self.held = self.held_kind = ""
        elif call_id and not call.id and not call.opened:
            call.id = call_id
        name = fn.get("name")
        if name and not call.name:
            call.name = self.names.get(name, name)
        args = fn.get("arguments")
        if args:
            if call.closed:
                if args.strip():
                    raise upstream_fault(
                        f"upstream sent arguments for tool call {call.id} after its JSON "
                        "was complete (malformed tool call)"
                    )
                return
            call.args.append(args)
            if call is self.live:
                self._delta("tool_use", args)
        if self.queue:
            self._advance(final=False)

    # --- blocks -------------------------------------------------------------------------

    def _live_complete(self) -> bool:
        live = self.live
        return live is None or (bool(live.args) and parse_arguments("".join(live.args)) is not None)

    def _advance(self, final: bool) -> None:
        """Open queued items while the open block may be closed (always, when ``final``)."""
        while self.queue:
            if self.open == "tool_use" and not final and not self._live_complete():
                return
            item = self.queue[0]
            if isinstance(item, _Call) and not item.name:
                if final:
                    raise upstream_fault(f"upstream tool call {item.id} arrived without a name")
                return  # cannot open a tool_use block before its name is known
            self.queue.pop(0)
            self._close()
            if isinstance(item, _Deferred):
                self._open(item.kind)
                self._delta(item.kind, "".join(item.parts))
                continue
            if not item.id:
                item.id = tool_id_in(None, item.seed)
            self.index += 1
            self.open = "tool_use"
            self.live = item
            item.opened = True
            self.out.append({
                "type": "content_block_start", "index": self.index,
                "content_block": {"type": "tool_use", "id": item.id, "name": item.name,
                                  "input": {}},
            })  # fmt: skip
            if item.args:
                self._delta("tool_use", "".join(item.args))

    def _open(self, kind: str) -> None:
        self._close()
        self.index += 1
        self.open = kind
        if kind == "text":
            self.text_seen = True
            block: dict[str, Any] = {"type": "text", "text": ""}
        else:
            block = {"type": "thinking", "thinking": "", "signature": ""}
        self.out.append(
            {"type": "content_block_start", "index": self.index, "content_block": block}
        )

    def _delta(self, kind: str, text: str) -> None:
        if kind == "text":
            delta = {"type": "text_delta", "text": text}
        elif kind == "thinking":
            delta = {"type": "thinking_delta", "thinking": text}
        else:
            delta = {"type": "input_json_delta", "partial_json": text}
        self.out.append({"type": "content_block_delta", "index": self.index, "delta": delta})

    def _close(self) -> None:
        if self.open is None:
            return
        if self.live is not None:
            self.live.closed = True
            self.live = None
        self.out.append({"type": "content_block_stop", "index": self.index})
        self.open = None

    # --- end ------------------------------------------------------------------------------

    def finalise(self) -> None:
        if not self.started:
            self._start()
        self._advance(final=True)
        self._close()
        broken = [c for c in self.order if parse_arguments("".join(c.args)) is None]
        if broken and self.finish == "length":
            reason = "max_tokens"  # arguments cut off by the token limit
        elif broken:
            raise upstream_fault(
                f"upstream tool call {broken[0].name!r} ended with invalid JSON arguments"
            )
        else:
            reason = stop_reason("content_filter" if self.refused else self.finish,
                                 bool(self.order))  # fmt: skip
        if not self.text_seen and not self.order and reason == "end_turn":
            raise upstream_fault(
                "upstream stream carried no content and no tool calls "
                f"(finish_reason={self.finish!r})"
            )
        usage: dict[str, Any] = {"output_tokens": 0}
        if self.usage:
            usage = dict(usage_from(self.usage))
        self.out.extend(message_end(reason, usage))
