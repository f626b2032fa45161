"""Canonical answers as Ollama's: one JSON object, or an NDJSON stream (ollama.md §2, §4).

| canonical | Ollama |
|---|---|
| ``text`` blocks / ``text_delta`` | ``message.content`` (``response`` for generate), one line per batch of fragments |
| ``thinking`` blocks / ``thinking_delta`` | ``message.thinking`` (``thinking`` for generate) |
| ``signature``, ``redacted_thinking`` | kept in the dialect's vault under the turn's first tool call id, with markers for where text and calls were; Ollama has no field for them |
| ``tool_use`` | ``message.tool_calls[]`` ``{id, function: {index, name, arguments}}``, arguments an object; streamed fragments are buffered until the block stops |
| ``tool_use`` with arguments that are not a JSON object (cut by the token limit) | left out, logged |
| ``stop_reason`` ``max_tokens`` / ``model_context_window_exceeded`` | ``done_reason: length`` |
| any other ``stop_reason`` (tool use included: Ollama says ``stop``) | ``done_reason: stop`` |
| ``usage`` input + cache read + cache write / output | ``prompt_eval_count`` / ``eval_count`` |
| (time) | ``total_duration`` from the call's start, ``prompt_eval_duration`` until the upstream's first event, ``eval_duration`` the rest, ``load_duration`` 0; nanoseconds |
| keep-alive | a line with empty content and ``done: false`` (every NDJSON line must be JSON) |
| U+0085, U+2028, U+2029 in any string | escaped (``\\u2028``): the ollama SDK cuts lines at them, as ``str.splitlines`` does |
| error after the first byte | ``{"error": "..."}`` line, ending the stream |
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any, cast

from ccrelay.core.dialect import ClientCall, Rendered, StreamRenderer
from ccrelay.core.errors import RelayError
from ccrelay.core.jsonutil import JSONDecodeError, dumps, loads
from ccrelay.core.types import CanonicalEvent, CanonicalResponse
from ccrelay.core.vault import Vault

from .ids import call_id

log = logging.getLogger("ccrelay.dialects.ollama")

#: a turn's thinking blocks and the places of its text and calls, under its first call's id
ThinkingVault = Vault[list[dict[str, Any]]]
_TEXT_MARK = {"type": "text"}
_CALL_MARK = {"type": "tool_use"}
_LENGTH = frozenset({"max_tokens", "model_context_window_exceeded"})


def iso(ts: float) -> str:
    """RFC 3339 UTC time with microseconds, as Ollama's ``created_at``."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def done_reason(stop_reason: Any) -> str:
    return "length" if stop_reason in _LENGTH else "stop"


def prompt_tokens(usage: Any) -> int:
    """Ollama's prompt count: every input token, cached or not (mapping.md §9)."""
    if not isinstance(usage, dict):
        return 0
    return sum(
        usage.get(k) or 0
        for k in ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")
    )


def metrics(t0: int, first: int | None, prompt: int, output: int) -> dict[str, int]:
    """The final line's counts and durations (ns) for a call that started at ``t0``."""
    now = time.perf_counter_ns()
    first = first if first is not None else t0
    return {
        "total_duration": now - t0,
        "load_duration": 0,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": first - t0,
        "eval_count": output,
        # never 0 when tokens came: clients divide by it for tokens per second
        "eval_duration": max(now - first, 1),
    }


def render_response(resp: CanonicalResponse, call: ClientCall, vault: ThinkingVault) -> Rendered:
    """The single object of a ``stream: false`` call."""
    state = call.state
    texts: list[str] = []
    thoughts: list[str] = []
    kept: list[dict[str, Any]] = []
    calls: list[dict[str, Any]] = []
    used: set[str] = state["ids"]
    blocks = cast(list[dict[str, Any]], resp.get("content") or [])
    for block in blocks:
        kind = block.get("type")
        if kind == "text":
            texts.append(block.get("text") or "")
            kept.append(_TEXT_MARK)
        elif kind == "thinking":
            thoughts.append(block.get("thinking") or "")
            kept.append(dict(block))
        elif kind == "redacted_thinking":
            kept.append(dict(block))
        elif kind == "tool_use":
            args = block.get("input")
            name = str(block.get("name") or "")
            if not isinstance(args, dict):
                log.warning("tool call %s without object arguments left out", name)
                continue
            cid = call_id(name, args, len(calls), used)
            if not calls:
                vault.put(cid, kept)  # the same list: later blocks still land in it
            kept.append(_CALL_MARK)
            calls.append(_tool_call(cid, len(calls), name, args))
    usage = resp.get("usage")
    out = _head(state["model"])
    text = "".join(texts)
    if state["endpoint"] == "chat":
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if thoughts:
            message["thinking"] = "".join(thoughts)
        if calls:
            message["tool_calls"] = calls
        out["message"] = message
    else:
        out["response"] = text
        if thoughts:
            out["thinking"] = "".join(thoughts)
    out["done"] = True
    out["done_reason"] = done_reason(resp.get("stop_reason"))
    out.update(
        metrics(state["t0"], None, prompt_tokens(usage), (usage or {}).get("output_tokens") or 0)
    )
    return Rendered(out)


