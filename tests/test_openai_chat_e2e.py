"""The openai SDK through ccrelay's Chat Completions dialect to both kinds of backend.

Each test runs against a scripted OpenAI-compatible upstream and a scripted
Anthropic-compatible one, and asserts what the SDK parsed and what the upstream received.
"""

from __future__ import annotations

import json
import re

import openai
import pytest
import requests

from ccrelay.core.canonical import legal_name
from tests.conftest import one_provider
from tests.fakes.replies import answer, openai_chunk
from tests.fakes.upstream import Reply

BACKENDS = ["openai", "anthropic"]
TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "write_file", "description": "Write a file",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"},
                       "content": {"type": "string"}}}}},
]  # fmt: skip
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def relay(start_relay, upstream, backend):
    return start_relay(one_provider(backend, upstream.url, model="up-model"))


@pytest.fixture
def client(relay):
    return openai.OpenAI(base_url=relay.url + "/v1", api_key="client-key", max_retries=0)


def sent_body(upstream, n: int = 0) -> dict:
    return upstream.requests[n].body


def test_text_answer_with_usage(client, upstream, backend, relay):
    usage = {"input_tokens": 20, "output_tokens": 5}
    upstream.reply(answer(backend, text="Hello there", usage=usage))
    out = client.chat.completions.create(
        model="my-model", max_tokens=50,
        messages=[{"role": "system", "content": "Be brief."}, *HI],
    )  # fmt: skip
    assert out.object == "chat.completion" and out.id.startswith("chatcmpl-")
    assert out.model == "my-model"
    choice = out.choices[0]
    assert choice.message.role == "assistant" and choice.message.content == "Hello there"
    assert choice.finish_reason == "stop" and choice.message.tool_calls is None
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.total_tokens) == (
        20, 5, 25,
    )  # fmt: skip
    assert out.usage.prompt_tokens_details.cached_tokens == 0
    assert out.usage.completion_tokens_details.reasoning_tokens == 0
    body = sent_body(upstream)
    assert body["model"] == "up-model" and body["max_tokens"] == 50
    if backend == "openai":
        assert body["messages"] == [{"role": "system", "content": "Be brief."}, *HI]
    else:
        assert body["system"] == [{"type": "text", "text": "Be brief."}]
        assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert "client-key" not in json.dumps(upstream.requests[0].headers)
    line = relay.token_lines()[0]
    assert "dialect=openai_chat" in line and "client_model=my-model" in line


