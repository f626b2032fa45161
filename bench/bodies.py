"""The benchmark's Anthropic request bodies.

- ``small_request()``: about 5 KB: a system prompt, three messages (user text; assistant text +
  ``tool_use``; user ``tool_result`` + text) and two tools with JSON-schema inputs.
- ``claude_code_request()``: the 80 KB first-turn request Claude Code 2.1.197 sent
  (``../shared/fixtures/claude_code/01_messages_turn1_stream.json``, its ``body``), with
  ``stream`` set as asked.

Streaming variants carry a marker ``[[bench:N:D]]`` in the last user text; the scripted
upstream reads it to send N chunks D ms apart (see ``upstream.py``). The relay passes user text
through unchanged, so the marker reaches the upstream in the relay's converted request too.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The shared fixtures sit beside the main checkout; a worktree elsewhere uses the tests' copy.
_SHARED = REPO.parent / "shared" / "fixtures" / "claude_code" / "01_messages_turn1_stream.json"
_COPY = REPO / "tests" / "fixtures" / "claude_code" / "01_messages_turn1_stream.json"
FIXTURE = _SHARED if _SHARED.is_file() else _COPY

_PROSE = (
    "You are a careful coding assistant working in a large Python repository. Read files before "
    "editing them, keep changes small, explain what you changed and why, and run the tests after "
    "every edit. Prefer the standard library; ask before adding dependencies. "
)


def small_request(*, stream: bool = False, marker: str | None = None) -> dict:
    body = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "system": _PROSE * 8,
        "tools": [
            {
                "name": "read_file",
                "description": "Read a UTF-8 text file from the workspace and return its lines "
                "with line numbers. Use offset and limit for large files.",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "path": {"type": "string", "description": "Path relative to the root"},
                        "offset": {"type": "integer", "minimum": 0, "description": "First line"},
                        "limit": {"type": "integer", "minimum": 1, "description": "Line count"},
                    },
                    "required": ["path"],
                    "additionalProperties": False,
                },
            },
            {
                "name": "run_command",
                "description": "Run a shell command in the workspace and return its exit code, "
                "standard output and standard error, truncated to 30000 characters.",
                "input_schema": {
                    "type": "object",
                    "properties": {
                        "command": {"type": "string", "description": "The command line"},
                        "timeout_s": {"type": "number", "exclusiveMinimum": 0},
                        "cwd": {"type": "string"},
                    },
                    "required": ["command"],
                    "additionalProperties": False,
                },
            },
        ],
        "messages": [
            {
                "role": "user",
                "content": "The test suite fails in tests/test_parser.py after my last change. "
                "Find out why and fix it. " + "Context: the parser reads config sections. " * 6,
            },
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look at the failing test first."},
                    {
                        "type": "tool_use",
                        "id": "toolu_01BenchReadFile0001",
                        "name": "read_file",
                        "input": {"path": "tests/test_parser.py", "offset": 0, "limit": 200},
                    },
                ],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_01BenchReadFile0001",
                        "content": "".join(
                            f"{i:4d}  def test_section_{i}(): assert parse('[s{i}]') == "
                            f"{{'s{i}': {{}}}}\n"
                            for i in range(20)
                        ),
                    },
                    {"type": "text", "text": "Here is the file. What do you see?"},
                ],
            },
        ],
        "stream": stream,
    }
    if marker:
        body["messages"][-1]["content"][-1]["text"] += " " + marker
    return body


def claude_code_request(*, stream: bool = False, fixture: Path = FIXTURE) -> dict:
    body = copy.deepcopy(json.loads(fixture.read_text())["body"])
    body["stream"] = stream
    return body


def encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


if __name__ == "__main__":
    for name, b in [("small", small_request()), ("claude_code", claude_code_request())]:
        print(name, len(encode(b)), "bytes")
