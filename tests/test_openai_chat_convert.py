"""The Chat Completions dialect's converters, table-tested with plain data (no server)."""

from __future__ import annotations

import json

import pytest

from ccrelay.core.dialects.openai_chat import OpenAIChatDialect, error_object
from ccrelay.core.dialects.openai_chat.parse import parse_request
from ccrelay.core.dialects.openai_chat.render import finish_reason, render_completion, usage
from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError


def parse(body: dict, kept: dict | None = None):
    kept = kept or {}
    return parse_request({"model": "m", **body}, kept.get, lambda _id: None)


def canonical(body: dict) -> dict:
    return dict(parse(body).request)


U = {"role": "user", "content": "q"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"messages": [U]}, {"model": "m", "messages": [U]}),
        ({"messages": [{"role": "system", "content": "S1"},
                       {"role": "developer", "content": [{"type": "text", "text": "S2"}]}, U]},
         {"system": [{"type": "text", "text": "S1"}, {"type": "text", "text": "S2"}],
          "messages": [U]}),
        ({"messages": [U, {"role": "system", "content": "later"}]},
         {"messages": [U, {"role": "system", "content": [{"type": "text", "text": "later"}]}]}),
        ({"messages": [U], "max_tokens": 10, "max_completion_tokens": 20}, {"max_tokens": 20}),
        ({"messages": [U], "stop": "END"}, {"stop_sequences": ["END"]}),
        ({"messages": [U], "stop": ["a", "b"], "temperature": 0.3, "top_p": 0.9, "top_k": 5},
         {"stop_sequences": ["a", "b"], "temperature": 0.3, "top_p": 0.9, "top_k": 5}),
        ({"messages": [U], "temperature": 1.7}, {"temperature": 1.7}),
        ({"messages": [U], "user": "u1"}, {"metadata": {"user_id": "u1"}}),
        ({"messages": [U], "stream": True}, {"stream": True}),
        ({"messages": [{"role": "user", "content": [
            {"type": "text", "text": "see"}, {"type": "text", "text": ""},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO", "detail": "low"}},
            {"type": "image_url", "image_url": "https://x.test/cat.jpg"},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVB"}}]}]},
         {"messages": [{"role": "user", "content": [
             {"type": "text", "text": "see"},
             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
             {"type": "image", "source": {"type": "url", "url": "https://x.test/cat.jpg"}},
             {"type": "document", "title": "a.pdf", "source": {
                 "type": "base64", "media_type": "application/pdf", "data": "JVB"}}]}]}),
        # two tool results out of call order, then a user message: one turn, call order
        ({"messages": [U, {"role": "assistant", "content": "x", "reasoning_content": "r", "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"k\": 1}"}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": ""}}]},
            {"role": "tool", "tool_call_id": "b", "content": [{"type": "text", "text": "rb"}]},
            {"role": "tool", "tool_call_id": "a", "content": "ra"},
            {"role": "user", "content": "more"}]},
         {"messages": [U, {"role": "assistant", "content": [
             {"type": "thinking", "thinking": "r"}, {"type": "text", "text": "x"},
             {"type": "tool_use", "id": "a", "name": "f", "input": {"k": 1}},
             {"type": "tool_use", "id": "b", "name": "g", "input": {}}]},
             {"role": "user", "content": [
                 {"type": "tool_result", "tool_use_id": "a", "content": "ra"},
                 {"type": "tool_result", "tool_use_id": "b",
                  "content": [{"type": "text", "text": "rb"}]},
                 {"type": "text", "text": "more"}]}]}),
        # an empty assistant turn carries nothing
        ({"messages": [U, {"role": "assistant", "content": None}, U]}, {"messages": [U, U]}),
        ({"messages": [U], "tools": [{"type": "function", "function": {"name": "f"}}],
          "tool_choice": "required", "parallel_tool_calls": False},
         {"tools": [{"name": "f", "input_schema": {"type": "object", "properties": {}}}],
          "tool_choice": {"type": "any", "disable_parallel_tool_use": True}}),
        ({"messages": [U], "tools": [{"type": "function", "function": {"name": "f"}}],
          "tool_choice": {"type": "function", "function": {"name": "f"}}},
         {"tool_choice": {"type": "tool", "name": "f"}}),
        ({"messages": [U], "tool_choice": "auto"}, {"messages": [U]}),  # no tools: no choice
        ({"messages": [U], "tools": [{"type": "function", "function": {"name": "f"}},
                                     {"type": "function", "function": {"name": "g"}}],
          "tool_choice": {"type": "allowed_tools", "allowed_tools": {
              "mode": "auto", "tools": [{"type": "function", "function": {"name": "g"}}]}}},
         {"tools": [{"name": "g", "input_schema": {"type": "object", "properties": {}}}],
          "tool_choice": {"type": "auto"}}),
        ({"messages": [U], "response_format": {"type": "json_object"}},
         {"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}),
        ({"messages": [U], "response_format": {"type": "text"}}, {"messages": [U]}),
        ({"messages": [U], "reasoning_effort": "medium", "temperature": 0.2, "top_p": 0.5},
         {"thinking": {"type": "enabled", "budget_tokens": 8192}, "temperature": 0.2,
          "top_p": 0.5}),
        ({"messages": [U], "reasoning_effort": "high", "max_tokens": 4000},
         {"thinking": {"type": "enabled", "budget_tokens": 3999}, "max_tokens": 4000}),
        ({"messages": [U], "reasoning_effort": "none"}, {"messages": [U]}),
    ],
)  # fmt: skip
def test_request_to_canonical(body, expected):
    got = canonical(body)
    for key, value in expected.items():
        assert got[key] == value, key


@pytest.mark.parametrize(
    ("body", "side"),
    [
        ({"messages": [U]}, {}),
        ({"messages": [U], "presence_penalty": 1, "seed": 3, "logprobs": True, "x_vendor": {}},
         {"fields": {"presence_penalty": 1, "seed": 3, "logprobs": True, "x_vendor": {}}}),
        ({"messages": [U], "temperature": 1.7, "top_k": 4, "user": "u"},
         {"fields": {"top_k": 4, "user": "u"}}),
        ({"messages": [{"role": "developer", "content": "S", "name": "n"},
                       {"role": "user", "content": "q", "name": "al", "x": 1}]},
         {"messages": {"system": {"role": "developer", "name": "n"}, "0": {"name": "al", "x": 1}}}),
        ({"messages": [U, {"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "extra_content": {"g": 1},
             "function": {"name": "f", "arguments": "{ \"a\" : 1 }"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "r", "name": "f"}]},
         {"calls": {"1.0": {"arguments": "{ \"a\" : 1 }", "extra_content": {"g": 1}}},
          "tool_results": {"2.0": {"name": "f"}}}),
        ({"messages": [U], "tools": [{"type": "function", "function": {"name": "f", "strict": True}}]},
         {"tools": {"f": {"function": {"strict": True}}}}),
        ({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "https://x.test/a.png", "detail": "high"}}]}]},
         {"images": {"0.0": {"detail": "high"}}}),
        ({"messages": [U], "reasoning_effort": "low", "response_format": {"type": "json_object"}},
         {"fields": {"reasoning_effort": "low", "response_format": {"type": "json_object"}}}),
    ],
)  # fmt: skip
def test_side_field(body, side):
    assert parse(body).side == side


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": [U], "n": 3}, "n"),
        ({"messages": [U], "audio": {"voice": "x"}}, "audio"),
        ({"messages": [U], "function_call": "auto"}, "function_call"),
        ({"messages": [U], "tools": [{"type": "custom", "custom": {"name": "c"}}]}, "tools[0].type"),
        ({"messages": [U], "reasoning_effort": "ultra"}, "reasoning_effort"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "ftp://x"}}]}]}, "messages[0].content[0].image_url.url"),
        ({"messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_id": "file-1"}}]}]}, "messages[0].content[0].file"),
        ({"messages": [U, {"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]},
         "messages[1].tool_calls[0].function.arguments"),
        ({"messages": [U, {"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}},
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]},
         "messages[1].tool_calls[1].id"),
        ({"messages": [U, {"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "r"},
            {"role": "tool", "tool_call_id": "c", "content": "again"}]}, "messages[3].tool_call_id"),
        ({"messages": [U, {"role": "assistant", "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}]},
         "messages[1].tool_calls"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [U], "stream": "yes"}, "stream"),
        ({"messages": [U], "stop": [1]}, "stop[0]"),
    ],
)  # fmt: skip
def test_rejected_with_the_field_named(body, param):
    with pytest.raises(InvalidRequest) as info:
        parse(body)
    assert info.value.param == param
    assert info.value.status == 400


def test_kept_thinking_replaces_the_clients_reasoning():
    signed = [{"type": "thinking", "thinking": "t", "signature": "S"}]
    body = {"reasoning_effort": "low", "messages": [U, {"role": "assistant", "reasoning_content": "t",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c", "content": "r"}]}  # fmt: skip
    req = parse(body, {"c": signed}).request
    assert req["messages"][1]["content"][0] == signed[0]
    assert req["thinking"]["type"] == "enabled"
    call = parse(body)  # nothing kept: thinking off, and the log says why
    assert "thinking" not in call.request and call.warnings


RESPONSE = {"id": "msg_abc", "type": "message", "role": "assistant", "model": "m",
            "stop_sequence": None}  # fmt: skip


@pytest.mark.parametrize(
    ("content", "stop", "message", "finish"),
    [
        ([{"type": "text", "text": "hi"}], "end_turn", {"content": "hi"}, "stop"),
        ([], "end_turn", {"content": None}, "stop"),
        ([{"type": "text", "text": "cut"}], "max_tokens", {"content": "cut"}, "length"),
        ([{"type": "text", "text": "no"}], "refusal", {"content": "no"}, "content_filter"),
        ([{"type": "text", "text": "x"}], "stop_sequence", {"content": "x"}, "stop"),
        ([{"type": "thinking", "thinking": "hm", "signature": "S"},
          {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}], "end_turn",
         {"content": None, "reasoning_content": "hm", "tool_calls": [
             {"id": "t1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}]},
         "tool_calls"),
        ([{"type": "tool_use", "id": "t1", "name": "f", "input": {}}], "max_tokens",
         {"content": None, "tool_calls": [
             {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
         "length"),
    ],
)  # fmt: skip
def test_render_completion(content, stop, message, finish):
    dialect = OpenAIChatDialect()
    resp = {**RESPONSE, "content": content, "stop_reason": stop,
            "usage": {"input_tokens": 5, "output_tokens": 2}}  # fmt: skip
    out = render_completion(resp, dialect.ids, dialect.thinking)  # type: ignore[arg-type]
    assert out["object"] == "chat.completion" and out["id"] == "chatcmpl-abc"
    assert out["choices"][0]["message"] == {"role": "assistant", "refusal": None, **message}
    assert out["choices"][0]["finish_reason"] == finish
    if content and content[0]["type"] == "thinking":
        assert dialect.thinking.get("t1") == [content[0]]


@pytest.mark.parametrize(
    ("raw", "chars", "expected"),
    [
        ({"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 90,
          "cache_creation_input_tokens": 5}, 0,
         {"prompt_tokens": 105, "completion_tokens": 4, "total_tokens": 109,
          "prompt_tokens_details": {"cached_tokens": 90},
          "completion_tokens_details": {"reasoning_tokens": 0}}),
        ({"input_tokens": 1, "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 30}},
         400, {"completion_tokens_details": {"reasoning_tokens": 30}}),
        ({"input_tokens": 1, "output_tokens": 50}, 80, {"completion_tokens_details": {"reasoning_tokens": 20}}),
        ({"input_tokens": 1, "output_tokens": 5}, 800, {"completion_tokens_details": {"reasoning_tokens": 5}}),
        (None, 0, {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}),
    ],
)  # fmt: skip
def test_usage(raw, chars, expected):
    got = usage(raw, chars)
    for key, value in expected.items():
        assert got[key] == value


@pytest.mark.parametrize(
    ("stop", "calls", "finish"),
    [("end_turn", False, "stop"), ("tool_use", True, "tool_calls"), ("end_turn", True, "tool_calls"),
     ("pause_turn", False, "stop"), ("model_context_window_exceeded", False, "length"),
     (None, False, "stop"), ("weird", False, "stop")],
)  # fmt: skip
def test_finish_reason(stop, calls, finish):
    assert finish_reason(stop, calls) == finish


def _stream(events, include_usage=True):
    dialect = OpenAIChatDialect()
    renderer = dialect.stream_renderer(
        type("Call", (), {"state": {"include_usage": include_usage}})()
    )
    raw = renderer.events(events) + renderer.end()
    frames = [f for f in raw.decode().split("\n\n") if f]
    assert frames[-1] == "data: [DONE]"
    return [json.loads(f[6:]) for f in frames[:-1]], dialect


def test_stream_chunks_from_canonical_events():
    start = {"type": "message_start", "message": {"id": "msg_1", "model": "m",
             "usage": {"input_tokens": 7, "output_tokens": 1}}}  # fmt: skip
    events = [
        start,
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "SIG"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hi"}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "t1", "name": "f", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"a"'}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ":1}"}},
        {"type": "content_block_stop", "index": 2},
        {"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "t2", "name": "g", "input": {}}},
        {"type": "content_block_stop", "index": 3},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]  # fmt: skip
    chunks, dialect = _stream(events)
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert deltas == [
        {"role": "assistant", "content": ""},
        {"reasoning_content": "hm"},
        {"content": "Hi"},
        {"tool_calls": [{"index": 0, "id": "t1", "type": "function",
                         "function": {"name": "f", "arguments": ""}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"a"'}}]},
        {"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]},
        {"tool_calls": [{"index": 1, "id": "t2", "type": "function",
                         "function": {"name": "g", "arguments": ""}}]},
        {},
    ]  # fmt: skip
    assert chunks[-2]["choices"][0]["finish_reason"] == "tool_calls"
    assert chunks[-1]["choices"] == []
    assert (
        chunks[-1]["usage"]["prompt_tokens"] == 7 and chunks[-1]["usage"]["completion_tokens"] == 9
    )
    assert {c["id"] for c in chunks} == {"chatcmpl-1"}
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert dialect.thinking.get("t1") == [
        {"type": "thinking", "thinking": "hm", "signature": "SIG"}
    ]


def test_stream_error_and_keepalive():
    dialect = OpenAIChatDialect()
    renderer = dialect.stream_renderer(type("Call", (), {"state": {}})())
    assert renderer.keepalive() == b": keep-alive\n\n"
    raw = renderer.error(RelayError(529, "overloaded", kind=ErrorKind.OVERLOADED))
    assert raw.startswith(b"data: ") and raw.endswith(b"\n\n")
    assert json.loads(raw[6:])["error"]["type"] == "server_error"


@pytest.mark.parametrize(
    ("err", "status", "etype", "code"),
    [
        (InvalidRequest("bad", param="n"), 400, "invalid_request_error", None),
        (RelayError(401, "key"), 401, "invalid_request_error", "invalid_api_key"),
        (RelayError(404, "model x not found"), 404, "invalid_request_error", "model_not_found"),
        (RelayError(429, "slow", headers={"retry-after": "3"}), 429, "rate_limit_error",
         "rate_limit_exceeded"),
        (RelayError(400, "too long", kind=ErrorKind.CONTEXT_TOO_LONG), 400,
         "invalid_request_error", "context_length_exceeded"),
        (RelayError(529, "busy"), 503, "server_error", "overloaded"),
        (RelayError(502, "gone"), 502, "server_error", None),
        (RelayError(504, "slow"), 504, "timeout_error", "timeout"),
    ],
)  # fmt: skip
def test_render_error(err, status, etype, code):
    out = OpenAIChatDialect().render_error(err)
    assert out.status == status
    assert out.body == error_object(err)
    assert set(out.body["error"]) == {"message", "type", "param", "code"}
    assert (out.body["error"]["type"], out.body["error"]["code"]) == (etype, code)
    assert out.headers == err.headers


def test_schema_errors_name_paths_the_openai_way():
    with pytest.raises(InvalidRequest) as info:
        parse({"messages": [U, {"role": "assistant", "tool_calls": [{"id": 5}]}]})
    assert info.value.param == "messages[1].tool_calls[0].id"
    assert info.value.message.startswith("messages[1].tool_calls[0].id: expected a string, got 5")


def test_stream_tool_input_given_at_block_start():
    events = [
        {"type": "message_start", "message": {"id": "msg_2", "model": "m"}},
        {"type": "content_block_start", "index": 0, "content_block": {
            "type": "tool_use", "id": "t", "name": "f", "input": {"a": 1}}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ]  # fmt: skip
    chunks, _ = _stream(events, include_usage=False)
    calls = [tc for c in chunks for tc in c["choices"][0]["delta"].get("tool_calls", ())]
    assert "".join(tc["function"]["arguments"] for tc in calls) == '{"a":1}'
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
