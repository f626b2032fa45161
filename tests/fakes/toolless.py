"""A model server without function calling, for tool compat mode tests.

A real HTTP server on 127.0.0.1 speaking OpenAI Chat Completions (``/v1/chat/completions``)
and Anthropic Messages (``/v1/messages``). Like many local servers it rejects any request
that carries ``tools`` (or ``tool_choice``) with a 400. Otherwise it answers with the next
scripted model text, streamed in awkward pieces: the text deltas are cut every few
characters (inside tags, inside the JSON), and the SSE bytes themselves are written in small
writes cut at odd byte offsets (inside lines, inside UTF-8 characters).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, AnyStr

from tests.fakes import server

#: text delta sizes, cycled; byte write sizes, cycled
TEXT_CUTS = (1, 3, 2, 7, 4, 11, 5)
BYTE_CUTS = (5, 1, 13, 2, 8, 3, 21)


@dataclass
class Answer:
    """One scripted model turn: ``text`` (with any ``<tool_call>`` blocks in it), optional
    reasoning, and the finish reason the backend reports."""

    text: str
    thinking: str = ""
    finish: str = "stop"


@dataclass
class Seen:
    path: str
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


def cut(text: AnyStr, sizes: tuple[int, ...] = TEXT_CUTS) -> list[AnyStr]:
    """``text`` (or bytes) in pieces of the ``sizes``, cycled."""
    out, i, n = [], 0, 0
    while i < len(text):
        size = sizes[n % len(sizes)]
        out.append(text[i : i + size])
        i += size
        n += 1
    return out


class ToollessBackend(server.ServerThread):
    """Queue ``Answer``s (or a function of the request body) and read ``seen`` afterwards."""

    def __init__(self) -> None:
        self.answers: list[Answer | Callable[[Any], Answer]] = []
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        backend = self

        class Handler(server.Handler):
            def do_POST(self) -> None:
                raw = self.body_bytes()
                body = json.loads(raw)
                seen = Seen(
                    self.path, body, headers={k.lower(): v for k, v in self.headers.items()}
                )
                with backend._lock:
                    backend.seen.append(seen)
                    answer = backend.answers.pop(0) if backend.answers else None
                anthropic = self.path.endswith("/messages")
                if "tools" in body or "tool_choice" in body:
                    seen.status = 400
                    msg = "this model does not support tools"
                    err = (
                        {
                            "type": "error",
                            "error": {"type": "invalid_request_error", "message": msg},
                        }
                        if anthropic
                        else {
                            "error": {"message": msg, "type": "invalid_request_error", "code": None}
                        }
                    )
                    return self.send_json(400, err)
                if answer is None:
                    seen.status = 500
                    return self.send_json(500, {"error": {"message": "no answer scripted"}})
                if callable(answer):
                    answer = answer(body)
                model = body.get("model", "local")
                if not body.get("stream"):
                    return self.send_json(
                        200, (_anthropic_body if anthropic else _chat_body)(answer, model)
                    )
                events = (_anthropic_events if anthropic else _chat_events)(answer, model)
                self.send_chunked(200, "text/event-stream", cut(b"".join(events), BYTE_CUTS))

        super().__init__(Handler)

    def answer(self, *answers: Answer | Callable[[Any], Answer]) -> None:
        with self._lock:
            self.answers.extend(answers)


USAGE = {"prompt_tokens": 321, "completion_tokens": 45, "total_tokens": 366}


def _chat_body(a: Answer, model: str) -> dict[str, Any]:
    msg: dict[str, Any] = {"role": "assistant", "content": a.text}
    if a.thinking:
        msg["reasoning_content"] = a.thinking
    return {
        "id": "chatcmpl-local",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": msg, "finish_reason": a.finish}],
        "usage": USAGE,
    }


def _chat_events(a: Answer, model: str) -> list[bytes]:
    def chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> bytes:
        obj: dict[str, Any] = {
            "id": "chatcmpl-local",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": model,
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        if usage:
            obj["usage"] = usage
        return f"data: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"reasoning_content": p}) for p in cut(a.thinking)]
    out += [chunk({"content": p}) for p in cut(a.text)]
    out += [chunk({}, a.finish), chunk(None, usage=USAGE), b"data: [DONE]\n\n"]
    return out


_STOP = {"stop": "end_turn", "length": "max_tokens"}


def _anthropic_body(a: Answer, model: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if a.thinking:
        content.append({"type": "thinking", "thinking": a.thinking, "signature": "bG9jYWw="})
    content.append({"type": "text", "text": a.text})
    return {
        "id": "msg_local",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": _STOP.get(a.finish, a.finish),
        "stop_sequence": None,
        "usage": {"input_tokens": 321, "output_tokens": 45},
    }


def _anthropic_events(a: Answer, model: str) -> list[bytes]:
    def ev(obj: dict[str, Any]) -> bytes:
        return f"event: {obj['type']}\ndata: {json.dumps(obj, ensure_ascii=False)}\n\n".encode()

    start = _anthropic_body(a, model)
    start["content"], start["stop_reason"] = [], None
    start["usage"] = {"input_tokens": 321, "output_tokens": 1}
    out = [ev({"type": "message_start", "message": start})]
    idx = 0
    if a.thinking:
        out.append(
            ev(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                }
            )
        )
        out += [
            ev(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "thinking_delta", "thinking": p},
                }
            )
            for p in cut(a.thinking)
        ]
        out.append(
            ev(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "signature_delta", "signature": "bG9jYWw="},
                }
            )
        )
        out.append(ev({"type": "content_block_stop", "index": 0}))
        idx = 1
    out.append(
        ev(
            {
                "type": "content_block_start",
                "index": idx,
                "content_block": {"type": "text", "text": ""},
            }
        )
    )
    out += [
        ev(
            {
                "type": "content_block_delta",
                "index": idx,
                "delta": {"type": "text_delta", "text": p},
            }
        )
        for p in cut(a.text)
    ]
    out.append(ev({"type": "content_block_stop", "index": idx}))
    out.append(
        ev(
            {
                "type": "message_delta",
                "delta": {"stop_reason": _STOP.get(a.finish, a.finish), "stop_sequence": None},
                "usage": {"output_tokens": 45},
            }
        )
    )
    out.append(ev({"type": "message_stop"}))
    return out
