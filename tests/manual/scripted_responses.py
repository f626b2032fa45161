"""A scripted OpenAI Responses "model" for trying Claude Code through ccrelay (not a test).

It answers ``POST .../responses`` the way ``shared/protocols/openai-responses.md`` describes:
named SSE events with sequence numbers (or one JSON body). With tools offered and no tool
output yet, it reasons (a reasoning item with a summary and ``encrypted_content``) and calls
``Write`` for ``hello.txt``; once the output comes back it checks that the reasoning item
came back too, right before the function call, and answers in text. Requests without tools
(titles, summaries) get a short text or JSON answer. Every request and the reasoning check go
to ``--log`` as JSON lines.

    python -m tests.manual.scripted_responses --port 9102 --workdir /tmp/try --log /tmp/r.jsonl

Then point a ccrelay provider at it: ``{type: responses, base_url: http://127.0.0.1:9102/v1,
api_key: dummy, model: gpt-5-codex}``.
"""

from __future__ import annotations

import argparse
import json
from http.server import ThreadingHTTPServer
from typing import Any

from tests.fakes import server
from tests.fakes.responses import (
    function_call,
    message,
    reasoning,
    response_body,
    response_events,
)

WRITE_STATE = "gAAAAB-scripted-state-write-1"
DONE_STATE = "gAAAAB-scripted-state-done-2"


def plan(body: dict[str, Any], workdir: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(output items, check record) for one request."""
    items = body.get("input") or []
    tools = {t.get("name") for t in body.get("tools") or ()}
    outputs = [i for i in items if i.get("type") == "function_call_output"]
    if outputs:
        types = [i.get("type") for i in items]
        call_at = next((n for n, i in enumerate(items) if i.get("type") == "function_call"), -1)
        back = call_at > 0 and items[call_at - 1].get("encrypted_content") == WRITE_STATE
        check = {"check": "reasoning returned before the call", "ok": back, "input_types": types}
        return [reasoning("rs_done", "The file exists; report back.", enc=DONE_STATE),
                message("Created hello.txt containing hi.")], check  # fmt: skip
    if "Write" in tools:
        args = {"file_path": f"{workdir}/hello.txt", "content": "hi"}
        return [reasoning("rs_write", "The user wants a file.", "I will use the Write tool.",
                          enc=WRITE_STATE),
                function_call("call_write_1", "Write", args)], {}  # fmt: skip
    if (body.get("text") or {}).get("format"):
        return [message(json.dumps({"title": "Create hello file"}))], {}
    return [message("ok")], {}


class Handler(server.Handler):
    workdir = "/tmp"
    log_file: str | None = None

    def do_POST(self) -> None:
        body = json.loads(self.body_bytes())
        if not self.path.rstrip("/").endswith("/responses"):
            self.send_json(
                404, {"error": {"message": f"no route {self.path}", "type": "not_found"}}
            )
            return
        items, check = plan(body, self.workdir)
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(json.dumps({"path": self.path, "body": body, **check}) + "\n")
        if not body.get("stream"):
            self.send_json(200, response_body(items, model=body.get("model", "scripted")))
            return
        events = response_events(items, chunk=3)
        raw = (f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)
        self.send_chunked(200, "text/event-stream", raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9102)
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument("--log")
    args = parser.parse_args()
    Handler.workdir = args.workdir
    Handler.log_file = args.log
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
