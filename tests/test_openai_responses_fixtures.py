"""Every real Codex request, relayed through the running server to both kinds of upstream.

For each fixture the test asserts what the upstream received (every function and custom tool,
no hosted tool, the developer messages as the system prompt, the conversation in order, no
client key) and the event stream Codex got back.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.conftest import FIXTURES
from tests.responses_helpers import BACKENDS, Answer, Call, relay_config, reply

CODEX = sorted((FIXTURES / "codex").glob("*.json"))
_SENT_HEADERS = ("authorization", "content-type", "accept", "originator", "session-id",
                 "user-agent", "x-codex-beta-features", "x-codex-window-id")  # fmt: skip


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def post(relay, fixture: dict) -> requests.Response:
    headers = {k: v for k, v in fixture["headers"].items() if k in _SENT_HEADERS}
    headers["authorization"] = "Bearer codex-client-key"
    return requests.post(relay.url + fixture["path"], json=fixture["body"], headers=headers,
                         timeout=20)  # fmt: skip


def events_of(resp: requests.Response) -> list[dict]:
    return [json.loads(line[6:]) for line in resp.text.split("\n") if line.startswith("data: ")]


def developer_texts(body: dict) -> list[str]:
    return [part["text"] for item in body["input"] if item.get("role") == "developer"
            for part in item["content"]]  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("path", CODEX, ids=lambda p: p.stem)
def test_codex_fixture(start_relay, upstream, backend, path):
    relay = start_relay(relay_config(backend, upstream.url))
    fixture = load(path)
    body = fixture["body"]
    answer = Answer(thinking="Patch it.", signature="sig-1",
                    calls=[Call("call_up_1", "apply_patch", {"input": "*** Begin Patch\n*** End Patch\n"})])  # fmt: skip
    upstream.reply(reply(backend, answer, stream=True))
    resp = post(relay, fixture)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/event-stream")
    assert resp.headers["x-ccrelay-omitted-tools"] == "tool_search, web_search"

    # What Codex got: the full sequence, ending in a completed response with a custom call.
    events = events_of(resp)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    assert events[0]["type"] == "response.created" and events[-1]["type"] == "response.completed"
    output = events[-1]["response"]["output"]
    assert [i["type"] for i in output] == ["reasoning", "custom_tool_call"]
    assert output[1]["input"] == "*** Begin Patch\n*** End Patch\n"
    assert output[1]["call_id"] == "call_up_1"

    # What the upstream got.
    (sent,) = upstream.requests
    assert "codex-client-key" not in json.dumps(sent.headers)
    up = sent.body
    assert up["model"] == f"{backend}-up" and up["stream"] is True
    offered = [t["name"] for t in body["tools"] if t["type"] in ("function", "custom")]
    system = developer_texts(body)
    if backend == "openai":
        assert sent.path == "/v1/chat/completions"
        assert [t["function"]["name"] for t in up["tools"]] == offered
        assert up["messages"][0] == {"role": "system", "content": "\n\n".join(system)}
        assert up["tool_choice"] == "auto" and "parallel_tool_calls" not in up
        assert up["reasoning_effort"] == "medium"
        roles = [m["role"] for m in up["messages"]]
    else:
        assert sent.path == "/v1/messages"
        assert [t["name"] for t in up["tools"]] == offered
        assert [b["text"] for b in up["system"]] == system
        assert up["tool_choice"] == {"type": "auto"}
        assert up["output_config"] == {"effort": "medium"}
        assert not {"store", "include", "prompt_cache_key", "client_metadata", "text"} & set(up)
        roles = ["system", *(m["role"] for m in up["messages"])]
    items = [i for i in body["input"] if i.get("role") != "developer"]
    if path.name.startswith("02"):
        assert roles == ["system", "user", "assistant", "tool" if backend == "openai" else "user"]
        call = next(i for i in items if i["type"] == "custom_tool_call")
        result = next(i for i in items if i["type"] == "custom_tool_call_output")
        if backend == "openai":
            (tool_call,) = up["messages"][2]["tool_calls"]
            assert json.loads(tool_call["function"]["arguments"]) == {"input": call["input"]}
            assert up["messages"][3] == {"role": "tool", "tool_call_id": call["call_id"],
                                         "content": result["output"]}  # fmt: skip
        else:
            assert up["messages"][1]["content"] == [{"type": "tool_use", "id": call["call_id"],
                                                     "name": "apply_patch", "input": {"input": call["input"]}}]  # fmt: skip
            assert up["messages"][2]["content"] == [{"type": "tool_result", "tool_use_id": call["call_id"],
                                                     "content": result["output"]}]  # fmt: skip
    else:
        assert roles == ["system", "user"]
    assert "hosted tools tool_search, web_search left out" in relay.log()


@pytest.mark.parametrize("backend", BACKENDS)
def test_codex_next_turn_carries_the_backends_reasoning(start_relay, upstream, backend):
    """Codex's own loop: the output items of turn one go back by value (store: false)."""
    relay = start_relay(relay_config(backend, upstream.url))
    fixture = load(CODEX[0])
    upstream.reply(reply(backend, Answer(thinking="Patch it.", signature="sig-1",
                                         calls=[Call("call_up_1", "apply_patch", {"input": "P"})]),
                         stream=True))  # fmt: skip
    output = events_of(post(relay, fixture))[-1]["response"]["output"]
    turn2 = json.loads(json.dumps(fixture))
    turn2["body"]["input"] += [*output, {"type": "custom_tool_call_output", "call_id": "call_up_1",
                                         "output": "Success."}]  # fmt: skip
    upstream.reply(reply(backend, Answer(text="Created hello.txt."), stream=True))
    events = events_of(post(relay, turn2))
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Created hello.txt."
    assistant = upstream.requests[1].body["messages"][-2]
    if backend == "anthropic":
        assert assistant["content"][0] == {
            "type": "thinking",
            "thinking": "Patch it.",
            "signature": "sig-1",
        }
    else:
        assert assistant["reasoning_content"] == "Patch it."
