"""A scripted Ollama server (native API) for trying real clients through ccrelay's ollama strategy.

Not a test (pytest does not collect this folder): run it, point a ``type: ollama`` provider
at it, run the client. ``POST /api/chat`` streams NDJSON (or answers once with
``"stream": false``) and, like a real Ollama, pretends its context is ``options.num_ctx``
tokens (``--default-ctx`` when absent): a prompt larger than that is cut from the front, as
Ollama does silently, and the answer then says so instead of doing the task. So the run
only succeeds when the relay sized ``num_ctx`` for the prompt. Prompt size is measured as
characters / 3.5, a little above real tokenizers' count for English and code.

With ``Write`` among the tools and no tool result yet, it thinks (when ``think`` is on) and
calls ``Write`` to create ``<workdir>/hello.txt`` containing ``hi``; after the tool result it
answers in text. ``GET /api/tags``, ``POST /api/show`` and ``GET /api/version`` answer too.

    python -m tests.manual.scripted_ollama --port 9103 --workdir /tmp/try --log /tmp/ol.jsonl
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a file: the tests package is two folders up
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes import server  # noqa: E402

CHARS_PER_TOKEN = 3.5


def prompt_tokens(body: dict[str, Any]) -> int:
    text = json.dumps(body.get("messages", [])) + json.dumps(body.get("tools", []))
    return int(len(text) / CHARS_PER_TOKEN)


def plan(body: dict[str, Any], workdir: str, ctx: int) -> tuple[str, str, list[Any]]:
    """(thinking, text, tool_calls) of this answer."""
    prompt = prompt_tokens(body)
    if prompt > ctx:
        return "", (f"(scripted Ollama: the prompt of ~{prompt} tokens was cut to the last "
                    f"{ctx}; the instructions are lost)"), []  # fmt: skip
    messages = body.get("messages", [])
    tools = {t["function"]["name"] for t in body.get("tools", [])}
    if messages and messages[-1].get("role") == "tool":
        return "The file exists now.", "Created hello.txt containing hi.", []
    if "Write" in tools:
        call = {
            "function": {
                "index": 0,
                "name": "Write",
                "arguments": {"file_path": f"{workdir}/hello.txt", "content": "hi"},
            }
        }
        return "The user wants a file; I will use Write.", "", [call]  # fmt: skip
    if body.get("format"):
        return "", json.dumps({"title": "Create hello file", "isNewTopic": True}), []
    return "", "ok", []


class Handler(server.Handler):
    workdir = "/tmp"
    log_file: str | None = None
    default_ctx = 4096

    def _json(self, status: int, obj: Any) -> None:
        self.send_json(status, obj, "application/json; charset=utf-8")

    def do_GET(self) -> None:
        if self.path == "/api/version":
            return self._json(200, {"version": "0.12.6"})
        return self._json(200, {"models": [{"name": "qwen3:8b", "model": "qwen3:8b",
                                            "details": {"family": "qwen3"}}]})  # fmt: skip

    def do_POST(self) -> None:
        body = json.loads(self.body_bytes() or b"{}")
        if self.path == "/api/show":
            return self._json(200, {"capabilities": ["completion", "tools", "thinking"],
                                    "model_info": {"qwen3.context_length": 40960}})  # fmt: skip
        if self.path != "/api/chat":
            return self._json(404, {"error": f"unknown path {self.path}"})
        ctx = (body.get("options") or {}).get("num_ctx") or self.default_ctx
        thinking, text, calls = plan(body, self.workdir, ctx)
        if not body.get("think"):
            thinking = ""
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(json.dumps({"num_ctx": ctx, "prompt_tokens": prompt_tokens(body),
                                    "options": body.get("options"), "think": body.get("think"),
                                    "stream": body.get("stream"),
                                    "last": body.get("messages", [{}])[-1]}) + "\n")  # fmt: skip
        model = body.get("model", "qwen3:8b")
        now = datetime.now(timezone.utc).isoformat()
        final = {"model": model, "created_at": now, "done": True, "done_reason": "stop",
                 "total_duration": 1_000_000, "load_duration": 1000,
                 "prompt_eval_count": min(prompt_tokens(body), ctx), "prompt_eval_duration": 1,
                 "eval_count": 12, "eval_duration": 1}  # fmt: skip
        if body.get("stream") is False:
            msg: dict[str, Any] = {"role": "assistant", "content": text}
            if thinking:
                msg["thinking"] = thinking
            if calls:
                msg["tool_calls"] = calls
            return self._json(200, {**final, "message": msg})
        self.start_chunks(200, "application/x-ndjson")

        def line(obj: dict[str, Any]) -> None:
            self.send_chunk(json.dumps(obj).encode() + b"\n")
            time.sleep(0.005)

        def message(**fields: Any) -> None:
            line({"model": model, "created_at": now, "done": False,
                  "message": {"role": "assistant", "content": "", **fields}})  # fmt: skip

        for word in thinking.split(" ") if thinking else []:
            message(thinking=word + " ")
        for i in range(0, len(text), 5):
            message(content=text[i : i + 5])
        if calls:
            message(tool_calls=calls)
        line({**final, "message": {"role": "assistant", "content": ""}})
        self.end_chunks()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9103)
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument(
        "--default-ctx",
        type=int,
        default=4096,
        help="context when the request sets no num_ctx (Ollama's small default)",
    )
    parser.add_argument("--log", default=None, help="append what each request asked (JSONL)")
    args = parser.parse_args()
    Handler.workdir = args.workdir
    Handler.log_file = args.log
    Handler.default_ctx = args.default_ctx
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"scripted Ollama on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