def render_load(call: ClientCall) -> Rendered:
    """Ollama's answer to a load / unload request (no messages, no prompt)."""
    state = call.state
    out = _head(state["model"])
    if state["endpoint"] == "chat":
        out["message"] = {"role": "assistant", "content": ""}
    else:
        out["response"] = ""
    out["done"] = True
    out["done_reason"] = state["load"]
    return Rendered(out)


# Line breaks to Python's str.splitlines, which httpx's iter_lines (and so the ollama SDK)
# uses to cut NDJSON: raw inside a JSON string they would cut a line in two. JSON allows
# them raw, and orjson writes them so; escaped, every client reads the same text.
_SPLITTERS = (
    (b"\xc2\x85", b"\\u0085"),
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
)


def _json(obj: Any) -> bytes:
    """``obj`` as JSON that no line splitter cuts."""
    data = dumps(obj)
    if b"\xc2\x85" in data or b"\xe2\x80" in data:
        for raw, escaped in _SPLITTERS:
            data = data.replace(raw, escaped)
    return data


def _ndjson(obj: Any) -> bytes:
    """One NDJSON line: ``obj`` as JSON, then a newline."""
    return _json(obj) + b"\n"


class _Clock:
    """``created_at`` for stream lines: the date and time formatted once per second (a
    datetime per line costs more than the rest of the line)."""

    __slots__ = ("_second", "_prefix")

    def __init__(self) -> None:
        self._second = -1
        self._prefix = b""

    def stamp(self) -> bytes:
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
        return b"%s.%06dZ" % (self._prefix, int((now - second) * 1e6))


def _head(model: str) -> dict[str, Any]:
    return {"model": model, "created_at": iso(time.time())}


