"""Canonical stream events as the Responses event stream, numbered from 0.

| canonical event | Responses events |
|---|---|
| ``message_start`` (or the first event) | ``response.created``, ``response.in_progress`` (status ``in_progress``, empty output) |
| text block, first non-empty delta | ``output_item.added`` (message), ``content_part.added`` (output_text) |
| ``text_delta`` | ``output_text.delta`` |
| text block stop | ``output_text.done``, ``content_part.done``, ``output_item.done`` |
| thinking / redacted_thinking start | ``output_item.added`` (reasoning, empty summary) |
| ``thinking_delta`` | ``reasoning_summary_part.added`` (first non-empty one), ``reasoning_summary_text.delta`` |
| ``signature_delta`` | kept for the item's ``encrypted_content`` |
| thinking stop | ``reasoning_summary_text.done``, ``reasoning_summary_part.done``, ``output_item.done`` |
| tool_use start (function) | ``output_item.added`` (function_call, ``arguments: ""``) |
| ``input_json_delta`` (function) | ``function_call_arguments.delta`` (the fragment as it came) |
| tool_use stop (function) | ``function_call_arguments.done``, ``output_item.done`` |
| tool_use of a tool declared in a namespace | its items carry ``name`` and ``namespace`` as declared |
| tool_use of a custom tool | ``output_item.added`` (custom_tool_call), then at its stop one ``custom_tool_call_input.delta`` with the whole input and ``custom_tool_call_input.done``: the input is a string inside the JSON the backend streams, so it is decoded once, complete |
| ``message_delta`` | stop reason and usage, kept |
| ``message_stop`` | ``response.completed``, or ``response.incomplete`` (``max_output_tokens`` / ``content_filter``), with the full ``output`` and ``usage`` |
| a keep-alive | an SSE comment |
| an error after the first byte | ``error`` and ``response.failed`` (``errors.py``) |

Other block and delta types (server tools, citations) are left out. The finished answer (its
canonical blocks and output items) is handed to ``on_done`` for the conversation store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ccrelay.core.dialect import ClientCall, StreamRenderer
from ccrelay.core.errors import RelayError
from ccrelay.core.jsonutil import JSONDecodeError, dumps_str, loads
from ccrelay.core.sse import COMMENT_KEEPALIVE, encode_event
from ccrelay.core.types import CanonicalEvent

from .errors import error_event, failure
from .ids import new_id
from .output import (
    custom_input,
    mark_incomplete,
    message_item,
    reasoning_item,
    response_object,
    status_of,
    thinking_text,
    usage_of,
)
from .tools import client_name

OnDone = Callable[[list[Any], list[dict[str, Any]]], None]


class _Block:
    """One open canonical content block and the output item it becomes."""

    __slots__ = ("kind", "start", "item_id", "index", "parts", "signature", "opened")

    def __init__(self, kind: str, start: dict[str, Any]) -> None:
        self.kind = kind  # message | reasoning | function | custom | skip
        self.start = start
        self.item_id = ""
        self.index = -1
        self.parts: list[str] = []
        self.signature = ""
        self.opened = False  # output_item.added sent (messages open at their first text)


class ResponsesStream(StreamRenderer):
    """One call's stream; see the module table."""

    def __init__(self, call: ClientCall, on_done: OnDone) -> None:
        self._envelope: dict[str, Any] = call.state["envelope"]
        self._custom: frozenset[str] = call.state["custom"]
        self._namespaces: dict[str, tuple[str, str]] = call.state["namespaces"]
        self._on_done = on_done
        self._seq = 0
        self._started = False
        self._finished = False
        self._open: dict[int, _Block] = {}
        self._output: list[dict[str, Any] | None] = []
        self._answer: list[dict[str, Any]] = []
        self._usage: dict[str, Any] = {}
        self._stop_reason: Any = None
        self._out: list[bytes] = []

    # --- the renderer contract ------------------------------------------------------------

    def events(self, events: Sequence[CanonicalEvent]) -> bytes:
        for ev in events:
            etype = ev.get("type")
            if not self._started:
                self._start(ev.get("message") if etype == "message_start" else None)
            if etype == "content_block_delta":
                self._delta(ev)
            elif etype == "content_block_start":
                self._block_start(ev)
            elif etype == "content_block_stop":
                self._block_stop(ev.get("index"))
            elif etype == "message_delta":
                self._stop_reason = (ev.get("delta") or {}).get("stop_reason") or self._stop_reason
                self._take_usage(ev.get("usage"))
            elif etype == "message_stop":
                self._finish()
        return self._flush()

    def keepalive(self) -> bytes:
        return COMMENT_KEEPALIVE

    def error(self, err: RelayError) -> bytes:
        if self._finished:
            return b""
        if not self._started:
            self._start(None)
        self._finished = True
        self._emit(error_event(err))
        output = [item for item in self._output if item is not None]
        response = response_object(self._envelope, "failed", output, self._final_usage(),
                                   error=failure(err))  # fmt: skip
        self._emit({"type": "response.failed", "response": response})
        return self._flush()

    def end(self) -> bytes:
        if self._finished:
            return b""
        return self.error(RelayError(502, "the backend's stream ended before the answer did"))

    # --- events -----------------------------------------------------------------------------

    def _emit(self, event: dict[str, Any]) -> None:
        event["sequence_number"] = self._seq
        self._seq += 1
        self._out.append(encode_event(event))

    def _flush(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def _start(self, message: Any) -> None:
        self._started = True
        if isinstance(message, dict):
            self._take_usage(message.get("usage"))
        response = response_object(self._envelope, "in_progress", [], None)
        self._emit({"type": "response.created", "response": response})
        self._emit({"type": "response.in_progress", "response": dict(response)})

    def _take_usage(self, usage: Any) -> None:
        if isinstance(usage, dict):
            for key, value in usage.items():
                if value or key not in self._usage:
                    self._usage[key] = value

    def _block_start(self, ev: dict[str, Any]) -> None:
        start = ev.get("content_block") or {}
        kind = start.get("type")
        if kind == "text":
            block = _Block("message", start)
        elif kind in ("thinking", "redacted_thinking"):
            block = self._add(_Block("reasoning", start), "rs",
                              {"type": "reasoning", "summary": []})  # fmt: skip
        elif kind == "tool_use":
            name = start.get("name") or ""
            call_id = start.get("id") or ""
            named = client_name(name, self._namespaces)
            if name in self._custom:
                block = self._add(_Block("custom", start), "ctc", {
                    "type": "custom_tool_call", "status": "in_progress", "call_id": call_id,
                    **named, "input": "",
                })  # fmt: skip
            else:
                block = self._add(_Block("function", start), "fc", {
                    "type": "function_call", "status": "in_progress", "call_id": call_id,
                    **named, "arguments": "",
                })  # fmt: skip
            if start.get("input"):  # a backend that sent the whole input at the start
                block.parts.append(dumps_str(start["input"]))
        else:
            block = _Block("skip", start)
        self._open[ev.get("index", -1)] = block
        if kind == "text" and start.get("text"):
            self._text(block, start["text"])
        elif kind == "thinking" and start.get("thinking"):
            self._thinking(block, start["thinking"])

    def _add(self, block: _Block, prefix: str, item: dict[str, Any]) -> _Block:
        block.item_id = new_id(prefix)
        block.index = len(self._output)
        block.opened = True
        self._output.append(None)
        self._emit({"type": "response.output_item.added", "output_index": block.index,
                    "item": {"id": block.item_id, **item}})  # fmt: skip
        return block

    def _delta(self, ev: dict[str, Any]) -> None:
        block = self._open.get(ev.get("index", -1))
        delta = ev.get("delta") or {}
        if block is None:
            return
        dtype = delta.get("type")
        if dtype == "text_delta" and block.kind == "message":
            if delta.get("text"):
                self._text(block, delta["text"])
        elif dtype == "thinking_delta" and block.kind == "reasoning":
            if delta.get("thinking"):
                self._thinking(block, delta["thinking"])
        elif dtype == "signature_delta" and block.kind == "reasoning":
            block.signature += delta.get("signature") or ""
        elif dtype == "input_json_delta" and block.kind in ("function", "custom"):
            fragment = delta.get("partial_json") or ""
            if fragment:
                block.parts.append(fragment)
                if block.kind == "function":
                    self._emit({"type": "response.function_call_arguments.delta",
                                "item_id": block.item_id, "output_index": block.index,
                                "delta": fragment})  # fmt: skip

    def _text(self, block: _Block, text: str) -> None:
        if not block.opened:
            self._add(block, "msg", {"type": "message", "status": "in_progress",
                                     "role": "assistant", "content": []})  # fmt: skip
            self._emit({"type": "response.content_part.added", "item_id": block.item_id,
                        "output_index": block.index, "content_index": 0,
                        "part": {"type": "output_text", "text": "", "annotations": [],
                                 "logprobs": []}})  # fmt: skip
        block.parts.append(text)
        self._emit({"type": "response.output_text.delta", "item_id": block.item_id,
                    "output_index": block.index, "content_index": 0, "delta": text,
                    "logprobs": []})  # fmt: skip

    def _thinking(self, block: _Block, text: str) -> None:
        if not block.parts:
            self._emit({"type": "response.reasoning_summary_part.added",
                        "item_id": block.item_id, "output_index": block.index,
                        "summary_index": 0, "part": {"type": "summary_text", "text": ""}})  # fmt: skip
        block.parts.append(text)
        self._emit({"type": "response.reasoning_summary_text.delta", "item_id": block.item_id,
                    "output_index": block.index, "summary_index": 0, "delta": text})  # fmt: skip

    def _block_stop(self, index: Any) -> None:
        block = self._open.pop(index, None)
        if block is None or not block.opened:
            return
        if block.kind == "message":
            item, answer = self._stop_message(block)
        elif block.kind == "reasoning":
            item, answer = self._stop_reasoning(block)
        else:
            item, answer = self._stop_call(block)
        self._output[block.index] = item
        self._answer.append(answer)
        self._emit({"type": "response.output_item.done", "output_index": block.index,
                    "item": item})  # fmt: skip

    def _stop_message(self, block: _Block) -> tuple[dict[str, Any], dict[str, Any]]:
        text = "".join(block.parts)
        where = {"item_id": block.item_id, "output_index": block.index, "content_index": 0}
        item = message_item(block.item_id, text)
        self._emit({"type": "response.output_text.done", **where, "text": text, "logprobs": []})
        self._emit({"type": "response.content_part.done", **where, "part": item["content"][0]})
        return item, {"type": "text", "text": text}

    def _stop_reasoning(self, block: _Block) -> tuple[dict[str, Any], dict[str, Any]]:
        text = "".join(block.parts)
        if block.start.get("type") == "redacted_thinking":
            answer: dict[str, Any] = {"type": "redacted_thinking",
                                      "data": block.start.get("data") or ""}  # fmt: skip
        else:
            answer = {"type": "thinking", "thinking": text}
            signature = block.signature or block.start.get("signature") or ""
            if signature:
                answer["signature"] = signature
        if text:
            where = {"item_id": block.item_id, "output_index": block.index, "summary_index": 0}
            self._emit({"type": "response.reasoning_summary_text.done", **where, "text": text})
            self._emit({"type": "response.reasoning_summary_part.done", **where,
                        "part": {"type": "summary_text", "text": text}})  # fmt: skip
        return reasoning_item(block.item_id, answer), answer

    def _stop_call(self, block: _Block) -> tuple[dict[str, Any], dict[str, Any]]:
        raw = "".join(block.parts)
        try:
            args = loads(raw) if raw.strip() else {}
        except JSONDecodeError:
            args = None
        start = block.start
        call_id, name = start.get("id") or "", start.get("name") or ""
        answer = {"type": "tool_use", "id": call_id, "name": name,
                  "input": args if isinstance(args, dict) else {}}  # fmt: skip
        where = {"item_id": block.item_id, "output_index": block.index}
        named = client_name(name, self._namespaces)
        if block.kind == "custom":
            text = custom_input(args) if args is not None else raw
            if text:
                self._emit({"type": "response.custom_tool_call_input.delta", **where,
                            "delta": text})  # fmt: skip
            self._emit({"type": "response.custom_tool_call_input.done", **where, "input": text})
            item = {"id": block.item_id, "type": "custom_tool_call", "status": "completed",
                    "call_id": call_id, **named, "input": text}  # fmt: skip
        else:
            arguments = raw if raw.strip() else "{}"
            self._emit({"type": "response.function_call_arguments.done", **where,
                        "name": named["name"], "arguments": arguments})  # fmt: skip
            item = {"id": block.item_id, "type": "function_call", "status": "completed",
                    "call_id": call_id, **named, "arguments": arguments}  # fmt: skip
        return item, answer

    def _final_usage(self) -> dict[str, Any]:
        return usage_of(self._usage, thinking_text(self._answer))

    def _finish(self) -> None:
        for index in list(self._open):
            self._block_stop(index)  # a backend that skipped a content_block_stop
        self._finished = True
        status, incomplete = status_of(self._stop_reason)
        output = [item for item in self._output if item is not None]
        if incomplete:
            mark_incomplete(output)
        response = response_object(self._envelope, status, output, self._final_usage(),
                                   incomplete)  # fmt: skip
        kind = "response.completed" if status == "completed" else "response.incomplete"
        self._emit({"type": kind, "response": response})
        self._on_done(self._answer, output)
