"""A scripted OpenAI-compatible "model" for trying real clients (Claude Code) through ccrelay.

Not a test (pytest does not collect this folder's files): run it, point ccrelay at it, run the
client. With tools offered and no tool result yet, it streams some ``reasoning_content``, then
a ``Write`` call whose arguments are split across many small chunks; after the tool result it
answers in text. Requests without tools (titles, summaries, Gemini CLI's model router) get a
short text, or JSON that fits the schema asked.
Codex's tools (reached through ccrelay's Responses dialect) get an ``apply_patch`` call that
adds hello.txt (a custom tool, so its one argument is ``input``), or ``exec_command`` when
``apply_patch`` is not offered, or, in Codex's code mode (its default models), an ``exec`` call
whose JavaScript runs ``exec_command``.

    python -m tests.manual.scripted_model --port 9101 --workdir /tmp/try
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


def plan(body: dict[str, Any], workdir: str) -> tuple[str, str, list[dict[str, Any]]]:
    """(reasoning, text, tool_calls) for this request."""
    messages = body.get("messages", [])
    tools = {t["function"]["name"] for t in body.get("tools", [])}
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        return "The file was written; report back.", "Created hello.txt containing hi.", []
    write = _write_tool(tools)
    if write:
        args = json.dumps({"file_path": f"{workdir}/hello.txt", "content": "hi"})
        return (
            f"The user wants a file. I will use the {write} tool.",
            "",
            [{"id": "call_write_1", "name": write, "arguments": args}],
        )
    codex = _codex_call(tools, "call_patch_1")
    if codex:
        return "The user wants hello.txt; Codex edits files with a patch.", "", [codex]
    fmt = body.get("response_format") or {}
    if fmt:
        schema = (fmt.get("json_schema") or {}).get("schema")
        return "", json.dumps(fill_schema(schema) if schema else {"title": "Create hello file"}), []
    return "", "ok", []


def fill_schema(schema: dict[str, Any]) -> Any:
    """A value that fits a JSON schema: the first enum value, else a plain value of its type
    (background calls such as Gemini CLI's model router ask for JSON of a given shape)."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {k: fill_schema(v) for k, v in props.items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum", 1))
    if kind == "boolean":
        return False
    return "ok"


def _write_tool(tools: set[Any]) -> str | None:
    """The client's file-writing tool: Claude Code's ``Write``, Qwen Code's ``write_file``
    (both take ``file_path`` and ``content``)."""
    return next((name for name in ("Write", "write_file") if name in tools), None)


#: the patch Codex's apply_patch tool takes to add hello.txt in its working directory
HELLO_PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n"


def _codex_call(tools: set[Any], call_id: str) -> dict[str, Any] | None:
    """Codex's way to create hello.txt: apply_patch (through ccrelay a tool taking one
    ``input`` string), else a shell command."""
    if "apply_patch" in tools:
        return {
            "id": call_id,
            "name": "apply_patch",
            "arguments": json.dumps({"input": HELLO_PATCH}),
        }
    if "exec_command" in tools:
        args = json.dumps({"cmd": "printf hi > hello.txt"})
        return {"id": call_id, "name": "exec_command", "arguments": args}
    if "exec" in tools:  # Codex's code mode (its default models): JavaScript calling its tools
        script = 'await tools.exec_command({cmd: "printf hi > hello.txt"});\ntext("written");'
        return {"id": call_id, "name": "exec", "arguments": json.dumps({"input": script})}
    return None


class Handler(server.Handler):
    workdir = "/tmp"
    log_file = None

    def do_POST(self) -> None:
        body = json.loads(self.body_bytes())
        if self.log_file:
            with open(self.log_file, "a") as f:
                f.write(json.dumps({"path": self.path, "body": body}) + "\n")
        if self.path.endswith("/messages"):
            return self._anthropic(body)
        reasoning, text, calls = plan(body, self.workdir)
        if not body.get("stream"):
            msg: dict[str, Any] = {"role": "assistant", "content": text or None}
            if reasoning:
                msg["reasoning_content"] = reasoning
            if calls:
                msg["tool_calls"] = [
                    {
                        "id": c["id"],
                        "type": "function",
                        "function": {"name": c["name"], "arguments": c["arguments"]},
                    }
                    for c in calls
                ]
            self.send_json(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": msg,
                            "finish_reason": "tool_calls" if calls else "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 10},
                },
            )
            return
        self.start_chunks(200, "text/event-stream")

        def send(
            delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None
        ) -> None:
            obj: dict[str, Any] = {
                "id": "x",
                "object": "chat.completion.chunk",
                "model": body["model"],
                "choices": []
                if delta is None
                else [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if usage:
                obj["usage"] = usage
            self.send_chunk(f"data: {json.dumps(obj)}\n\n".encode())
            time.sleep(0.005)

        send({"role": "assistant", "content": ""})
        for word in reasoning.split(" ") if reasoning else []:
            send({"reasoning_content": word + " "})
        for i in range(0, len(text), 4):
            send({"content": text[i : i + 4]})
        for n, call in enumerate(calls):
            send(
                {
                    "tool_calls": [
                        {
                            "index": n,
                            "id": call["id"],
                            "type": "function",
                            "function": {"name": call["name"], "arguments": ""},
                        }
                    ]
                }
            )
            args = call["arguments"]
            for i in range(0, len(args), 3):  # many small fragments, split mid-string
                send({"tool_calls": [{"index": n, "function": {"arguments": args[i : i + 3]}}]})
        send({}, "tool_calls" if calls else "stop")
        send(None, usage={"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110})
        self.send_chunk(b"data: [DONE]\n\n")
        self.end_chunks()


def _anthropic_plan(body: dict[str, Any], workdir: str) -> tuple[str, str, list[dict[str, Any]]]:
    """The same script for an Anthropic Messages request."""
    messages = body.get("messages", [])
    last = messages[-1] if messages else {}
    content = last.get("content")
    if isinstance(content, list) and any(b.get("type") == "tool_result" for b in content):
        return "The file was written; report back.", "Created hello.txt containing hi.", []
    tools = {t.get("name") for t in body.get("tools", [])}
    write = _write_tool(tools)
    if write:
        args = json.dumps({"file_path": f"{workdir}/hello.txt", "content": "hi"})
        return (
            "The user wants a file.",
            "",
            [{"id": "toolu_write_1", "name": write, "arguments": args}],
        )
    codex = _codex_call(tools, "toolu_patch_1")
    if codex:
        return "The user wants hello.txt; a patch adds it.", "", [codex]
    fmt = (body.get("output_config") or {}).get("format")
    if fmt:
        schema = fmt.get("schema")
        return "", json.dumps(fill_schema(schema) if schema else {"title": "Create hello file"}), []
    return "", "ok", []


def _anthropic(self: Handler, body: dict[str, Any]) -> None:
    reasoning, text, calls = _anthropic_plan(body, self.workdir)
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": "msg_scripted",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 100, "output_tokens": 1},
            },
        }
    ]
    index = 0
    if reasoning:
        events += [
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "thinking", "thinking": "", "signature": ""},
            },
            *[
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "thinking_delta", "thinking": w + " "},
                }
                for w in reasoning.split()
            ],
            {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "signature_delta", "signature": "c2NyaXB0ZWQ="},
            },
            {"type": "content_block_stop", "index": index},
        ]
        index += 1
    if text:
        events += [
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
            *[
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "text_delta", "text": text[i : i + 4]},
                }
                for i in range(0, len(text), 4)
            ],
            {"type": "content_block_stop", "index": index},
        ]
        index += 1
    for call in calls:
        args = call["arguments"]
        events += [
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {
                    "type": "tool_use",
                    "id": call["id"],
                    "name": call["name"],
                    "input": {},
                },
            },
            *[
                {
                    "type": "content_block_delta",
                    "index": index,
                    "delta": {"type": "input_json_delta", "partial_json": args[i : i + 3]},
                }
                for i in range(0, len(args), 3)
            ],
            {"type": "content_block_stop", "index": index},
        ]
        index += 1
    events += [
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use" if calls else "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": 10},
        },
        {"type": "message_stop"},
    ]
    if not body.get("stream"):  # Gemini CLI's background calls are not streamed
        content: list[dict[str, Any]] = []
        if reasoning:
            content.append({"type": "thinking", "thinking": reasoning, "signature": "c2NyaXB0ZWQ="})
        if text:
            content.append({"type": "text", "text": text})
        content += [
            {
                "type": "tool_use",
                "id": c["id"],
                "name": c["name"],
                "input": json.loads(c["arguments"]),
            }
            for c in calls
        ]
        self.send_json(200, {**events[0]["message"], "content": content,
                             "stop_reason": "tool_use" if calls else "end_turn",
                             "usage": {"input_tokens": 100, "output_tokens": 10}})  # fmt: skip
        return
    self.start_chunks(200, "text/event-stream")
    for ev in events:
        self.send_chunk(f"event: {ev['type']}\ndata: {json.dumps(ev)}\n\n".encode())
        time.sleep(0.003)
    self.end_chunks()


Handler._anthropic = _anthropic  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=9101)
    ap.add_argument("--workdir", default="/tmp")
    ap.add_argument("--log", help="append every request body here, one JSON per line")
    args = ap.parse_args()
    Handler.workdir = args.workdir
    Handler.log_file = args.log
    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