def test_streamed_text_with_usage_chunk(client, upstream, backend):
    upstream.reply(answer(backend, text="Hello wörld, how are you?", stream=True,
                          usage={"input_tokens": 9, "output_tokens": 7}))  # fmt: skip
    stream = client.chat.completions.create(
        model="m", messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello wörld, how are you?"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and finishes.count("stop") == 1
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 9
    assert chunks[-1].usage.completion_tokens == 7
    assert len({c.id for c in chunks}) == 1
    assert all(c.usage is None for c in chunks[:-1])


def test_stream_without_include_usage_has_no_usage_chunk(relay, upstream, backend):
    upstream.reply(answer(backend, text="ok", stream=True))
    raw = requests.post(relay.url + "/v1/chat/completions",
                        json={"model": "m", "messages": HI, "stream": True}, timeout=10).text  # fmt: skip
    events = [e for e in raw.split("\n\n") if e]
    assert events[-1] == "data: [DONE]"
    chunks = [json.loads(e[6:]) for e in events[:-1]]
    assert all(c["choices"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0] == {"index": 0, "delta": {}, "finish_reason": "stop"}


@pytest.mark.parametrize("stream", [False, True])
def test_parallel_two_tool_calls(client, upstream, backend, stream):
    calls = [("call_a1", "get_weather", {"city": "Oslo"}),
             ("call_b2", "get_weather", {"city": "Bergen"})]  # fmt: skip
    upstream.reply(answer(backend, text="Checking.", calls=calls, stream=stream))
    kwargs = {"model": "m", "messages": [{"role": "user", "content": "Oslo and Bergen?"}],
              "tools": TOOLS}  # fmt: skip
    if stream:
        chunks = list(client.chat.completions.create(**kwargs, stream=True))
        deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
        firsts = [d for d in deltas if d.id]
        assert [(d.index, d.id, d.function.name) for d in firsts] == [
            (0, "call_a1", "get_weather"), (1, "call_b2", "get_weather"),
        ]  # fmt: skip
        args = {0: "", 1: ""}
        for d in deltas:
            args[d.index] += d.function.arguments or ""
        got = [json.loads(args[0]), json.loads(args[1])]
        finish = [c.choices[0].finish_reason for c in chunks if c.choices][-1]
    else:
        out = client.chat.completions.create(**kwargs)
        message = out.choices[0].message
        assert message.content == "Checking."
        assert [(t.id, t.type, t.function.name) for t in message.tool_calls] == [
            ("call_a1", "function", "get_weather"), ("call_b2", "function", "get_weather"),
        ]  # fmt: skip
        got = [json.loads(t.function.arguments) for t in message.tool_calls]
        finish = out.choices[0].finish_reason
    assert got == [{"city": "Oslo"}, {"city": "Bergen"}]
    assert finish == "tool_calls"
    body = sent_body(upstream)
    if backend == "anthropic":
        assert [t["name"] for t in body["tools"]] == ["get_weather", "write_file"]
        assert body["tools"][0]["input_schema"] == TOOLS[0]["function"]["parameters"]
    else:
        assert body["tools"] == TOOLS


def test_two_turn_tool_loop(client, upstream, backend):
    call = ("call_w1", "write_file", {"path": "hello.txt", "content": "hi"})
    upstream.reply(answer(backend, calls=[call], stream=True))
    messages = [{"role": "user", "content": "Create hello.txt containing hi"}]
    chunks = list(client.chat.completions.create(model="m", messages=messages, tools=TOOLS,
                                                 stream=True))  # fmt: skip
    deltas = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or ()]
    arguments = "".join(d.function.arguments or "" for d in deltas)
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": deltas[0].id, "type": "function",
             "function": {"name": "write_file", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": deltas[0].id, "content": "written"},
    ]  # fmt: skip
    upstream.reply(answer(backend, text="Done."))
    out = client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    assert out.choices[0].message.content == "Done."
    body = sent_body(upstream, 1)
    if backend == "openai":
        assert body["messages"][1]["tool_calls"][0]["id"] == "call_w1"
        assert body["messages"][1]["tool_calls"][0]["function"]["arguments"] == arguments
        assert body["messages"][2] == {"role": "tool", "tool_call_id": "call_w1",
                                       "content": "written"}  # fmt: skip
    else:
        assert body["messages"][1] == {
            "role": "assistant",
            "content": [
                {"type": "tool_use", "id": "call_w1", "name": "write_file", "input": call[2]}
            ],
        }
        assert body["messages"][2] == {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_w1", "content": "written"}],
        }


def test_reasoning_is_reasoning_content(client, upstream, backend):
    upstream.reply(answer(backend, thinking="Let me think.", text="42", stream=True))
    chunks = list(client.chat.completions.create(model="m", messages=HI, stream=True))
    reasoning = "".join(
        getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices
    )
    assert reasoning == "Let me think."
    upstream.reply(answer(backend, thinking="Hmm.", text="42"))
    out = client.chat.completions.create(model="m", messages=HI)
    assert out.choices[0].message.reasoning_content == "Hmm."
    assert out.choices[0].message.content == "42"


ERRORS = [
    (400, openai.BadRequestError, 400),
    (401, openai.AuthenticationError, 401),
    (403, openai.PermissionDeniedError, 403),
    (404, openai.NotFoundError, 404),
    (429, openai.RateLimitError, 429),
    (500, openai.InternalServerError, 500),
    (529, openai.InternalServerError, 503),
]


@pytest.mark.parametrize(("status", "error_class", "client_status"), ERRORS)
def test_upstream_errors_by_status(client, upstream, status, error_class, client_status):
    headers = {"retry-after": "12"} if status == 429 else {}
    upstream.reply(Reply(status, json={"error": {"message": f"upstream says {status}"}},
                         headers=headers))  # fmt: skip
    with pytest.raises(error_class) as info:
        client.chat.completions.create(model="m", messages=HI)
    err = info.value
    assert err.status_code == client_status
    assert f"upstream says {status}" in err.message
    assert set(err.body) == {"message", "type", "param", "code"}
    if status == 429:
        assert err.response.headers["retry-after"] == "12"
        assert err.body["code"] == "rate_limit_exceeded"


def test_context_too_long_says_context_length_exceeded(client, upstream, backend):
    message = "prompt is too long: 300000 tokens > 200000 maximum"
    if backend == "openai":
        message = "This model's maximum context length is 8192 tokens"
    upstream.reply(Reply(400, json={"type": "error", "error": {
        "type": "invalid_request_error", "message": message}}))  # fmt: skip
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="m", messages=HI)
    assert info.value.body["code"] == "context_length_exceeded"
    assert info.value.body["type"] == "invalid_request_error"


