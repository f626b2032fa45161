"""google-genai through ccrelay to scripted OpenAI-Chat and Anthropic upstreams.

Every test runs the real server and the official SDK (retries off) and asserts both what the
client got and what the upstream received.
"""

from __future__ import annotations

import json

import pytest
import requests
from google.genai import errors, types

from tests.conftest import one_provider
from tests.fakes.gemini_support import (
    anthropic_events,
    anthropic_message,
    chat_chunk,
    chat_completion,
    chat_text_stream,
    chat_tool_stream,
    genai_client,
)
from tests.fakes.upstream import Reply

WRITE_FILE = types.FunctionDeclaration(
    name="write_file",
    description="Write a file",
    parameters_json_schema={
        "type": "object",
        "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["file_path", "content"],
    },
)
TOOLS = [types.Tool(function_declarations=[WRITE_FILE])]
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)


@pytest.fixture
def chat_relay(start_relay, upstream):
    return start_relay(one_provider("openai", upstream.url, model="gpt-up"))


@pytest.fixture
def claude_relay(start_relay, upstream):
    return start_relay(one_provider("anthropic", upstream.url, model="claude-up"))


# --- text -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_text_to_an_openai_upstream(chat_relay, upstream, version):
    upstream.reply(Reply(json=chat_completion({"content": "Hello there"})))
    client = genai_client(chat_relay.url, version)
    resp = client.models.generate_content(
        model="gemini-2.5-flash",
        contents="hi",
        config=types.GenerateContentConfig(
            system_instruction="Be brief.", max_output_tokens=100, temperature=0.5,
            top_p=0.9, top_k=40, stop_sequences=["END"],
        ),
    )  # fmt: skip
    assert resp.text == "Hello there"
    assert resp.candidates[0].finish_reason == types.FinishReason.STOP
    assert resp.model_version == "gemini-2.5-flash"
    assert resp.usage_metadata.prompt_token_count == 12
    assert resp.usage_metadata.candidates_token_count == 3
    assert resp.usage_metadata.total_token_count == 15
    sent = upstream.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-upstream"
    assert "client-key" not in json.dumps(sent.headers) + json.dumps(sent.body)
    body = sent.body
    assert body["model"] == "gpt-up"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert (body["max_tokens"], body["temperature"], body["top_p"], body["stop"]) == (
        100, 0.5, 0.9, ["END"],
    )  # fmt: skip
    line = chat_relay.token_lines()[0]
    assert "client_model=gemini-2.5-flash" in line and "dialect=gemini" in line


def test_text_to_an_anthropic_upstream(claude_relay, upstream):
    upstream.reply(Reply(json=anthropic_message([{"type": "text", "text": "Hi from Claude"}],
                                                usage={"input_tokens": 7, "output_tokens": 4,
                                                       "cache_read_input_tokens": 3})))  # fmt: skip
    client = genai_client(claude_relay.url)
    resp = client.models.generate_content(
        model="gemini-2.5-pro", contents="hello",
        config=types.GenerateContentConfig(system_instruction="Be brief.", max_output_tokens=50),
    )  # fmt: skip
    assert resp.text == "Hi from Claude"
    usage = resp.usage_metadata
    assert (usage.prompt_token_count, usage.cached_content_token_count) == (10, 3)
    assert (usage.candidates_token_count, usage.total_token_count) == (4, 14)
    assert resp.response_id == "msg_up_1"
    sent = upstream.requests[0]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-test-upstream"
    assert sent.body == {
        "model": "claude-up",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        "system": [{"type": "text", "text": "Be brief."}],
        "max_tokens": 50,
    }


