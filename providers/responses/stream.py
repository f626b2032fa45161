"""OpenAI Responses SSE events (openai-responses.md §6) to a valid Anthropic Messages event
sequence.

Output items stream one after another, each from ``response.output_item.added`` to
``response.output_item.done``; every item becomes at most one canonical block, opened lazily
and closed before the next one opens:

response.created / in_progress   ``message_start`` (input usage is known only at the end)
output_text.delta, refusal.delta ``text_delta`` (whitespace before any text is held back, so
                                 no whitespace-only text block is opened)
reasoning_summary_text.delta,    ``thinking_delta`` (summary parts separated by a blank line)
  reasoning_text.delta
output_item.done (reasoning)     ``signature_delta`` with the tagged encrypted state, then the
                                 block closes (a reasoning item that streamed no summary opens
                                 its block here when it carries state)
output_item.added (function)     ``tool_use`` block start (id = ``call_id``, name)
function_call_arguments.delta    ``input_json_delta``, fragments as they are
*.done events                    fill in what a server sent whole instead of as deltas
response.completed / .done       ``message_delta`` (stop reason, usage) + ``message_stop``;
                                 a server that streamed no items gets the terminal
                                 response's ``output`` converted instead
response.incomplete              the same, stop reason from ``incomplete_details``
response.failed, ``error``       RelayError (kind from the error code)
hosted-tool and other events     ignored (the vendor ran those tools)
``sequence_number``              must grow: a repeated or earlier number is a broken stream
end without a terminal event     a 502: the answer is incomplete
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ccrelay.core.answer import message_end, message_start, opening_usage
from ccrelay.core.jsonutil import JSONDecodeError, dumps_str, loads
from ccrelay.core.provider import SSEEvent
from ccrelay.core.types import CanonicalEvent
from ccrelay.providers.openai.convert_response import parse_arguments
from ccrelay.providers.openai.errors import upstream_fault
from ccrelay.providers.openai.names import tool_id_in

from .convert_response import (
    check_status,
    failure,
    message_text,
    output_blocks,
    stop_reason,
    usage_from,
)
from .reasoning import signature_for, thinking_text

_TERMINAL = frozenset({"response.completed", "response.done", "response.incomplete"})


def convert_stream(
    events: Iterable[SSEEvent],
    client_model: str,
    request_id: str,
    names: Mapping[str, str],
    source: str,
) -> Iterator[CanonicalEvent]:
    """Yield canonical events for the upstream SSE ``events`` (see the module docstring).

    :raises RelayError: for ``response.failed``, an ``error`` event, a malformed event, or a
        stream that ends before its terminal event.
    """
    state = _State(client_model, request_id, names, source)
    out = state.out
    for event in events:
        data = event.data
        if not data or data == "[DONE]":
            continue
        try:
            obj = loads(data)
        except JSONDecodeError:
            raise upstream_fault(f"upstream sent a malformed stream event: {data[:200]}") from None
        if not isinstance(obj, dict):
            raise upstream_fault(f"upstream sent a malformed stream event: {data[:200]}")
        etype = obj.get("type") or event.event
        state.sequence(obj.get("sequence_number"))
        if etype in _TERMINAL:
            state.finish(obj.get("response"))
            yield from out
            return
        state.feed(etype, obj)
        if out:
            yield from out
            out.clear()
    raise upstream_fault(
        "upstream stream ended before response.completed; the answer is incomplete, retry "
        "the request"
    )


class _Item:
    """One output item as it streams."""

    __slots__ = ("kind", "block", "text", "args", "call_id", "name", "held", "parts")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.block = -1  # canonical index of its block, -1 before it opens
        self.text = False  # text or thinking was emitted for it
        self.args: list[str] = []
        self.call_id = ""
        self.name = ""
        self.held = ""  # whitespace waiting for the first visible text
        self.parts = 0  # summary parts seen (a blank line goes between them)


class _State:
    def __init__(
        self, client_model: str, request_id: str, names: Mapping[str, str], source: str
    ) -> None:
        self.client_model = client_model
        self.request_id = request_id
        self.names = names
        self.source = source
        self.out: list[CanonicalEvent] = []
        self.started = False
        self.index = -1  # index of the last opened block
        self.open: _Item | None = None
        self.items: dict[Any, _Item] = {}
        self.calls: list[_Item] = []
        self.visible = False  # text or a tool call reached the client
        self.refused = False
        self.last_seq = -1

    def sequence(self, seq: Any) -> None:
        if isinstance(seq, int) and not isinstance(seq, bool):
            if seq <= self.last_seq:
                raise upstream_fault(
                    f"upstream stream events out of order (sequence_number {seq} after "
                    f"{self.last_seq})"
                )
            self.last_seq = seq

    # --- per event ------------------------------------------------------------------------

    def feed(self, etype: str, obj: dict[str, Any]) -> None:
        if not self.started:
            self._start()
        if etype == "response.failed":
            response = obj.get("response") or {}
            raise failure(response.get("error") if isinstance(response, dict) else None)
        if etype == "error":
            raise failure(obj, "stream")
        if etype == "response.output_item.added":
            self._added(obj)
        elif etype in ("response.output_text.delta", "response.refusal.delta"):
            if etype == "response.refusal.delta":
                self.refused = True
            self._text(self._item(obj, "message"), obj.get("delta"))
        elif etype in ("response.output_text.done", "response.refusal.done"):
            item = self._item(obj, "message")
            if not item.text:
                self._text(item, obj.get("text") or obj.get("refusal"))
        elif etype == "response.reasoning_summary_part.added":
            item = self._item(obj, "reasoning")
            item.parts += 1
            if item.parts > 1 and item.text:
                self._delta(item, "thinking_delta", "thinking", "\n\n")
        elif etype in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            self._thinking(self._item(obj, "reasoning"), obj.get("delta"))
        elif etype in ("response.reasoning_summary_text.done", "response.reasoning_text.done"):
            item = self._item(obj, "reasoning")
            if not item.text:
                self._thinking(item, obj.get("text"))
        elif etype == "response.function_call_arguments.delta":
            self._arguments(self._item(obj, "function_call"), obj.get("delta"))
        elif etype == "response.function_call_arguments.done":
            item = self._item(obj, "function_call")
            if not item.args:
                self._arguments(item, obj.get("arguments"))
        elif etype == "response.output_item.done":
            self._done(obj)
        # created, in_progress, content_part.*, annotations, hosted tools: nothing to do

    def _key(self, obj: dict[str, Any]) -> Any:
        index = obj.get("output_index")
        return index if isinstance(index, int) else obj.get("item_id")

    def _item(self, obj: dict[str, Any], kind: str) -> _Item:
        key = self._key(obj)
        item = self.items.get(key)
        if item is None:  # a delta without output_item.added: some servers skip it
            item = self.items[key] = _Item(kind)
        return item

    def _added(self, obj: dict[str, Any]) -> None:
        raw = obj.get("item")
        if not isinstance(raw, dict):
            return
        item = self._item(obj, str(raw.get("type") or ""))
        item.kind = str(raw.get("type") or item.kind)
        if item.kind == "function_call":
            item.call_id = str(raw.get("call_id") or "")
            item.name = str(raw.get("name") or "")
            self._open_tool(item)
            if raw.get("arguments"):
                self._arguments(item, raw["arguments"])

    def _done(self, obj: dict[str, Any]) -> None:
        raw = obj.get("item")
        if not isinstance(raw, dict):
            return
        item = self._item(obj, str(raw.get("type") or ""))
        kind = raw.get("type")
        if kind == "reasoning":
            if not item.text:
                self._thinking(item, thinking_text(raw))
            signature = signature_for(raw, self.source)
            if signature:
                if item.block < 0:
                    self._open(item, {"type": "thinking", "thinking": "", "signature": ""})
                self._delta(item, "signature_delta", "signature", signature)
        elif kind == "message":
            if not item.text:
                text, refused = message_text(raw)
                self.refused = self.refused or refused
                self._text(item, text)
        elif kind == "function_call":
            if item.block < 0:
                item.kind = "function_call"
                item.call_id = item.call_id or str(raw.get("call_id") or "")
                item.name = item.name or str(raw.get("name") or "")
                self._open_tool(item)
            if not item.args and raw.get("arguments"):
                self._arguments(item, raw["arguments"])
        if self.open is item:
            self._close()

    # --- blocks ---------------------------------------------------------------------------

    def _start(self) -> None:
        self.started = True
        # input usage is known only at the end
        usage = opening_usage({"input_tokens": 0, "output_tokens": 0})
        self.out.append(message_start(self.client_model, usage))

    def _open(self, item: _Item, block: dict[str, Any]) -> None:
        self._close()
        self.index += 1
        item.block = self.index
        self.open = item
        self.out.append(
            {"type": "content_block_start", "index": self.index, "content_block": block}
        )

    def _close(self) -> None:
        if self.open is not None:
            self.out.append({"type": "content_block_stop", "index": self.open.block})
            self.open = None

    def _delta(self, item: _Item, dtype: str, field: str, value: str) -> None:
        if self.open is not item:
            raise upstream_fault(
                "upstream interleaved output items (a delta for an item that is not the one "
                "streaming); ccrelay cannot order them"
            )
        self.out.append({
            "type": "content_block_delta", "index": item.block,
            "delta": {"type": dtype, field: value},
        })  # fmt: skip

    def _text(self, item: _Item, delta: Any) -> None:
        if not isinstance(delta, str) or not delta:
            return
        if item.block < 0:
            if not delta.strip():  # never open a text block for whitespace alone
                item.held += delta
                return
            delta, item.held = item.held + delta, ""
            self._open(item, {"type": "text", "text": ""})
        item.text = True
        self.visible = True
        self._delta(item, "text_delta", "text", delta)

    def _thinking(self, item: _Item, delta: Any) -> None:
        if not isinstance(delta, str) or not delta:
            return
        if item.block < 0:
            self._open(item, {"type": "thinking", "thinking": "", "signature": ""})
        item.text = True
        self._delta(item, "thinking_delta", "thinking", delta)

    def _open_tool(self, item: _Item) -> None:
        if item.block >= 0:
            return
        seed = f"{self.request_id}:{len(self.calls)}"
        item.call_id = tool_id_in(item.call_id or None, seed)
        name = self.names.get(item.name, item.name)
        if not name:
            raise upstream_fault(f"upstream function call {item.call_id} arrived without a name")
        self.calls.append(item)
        self.visible = True
        self._open(item, {"type": "tool_use", "id": item.call_id, "name": name, "input": {}})

    def _arguments(self, item: _Item, delta: Any) -> None:
        if not isinstance(delta, str) or not delta:
            return
        if item.block < 0:
            raise upstream_fault("upstream sent function arguments before the function call")
        item.args.append(delta)
        self._delta(item, "input_json_delta", "partial_json", delta)

    # --- end ------------------------------------------------------------------------------

    def finish(self, response: Any) -> None:
        if not self.started:
            self._start()
        if not isinstance(response, dict):
            raise upstream_fault("upstream terminal event carries no response object")
        check_status(response)
        if self.index < 0 and response.get("output"):
            self._replay_output(response)  # a server that streamed only the final response
        self._close()
        broken = [c for c in self.calls if parse_arguments("".join(c.args)) is None]
        if broken and response.get("status") != "incomplete":
            raise upstream_fault(
                f"upstream function call {broken[0].name!r} ended with invalid JSON arguments"
            )
        has_calls = len(broken) < len(self.calls)
        reason = stop_reason(response, has_calls, self.refused)
        if broken:
            reason = "max_tokens"  # arguments cut off by the token limit
        if reason == "end_turn" and not self.visible:
            raise upstream_fault("upstream stream carried no text and no function call")
        self.out.extend(message_end(reason, usage_from(response.get("usage"))))

    def _replay_output(self, response: dict[str, Any]) -> None:
        blocks, _, refused = output_blocks(response, self.request_id, self.names, self.source)
        self.refused = self.refused or refused
        for block in blocks:
            item = _Item(block["type"])
            if block["type"] == "tool_use":
                item.call_id, item.name = block["id"], block["name"]
                self._open_tool(item)
                self._arguments(item, dumps_str(block["input"]))
            elif block["type"] == "thinking":
                self._thinking(item, block["thinking"])
                if block.get("signature"):
                    if item.block < 0:
                        self._open(item, {"type": "thinking", "thinking": "", "signature": ""})
                    self._delta(item, "signature_delta", "signature", block["signature"])
            elif block["type"] == "text":
                self._text(item, block["text"])
            self._close()
