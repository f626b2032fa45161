"""The openai provider strategy: request, response and stream conversion, with plain data."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError, Unsupported
from ccrelay.core.provider import RequestContext, SSEEvent
from tests.openai_checks import OPENAI_ID, OPENAI_NAME, assert_openai_valid
from tests.strategy_helpers import canonical_request as request
from tests.strategy_helpers import context, load_plugin

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude_code"


plugin = load_plugin("openai")
PROVIDER = plugin.OpenAIProvider()


def ctx(model: str = "gpt-4o", **options: Any) -> RequestContext:
    return context("openai", model, **options)


def convert(req: dict[str, Any], model: str = "gpt-4o", **options: Any) -> dict[str, Any]:
    before = copy.deepcopy(req)
    up = PROVIDER.convert_request(req, ctx(model, **options))
    assert req == before, "convert_request must not mutate the canonical request"
    assert up.path == "/chat/completions"
    assert up.stream == bool(req.get("stream", False))
    # fields the user asked for in options are allowed to pass
    allow = set(options.get("extra_body", {})) | ({"top_k"} if options.get("top_k") else set())
    assert_openai_valid(up.body, allow)
    return up.body


_DELTA_FOR = {"text": "text_delta", "thinking": "thinking_delta", "tool_use": "input_json_delta"}


def assert_stream_valid(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Check the Anthropic event grammar; return the message the events accumulate to."""
    assert events and events[0]["type"] == "message_start", "message_start must come first"
    message = events[0]["message"]
    assert message["content"] == [] and message["stop_reason"] is None
    assert message["usage"]["input_tokens"] >= 0
    blocks: list[dict[str, Any]] = []
    open_index: int | None = None
    for ev in events[1:-2]:
        kind = ev["type"]
        if kind == "content_block_start":
            assert open_index is None, "a block started before the previous one closed"
            assert ev["index"] == len(blocks), "block indexes must be sequential"
            block = dict(ev["content_block"])
            block["_text"] = ""
            blocks.append(block)
            open_index = ev["index"]
        elif kind == "content_block_delta":
            assert open_index is not None and ev["index"] == open_index, "delta outside its block"
            block = blocks[open_index]
            assert ev["delta"]["type"] == _DELTA_FOR[block["type"]]
            block["_text"] += next(v for k, v in ev["delta"].items() if k != "type")
        elif kind == "content_block_stop":
            assert open_index is not None and ev["index"] == open_index
            open_index = None
        else:
            raise AssertionError(f"unexpected event {kind} inside the message")
    assert open_index is None, "a block was left open"
    delta, stop = events[-2], events[-1]
    assert delta["type"] == "message_delta" and delta["delta"]["stop_reason"] is not None
    assert "output_tokens" in delta["usage"]
    assert stop == {"type": "message_stop"}
    assert sum(e["type"] == "message_delta" for e in events) == 1
    content = []
    for block in blocks:
        if block["type"] == "text":
            assert block["_text"].strip(), "empty or whitespace-only text block"
            content.append({"type": "text", "text": block["_text"]})
        elif block["type"] == "thinking":
            content.append({"type": "thinking", "thinking": block["_text"]})
        else:
            try:
                args = json.loads(block["_text"]) if block["_text"] else {}
            except ValueError:  # only a token-limit stop may leave arguments cut off
                assert delta["delta"]["stop_reason"] == "max_tokens", block["_text"]
                args = block["_text"]
            content.append({"type": "tool_use", "id": block["id"], "name": block["name"],
                            "input": args})  # fmt: skip
    return {"content": content, "stop_reason": delta["delta"]["stop_reason"],
            "usage": delta["usage"]}  # fmt: skip


# --- requests: canonical -> upstream body ----------------------------------------------------

IMG = {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
LONG_ID = "toolu_" + "x" * 60
WEATHER = {"name": "get_weather", "input_schema": {"type": "object", "properties": {}}}


def turn(calls: list[tuple[str, str, dict[str, Any]]], results: list[dict[str, Any]],
         **extra: Any) -> list[dict[str, Any]]:  # fmt: skip
    """user asks, assistant calls tools, user answers with ``results``."""
    return [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": i, "name": n, "input": a} for i, n, a in calls
        ]},
        {"role": "user", "content": results},
    ]  # fmt: skip


