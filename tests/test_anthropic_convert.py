"""The anthropic strategy on plain data: tool names and call ids Anthropic's patterns refuse."""

from __future__ import annotations

import copy
import re

import pytest

from tests.strategy_helpers import canonical_request, context, load_plugin

anthropic = load_plugin("anthropic")
NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
ID = re.compile(r"^[a-zA-Z0-9_-]+$")


def convert(req):
    ctx = context("anthropic", "up-model", base_url="http://upstream")
    return anthropic.AnthropicProvider().convert_request(req, ctx).body, ctx


def history(name: str, call_id: str) -> list[dict]:
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "calling"},
            {"type": "tool_use", "id": call_id, "name": name, "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": call_id, "content": "ok"}]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "call_id"),
    [
        ("files.read", "functions.files.read:0"),  # Kimi-style ids, MCP-style names
        ("ns:tool", "call 1"),
        ("x" * 200, "toolu_ok"),  # legal characters, too long
        ("datei_lesen_ü", "id/ü"),
    ],
)
def test_illegal_names_and_ids_get_consistent_legal_stand_ins(name, call_id):
    req = canonical_request(
        messages=history(name, call_id),
        tools=[{"name": name, "input_schema": {"type": "object"}}],
        tool_choice={"type": "tool", "name": name},
    )
    before = copy.deepcopy(req)
    body, ctx = convert(req)
    assert req == before, "the client's request is never changed (fallback reuses it)"
    stand_in = body["tools"][0]["name"]
    assert NAME.match(stand_in) and stand_in != name
    assert body["tool_choice"]["name"] == stand_in
    call, result = body["messages"][1]["content"][1], body["messages"][2]["content"][0]
    assert call["name"] == stand_in
    assert ID.match(call["id"]) and call["id"] == result["tool_use_id"]
    assert body["messages"][1]["content"][0] == {"type": "text", "text": "calling"}
    assert ctx.state["tool_names"] == {stand_in: name}


def test_legal_names_and_ids_are_sent_as_they_are_without_copies():
    req = canonical_request(
        messages=history("mcp__github__get_issue", "toolu_01A"),
        tools=[{"name": "mcp__github__get_issue", "input_schema": {"type": "object"}}],
    )
    body, ctx = convert(req)
    assert list(map(id, body["messages"])) == list(map(id, req["messages"]))
    assert body["tools"] is req["tools"]
    assert ctx.state["tool_names"] == {}


def test_answers_carry_the_client_names_again():
    req = canonical_request(tools=[{"name": "files.read", "input_schema": {"type": "object"}}])
    body, ctx = convert(req)
    stand_in = body["tools"][0]["name"]
    provider = anthropic.AnthropicProvider()
    answer = {"type": "message", "role": "assistant", "model": "up-model", "stop_reason": "tool_use",
              "content": [{"type": "tool_use", "id": "toolu_1", "name": stand_in, "input": {}}],
              "usage": {"input_tokens": 1, "output_tokens": 1}}  # fmt: skip
    assert provider.convert_response(answer, ctx)["content"][0]["name"] == "files.read"

    class Event:
        def __init__(self, data: str) -> None:
            self.data = data

    start = {"type": "content_block_start", "index": 0,
             "content_block": {"type": "tool_use", "id": "toolu_1", "name": stand_in, "input": {}}}  # fmt: skip
    events = [
        Event('{"type": "message_start", "message": {"model": "up-model", "content": []}}'),
        Event(__import__("json").dumps(start)),
        Event('{"type": "message_stop"}'),
    ]
    out = list(provider.stream(events, ctx))
    assert out[1]["content_block"]["name"] == "files.read"
