"""Codex's default models get their tools in ``additional_tools`` input items, grouped in
namespaces (a real Codex 0.171 request): every backend must be offered those tools, and calls
must go back to Codex with the name and namespace it declared."""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import FIXTURES
from tests.responses_helpers import BACKENDS, Answer, Call, relay_config, reply

FIXTURE = json.loads((FIXTURES / "codex_code_mode" / "01_turn1_additional_tools.json").read_text())
BODY = FIXTURE["body"]


def declared() -> list[tuple[str, str, str]]:
    """(namespace, name, type) of every tool the request declares."""
    (item,) = [i for i in BODY["input"] if i.get("type") == "additional_tools"]
    return [(ns["name"], t["name"], t["type"]) for ns in item["tools"] for t in ns["tools"]]


def post(relay, body: dict, stream: bool) -> dict:
    resp = requests.post(relay.url + "/v1/responses", json={**body, "stream": stream},
                         headers={"authorization": "Bearer k"}, timeout=20)  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert "x-ccrelay-omitted-items" not in resp.headers
    if not stream:
        return resp.json()
    events = [json.loads(x[6:]) for x in resp.text.split("\n") if x.startswith("data: ")]
    assert events[-1]["type"] == "response.completed"
    added = [e["item"] for e in events if e["type"] == "response.output_item.added"
             and "call_id" in e["item"]]  # fmt: skip
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"
            and "call_id" in e["item"]]  # fmt: skip
    assert [(i["type"], i["name"], i.get("namespace")) for i in added] == [
        (i["type"], i["name"], i.get("namespace")) for i in done
    ]
    return events[-1]["response"]


def offered(backend: str, up: dict) -> list[str]:
    if backend == "openai":
        return [t["function"]["name"] for t in up["tools"]]
    return [t["name"] for t in up["tools"]]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("backend", BACKENDS)
def test_namespaced_tools_are_offered_and_calls_name_their_namespace(
    start_relay, upstream, backend, stream
):
    relay = start_relay(relay_config(backend, upstream.url))
    calls = [Call("call_x", "exec", {"input": "text('hi')"}),
             Call("call_s", "clock__sleep", {"duration_ms": 10})]  # fmt: skip
    upstream.reply(reply(backend, Answer(calls=calls), stream=stream))
    response = post(relay, BODY, stream)

    names = [n if ns == "functions" else f"{ns}__{n}" for ns, n, _ in declared()]
    up = upstream.requests[0].body
    assert offered(backend, up) == names and len(names) == 12
    exec_tool = next(
        t for t in up["tools"] if "exec" in (t.get("name"), t.get("function", {}).get("name"))
    )
    schema = exec_tool.get("input_schema") or exec_tool["function"]["parameters"]
    assert schema["required"] == ["input"]  # a custom tool: one string
    assert "additional_tools" not in json.dumps(up.get("messages", []))[:2000]
    assert "additional_tools" not in relay.log()

    out = response["output"]
    assert [(i["type"], i["name"], i["namespace"], i["call_id"]) for i in out] == [
        ("custom_tool_call", "exec", "functions", "call_x"),
        ("function_call", "sleep", "clock", "call_s"),
    ]
    assert out[0]["input"] == "text('hi')"
    assert json.loads(out[1]["arguments"]) == {"duration_ms": 10}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_next_turn_names_namespaced_calls_as_the_tools(start_relay, upstream, backend):
    relay = start_relay(relay_config(backend, upstream.url))
    upstream.reply(reply(backend, Answer(calls=[Call("call_s", "clock__sleep", {})]), stream=True))
    output = post(relay, BODY, True)["output"]
    turn2 = {**BODY, "input": [*BODY["input"], *output,
                               {"type": "function_call_output", "call_id": "call_s", "output": "slept"}]}  # fmt: skip
    upstream.reply(reply(backend, Answer(text="Done."), stream=True))
    assert post(relay, turn2, True)["output"][0]["content"][0]["text"] == "Done."
    up = upstream.requests[1].body
    if backend == "openai":
        (call,) = up["messages"][-2]["tool_calls"]
        assert call["function"]["name"] == "clock__sleep" and call["id"] == "call_s"
        assert up["messages"][-1] == {"role": "tool", "tool_call_id": "call_s", "content": "slept"}
    else:
        assert up["messages"][-2]["content"][-1]["name"] == "clock__sleep"
        assert up["messages"][-1]["content"][0]["tool_use_id"] == "call_s"