def test_key_in_the_query_string_is_accepted_and_never_forwarded(chat_relay, upstream):
    upstream.reply(Reply(json=chat_completion({"content": "ok"})))
    resp = requests.post(
        chat_relay.url + "/v1beta/models/gemini-2.5-flash:generateContent?key=secret-client-key",
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["candidates"][0]["content"] == {"role": "model", "parts": [{"text": "ok"}]}
    sent = upstream.requests[0]
    assert "secret-client-key" not in sent.path + json.dumps(sent.headers) + json.dumps(sent.body)


# --- streaming --------------------------------------------------------------------------------


def test_streaming_text_from_an_openai_upstream(chat_relay, upstream):
    upstream.reply(Reply(sse=chat_text_stream("Hello wörld, streamed"), chunk_delay=0.1))
    client = genai_client(chat_relay.url)
    chunks = list(client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"))
    assert "".join(c.text or "" for c in chunks) == "Hello wörld, streamed"
    assert len(chunks) >= 2
    last = chunks[-1]
    assert last.candidates[0].finish_reason == types.FinishReason.STOP
    assert last.usage_metadata.prompt_token_count == 20
    assert last.usage_metadata.candidates_token_count == 4
    assert all(c.candidates[0].finish_reason is None for c in chunks[:-1])
    assert upstream.requests[0].body["stream"] is True


def test_streaming_from_an_anthropic_upstream_with_thoughts(claude_relay, upstream):
    content = [
        {"type": "thinking", "thinking": "Let me think about it.", "signature": "sig-anthropic"},
        {"type": "text", "text": "The answer is 4."},
    ]
    upstream.reply(Reply(sse=anthropic_events(content), event_names=True))
    client = genai_client(claude_relay.url)
    chunks = list(client.models.generate_content_stream(
        model="gemini-2.5-pro", contents="2+2?",
        config=types.GenerateContentConfig(
            thinking_config=types.ThinkingConfig(thinking_budget=2048, include_thoughts=True)),
    ))  # fmt: skip
    parts = [p for c in chunks for p in c.candidates[0].content.parts or ()]
    thought = "".join(p.text for p in parts if p.thought)
    text = "".join(p.text for p in parts if not p.thought and p.text)
    assert (thought, text) == ("Let me think about it.", "The answer is 4.")
    sent = upstream.requests[0].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["stream"] is True
    usage = chunks[-1].usage_metadata
    assert (usage.prompt_token_count, usage.cached_content_token_count) == (14, 4)


def test_json_array_stream_without_alt_sse(chat_relay, upstream):
    upstream.reply(Reply(sse=chat_text_stream("one two three"), chunk_delay=0.1))
    resp = requests.post(
        chat_relay.url + "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        headers={"x-goog-api-key": "client-key"},
        json={"contents": [{"role": "user", "parts": [{"text": "count"}]}]},
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("application/json")
    chunks = resp.json()  # the whole body is one JSON array
    assert isinstance(chunks, list) and len(chunks) >= 2
    text = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert text == "one two three"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert "usageMetadata" in chunks[-1]


# --- tools ------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["openai", "anthropic"])
def test_two_turn_tool_loop(start_relay, upstream, backend):
    relay = start_relay(one_provider(backend, upstream.url, model="m-up"))
    args = {"file_path": "hello.txt", "content": 'hi "there" \u00e9'}
    if backend == "openai":
        upstream.reply(Reply(sse=chat_tool_stream("call_abc", "write_file", args)))
    else:
        upstream.reply(Reply(sse=anthropic_events(
            [{"type": "tool_use", "id": "call_abc", "name": "write_file", "input": args}],
            stop="tool_use"), event_names=True))  # fmt: skip
    client = genai_client(relay.url)
    config = types.GenerateContentConfig(tools=TOOLS, automatic_function_calling=NO_AFC)
    history = [types.Content(role="user", parts=[types.Part(text="Create hello.txt")])]
    chunks = list(client.models.generate_content_stream(
        model="gemini-2.5-flash", contents=history, config=config))  # fmt: skip
    calls = [p.function_call for c in chunks for p in c.candidates[0].content.parts or ()
             if p.function_call]  # fmt: skip
    assert len(calls) == 1
    (call,) = calls
    assert (call.name, call.args, call.id) == ("write_file", args, "call_abc")
    assert chunks[-1].candidates[0].finish_reason == types.FinishReason.STOP

    # Turn two: the client sends the call back and its result (by name, no id).
    history += [
        types.Content(role="model", parts=[types.Part(function_call=types.FunctionCall(
            name="write_file", args=args, id="call_abc"))]),
        types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
            name="write_file", response={"output": "written"}))]),
    ]  # fmt: skip
    if backend == "openai":
        upstream.reply(Reply(json=chat_completion({"content": "Done."})))
    else:
        upstream.reply(Reply(json=anthropic_message([{"type": "text", "text": "Done."}])))
    resp = client.models.generate_content(model="gemini-2.5-flash", contents=history,
                                          config=config)  # fmt: skip
    assert resp.text == "Done."
    sent = upstream.requests[1].body
    if backend == "openai":
        assert sent["messages"][1]["tool_calls"][0]["id"] == "call_abc"
        assert json.loads(sent["messages"][1]["tool_calls"][0]["function"]["arguments"]) == args
        assert sent["messages"][2] == {"role": "tool", "tool_call_id": "call_abc",
                                       "content": "written"}  # fmt: skip
        assert sent["tools"][0]["function"]["parameters"] == WRITE_FILE.parameters_json_schema
    else:
        assert sent["messages"][1] == {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_abc", "name": "write_file", "input": args}]}  # fmt: skip
        assert sent["messages"][2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_abc", "content": "written"}]}  # fmt: skip
        assert sent["tools"][0]["input_schema"] == WRITE_FILE.parameters_json_schema


def test_calls_without_ids_get_stable_ids_paired_by_name_and_order(claude_relay, upstream):
    upstream.reply(Reply(json=anthropic_message([{"type": "text", "text": "ok"}])),
                   Reply(json=anthropic_message([{"type": "text", "text": "ok"}])))  # fmt: skip
    contents = [
        {"role": "user", "parts": [{"text": "weather in Oslo and Bergen"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "weather", "args": {"city": "Oslo"}}},
            {"functionCall": {"name": "weather", "args": {"city": "Bergen"}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "weather", "response": {"output": "4C"}}},
            {"functionResponse": {"name": "weather", "response": {"output": "7C"}}}]},
    ]  # fmt: skip
    url = claude_relay.url + "/v1beta/models/g:generateContent"
    for _ in range(2):
        assert requests.post(url, json={"contents": contents}, timeout=10).status_code == 200
    first, second = (r.body["messages"] for r in upstream.requests)
    assert first == second  # the same history always gives the same ids
    ids = [b["id"] for b in first[1]["content"]]
    assert len(set(ids)) == 2
    results = first[2]["content"]
    assert [(r["tool_use_id"], r["content"]) for r in results] == [(ids[0], "4C"), (ids[1], "7C")]


# --- errors -----------------------------------------------------------------------------------


def test_bad_request_is_a_gemini_400(chat_relay, upstream):
    client = genai_client(chat_relay.url)
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(
            model="gemini-2.5-flash", contents="hi",
            config=types.GenerateContentConfig(candidate_count=2),
        )  # fmt: skip
    assert info.value.code == 400
    assert info.value.status == "INVALID_ARGUMENT"
    assert "candidateCount" in info.value.message
    assert upstream.requests == []


@pytest.mark.parametrize(
    ("status", "body", "code", "gstatus"),
    [
        (429, {"error": {"message": "slow down", "type": "rate_limit"}}, 429, "RESOURCE_EXHAUSTED"),
        (401, {"error": {"message": "bad key"}}, 401, "UNAUTHENTICATED"),
        (400, {"error": {"message": "This model's maximum context length is 8192 tokens",
                         "code": "context_length_exceeded"}}, 400, "INVALID_ARGUMENT"),
        (503, {"error": {"message": "overloaded"}}, 503, "UNAVAILABLE"),
    ],
)  # fmt: skip
def test_upstream_errors_reach_the_sdk_in_gemini_shape(
    chat_relay, upstream, status, body, code, gstatus
):
    upstream.reply(Reply(status=status, json=body, headers={"retry-after": "7"}))
    client = genai_client(chat_relay.url)
    exc = errors.ClientError if code < 500 else errors.ServerError
    with pytest.raises(exc) as info:
        client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert (info.value.code, info.value.status) == (code, gstatus)
    if status == 429:
        assert info.value.details["error"]["details"][0]["retryDelay"] == "7s"
    if "context" in json.dumps(body):
        assert "input token count exceeds the maximum" in info.value.message


def test_mid_stream_error_is_raised_by_the_sdk(chat_relay, upstream):
    upstream.reply(Reply(sse=[chat_chunk({"role": "assistant", "content": "par"}),
                              chat_chunk({"content": "tial"})]))  # ends without finish  # fmt: skip
    client = genai_client(chat_relay.url)
    seen = []
    with pytest.raises(errors.APIError) as info:
        for chunk in client.models.generate_content_stream(model="g", contents="hi"):
            seen.append(chunk.text)
    assert "".join(seen) == "partial"
    assert info.value.code == 502


def test_unknown_method_is_a_gemini_404(chat_relay):
    resp = requests.post(chat_relay.url + "/v1beta/models/g:embedContent", json={}, timeout=10)
    assert resp.status_code == 404
    assert resp.json()["error"]["status"] == "NOT_FOUND"
    assert ":generateContent" in resp.json()["error"]["message"]


def test_file_data_is_a_clear_400_for_non_gemini_backends(chat_relay, upstream):
    client = genai_client(chat_relay.url)
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="g", contents=[types.Content(role="user", parts=[
            types.Part(text="describe"),
            types.Part(file_data=types.FileData(
                file_uri="https://generativelanguage.googleapis.com/v1beta/files/abc",
                mime_type="application/pdf"))])])  # fmt: skip
    assert info.value.code == 400
    assert "contents[0].parts[1].fileData" in info.value.message
    assert "inlineData" in info.value.message
    assert upstream.requests == []