def _tool_call(cid: str, index: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    return {"id": cid, "function": {"index": index, "name": name, "arguments": args}}


class NDJSONRenderer(StreamRenderer):
    """One call's canonical stream as Ollama NDJSON lines."""

    content_type = "application/x-ndjson"

    def __init__(self, call: ClientCall, vault: ThinkingVault) -> None:
        state = call.state
        self.chat = state["endpoint"] == "chat"
        self.model: str = state["model"]
        self.t0: int = state["t0"]
        self.used: set[str] = state["ids"]
        self.vault = vault
        self.first: int | None = None
        self.prompt = 0
        self.output = 0
        self.stop_reason: Any = None
        self.block: str | None = None
        self.tool: dict[str, Any] = {}
        self.args: list[str] = []
        self.thinking: list[str] = []
        self.signature: str | None = None
        self.kept: list[dict[str, Any]] = []  # this turn for the vault (ThinkingVault)
        self.calls = 0
        self.finished = False
        # fragments waiting to be written as one line: (kind, parts)
        self._kind = ""
        self._parts: list[str] = []
        self._clock = _Clock()
        # Text and thinking lines are most of a stream: built from bytes templates.
        self._head = b'{"model":' + _json(self.model) + b',"created_at":"'
        if self.chat:
            self._mids = {
                "content": b'","message":{"role":"assistant","content":',
                "thinking": b'","message":{"role":"assistant","content":"","thinking":',
            }
            self._tail = b'},"done":false}\n'
        else:
            self._mids = {"content": b'","response":', "thinking": b'","response":"","thinking":'}
            self._tail = b',"done":false}\n'

    # --- StreamRenderer -------------------------------------------------------------------

    def events(self, events: Sequence[CanonicalEvent]) -> bytes:
        if len(events) == 1 and events[0].get("type") == "content_block_delta":
            # The usual batch while a model writes: one fragment, one line.
            delta = events[0]["delta"]
            kind = delta.get("type")
            if kind == "text_delta":
                text = delta["text"]
                return self._line(self._clock.stamp(), "content", text) if text else b""
            if kind == "thinking_delta":
                text = delta["thinking"]
                self.thinking.append(text)
                return self._line(self._clock.stamp(), "thinking", text) if text else b""
        lines: list[bytes] = []
        stamp = self._clock.stamp()
        for ev in events:
            etype = ev.get("type")
            if etype == "content_block_delta":
                self._delta(ev["delta"], lines, stamp)
            elif etype == "content_block_start":
                self._start(ev["content_block"], lines, stamp)
            elif etype == "content_block_stop":
                self._stop(lines, stamp)
            elif etype == "message_start":
                if self.first is None:
                    self.first = time.perf_counter_ns()
                self.prompt = prompt_tokens(ev["message"].get("usage")) or self.prompt
            elif etype == "message_delta":
                self.stop_reason = ev.get("delta", {}).get("stop_reason") or self.stop_reason
                usage = ev.get("usage") or {}
                self.output = usage.get("output_tokens") or self.output
                self.prompt = prompt_tokens(usage) or self.prompt
            elif etype == "message_stop":
                self._flush(lines, stamp)
                lines.append(self._final(stamp))
        self._flush(lines, stamp)
        return b"".join(lines)

    def keepalive(self) -> bytes:
        return self._line(self._clock.stamp(), "content", "")

    def error(self, err: RelayError) -> bytes:
        self.finished = True
        return _ndjson({"error": err.message})

    def end(self) -> bytes:
        # A stream without message_stop: the strategies report that as an error, so this
        # only finishes the line protocol for a strategy that ended quietly.
        return b"" if self.finished else self._final(self._clock.stamp())

    # --- canonical events -----------------------------------------------------------------

    def _start(self, block: dict[str, Any], lines: list[bytes], stamp: bytes) -> None:
        kind = block.get("type")
        self.block = kind
        if kind == "text":
            self.kept.append(_TEXT_MARK)
            if block.get("text"):
                self._fragment("content", block["text"], lines, stamp)
        elif kind == "thinking":
            self.thinking = [block.get("thinking") or ""]
            self.signature = block.get("signature")
            if self.thinking[0]:
                self._fragment("thinking", self.thinking[0], lines, stamp)
        elif kind == "tool_use":
            self.tool = block
            self.args = []
        elif kind == "redacted_thinking":
            self.kept.append(dict(block))

    def _delta(self, delta: dict[str, Any], lines: list[bytes], stamp: bytes) -> None:
        kind = delta.get("type")
        if kind == "text_delta":
            self._fragment("content", delta["text"], lines, stamp)
        elif kind == "thinking_delta":
            self.thinking.append(delta["thinking"])
            self._fragment("thinking", delta["thinking"], lines, stamp)
        elif kind == "input_json_delta":
            self.args.append(delta["partial_json"])
        elif kind == "signature_delta":
            self.signature = delta["signature"]

    def _stop(self, lines: list[bytes], stamp: bytes) -> None:
        kind, self.block = self.block, None
        if kind == "thinking":
            block: dict[str, Any] = {"type": "thinking", "thinking": "".join(self.thinking)}
            if self.signature:
                block["signature"] = self.signature
            self.kept.append(block)
            self.thinking, self.signature = [], None
        elif kind == "tool_use":
            self._tool_call(lines, stamp)

    def _tool_call(self, lines: list[bytes], stamp: bytes) -> None:
        name = str(self.tool.get("name") or "")
        raw = "".join(self.args)
        args: Any
        if raw.strip():
            try:
                args = loads(raw)
            except JSONDecodeError:
                args = None
        else:
            args = self.tool.get("input") or {}
        if not isinstance(args, dict):
            log.warning("tool call %s with arguments that are not a JSON object left out", name)
            return
        cid = call_id(name, args, self.calls, self.used)
        if not self.calls:
            self.vault.put(cid, self.kept)  # the same list: later blocks still land in it
        self.kept.append(_CALL_MARK)
        call = _tool_call(cid, self.calls, name, args)
        self.calls += 1
        if not self.chat:
            return  # /api/generate has no tools, and no place for a call
        self._flush(lines, stamp)
        message = {"role": "assistant", "content": "", "tool_calls": [call]}
        lines.append(
            _ndjson(
                {
                    "model": self.model,
                    "created_at": stamp.decode(),
                    "message": message,
                    "done": False,
                }
            )
        )

    # --- lines ----------------------------------------------------------------------------

    def _fragment(self, kind: str, text: str, lines: list[bytes], stamp: bytes) -> None:
        """Queue a text or thinking fragment; consecutive ones of a kind share a line."""
        if not text:
            return
        if kind != self._kind:
            self._flush(lines, stamp)
            self._kind = kind
        self._parts.append(text)

    def _flush(self, lines: list[bytes], stamp: bytes) -> None:
        if self._parts:
            lines.append(self._line(stamp, self._kind, "".join(self._parts)))
            self._parts = []
        self._kind = ""

    def _line(self, stamp: bytes, kind: str, text: str) -> bytes:
        return self._head + stamp + self._mids[kind] + _json(text) + self._tail

    def _final(self, stamp: bytes) -> bytes:
        self.finished = True
        out: dict[str, Any] = {"model": self.model, "created_at": stamp.decode()}
        if self.chat:
            out["message"] = {"role": "assistant", "content": ""}
        else:
            out["response"] = ""
        out["done"] = True
        out["done_reason"] = done_reason(self.stop_reason)
        out.update(metrics(self.t0, self.first, self.prompt, self.output))
        return _ndjson(out)
