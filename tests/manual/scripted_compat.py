"""A scripted "local model" without function calling, for trying tool compat mode by hand.

Not a test (pytest does not collect this folder): run it, put ccrelay in front of it with
``tool_mode: compat``, and run a real client. Like many local servers it answers 400 to any
request that carries ``tools``. It speaks OpenAI Chat Completions (``/v1/chat/completions``)
and Anthropic Messages (``/v1/messages``), streaming or not, and writes tool calls the way
compat mode's system prompt asks (``<tool_call>{"name": ..., "arguments": ...}</tool_call>``),
streamed in small pieces cut inside the tags and the JSON:

- a prompt that describes a ``Write`` tool and carries no ``<tool_result`` yet: a sentence,
  then a ``Write`` call creating ``<workdir>/hello.txt`` containing ``hi``;
- after a ``<tool_result``: a short text saying it is done;
- anything else (titles, summaries): a short text, or a JSON title when a format is asked.

    python -m tests.manual.scripted_compat --port 9102 --workdir /tmp/try --log /tmp/req.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: the tests package is two folders up
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes import server  # noqa: E402

CUTS = (1, 4, 2, 7, 3, 9, 5)


def all_text(body: dict[str, Any]) -> tuple[str, str]:
    """(system text, last user message text) of an OpenAI or Anthropic body."""
    system = body.get("system") or ""
    if isinstance(system, list):
        system = "\n".join(b.get("text", "") for b in system)
    messages = body.get("messages") or []
    for m in messages:
        if m.get("role") == "system":
            system += "\n" + _text(m.get("content"))
    users = [m for m in messages if m.get("role") == "user"]
    return system, _text(users[-1].get("content")) if users else ""


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return ""


def plan(body: dict[str, Any], workdir: str) -> str:
    system, last = all_text(body)
    if "<tool_result" in last:
        return "Done: I created hello.txt containing hi."
    if '<tool name="Write">' in system and "<tool_call>" in system:
        args = {"file_path": f"{workdir}/hello.txt", "content": "hi"}
        call = json.dumps({"name": "Write", "arguments": args})
        return f"I'll create the file now.\n\n<tool_call>\n{call}\n</tool_call>"
    if body.get("response_format") or (body.get("output_config") or {}).get("format"):
        return json.dumps({"title": "Create hello file"})
    return "ok"


def cut(text: str) -> list[str]:
    out, i, n = [], 0, 0
    while i < len(text):
        out.append(text[i : i + CUTS[n % len(CUTS)]])
        i += CUTS[n % len(CUTS)]
        n += 1
    return out


class Handler(server.Handler):
    workdir = "/tmp"
    log_file: str | None = None

    def do_POST(self) -> None:
        body = json.loads(self.body_bytes())
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        anthropic = self.path.endswith("/messages")
        if "tools" in body or "tool_choice" in body:
            msg = "this model does not support tools"
            if anthropic:
                err: Any = {
                    "type": "error",
                    "error": {"type": "invalid_request_error", "message": msg},
                }
            else:
                err = {"error": {"message": msg, "type": "invalid_request_error"}}
            return self.send_json(400, err)
        text = plan(body, self.workdir)
        model = body.get("model", "local")
        if not body.get("stream"):
            if anthropic:
                return self.send_json(200, {
                    "id": "msg_local", "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": {"input_tokens": 100, "output_tokens": 10}})  # fmt: skip
            return self.send_json(200, {
                "id": "x", "object": "chat.completion", "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 10}})  # fmt: skip
        self.start_chunks(200, "text/event-stream")
        events = _anthropic_events(text, model) if anthropic else _chat_events(text, model)
        for raw in events:
            self.send_chunk(raw)
            time.sleep(0.003)
        self.end_chunks()


def _chat_events(text: str, model: str) -> list[bytes]:
    def chunk(delta: Any, finish: Any = None, usage: Any = None) -> bytes:
        obj: dict[str, Any] = {"id": "x", "object": "chat.completion.chunk", "model": model,
                               "choices": [] if delta is None else
                               [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
        if usage:
            obj["usage"] = usage
        return f"data: {json.dumps(obj)}\n\n".encode()

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": p}) for p in cut(text)]
    out += [chunk({}, "stop"), chunk(None, usage={"prompt_tokens": 100, "completion_tokens": 10})]
    return [*out, b"data: [DONE]\n\n"]


def _anthropic_events(text: str, model: str) -> list[bytes]:
    def ev(obj: dict[str, Any]) -> bytes:
        return f"event: {obj['type']}\ndata: {json.dumps(obj)}\n\n".encode()

    msg = {"id": "msg_local", "type": "message", "role": "assistant", "model": model,
           "content": [], "stop_reason": None, "stop_sequence": None,
           "usage": {"input_tokens": 100, "output_tokens": 1}}  # fmt: skip
    out = [ev({"type": "message_start", "message": msg}),
           ev({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})]  # fmt: skip
    out += [ev({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}})
            for p in cut(text)]  # fmt: skip
    out += [ev({"type": "content_block_stop", "index": 0}),
            ev({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 10}}),
            ev({"type": "message_stop"})]  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9102)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--log", help="append every request body here, one JSON per line")
    args = ap.parse_args()
    Handler.workdir = args.workdir
    Handler.log_file = args.log
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