def test_mid_stream_failure_raises_in_the_sdk(client, upstream, backend, relay):
    if backend == "openai":
        upstream.reply(Reply(sse=[openai_chunk({"content": "partial"})]))
    else:
        good = answer("anthropic", text="partial text", stream=True).sse
        upstream.reply(Reply(sse=[*good[:3], {"type": "error", "error": {
            "type": "overloaded_error", "message": "Overloaded"}}], event_names=True))  # fmt: skip
    stream = client.chat.completions.create(model="m", messages=HI, stream=True)
    seen = []
    with pytest.raises(openai.APIError) as info:
        for chunk in stream:
            seen.append(chunk)
    assert seen and seen[0].choices[0].delta.role == "assistant"
    assert info.value.body["type"] in ("server_error", "invalid_request_error")
    assert "status=error" in relay.token_lines()[0]


def test_keepalive_comments_during_silence(start_relay, upstream):
    # Keep-alives come from core and the renderer whatever the backend: one backend suffices.
    config = one_provider("openai", upstream.url)
    config["limits"] = {"ping_interval": 0.5}
    relay = start_relay(config)
    for _ in range(2):
        reply = answer("openai", text="late", stream=True)
        reply.chunk_delay = 0.7
        upstream.reply(reply)
    raw = requests.post(relay.url + "/v1/chat/completions",
                        json={"model": "m", "messages": HI, "stream": True}, timeout=30).text  # fmt: skip
    assert ": keep-alive\n\n" in raw
    assert raw.endswith("data: [DONE]\n\n")
    client = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    text = "".join(c.choices[0].delta.content or "" for c in
                   client.chat.completions.create(model="m", messages=HI, stream=True)
                   if c.choices)  # fmt: skip
    assert text == "late"


def test_side_fields_reach_only_an_openai_upstream(client, upstream, backend):
    upstream.reply(answer(backend, text="ok"))
    client.chat.completions.create(
        model="m", messages=[{"role": "developer", "content": "Rules.", "name": "ops"},
                             {"role": "user", "content": "hi", "name": "alice"}],
        presence_penalty=0.5, frequency_penalty=0.1, seed=7, temperature=1.5, user="u-1",
        reasoning_effort="low", max_completion_tokens=4000,
        extra_body={"enable_thinking": True, "top_k": 20},
    )  # fmt: skip
    body = sent_body(upstream)
    carried = {"presence_penalty": 0.5, "frequency_penalty": 0.1, "seed": 7,
               "temperature": 1.5, "user": "u-1", "reasoning_effort": "low",
               "enable_thinking": True, "top_k": 20}  # fmt: skip
    if backend == "openai":
        assert {k: body.get(k) for k in carried} == carried
        assert body["messages"] == [
            {"role": "developer", "content": "Rules.", "name": "ops"},
            {"role": "user", "content": "hi", "name": "alice"},
        ]
    else:
        assert not set(carried) - {"top_k", "temperature"} & set(body)
        assert body.get("temperature") == 1.0  # clamped to Anthropic's range (1 while thinking)
        assert "top_k" not in body  # thinking is on
        assert body["thinking"] == {"type": "enabled", "budget_tokens": 1024}
        assert body["metadata"] == {"user_id": "u-1"}
        assert body["max_tokens"] == 4000
        assert "name" not in json.dumps(body["messages"])


def test_response_format(client, upstream, backend):
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    upstream.reply(answer(backend, text='{"title": "x"}'), answer(backend, text="{}"))
    client.chat.completions.create(
        model="m",
        messages=HI,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "t", "schema": schema, "strict": True},
        },
    )
    client.chat.completions.create(model="m", messages=HI,
                                   response_format={"type": "json_object"})  # fmt: skip
    first, second = sent_body(upstream, 0), sent_body(upstream, 1)
    if backend == "openai":
        assert first["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "t", "schema": schema, "strict": True},
        }
        assert second["response_format"] == {"type": "json_object"}
    else:
        assert first["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
        assert second["output_config"] == {
            "format": {"type": "json_schema", "schema": {"type": "object"}}
        }


@pytest.mark.parametrize(
    ("body", "param", "needle"),
    [
        ({"n": 2}, "n", "one choice"),
        ({"modalities": ["text", "audio"]}, "modalities", "audio"),
        ({"functions": [{"name": "f"}]}, "functions", "tools"),
        ({"messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}]}]},
         "messages[0].content[0]", "audio"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "r"}]},
         "messages[1].tool_calls[0].function.arguments", "JSON object"),
        ({"messages": [{"role": "user", "content": "q"},
                       {"role": "tool", "tool_call_id": "c9", "content": "r"}]},
         "messages[1].tool_call_id", "c9"),
        ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "user", "content": "next"}]},
         "messages[1].tool_calls", "c1"),
        ({"temperature": "hot"}, "temperature", "a number"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "'user'"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort", "extreme"),
    ],
)  # fmt: skip
def test_bad_requests_are_400s_naming_the_field(start_relay, upstream, body, param, needle):
    # Parsing fails before any backend is chosen: one backend kind suffices.
    relay = start_relay(one_provider("openai", upstream.url))
    client = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    kwargs = {"messages": HI, **body}
    messages = kwargs.pop("messages")
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="m", messages=messages, extra_body=kwargs)
    err = info.value.body
    assert err["type"] == "invalid_request_error"
    assert err["param"] == param, err
    assert needle in err["message"]
    assert upstream.requests == []