# --- countTokens and models -------------------------------------------------------------------


def test_count_tokens_both_body_forms(chat_relay, upstream):
    client = genai_client(chat_relay.url)
    counted = client.models.count_tokens(model="gemini-2.5-flash", contents="hello world " * 20)
    assert counted.total_tokens > 20
    url = chat_relay.url + "/v1beta/models/gemini-2.5-flash:countTokens"
    contents = [{"role": "user", "parts": [{"text": "hello world " * 20}]}]
    plain = requests.post(url, json={"contents": contents}, timeout=10).json()
    wrapped = requests.post(url, json={"generateContentRequest": {
        "model": "models/gemini-2.5-flash", "contents": contents,
        "systemInstruction": {"parts": [{"text": "You are a very careful assistant. " * 10}]}}},
        timeout=10).json()  # fmt: skip
    assert plain["totalTokens"] == counted.total_tokens
    assert wrapped["totalTokens"] > plain["totalTokens"]  # the system instruction counts too
    snake = requests.post(url, json={"generate_content_request": {"contents": contents}},
                          timeout=10).json()  # fmt: skip
    assert snake["totalTokens"] == plain["totalTokens"]
    assert upstream.requests == []


@pytest.mark.parametrize("version", ["v1beta", "v1"])
def test_models_list_and_get(start_relay, upstream, version):
    relay = start_relay(one_provider("openai", upstream.url, model="gpt-up", models=["gpt-alt"]))
    client = genai_client(relay.url, version)
    names = [m.name for m in client.models.list()]
    assert names == ["models/gpt-up", "models/gpt-alt"]
    model = client.models.get(model="gpt-alt")
    assert model.name == "models/gpt-alt"
    assert "generateContent" in model.supported_actions
    with pytest.raises(errors.ClientError) as info:
        client.models.get(model="nope")
    assert info.value.code == 404


# --- access keys and groups -------------------------------------------------------------------


def test_access_keys_and_group_prefixes(start_relay, upstream):
    config = one_provider("openai", upstream.url)
    config["access_keys"] = [{"name": "gemini-cli", "key": "gk-secret-123"}]
    config["groups"] = {"terse": {"system_prompt": {"mode": "replace", "text": "Be terse."}}}
    relay = start_relay(config)
    upstream.default = Reply(json=chat_completion({"content": "ok"}))
    client = genai_client(relay.url + "/terse", key="gk-secret-123")
    assert client.models.generate_content(model="g", contents="hi").text == "ok"
    assert upstream.requests[0].body["messages"][0] == {"role": "system", "content": "Be terse."}
    url = relay.url + "/v1beta/models/g:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    assert requests.post(url + "?key=gk-secret-123", json=body, timeout=10).status_code == 200
    stranger = genai_client(relay.url, key="wrong-key-0000")
    with pytest.raises(errors.ClientError) as info:
        stranger.models.generate_content(model="g", contents="hi")
    assert (info.value.code, info.value.status) == (401, "UNAUTHENTICATED")
    line = relay.token_lines(2)[0]
    assert "key=gemini-cli" in line and "gk-secret-123" not in "".join(relay.token_lines(2))
