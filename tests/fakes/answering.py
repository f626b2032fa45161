"""An upstream that answers every request well, streaming when asked: for fuzzing the relay.

Unlike ``FakeUpstream`` nothing is scripted: ``POST .../chat/completions`` gets an OpenAI Chat
answer and ``POST .../messages`` an Anthropic one, each a JSON body or an SSE stream as the
request's ``stream`` flag says, with a tool call when the request offers tools (so the client
side renders calls too). Requests are counted, not kept: a fuzz run sends thousands.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.fakes import server

_USAGE_OAI = {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12}


def _openai(stream: bool, tool: str | None) -> tuple[str, bytes]:
    call = {"id": "call_1", "type": "function", "function": {"name": tool, "arguments": '{"a": 1}'}}
    if not stream:
        msg: dict[str, Any] = {"role": "assistant", "content": "fine"}
        if tool:
            msg["tool_calls"] = [call]
        body = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                "choices": [{"index": 0, "message": msg,
                             "finish_reason": "tool_calls" if tool else "stop"}],
                "usage": _USAGE_OAI}  # fmt: skip
        return "application/json", json.dumps(body).encode()

    def chunk(delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        data = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": choices, **extra}  # fmt: skip
        return f"data: {json.dumps(data)}\n\n"

    parts = [chunk({"role": "assistant", "content": ""}), chunk({"content": "fi"}),
             chunk({"content": "ne"})]  # fmt: skip
    if tool:
        parts.append(chunk({"tool_calls": [{"index": 0, **call}]}))
    parts += [chunk({}, "tool_calls" if tool else "stop"), chunk(None, usage=_USAGE_OAI),
              "data: [DONE]\n\n"]  # fmt: skip
    return "text/event-stream", "".join(parts).encode()


def _anthropic(stream: bool, tool: str | None) -> tuple[str, bytes]:
    blocks: list[dict[str, Any]] = [
        {"type": "thinking", "thinking": "hm", "signature": "sig"},
        {"type": "text", "text": "fine"},
    ]
    if tool:
        blocks.append({"type": "tool_use", "id": "toolu_1", "name": tool, "input": {"a": 1}})
    stop = "tool_use" if tool else "end_turn"
    usage = {"input_tokens": 9, "output_tokens": 3}
    if not stream:
        body = {"id": "msg", "type": "message", "role": "assistant", "model": "m",
                "content": blocks, "stop_reason": stop, "stop_sequence": None, "usage": usage}  # fmt: skip
        return "application/json", json.dumps(body).encode()
    evs: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg", "type": "message", "role": "assistant", "model": "m", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage}}]  # fmt: skip
    for i, block in enumerate(blocks):
        kind = block["type"]
        start = {**block, kind: ""} if kind in ("text", "thinking") else {**block, "input": {}}
        start.pop("signature", None)
        evs.append({"type": "content_block_start", "index": i, "content_block": start})
        if kind == "text":
            delta = {"type": "text_delta", "text": block["text"]}
        elif kind == "thinking":
            delta = {"type": "thinking_delta", "thinking": block["thinking"]}
            evs.append({"type": "content_block_delta", "index": i, "delta": delta})
            delta = {"type": "signature_delta", "signature": block["signature"]}
        else:
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        evs.append({"type": "content_block_delta", "index": i, "delta": delta})
        evs.append({"type": "content_block_stop", "index": i})
    evs.append({"type": "message_delta", "delta": {"stop_reason": stop}, "usage": usage})
    evs.append({"type": "message_stop"})
    text = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in evs)
    return "text/event-stream", text.encode()


class AnsweringUpstream(server.ServerThread):
    """A real HTTP server on 127.0.0.1 answering both protocols; ``count`` requests served."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(server.Handler):
            def do_POST(self) -> None:
                raw = self.body_bytes()
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = {}
                with fake._lock:
                    fake.count += 1
                tools = body.get("tools") or []
                first = tools[0] if tools else {}
                tool = (first.get("function") or first).get("name") if first else None
                stream = body.get("stream") is True
                if self.path.endswith("/messages"):
                    ctype, data = _anthropic(stream, tool)
                else:
                    ctype, data = _openai(stream, tool)
                self.send_body(200, data, ctype)

        super().__init__(Handler)
