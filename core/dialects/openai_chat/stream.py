"""Canonical stream events as ``chat.completion.chunk`` server-sent events.

| canonical event | chunk |
|---|---|
| ``message_start`` | ``delta: {role: assistant, content: ""}`` (always the first chunk) |
| ``text_delta`` | ``delta.content`` (empty ones skipped) |
| ``thinking_delta`` | ``delta.reasoning_content``; the block and its ``signature_delta`` are kept for the vault |
| ``redacted_thinking`` block | nothing shown; kept for the vault |
| ``tool_use`` block start | ``delta.tool_calls[{index, id, type, function: {name, arguments: ""}}]``, index counting tool calls from 0 |
| ``input_json_delta`` | ``delta.tool_calls[{index, function: {arguments}}]`` as the fragments arrive |
| ``message_delta`` | stop reason and usage noted |
| ``message_stop`` | ``delta: {}`` with ``finish_reason``, then the usage chunk (``choices: []``) when the client set ``stream_options.include_usage`` |
| ``ping`` | nothing (core sends keep-alives) |
| end of stream | ``data: [DONE]`` |
| keep-alive | ``: keep-alive`` (an SSE comment every client skips) |
| failure after the first byte | ``data: {"error": {message, type, param, code}}``, which the openai SDK raises as ``APIError`` |

Chunks are built from a prefix and suffix fixed per stream, so a text delta costs one small
``dumps``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from ccrelay.core.dialect import StreamRenderer
from ccrelay.core.errors import RelayError
from ccrelay.core.jsonutil import dumps, dumps_str
from ccrelay.core.types import CanonicalEvent
from ccrelay.core.vault import Vault

from .render import ToolIds, completion_id, finish_reason, keep_thinking, usage

_KEEPALIVE = b": keep-alive\n\n"
_DONE = b"data: [DONE]\n\n"
_SUFFIX = b',"finish_reason":null}]}\n\n'


class ChatStream(StreamRenderer):
    """One stream's state: block index -> tool call index, thinking kept for the vault."""

    def __init__(
        self,
        include_usage: bool,
        ids: ToolIds,
        thinking_vault: Vault[list[dict[str, Any]]],
        error_body: Callable[[RelayError], dict[str, Any]],
    ) -> None:
        self.include_usage = include_usage
        self.ids = ids
        self.thinking_vault = thinking_vault
        self.error_body = error_body
        self.prefix = b""
        self.head = b""  # the chunk's fields before "choices", for the usage chunk
        self.calls: dict[int, int] = {}  # content block index -> tool call index
        self.thinking: list[dict[str, Any]] = []  # blocks before the first tool call
        self.open_thinking: list[str] | None = None  # text parts of the open thinking block
        self.signature: list[str] = []
        self.reasoning_chars = 0
        self.stop_reason: Any = None
        self.usage: dict[str, Any] = {}
        self.finished = False

    # --- the stream ---------------------------------------------------------------------

    def events(self, events: Sequence[CanonicalEvent]) -> bytes:
        out: list[bytes] = []
        for ev in events:
            kind = ev.get("type")
            if kind == "content_block_delta":
                self._delta(ev, out)
            elif kind == "content_block_start":
                self._block_start(ev, out)
            elif kind == "content_block_stop":
                self._block_stop()
            elif kind == "message_start":
                self._start(ev.get("message") or {}, out)
            elif kind == "message_delta":
                delta = ev.get("delta") or {}
                if delta.get("stop_reason"):
                    self.stop_reason = delta["stop_reason"]
                self.usage.update(ev.get("usage") or {})
            elif kind == "message_stop":
                self._finish(out)
        return b"".join(out)

    def keepalive(self) -> bytes:
        return _KEEPALIVE

    def error(self, err: RelayError) -> bytes:
        return b"data: " + dumps(self.error_body(err)) + b"\n\n"

    def end(self) -> bytes:
        out: list[bytes] = []
        if not self.finished:
            self._finish(out)  # the upstream ended cleanly without message_stop
        out.append(_DONE)
        return b"".join(out)

    # --- pieces -------------------------------------------------------------------------

    def _start(self, message: dict[str, Any], out: list[bytes]) -> None:
        if self.prefix:
            return
        self.usage.update(message.get("usage") or {})
        head = dumps({
            "id": completion_id(message.get("id")),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": message.get("model") or "",
        })[:-1]  # fmt: skip
        self.head = head
        self.prefix = head + b',"choices":[{"index":0,"delta":'
        out.append(b"data: " + self.prefix + b'{"role":"assistant","content":""}' + _SUFFIX)

    def _chunk(self, delta: dict[str, Any], out: list[bytes]) -> None:
        if not self.prefix:
            self._start({}, out)
        out.append(b"data: " + self.prefix + dumps(delta) + _SUFFIX)

    def _block_start(self, ev: CanonicalEvent, out: list[bytes]) -> None:
        block = ev.get("content_block") or {}
        kind = block.get("type")
        if kind == "tool_use":
            n = len(self.calls)
            self.calls[ev.get("index", -1)] = n
            call_id = self.ids.out(str(block.get("id") or ""))
            if n == 0 and self.thinking:
                keep_thinking(self.thinking_vault, self.thinking, call_id)
            self._chunk({"tool_calls": [{
                "index": n, "id": call_id, "type": "function",
                "function": {"name": block.get("name") or "", "arguments": ""},
            }]}, out)  # fmt: skip
            if block.get("input"):  # a strategy that sends the whole input at the start
                self._chunk({"tool_calls": [{"index": n, "function": {
                    "arguments": dumps_str(block["input"])}}]}, out)  # fmt: skip
        elif kind == "thinking":
            self.open_thinking, self.signature = [], []
            text = block.get("thinking")
            if text:
                self._reasoning(text, out)
            if block.get("signature"):
                self.signature.append(block["signature"])
        elif kind == "redacted_thinking":
            if not self.calls:
                self.thinking.append(dict(block))
        elif kind == "text" and block.get("text"):
            self._chunk({"content": block["text"]}, out)

    def _delta(self, ev: CanonicalEvent, out: list[bytes]) -> None:
        delta = ev.get("delta") or {}
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text")
            if text:
                self._chunk({"content": text}, out)
        elif kind == "input_json_delta":
            part = delta.get("partial_json")
            n = self.calls.get(ev.get("index", -1))
            if part and n is not None:
                self._chunk({"tool_calls": [{"index": n, "function": {"arguments": part}}]}, out)
        elif kind == "thinking_delta":
            text = delta.get("thinking")
            if text:
                self._reasoning(text, out)
        elif kind == "signature_delta" and self.open_thinking is not None:
            self.signature.append(delta.get("signature") or "")

    def _reasoning(self, text: str, out: list[bytes]) -> None:
        self.reasoning_chars += len(text)
        if self.open_thinking is not None:
            self.open_thinking.append(text)
        self._chunk({"reasoning_content": text}, out)

    def _block_stop(self) -> None:
        parts = self.open_thinking
        if parts is not None:
            self.open_thinking = None
            if not self.calls:
                self.thinking.append(
                    {"type": "thinking", "thinking": "".join(parts),
                     "signature": "".join(self.signature)}
                )  # fmt: skip

    def _finish(self, out: list[bytes]) -> None:
        if self.finished:
            return
        self.finished = True
        if not self.prefix:
            self._start({}, out)
        reason = finish_reason(self.stop_reason, bool(self.calls))
        out.append(
            b"data: " + self.prefix + b'{},"finish_reason":"' + reason.encode() + b'"}]}\n\n'
        )
        if self.include_usage:
            body = dumps(usage(self.usage, self.reasoning_chars))
            out.append(b"data: " + self.head + b',"choices":[],"usage":' + body + b"}\n\n")