def result(tool_id: str, content: Any = "ok", **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": content, **extra}


REQUEST_CASES: list[tuple[str, dict[str, Any], str, dict[str, Any], dict[str, Any]]] = [
    # (id, canonical fields, upstream model, options, expected body fragment)
    ("system string", {"system": "be terse"}, "gpt-4o", {},
     {"messages": [{"role": "system", "content": "be terse"}, {"role": "user", "content": "hi"}]}),
    ("system blocks, cache_control and billing header dropped",
     {"system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=1;"},
                 {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
                 {"type": "text", "text": "B"}]}, "gpt-4o", {},
     {"messages": [{"role": "system", "content": "A\n\nB"}, {"role": "user", "content": "hi"}]}),
    ("mid-conversation system message stays in place",
     {"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "note"},
                   {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]},
     "gpt-4o", {},
     {"messages": [{"role": "user", "content": "a"}, {"role": "system", "content": "note"},
                   {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}]}),
    ("system-reminder text kept, text blocks joined, empty text dropped",
     {"messages": [{"role": "user", "content": [
         {"type": "text", "text": "<system-reminder>r</system-reminder>"},
         {"type": "text", "text": ""}, {"type": "text", "text": "q", "cache_control": {}}]}]},
     "gpt-4o", {},
     {"messages": [{"role": "user", "content": "<system-reminder>r</system-reminder>\n\nq"}]}),
    ("images: base64 and url",
     {"messages": [{"role": "user", "content": [
         {"type": "text", "text": "look"}, {"type": "image", "source": IMG},
         {"type": "image", "source": {"type": "url", "url": "https://x/cat.jpg"}}]}]},
     "gpt-4o", {},
     {"messages": [{"role": "user", "content": [
         {"type": "text", "text": "look"},
         {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
         {"type": "image_url", "image_url": {"url": "https://x/cat.jpg"}}]}]}),
    ("tool_result with image: image moves after all tool messages of the turn",
     {"messages": turn([("t1", "shot", {}), ("t2", "shot", {})],
                       [result("t1", [{"type": "text", "text": "png"},
                                      {"type": "image", "source": IMG}]),
                        result("t2", "second"), {"type": "text", "text": "and?"}])},
     "gpt-4o", {},
     {"messages": [
         {"role": "user", "content": "go"},
         {"role": "assistant", "content": None, "tool_calls": [
             {"id": "t1", "type": "function", "function": {"name": "shot", "arguments": "{}"}},
             {"id": "t2", "type": "function", "function": {"name": "shot", "arguments": "{}"}}]},
         {"role": "tool", "tool_call_id": "t1", "content": "png"},
         {"role": "tool", "tool_call_id": "t2", "content": "second"},
         {"role": "user", "content": [
             {"type": "text", "text": "Images returned by tool call t1:"},
             {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
             {"type": "text", "text": "and?"}]}]}),
    ("tool_result is_error, block list, empty content",
     {"messages": turn([("a", "f", {}), ("b", "f", {}), ("c", "f", {})],
                       [result("a", "boom", is_error=True),
                        result("b", [{"type": "text", "text": "l1"},
                                     {"type": "text", "text": "l2"}]),
                        result("c", [])])},
     "gpt-4o", {},
     {"messages": [{}, {}, {"role": "tool", "tool_call_id": "a", "content": "Error: boom"},
                   {"role": "tool", "tool_call_id": "b", "content": "l1\nl2"},
                   {"role": "tool", "tool_call_id": "c", "content": "(no output)"}]}),
    ("parallel results answered out of order are sent in call order",
     {"messages": turn([("a", "f", {"x": 1}), ("b", "f", {"x": 2})],
                       [result("b", "B"), result("a", "A")])},
     "gpt-4o", {},
     {"messages": [{}, {"tool_calls": [{"id": "a", "function": {"arguments": '{"x":1}'}},
                                       {"id": "b", "function": {"arguments": '{"x":2}'}}]},
                   {"role": "tool", "tool_call_id": "a", "content": "A"},
                   {"role": "tool", "tool_call_id": "b", "content": "B"}]}),
    ("unanswered call gets a synthetic error result; orphan result becomes user text",
     {"messages": turn([("a", "f", {})], [result("zzz", "late")])}, "gpt-4o", {},
     {"messages": [{}, {}, {"role": "tool", "tool_call_id": "a",
                            "content": "Error: tool call was not executed (no result in the "
                                       "conversation)"},
                   {"role": "user", "content": "Result of tool call zzz: late"}]}),
    ("long and illegal tool ids are shortened identically on calls and results",
     {"messages": turn([(LONG_ID, "f", {}), ("functions.f:0", "f", {})],
                       [result(LONG_ID), result("functions.f:0")])}, "gpt-4o", {}, {}),
    ("tool_choice any + disable_parallel_tool_use",
     {"tools": [WEATHER], "tool_choice": {"type": "any", "disable_parallel_tool_use": True}},
     "gpt-4o", {}, {"tool_choice": "required", "parallel_tool_calls": False}),
    ("tool_choice tool",
     {"tools": [WEATHER], "tool_choice": {"type": "tool", "name": "get_weather"}}, "gpt-4o", {},
     {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}),
    ("tool_choice auto / none", {"tools": [WEATHER], "tool_choice": {"type": "none"}},
     "gpt-4o", {}, {"tool_choice": "none"}),
    ("tool_choice without tools is dropped, empty tools omitted",
     {"tools": [], "tool_choice": {"type": "auto"}}, "gpt-4o", {}, {}),
    ("tool schema passes unchanged ($schema, propertyNames ...)",
     {"tools": [{"name": "t", "description": "d", "cache_control": {"type": "ephemeral"},
                 "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                  "type": "object", "propertyNames": {"pattern": "^a"}}}]},
     "gpt-4o", {},
     {"tools": [{"type": "function", "function": {
         "name": "t", "description": "d",
         "parameters": {"$schema": "https://json-schema.org/draft/2020-12/schema",
                        "type": "object", "propertyNames": {"pattern": "^a"}}}}]}),
    ("stream asks for usage", {"stream": True}, "gpt-4o", {},
     {"stream": True, "stream_options": {"include_usage": True}}),
    ("max_tokens clamped to gpt-4o's 16384", {"max_tokens": 64000}, "gpt-4o", {},
     {"max_tokens": 16384}),
    ("unknown model: max_tokens unchanged, sampling passed, top_k dropped",
     {"max_tokens": 64000, "temperature": 0.2, "top_p": 0.9, "top_k": 5}, "my-local-model", {},
     {"max_tokens": 64000, "temperature": 0.2, "top_p": 0.9}),
    ("top_k passed with the option", {"top_k": 5}, "qwen3-coder", {"top_k": True}, {"top_k": 5}),
    ("o3: max_completion_tokens, sampling dropped, budget -> effort",
     {"max_tokens": 32000, "temperature": 0.5, "top_p": 0.9,
      "thinking": {"type": "enabled", "budget_tokens": 31999}}, "o3", {},
     {"max_completion_tokens": 32000, "reasoning_effort": "high"}),
    ("gpt-5 via OpenRouter name: effort from output_config, max -> high",
     {"output_config": {"effort": "max"}}, "openai/gpt-5", {}, {"reasoning_effort": "high"}),
    ("grok-3-mini snaps medium to high", {"output_config": {"effort": "medium"}}, "grok-3-mini",
     {}, {"reasoning_effort": "high"}),
    ("small budget -> low", {"thinking": {"type": "enabled", "budget_tokens": 2000}}, "o4-mini",
     {}, {"reasoning_effort": "low"}),
    ("options override the table",
     {"max_tokens": 64000, "temperature": 0.3, "output_config": {"effort": "low"}},
     "deepseek-chat", {"max_output_tokens": 4000, "max_completion_tokens": True,
                       "reasoning_effort": True},
     {"max_completion_tokens": 4000, "temperature": 0.3, "reasoning_effort": "low"}),
    ("structured output (fixture 07 shape)",
     {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
     "gpt-4o", {},
     {"response_format": {"type": "json_schema", "json_schema": {
         "name": "response", "schema": {"type": "object"}, "strict": False}}}),
    ("structured output as json_object for DeepSeek",
     {"system": "S", "output_config": {"format": {"type": "json_schema",
                                                  "schema": {"type": "object"}}}},
     "deepseek-chat", {"structured_output": "json_object"},
     {"response_format": {"type": "json_object"},
      "messages": [{"role": "system", "content": 'S\n\nReply with one JSON object matching '
                    'this JSON Schema:\n{"type":"object"}'}, {}]}),
    ("stop sequences", {"stop_sequences": ["END", "STOP"]}, "gpt-4o", {},
     {"stop": ["END", "STOP"]}),
    ("many stop sequences allowed by option", {"stop_sequences": list("abcdef")}, "llama3",
     {"max_stop_sequences": 0}, {"stop": list("abcdef")}),
    ("extra_body merged last", {}, "deepseek-chat",
     {"extra_body": {"thinking": {"type": "enabled"}}}, {"thinking": {"type": "enabled"}}),
]  # fmt: skip


def assert_fragment(actual: Any, expected: Any, path: str = "body") -> None:
    """``expected`` dicts are subsets; lists match item by item and in length."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing"
            assert_fragment(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_fragment(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


@pytest.mark.parametrize(
    "fields, model, options, expected",
    [c[1:] for c in REQUEST_CASES],
    ids=[c[0] for c in REQUEST_CASES],
)
def test_convert_request(fields: dict[str, Any], model: str, options: dict[str, Any],
                         expected: dict[str, Any]) -> None:  # fmt: skip
    body = convert(request(**fields), model, **options)
    assert body["model"] == model
    assert_fragment(body, expected)


@pytest.mark.parametrize(
    "fields, model, absent",
    [
        ({"tools": [], "tool_choice": {"type": "auto"}}, "gpt-4o", ["tools", "tool_choice"]),
        ({"top_k": 5, "temperature": 0.5}, "gpt-5", ["top_k", "temperature"]),
        ({"output_config": {"effort": "high"}}, "gpt-4o", ["reasoning_effort"]),
        ({"thinking": {"type": "adaptive"}}, "o3", ["reasoning_effort"]),
        ({"context_management": {"edits": []}, "service_tier": "auto"}, "gpt-4o",
         ["context_management", "service_tier"]),
    ],
)  # fmt: skip
def test_convert_request_drops(fields: dict[str, Any], model: str, absent: list[str]) -> None:
    body = convert(request(**fields), model)
    for key in absent:
        assert key not in body


def test_user_id_is_hashed_and_optional() -> None:
    req = request(metadata={"user_id": '{"device_id":"abc","session":"s"}' * 10})
    body = convert(req)
    assert re.fullmatch(r"[0-9a-f]{32}", body["user"])
    assert body["user"] == convert(req)["user"]  # stable per user
    assert "user" not in convert(req, send_user=False)


def test_tool_ids_shortened_consistently() -> None:
    msgs = turn([(LONG_ID, "f", {}), ("functions.f:0", "f", {})],
                [result(LONG_ID), result("functions.f:0")])  # fmt: skip
    body = convert(request(messages=msgs))
    call_ids = [c["id"] for c in body["messages"][1]["tool_calls"]]
    assert [m["tool_call_id"] for m in body["messages"][2:4]] == call_ids
    assert all(OPENAI_ID.match(i) for i in call_ids) and call_ids[0] != call_ids[1]
    assert call_ids[0] == convert(request(messages=msgs))["messages"][1]["tool_calls"][0]["id"]


def test_illegal_tool_names_round_trip() -> None:
    name = "mcp__server.tool:v2"
    req = request(
        tools=[{"name": name, "input_schema": {"type": "object"}}],
        tool_choice={"type": "tool", "name": name},
        messages=turn([("t1", name, {"q": 1})], [result("t1")]),
    )
    body = convert(req)
    sent = body["tools"][0]["function"]["name"]
    assert sent != name and OPENAI_NAME.match(sent)
    assert body["tool_choice"]["function"]["name"] == sent
    assert body["messages"][1]["tool_calls"][0]["function"]["name"] == sent
    # The mapping back lives in the request's context, not in process-wide state.
    context = ctx()
    PROVIDER.convert_request(req, context)
    answer = completion(tool_calls=[call("c1", sent, '{"q": 2}')], finish="tool_calls")
    out = PROVIDER.convert_response(answer, context)
    assert out["content"][0]["name"] == name
    streamed = list(
        PROVIDER.stream(
            (
                SSEEvent("", d)
                for d in [
                    chunk(tool_calls=[frag(0, "c1", sent, '{"q":2}')]),
                    chunk(finish="tool_calls"),
                ]
            ),
            context,
        )
    )
    (start,) = [e for e in streamed if e["type"] == "content_block_start"]
    assert start["content_block"]["name"] == name
    # Another request's context knows nothing of this rename.
    assert PROVIDER.convert_response(answer, ctx())["content"][0]["name"] == sent


@pytest.mark.parametrize(
    "model, options, sent",
    [
        ("deepseek-reasoner", {}, True),
        ("deepseek-reasoner", {"send_reasoning": False}, False),
        ("gpt-4o", {}, False),  # OpenAI rejects unknown message fields
        ("qwen3-max", {"reasoning_field": "reasoning"}, True),
    ],
)
def test_reasoning_sent_back_on_tool_turns(model: str, options: dict[str, Any],
                                           sent: bool) -> None:  # fmt: skip
    msgs = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "T1", "signature": "s"},
                                          {"type": "text", "text": "plain answer"}]},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "T2", "signature": "s"},
            {"type": "redacted_thinking", "data": "opaque"},
            {"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [result("t1")]},
    ]  # fmt: skip
    body = convert(request(messages=msgs), model, **options)
    field = options.get("reasoning_field", "reasoning_content")
    plain, tool_turn = body["messages"][1], body["messages"][3]
    assert plain == {"role": "assistant", "content": "plain answer"}
    assert (tool_turn.get(field) == "T2") is sent
    if not sent:
        assert set(tool_turn) == {"role", "content", "tool_calls"}


@pytest.mark.parametrize(
    "fields, model, error, match",
    [
        ({"stop_sequences": list("abcde")}, "gpt-4o", InvalidRequest, "at most 4"),
        ({"stop_sequences": ["x"]}, "o3", Unsupported, "stop"),
        ({"tools": [{"name": "web_search", "type": "web_search_20250305"}]}, "gpt-4o",
         Unsupported, "server tool"),
        ({"messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "file", "file_id": "f"}}]}]}, "gpt-4o",
         Unsupported, "base64 and url"),
        ({"mcp_servers": [{"url": "x"}]}, "gpt-4o", Unsupported, "mcp_servers"),
        ({"output_config": {"effort": "extreme"}}, "o3", InvalidRequest, "effort"),
        ({"messages": [{"role": "user", "content": [{"type": "server_tool_use"}]}]}, "gpt-4o",
         Unsupported, "server_tool_use"),
    ],
)  # fmt: skip
def test_convert_request_rejects(fields: dict[str, Any], model: str, error: type,
                                 match: str) -> None:  # fmt: skip
    with pytest.raises(error, match=match) as info:
        PROVIDER.convert_request(request(**fields), ctx(model))
    assert info.value.status == 400


def test_bad_option_value_names_the_option() -> None:
    # Checked when the config loads (core/config.py adds the path), never per request.
    assert PROVIDER.check_options({"max_output_tokens": "lots"}) == [
        'max_output_tokens: expected an integer, got "lots"'
    ]


# --- real Claude Code requests ----------------------------------------------------------------

FIXTURE_FILES = sorted(FIXTURES.glob("0[1-9]_*.json"))


@pytest.mark.skipif(not FIXTURE_FILES, reason="tests/fixtures/claude_code not present")
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("model", ["gpt-4o", "o3", "deepseek-reasoner", "qwen3-coder-plus"])
def test_claude_code_fixtures_convert_to_valid_bodies(path: Path, model: str) -> None:
    req = json.loads(path.read_text())["body"]
    body = convert(req, model)
    assert body["messages"][0]["role"] == "system"
    assert "x-anthropic-billing-header" not in body["messages"][0]["content"]
    if req.get("tools"):
        assert [t["function"]["name"] for t in body["tools"]] == [t["name"] for t in req["tools"]]
    if any(m["role"] == "system" for m in req["messages"]):
        assert [m["role"] for m in body["messages"]].count("system") >= 2
    if "format" in req.get("output_config", {}):
        assert body["response_format"]["type"] == "json_schema"
    assert body.get("stream") == req.get("stream", False)
    cap = body.get("max_tokens") or body.get("max_completion_tokens")
    assert cap is not None and cap <= req["max_tokens"]


# --- non-streaming answers ---------------------------------------------------------------------


def call(call_id: str | None, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(content: Any = None, finish: str | None = "stop", usage: Any = None,
               **message: Any) -> dict[str, Any]:  # fmt: skip
    msg = {"role": "assistant", "content": content, **message}
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o",
            "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
            "usage": usage}  # fmt: skip


USAGE = {"prompt_tokens": 120, "completion_tokens": 18, "total_tokens": 138,
         "prompt_tokens_details": {"cached_tokens": 100}}  # fmt: skip

RESPONSE_CASES = [
    ("text with cached usage", completion("Hello", usage=USAGE),
     {"content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
      "usage": {"input_tokens": 20, "output_tokens": 18, "cache_read_input_tokens": 100}}),
    ("DeepSeek cache-hit usage", completion("x", usage={"prompt_tokens": 50,
                                                          "completion_tokens": 2,
                                                          "prompt_cache_hit_tokens": 40}),
     {"usage": {"input_tokens": 10, "cache_read_input_tokens": 40, "output_tokens": 2}}),
    ("tool calls, finish stop (forced tool) still tool_use, ids sanitised",
     completion(None, "stop", tool_calls=[call("functions.get_weather:0", "get_weather",
                                               '{"city":"Oslo"}'),
                                          call("call_b", "get_weather", "")]),
     {"content": [{"type": "tool_use", "id": "functions_get_weather_0", "name": "get_weather",
                   "input": {"city": "Oslo"}},
                  {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {}}],
      "stop_reason": "tool_use"}),
    ("reasoning_content first, whitespace text omitted",
     completion("\n\n", "tool_calls", reasoning_content="think",
                tool_calls=[call("c", "f", "{}")]),
     {"content": [{"type": "thinking", "thinking": "think", "signature": ""},
                  {"type": "tool_use", "id": "c", "name": "f", "input": {}}]}),
    ("OpenRouter reasoning", completion("A", reasoning="r"),
     {"content": [{"type": "thinking", "thinking": "r", "signature": ""},
                  {"type": "text", "text": "A"}]}),
    ("length", completion("cut", "length"), {"stop_reason": "max_tokens"}),
    ("length with truncated tool call drops the call",
     completion("partial", "length", tool_calls=[call("c", "f", '{"a": "unfinish')]),
     {"content": [{"type": "text", "text": "partial"}], "stop_reason": "max_tokens"}),
    ("content_filter", completion("", "content_filter"), {"content": [], "stop_reason": "refusal"}),
    ("refusal field", completion(None, "stop", refusal="I can't help"),
     {"content": [{"type": "text", "text": "I can't help"}], "stop_reason": "refusal"}),
    ("content parts", completion([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
     {"content": [{"type": "text", "text": "ab"}]}),
]  # fmt: skip


@pytest.mark.parametrize("body, expected", [c[1:] for c in RESPONSE_CASES],
                         ids=[c[0] for c in RESPONSE_CASES])  # fmt: skip
def test_convert_response(body: dict[str, Any], expected: dict[str, Any]) -> None:
    out = PROVIDER.convert_response(body, ctx())
    assert out["type"] == "message" and out["role"] == "assistant"
    assert out["model"] == "claude-sonnet-4-5"
    assert re.fullmatch(r"msg_[0-9a-f]{24}", out["id"])
    assert out["stop_sequence"] is None
    assert_fragment(out, expected, "response")


@pytest.mark.parametrize(
    "body, status, match",
    [
        ({"choices": []}, 502, "no choices"),
        ({}, 502, "no choices"),
        ("not json object", 502, "no choices"),
        (completion(None, "stop"), 502, "no content"),
        (completion("  ", "stop"), 502, "no content"),
        (completion(None, "tool_calls", tool_calls=[call("c", "f", "{oops")]), 502, "invalid JSON"),
        ({"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}, 429, "Rate"),
        (completion("x", "insufficient_system_resource"), 503, "insufficient_system_resource"),
    ],
)  # fmt: skip
def test_convert_response_errors(body: Any, status: int, match: str) -> None:
    with pytest.raises(RelayError, match=match) as info:
        PROVIDER.convert_response(body, ctx())
    assert info.value.status == status


# --- streams --------------------------------------------------------------------------------------


def chunk(content: str | None = None, finish: str | None = None, tool_calls: Any = None,
          usage: Any = None, choices: bool = True, **delta: Any) -> str:  # fmt: skip
    d: dict[str, Any] = dict(delta)
    if content is not None:
        d["content"] = content
    if tool_calls is not None:
        d["tool_calls"] = tool_calls
    body: dict[str, Any] = {"id": "chatcmpl-1", "object": "chat.completion.chunk",
                            "choices": [{"index": 0, "delta": d, "finish_reason": finish}]
                            if choices else [], "usage": usage}  # fmt: skip
    return json.dumps(body)


def frag(index: int | None, call_id: str | None = None, name: str | None = None,
         arguments: str | None = None) -> dict[str, Any]:  # fmt: skip
    out: dict[str, Any] = {"function": {}}
    if index is not None:
        out["index"] = index
    if call_id is not None:
        out.update(id=call_id, type="function")
    if name is not None:
        out["function"]["name"] = name
    if arguments is not None:
        out["function"]["arguments"] = arguments
    return out


ROLE = chunk("", role="assistant")
DONE = "[DONE]"


def events_of(datas: list[str]) -> list[dict[str, Any]]:
    return list(PROVIDER.stream((SSEEvent("", d) for d in datas), ctx()))


def run_stream(datas: list[str], done: bool = True) -> dict[str, Any]:
    events = events_of([ROLE, *datas, *([DONE] if done else [])])
    msg = assert_stream_valid(events)
    msg["events"] = events
    return msg


STREAM_CASES = [
    ("plain text + trailing usage chunk",
     [chunk("Hel"), chunk("lo"), chunk(finish="stop"), chunk(choices=False, usage=USAGE)],
     {"content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn",
      "usage": {"output_tokens": 18, "input_tokens": 20, "cache_read_input_tokens": 100}}),
    ("content and finish_reason in one chunk, no [DONE]",
     [chunk("all at once", finish="stop")],
     {"content": [{"type": "text", "text": "all at once"}], "stop_reason": "end_turn"}),
    ("reasoning_content then text: thinking block first",
     [chunk(reasoning_content="Let me "), chunk(reasoning_content="think."), chunk("Answer"),
      chunk(finish="stop")],
     {"content": [{"type": "thinking", "thinking": "Let me think."},
                  {"type": "text", "text": "Answer"}]}),
    ("OpenRouter reasoning then a tool call",
     [chunk(reasoning="plan"), chunk(tool_calls=[frag(0, "c1", "f", '{"a":1}')]),
      chunk(finish="tool_calls")],
     {"content": [{"type": "thinking", "thinking": "plan"},
                  {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}}],
      "stop_reason": "tool_use"}),
    ("sequential parallel calls stream live, split mid-escape",
     [chunk("\n\n"),
      chunk(tool_calls=[frag(0, "call_a", "get_weather", "")]),
      chunk(tool_calls=[frag(0, arguments='{"city":"Caf\\u00')]),
      chunk(tool_calls=[frag(0, arguments='e9 \\"x\\""}')]),
      chunk(tool_calls=[frag(1, "call_b", "get_weather", '{"city":')]),
      chunk(tool_calls=[frag(1, arguments='"Bergen"}')]),
      chunk(finish="tool_calls")],
     {"content": [{"type": "tool_use", "id": "call_a", "name": "get_weather",
                   "input": {"city": 'Café "x"'}},
                  {"type": "tool_use", "id": "call_b", "name": "get_weather",
                   "input": {"city": "Bergen"}}], "stop_reason": "tool_use"}),
    ("interleaved parallel calls (openai-chat.md §6 example)",
     [chunk("Checking"),
      chunk(tool_calls=[frag(0, "call_a1", "get_weather", "")]),
      chunk(tool_calls=[frag(0, arguments='{"ci')]),
      chunk(tool_calls=[frag(1, "call_b2", "get_weather", "")]),
      chunk(tool_calls=[frag(0, arguments='ty":"Oslo"}')]),
      chunk(tool_calls=[frag(1, arguments='{"city":"Bergen"}')]),
      chunk(finish="tool_calls"), chunk(choices=False, usage=USAGE)],
     {"content": [{"type": "text", "text": "Checking"},
                  {"type": "tool_use", "id": "call_a1", "name": "get_weather",
                   "input": {"city": "Oslo"}},
                  {"type": "tool_use", "id": "call_b2", "name": "get_weather",
                   "input": {"city": "Bergen"}}]}),
    ("all calls start before any arguments arrive",
     [chunk(tool_calls=[frag(0, "a", "f", ""), frag(1, "b", "g", "")]),
      chunk(tool_calls=[frag(1, arguments='{"y":2}')]),
      chunk(tool_calls=[frag(0, arguments='{"x":1}')]),
      chunk(finish="tool_calls")],
     {"content": [{"type": "tool_use", "id": "a", "name": "f", "input": {"x": 1}},
                  {"type": "tool_use", "id": "b", "name": "g", "input": {"y": 2}}]}),
    ("text after an incomplete tool call waits for it",
     [chunk(tool_calls=[frag(0, "a", "f", '{"x":')]), chunk("note"),
      chunk(tool_calls=[frag(0, arguments="1}")]), chunk(finish="tool_calls")],
     {"content": [{"type": "tool_use", "id": "a", "name": "f", "input": {"x": 1}},
                  {"type": "text", "text": "note"}]}),
    ("no index, no id: ids synthesised, fragments follow the last call",
     [chunk(tool_calls=[{"function": {"name": "f", "arguments": '{"q"'}}]),
      chunk(tool_calls=[{"function": {"arguments": ":1}"}}]), chunk(finish="tool_calls")],
     {"content": [{"type": "tool_use", "name": "f", "input": {"q": 1}}]}),
    ("forced tool with finish stop -> tool_use",
     [chunk(tool_calls=[frag(0, "a", "f", "{}")]), chunk(finish="stop")],
     {"stop_reason": "tool_use"}),
    ("length with truncated arguments -> max_tokens",
     [chunk(tool_calls=[frag(0, "a", "f", '{"x": "abc')]), chunk(finish="length")],
     {"stop_reason": "max_tokens"}),
    ("content_filter -> refusal", [chunk("I won"), chunk(finish="content_filter")],
     {"stop_reason": "refusal"}),
    ("usage on every chunk: last wins",
     [chunk("a", usage={"prompt_tokens": 5, "completion_tokens": 1}),
      chunk("b", finish="stop", usage={"prompt_tokens": 5, "completion_tokens": 2})],
     {"usage": {"input_tokens": 5, "output_tokens": 2}}),
    ("whitespace before text is kept, before tools is not a block",
     [chunk("\n"), chunk("Hi"), chunk(finish="stop")],
     {"content": [{"type": "text", "text": "\nHi"}]}),
]  # fmt: skip


@pytest.mark.parametrize("datas, expected", [c[1:] for c in STREAM_CASES],
                         ids=[c[0] for c in STREAM_CASES])  # fmt: skip
def test_stream(datas: list[str], expected: dict[str, Any]) -> None:
    assert_fragment(run_stream(datas), expected, "stream")


def test_stream_message_start_and_live_deltas() -> None:
    msg = run_stream([chunk("a"), chunk("b"), chunk(finish="stop")])
    start = msg["events"][0]["message"]
    assert start["model"] == "claude-sonnet-4-5" and start["id"].startswith("msg_")
    assert start["usage"]["input_tokens"] == 0
    deltas = [e["delta"]["text"] for e in msg["events"] if e["type"] == "content_block_delta"]
    assert deltas == ["a", "b"]  # forwarded as they come, not buffered


def test_stream_without_done_after_finish_is_complete() -> None:
    msg = run_stream([chunk("x"), chunk(finish="stop")], done=False)
    assert msg["stop_reason"] == "end_turn"


@pytest.mark.parametrize(
    "datas, status, match",
    [
        ([ROLE, chunk("partial")], 502, "ended early"),
        ([ROLE, chunk(finish="stop"), DONE], 502, "no content"),
        ([ROLE, "{not json"], 502, "malformed"),
        ([ROLE, chunk("a"), json.dumps({"error": {"message": "Rate limit",
                                                  "type": "rate_limit_exceeded"}})],
         429, "Rate limit"),
        ([json.dumps({"error": {"message": "Provider returned error", "code": 502}})], 502,
         "Provider returned error"),
        ([json.dumps({"error": {"message": "This model's maximum context length is 8192 tokens",
                                "code": "context_length_exceeded"}})], 400, "maximum context length"),
        ([ROLE, chunk("a", finish="insufficient_system_resource")], 503, "insufficient"),
        ([ROLE, chunk(tool_calls=[frag(0, "a", "f", "{bad")]), chunk(finish="tool_calls")],
         502, "invalid JSON"),
    ],
)  # fmt: skip
def test_stream_errors(datas: list[str], status: int, match: str) -> None:
    with pytest.raises(RelayError, match=match) as info:
        events_of(datas)
    assert info.value.status == status


def test_stream_error_before_any_output_emits_nothing() -> None:
    """An upstream that fails at once leaves nothing sent, so core can fall back."""
    events = PROVIDER.stream(iter([SSEEvent("", json.dumps({"error": {"message": "down"}}))]),
                             ctx())  # fmt: skip
    with pytest.raises(RelayError) as info:
        next(events)
    assert info.value.retryable


# --- errors and registration ------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body, expected_status, expected_kind, prefix",
    [
        (400, {"error": {"message": "This model's maximum context length is 128000 tokens.",
                         "code": "context_length_exceeded"}}, 400, ErrorKind.CONTEXT_TOO_LONG,
         "This model's maximum context length"),
        (400, {"error": {"message": "Input is too long for requested model."}}, 400,
         ErrorKind.CONTEXT_TOO_LONG, "Input is too long"),
        (413, "prompt is too long for this server", 400, ErrorKind.CONTEXT_TOO_LONG,
         "prompt is too long"),
        (429, {"error": {"message": "Request too large: too many tokens per min"}}, 429,
         ErrorKind.RATE_LIMITED, "Request too large"),
        (400, {"error": {"message": "Invalid 'messages[2].tool_calls[0].id'"}}, 400,
         ErrorKind.INVALID_REQUEST, "Invalid"),
        (503, {"error": {"message": "overloaded"}}, 503, ErrorKind.OVERLOADED, "overloaded"),
    ],
)  # fmt: skip
def test_map_error(status: int, body: Any, expected_status: int, expected_kind: ErrorKind,
                   prefix: str) -> None:  # fmt: skip
    err = PROVIDER.map_error(status, body, {"retry-after": "7"})
    assert (err.status, err.kind) == (expected_status, expected_kind)
    assert err.message.startswith(prefix)
    if status == 429:
        assert err.headers == {"retry-after": "7"}


def test_registration_hook_and_class_contract() -> None:
    registered: list[type] = []
    plugin.ccrelay_register_providers(registered.append)
    assert registered == [plugin.OpenAIProvider]
    cls = plugin.OpenAIProvider
    assert cls.name == "openai" and "/v1" in cls.base_url_suffixes
    for key in cls.option_keys:
        assert f"``{key}``" in (cls.__doc__ or ""), f"option {key} undocumented"