def test_long_backend_tool_ids_are_shortened_and_restored(client, upstream, backend):
    long_id = "toolu_" + "x" * 60
    upstream.reply(answer(backend, calls=[(long_id, "get_weather", {"city": "Oslo"})]))
    out = client.chat.completions.create(model="m", messages=HI, tools=TOOLS)
    short = out.choices[0].message.tool_calls[0].id
    assert len(short) <= 40 and short != long_id
    upstream.reply(answer(backend, text="Sunny."))
    messages = [*HI, out.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": short, "content": "sunny"}]  # fmt: skip
    client.chat.completions.create(model="m", messages=messages, tools=TOOLS)
    body = sent_body(upstream, 1)
    if backend == "anthropic":
        assert body["messages"][1]["content"][0]["id"] == long_id
        assert body["messages"][2]["content"][0]["tool_use_id"] == long_id
    else:  # the openai strategy shortens it its own way, the same on the call and the result
        sent_id = body["messages"][1]["tool_calls"][0]["id"]
        assert len(sent_id) <= 40 and body["messages"][2]["tool_call_id"] == sent_id


def test_unknown_chat_paths_get_openai_errors(start_relay, upstream):
    relay = start_relay(one_provider("openai", upstream.url, model="up-model"))
    resp = requests.post(relay.url + "/v1/chat/nothing", json={}, timeout=5)
    assert resp.status_code == 404
    err = resp.json()["error"]
    assert err["code"] == "not_found" and "/v1/chat/completions" in err["message"]
    resp = requests.get(relay.url + "/v1/chat/completions", timeout=5)
    assert resp.status_code == 405 and resp.json()["error"]["type"] == "invalid_request_error"
    client = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    model = client.models.retrieve("up-model")
    assert (model.id, model.object, model.owned_by) == ("up-model", "model", "up")


@pytest.mark.parametrize("stream", [False, True])
def test_tool_names_and_ids_anthropic_refuses_get_stand_ins(start_relay, upstream, stream):
    """MCP-style names (``files.read``) and vendor call ids (``functions.files.read:0``) do not
    match Anthropic's patterns: the upstream gets legal stand-ins, the client its own names."""
    relay = start_relay(one_provider("anthropic", upstream.url, model="up-model"))
    client = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    tools = [{"type": "function", "function": {
        "name": "files.read", "parameters": {"type": "object", "properties": {}}}}]  # fmt: skip
    stand_in = legal_name("files.read", 128)
    upstream.reply(answer("anthropic", calls=[("toolu_1", stand_in, {"p": "a"})], stream=stream))
    messages = [
        {"role": "user", "content": "read a"},
        {"role": "assistant", "content": None, "tool_calls": [{
            "id": "functions.files.read:0", "type": "function",
            "function": {"name": "files.read", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "functions.files.read:0", "content": "old"},
        {"role": "user", "content": "again"},
    ]  # fmt: skip
    kwargs = {"model": "m", "messages": messages, "tools": tools,
              "tool_choice": {"type": "function", "function": {"name": "files.read"}}}  # fmt: skip
    if stream:
        chunks = list(client.chat.completions.create(**kwargs, stream=True))
        names = [tc.function.name for c in chunks if c.choices
                 for tc in c.choices[0].delta.tool_calls or () if tc.function.name]  # fmt: skip
    else:
        out = client.chat.completions.create(**kwargs)
        names = [t.function.name for t in out.choices[0].message.tool_calls]
    assert names == ["files.read"]
    body = sent_body(upstream)
    legal = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
    assert body["tools"][0]["name"] == body["tool_choice"]["name"] == stand_in
    assert legal.match(stand_in) and stand_in != "files.read"
    call, result = body["messages"][1]["content"][0], body["messages"][2]["content"][0]
    assert call["name"] == stand_in
    assert call["id"] == result["tool_use_id"] and re.match(r"^[a-zA-Z0-9_-]+$", call["id"])
