"""Every real Qwen Code request, relayed through the running server to both kinds of upstream.

For each fixture the test asserts that what the upstream received is valid for its protocol
(and, for an OpenAI upstream, means exactly what the client sent), and that the client gets
a complete chunk stream back.

The fixtures' anonymiser replaced long strings with filler of the same length, including the
``arguments`` string of the recorded tool call, which is then no longer JSON. ccrelay answers
such a history with a 400 (tested below); the relay tests put back JSON arguments of the
shape Qwen Code sent (``write_file`` with ``file_path`` and ``content``).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import requests

from tests.conftest import FIXTURES, one_provider
from tests.fakes.replies import answer

QWEN = sorted((FIXTURES / "qwen").glob("*.json"))
_ARGS = json.dumps({"file_path": "/tmp/work/hello.txt", "content": "hi-2442229262"})
_DROP_HEADERS = ("host", "content-length", "authorization", "accept-encoding", "connection")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def repaired(body: dict) -> dict:
    body = copy.deepcopy(body)
    for msg in body["messages"]:
        for call in msg.get("tool_calls") or ():
            try:
                json.loads(call["function"]["arguments"])
            except ValueError:
                call["function"]["arguments"] = _ARGS
    return body


def post(relay, fixture: dict, body: dict) -> requests.Response:
    headers = {k: v for k, v in fixture["headers"].items() if k not in _DROP_HEADERS}
    headers["authorization"] = "Bearer client-side-key"
    return requests.post(relay.url + fixture["path"], json=body, headers=headers, timeout=10)


def read_stream(resp: requests.Response) -> list[dict]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    events = [e for e in resp.text.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    return [json.loads(e.removeprefix("data: ")) for e in events[:-1]]


def _text(content) -> str:
    if isinstance(content, list):
        return "\n\n".join(p["text"] for p in content)
    return content


@pytest.mark.parametrize("path", QWEN, ids=lambda p: p.stem)
def test_fixture_through_an_openai_upstream(start_relay, upstream, path):
    relay = start_relay(one_provider("openai", upstream.url, model="qwen3-coder-plus"))
    upstream.reply(answer("openai", text="Created hello.txt.", stream=True))
    fixture = load(path)
    body = repaired(fixture["body"])
    chunks = read_stream(post(relay, fixture, body))
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens"] == 12
    (sent,) = upstream.requests
    assert "client-side-key" not in json.dumps(sent.headers)
    got = sent.body
    # Same protocol: every field as sent; text part lists become the same text as a string.
    assert {k: v for k, v in got.items() if k != "messages"} == {
        k: v for k, v in body.items() if k != "messages"
    }
    assert len(got["messages"]) == len(body["messages"])
    for theirs, ours in zip(body["messages"], got["messages"], strict=True):
        assert {**theirs, "content": _text(theirs["content"])} == ours


@pytest.mark.parametrize("path", QWEN, ids=lambda p: p.stem)
def test_fixture_through_an_anthropic_upstream(start_relay, upstream, path):
    relay = start_relay(one_provider("anthropic", upstream.url, model="claude-up"))
    upstream.reply(answer("anthropic", text="Created hello.txt.", stream=True))
    fixture = load(path)
    body = repaired(fixture["body"])
    chunks = read_stream(post(relay, fixture, body))
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    (sent,) = upstream.requests
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-test-upstream"
    assert_anthropic_valid(sent.body)
    got = sent.body
    assert got["model"] == "claude-up" and got["max_tokens"] == 8000 and got["stream"] is True
    assert [t["name"] for t in got["tools"]] == [t["function"]["name"] for t in body["tools"]]
    assert got["tools"][0]["input_schema"] == body["tools"][0]["function"]["parameters"]
    assert got["system"] == [{"type": "text", "text": body["messages"][0]["content"]}]
    assert "stream_options" not in got


def test_the_recorded_filler_arguments_are_a_400_naming_the_message(start_relay, upstream):
    relay = start_relay(one_provider("openai", upstream.url))
    fixture = load(FIXTURES / "qwen" / "02_turn2_after_tool_result.json")
    resp = post(relay, fixture, fixture["body"])
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["param"] == "messages[4].tool_calls[0].function.arguments"
    assert err["type"] == "invalid_request_error"
    assert upstream.requests == []


def assert_anthropic_valid(body: dict) -> None:
    """What Anthropic's validator checks on the shape of a Messages body."""
    assert isinstance(body["model"], str) and isinstance(body["max_tokens"], int)
    system = body.get("system", [])
    assert isinstance(system, str) or all(b["type"] == "text" and b["text"] for b in system)
    allowed = {"text", "image", "document", "tool_use", "tool_result", "thinking",
               "redacted_thinking"}  # fmt: skip
    open_calls: set[str] = set()
    for i, msg in enumerate(body["messages"]):
        assert msg["role"] in ("user", "assistant"), f"messages[{i}].role"
        content = msg["content"]
        assert content, f"messages[{i}]: empty content"
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        kinds = [b["type"] for b in blocks]
        assert set(kinds) <= allowed, kinds
        for b in blocks:
            assert set(b) <= {"type", "text", "source", "id", "name", "input", "tool_use_id",
                              "content", "is_error", "cache_control", "thinking", "signature",
                              "data", "title"}, b  # fmt: skip
            if b["type"] == "text":
                assert b["text"], f"messages[{i}]: empty text block"
        results = [b["tool_use_id"] for b in blocks if b["type"] == "tool_result"]
        if open_calls:
            assert msg["role"] == "user" and set(results) == open_calls, f"messages[{i}]"
            assert kinds[: len(results)] == ["tool_result"] * len(results), "results first"
        else:
            assert not results, f"messages[{i}]: tool_result without a tool_use before it"
        open_calls = {b["id"] for b in blocks if b["type"] == "tool_use"}
        assert all(isinstance(b["input"], dict) for b in blocks if b["type"] == "tool_use")
    for tool in body.get("tools", []):
        assert set(tool) <= {"name", "description", "input_schema", "cache_control"}
        assert tool["input_schema"].get("type") == "object"
