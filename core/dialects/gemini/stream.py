"""Canonical stream events to Gemini stream chunks, in either of Gemini's two framings.

Each batch of canonical events becomes at most one ``GenerateContentResponse`` chunk holding
only the parts new since the last one: text and thought deltas as they come, a tool call as
one whole ``functionCall`` part once its block stops (argument fragments are buffered and
parsed once), signatures placed by ``render.Parts``. ``finishReason`` and ``usageMetadata``
ride on the last chunk.

- ``?alt=sse``: ``data: <chunk>`` events, no event names, no ``[DONE]``; keep-alives are a
  bare newline, because google-genai parses an SSE comment line as JSON and fails, and the
  JS SDK (Gemini CLI) stops matching its ``data:`` pattern behind one.
- no ``alt``: one JSON array written as it grows: ``[`` chunk ``,`` chunk ... ``]``;
  keep-alives are whitespace, so the body stays valid JSON at every byte.

A failure after the first byte is one more chunk ``{"error": {...}}`` (google-genai raises
it as ``APIError``), closing the array in array mode. U+2028 and U+2029 are written escaped:
the JS SDK's ``data: (.*)`` pattern does not match across them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ccrelay.core.dialect import StreamRenderer
from ccrelay.core.errors import RelayError
from ccrelay.core.jsonutil import JSONDecodeError, dumps, loads
from ccrelay.core.types import CanonicalEvent

from .render import Parts, error_object, finish_reason, function_call, usage_metadata

_LS, _PS = "\u2028".encode(), "\u2029".encode()


class _Block:
    __slots__ = ("kind", "text", "signature", "id", "name", "input", "fragments")

    def __init__(self, start: dict[str, Any]) -> None:
        self.kind = start.get("type")
        self.text: list[str] = []
        self.signature = start.get("signature") or ""
        self.id = start.get("id")
        self.name = start.get("name")
        self.input = start.get("input")
        self.fragments: list[str] = []


class GeminiStream(StreamRenderer):
    """One call's stream, framed as SSE (``alt=sse``) or as a growing JSON array."""

    sse: ClassVar[bool] = True

    def __init__(self, model: str, include_thoughts: bool) -> None:
        self.model = model
        self.parts = Parts(include_thoughts)
        self.blocks: dict[int, _Block] = {}
        self.response_id = ""
        self.usage: dict[str, Any] = {}
        self.stop_reason: Any = None
        self.broken: list[str] = []  # tool calls whose arguments are not a JSON object
        self.opened = False  # array mode: "[" written
        self.closed = False

    # --- StreamRenderer ---------------------------------------------------------------------

    def events(self, events: Sequence[CanonicalEvent]) -> bytes:
        finished = False
        for ev in events:
            etype = ev.get("type")
            if etype == "content_block_delta":
                self._delta(ev)
            elif etype == "content_block_start":
                block = ev.get("content_block") or {}
                self.blocks[ev.get("index", 0)] = _Block(block)
                if block.get("type") == "redacted_thinking":
                    self.parts.redacted(block.get("data") or "")
            elif etype == "content_block_stop":
                self._stop(self.blocks.pop(ev.get("index", 0), None))
            elif etype == "message_start":
                message = ev.get("message") or {}
                self.response_id = message.get("id") or ""
                self.usage.update(message.get("usage") or {})
            elif etype == "message_delta":
                self.stop_reason = (ev.get("delta") or {}).get("stop_reason")
                self.usage.update({k: v for k, v in (ev.get("usage") or {}).items() if v})
            elif etype == "message_stop":
                finished = True
        if finished:
            if self.broken and self.stop_reason != "max_tokens":
                return self.error(
                    RelayError(
                        502,
                        f"the model's call to {self.broken[0]!r} has arguments that "
                        "are not a JSON object; send the request again",
                    )
                )
            self.parts.finish()  # a call cut off by the token limit is dropped
        parts = self.parts.take()
        if not parts and not finished:
            return b""
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
        chunk: dict[str, Any] = {"candidates": [candidate]}
        if finished:
            candidate["finishReason"] = finish_reason(self.stop_reason)
            chunk["usageMetadata"] = usage_metadata(self.usage)
        chunk["modelVersion"] = self.model
        chunk["responseId"] = self.response_id
        return self._frame(chunk)

    def keepalive(self) -> bytes:
        return b"\n"

    def error(self, err: RelayError) -> bytes:
        if self.closed:
            return b""
        out = self._frame({"error": error_object(err)})
        self.closed = True
        return out + b"]" if not self.sse else out

    def end(self) -> bytes:
        if self.sse or self.closed:
            return b""
        self.closed = True
        return b"]" if self.opened else b"[]"

    # --- events ---------------------------------------------------------------------------

    def _delta(self, ev: CanonicalEvent) -> None:
        delta = ev.get("delta") or {}
        dtype = delta.get("type")
        if dtype == "text_delta":
            text = delta.get("text")
            if text:
                self.parts.add({"text": text})
            return
        block = self.blocks.get(ev.get("index", 0))
        if block is None:
            return
        if dtype == "input_json_delta":
            block.fragments.append(delta.get("partial_json") or "")
        elif dtype == "thinking_delta":
            text = delta.get("thinking") or ""
            block.text.append(text)
            self.parts.thought(text)
        elif dtype == "signature_delta":
            block.signature += delta.get("signature") or ""

    def _stop(self, block: _Block | None) -> None:
        if block is None:
            return
        if block.kind == "thinking":
            self.parts.thinking_done("".join(block.text), block.signature or None, streamed=True)
        elif block.kind == "tool_use":
            args: Any = block.input if isinstance(block.input, dict) else {}
            if block.fragments:
                raw = "".join(block.fragments)
                try:
                    args = loads(raw) if raw.strip() else {}
                except JSONDecodeError:
                    args = None
            if not isinstance(args, dict):
                self.broken.append(str(block.name))
                return
            self.parts.add(function_call(block.id, block.name, args))

    # --- framing ---------------------------------------------------------------------------

    def _frame(self, obj: dict[str, Any]) -> bytes:
        data = dumps(obj)
        if self.sse:
            if b"\xe2\x80" in data:
                data = data.replace(_LS, b"\\u2028").replace(_PS, b"\\u2029")
            return b"data: " + data + b"\n\n"
        if self.opened:
            return b",\r\n" + data
        self.opened = True
        return b"[" + data


class SSEStream(GeminiStream):
    content_type: ClassVar[str] = "text/event-stream"
    sse: ClassVar[bool] = True


class ArrayStream(GeminiStream):
    content_type: ClassVar[str] = "application/json"
    sse: ClassVar[bool] = False
