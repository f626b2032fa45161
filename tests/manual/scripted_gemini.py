"""A scripted Gemini API (v1beta) for trying real clients through ccrelay's gemini strategy.

Not a test (pytest does not collect this folder): run it, point a ``type: gemini`` provider
at it, run the client. It behaves like Gemini 3 where proxies usually break:

- every function call it makes carries a ``thoughtSignature`` (only the first of a parallel
  batch), and a follow-up request whose current-turn call turns have no signature, or a
  signature it never issued, is answered ``400 INVALID_ARGUMENT`` with Gemini's wording;
- unknown request fields are a 400 (``Invalid JSON payload received. Unknown name ...``);
- ``streamGenerateContent?alt=sse`` streams SSE, without ``alt`` a JSON array;
  ``generateContent`` answers once; ``countTokens`` counts roughly.

With ``Write`` among the tools and no function response yet, it thinks aloud (thought parts),
then calls ``Write`` to create ``<workdir>/hello.txt`` containing ``hi``; after the response it
answers in text whose last (empty) part is signed. Requests without tools get short text (or
JSON when a response schema is asked for).

    python -m tests.manual.scripted_gemini --port 9102 --workdir /tmp/try --log /tmp/gem.jsonl
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

if __package__ in (None, ""):  # run as a file: the tests package is two folders up
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.fakes import server  # noqa: E402

BYPASS = {"skip_thought_signature_validator", "context_engineering_is_the_way_to_go"}
TOP_FIELDS = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
              "safetySettings", "cachedContent", "labels"}  # fmt: skip
PART_DATA = {"text", "inlineData", "fileData", "functionCall", "functionResponse",
             "executableCode", "codeExecutionResult"}  # fmt: skip
ISSUED: set[str] = set()


def new_signature() -> str:
    sig = base64.b64encode(os.urandom(24)).decode()
    ISSUED.add(sig)
    return sig


def invalid(message: str) -> tuple[int, dict[str, Any]]:
    return 400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}


def validate(body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """The checks real Gemini 3 makes that proxies trip over; None when the body is fine."""
    for key in body:
        if key not in TOP_FIELDS:
            return invalid(f'Invalid JSON payload received. Unknown name "{key}": '
                           "Cannot find field.")  # fmt: skip
    contents = body.get("contents") or []
    if not contents:
        return invalid("* GenerateContentRequest.contents: contents is not specified")
    for i, content in enumerate(contents):
        if not content.get("parts"):
            return invalid(f"* GenerateContentRequest.contents[{i}].parts: contents.parts must "
                           "not be empty.")  # fmt: skip
        for j, part in enumerate(content["parts"]):
            data = [k for k in part if k in PART_DATA]
            if len(data) != 1:
                return invalid(f"contents[{i}].parts[{j}]: exactly one data field expected")
            sig = part.get("thoughtSignature")
            if sig is not None and sig not in ISSUED and sig not in BYPASS:
                return invalid("Unable to submit request because Thought signature is not "
                               f"valid. contents[{i}].parts[{j}]")  # fmt: skip
    # The current turn starts after the last user text; a content that also answers calls
    # does not start one here (stricter than Gemini, so the check bites more often).
    start = 0
    for i in range(len(contents) - 1, -1, -1):
        parts = contents[i]["parts"]
        if (
            contents[i].get("role") == "user"
            and any("text" in p for p in parts)
            and not any("functionResponse" in p for p in parts)
        ):
            start = i + 1
            break
    for content in contents[start:]:
        calls = [(j, p) for j, p in enumerate(content["parts"]) if "functionCall" in p]
        if calls and "thoughtSignature" not in calls[0][1]:
            j, p = calls[0]
            return invalid(
                "Function call is missing a thought_signature in functionCall parts. This is "
                "required for tools to work correctly, and missing thought_signature may lead "
                "to degraded model performance. Additional data, function call "
                f"`default_api:{p['functionCall'].get('name')}` , position {j + 1}. Please "
                "refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more "
                "details."
            )
    return None


def plan(body: dict[str, Any], workdir: str) -> list[dict[str, Any]]:
    """The parts of this answer, one stream chunk each."""
    tools = {d["name"] for t in body.get("tools", []) for d in t.get("functionDeclarations", [])}
    last = body["contents"][-1]["parts"]
    thoughts = ((body.get("generationConfig") or {}).get("thinkingConfig") or {}).get(
        "includeThoughts"
    )
    if any("functionResponse" in p for p in last):
        return [{"text": "Created hello.txt "}, {"text": "containing hi."},
                {"text": "", "thoughtSignature": new_signature()}]  # fmt: skip
    write = next(
        (t for t in ("Write", "write_file") if t in tools), None
    )  # Claude Code, Gemini CLI
    if write:
        parts: list[dict[str, Any]] = []
        if thoughts:
            parts += [{"text": "The user wants a file. ", "thought": True},
                      {"text": f"I will call {write}.", "thought": True}]  # fmt: skip
        parts.append({"functionCall": {"name": write, "args": {
            "file_path": f"{workdir}/hello.txt", "content": "hi"}},
            "thoughtSignature": new_signature()})  # fmt: skip
        return parts
    config = body.get("generationConfig") or {}
    if config.get("responseMimeType") == "application/json":
        schema = config.get("responseJsonSchema") or config.get("responseSchema") or {}
        return [{"text": json.dumps(sample(schema))}]
    return [{"text": "ok"}]


def sample(schema: Any) -> Any:
    """A small value that fits ``schema`` (for clients that parse structured answers)."""
    if not isinstance(schema, dict):
        return None
    kind = str(schema.get("type", "object")).lower()
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: sample(v) for k, v in props.items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return max(1, schema.get("minimum") or 1)
    if kind == "boolean":
        return False
    return "Create hello file"


def usage(body: dict[str, Any]) -> dict[str, Any]:
    prompt = max(1, len(json.dumps(body)) // 4)
    return {"promptTokenCount": prompt, "candidatesTokenCount": 12, "thoughtsTokenCount": 20,
            "totalTokenCount": prompt + 32}  # fmt: skip


class Handler(server.Handler):
    workdir = "/tmp"
    log_file: str | None = None

    def _json(self, status: int, obj: Any) -> None:
        self.send_json(status, obj, "application/json; charset=UTF-8")

    def do_GET(self) -> None:
        self._json(200, {"models": [{"name": "models/gemini-3-pro-preview",
                                     "inputTokenLimit": 1048576, "outputTokenLimit": 65536,
                                     "supportedGenerationMethods": ["generateContent",
                                                                    "countTokens"]}]})  # fmt: skip

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        body = json.loads(self.body_bytes())
        if self.log_file:
            with open(self.log_file, "a") as f:
                record = {"path": self.path, "key": self.headers.get("x-goog-api-key"),
                          "body": body}  # fmt: skip
                f.write(json.dumps(record) + "\n")
        if not self.headers.get("x-goog-api-key") and "key" not in query:
            return self._json(403, {"error": {"code": 403, "status": "PERMISSION_DENIED",
                                              "message": "Method doesn't allow unregistered "
                                                         "callers"}})  # fmt: skip
        method = url.path.rsplit(":", 1)[-1]
        if method == "countTokens":
            inner = body.get("generateContentRequest") or body
            return self._json(200, {"totalTokens": usage(inner)["promptTokenCount"]})
        problem = validate(body)
        if problem:
            if self.log_file:
                with open(self.log_file, "a") as f:
                    f.write(json.dumps({"rejected": problem[1]}) + "\n")
            return self._json(*problem)
        parts = plan(body, self.workdir)
        rid = base64.urlsafe_b64encode(os.urandom(9)).decode()
        if method == "generateContent":
            return self._json(
                200,
                {
                    "candidates": [
                        {
                            "content": {"role": "model", "parts": parts},
                            "finishReason": "STOP",
                            "index": 0,
                        }
                    ],
                    "usageMetadata": usage(body),
                    "modelVersion": "scripted",
                    "responseId": rid,
                },
            )
        chunks = []
        for n, part in enumerate(parts):
            cand: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
            chunk: dict[str, Any] = {"candidates": [cand], "modelVersion": "scripted",
                                     "responseId": rid}  # fmt: skip
            if n == len(parts) - 1:
                cand["finishReason"] = "STOP"
                chunk["usageMetadata"] = usage(body)
            chunks.append(chunk)
        sse = query.get("alt") == ["sse"]
        self.start_chunks(200, "text/event-stream" if sse else "application/json")
        for n, chunk in enumerate(chunks):
            if sse:
                self.send_chunk(f"data: {json.dumps(chunk)}\r\n\r\n".encode())
            else:
                self.send_chunk((("[" if n == 0 else ",\r\n") + json.dumps(chunk)).encode())
            time.sleep(0.01)
        if not sse:
            self.send_chunk(b"]")
        self.end_chunks()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9102)
    parser.add_argument("--workdir", default="/tmp")
    parser.add_argument("--log", default=None, help="append every request body here (JSONL)")
    args = parser.parse_args()
    Handler.workdir = args.workdir
    Handler.log_file = args.log
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"scripted Gemini on http://127.0.0.1:{args.port}/v1beta", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
