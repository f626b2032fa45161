"""The anthropic SDK (and Claude Code's own requests) through ccrelay to a scripted Gemini API."""

from __future__ import annotations

import json

import anthropic
import pytest
import requests

from tests.conftest import FIXTURES
from tests.fakes import gemini as g
from tests.fakes.upstream import Reply

BYPASS = "skip_thought_signature_validator"
WRITE = {
    "name": "Write", "description": "Write a file",
    "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                     "properties": {"file_path": {"type": "string"},
                                    "content": {"type": "string"}},
                     "required": ["file_path", "content"], "additionalProperties": False},
}  # fmt: skip


def gemini_config(url: str, model: str = "gemini-2.5-flash", **extra: object) -> dict:
    return {
        "provider": {"name": "gem"},
        "providers": {"gem": {"type": "gemini", "base_url": url + "/v1beta",
                              "api_key": "gm-test-key", "model": model, **extra}},
    }  # fmt: skip


@pytest.fixture
def relay(start_relay, upstream):
    return start_relay(gemini_config(upstream.url))


@pytest.fixture
def sdk(relay):
    return anthropic.Anthropic(base_url=relay.url, api_key="client-key", max_retries=0)


def test_streamed_tool_loop_returns_the_thought_signature(sdk, upstream, relay):
    upstream.reply(g.sse([
        g.chunk({"text": "The user wants a file.", "thought": True}, usage=g.usage(200, 0)),
        g.chunk({"functionCall": {"name": "Write",
                                  "args": {"file_path": "hello.txt", "content": "hi"}},
                 "thoughtSignature": "Q2lRQkhlbGxv"},
                finish="STOP", usage=g.usage(200, 12, thoughts=30)),
    ]))  # fmt: skip
    messages: list = [{"role": "user", "content": "Create hello.txt containing hi"}]
    with sdk.messages.stream(model="claude-sonnet-4-5", max_tokens=32000, tools=[WRITE],
                             thinking={"type": "enabled", "budget_tokens": 2048},
                             messages=messages) as stream:  # fmt: skip
        first = stream.get_final_message()
    assert [b.type for b in first.content] == ["thinking", "thinking", "tool_use"]
    assert first.content[0].thinking == "The user wants a file."
    assert first.content[1].signature == "ccrelay:gemini:Q2lRQkhlbGxv"
    call = first.content[2]
    assert (call.name, call.input) == ("Write", {"file_path": "hello.txt", "content": "hi"})
    assert call.id.startswith("toolu_gemini_")
    assert first.stop_reason == "tool_use"
    assert (first.usage.input_tokens, first.usage.output_tokens) == (200, 42)

    sent = upstream.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    assert sent.headers["x-goog-api-key"] == "gm-test-key"
    assert "authorization" not in sent.headers and "client-key" not in json.dumps(sent.headers)
    assert sent.body["generationConfig"]["thinkingConfig"] == {
        "includeThoughts": True,
        "thinkingBudget": 2048,
    }
    decl = sent.body["tools"][0]["functionDeclarations"][0]
    assert decl["parametersJsonSchema"] == WRITE["input_schema"]

    # Turn two: the client sends its history back as it stored it.
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                      "content": "File created"}]},
    ]  # fmt: skip
    upstream.reply(g.sse([g.chunk({"text": "Created hello.txt."}, finish="STOP",
                                  usage=g.usage(260, 5))]))  # fmt: skip
    with sdk.messages.stream(model="claude-sonnet-4-5", max_tokens=32000, tools=[WRITE],
                             thinking={"type": "enabled", "budget_tokens": 2048},
                             messages=messages) as stream:  # fmt: skip
        second = stream.get_final_message()
    assert second.content[-1].text == "Created hello.txt."
    contents = upstream.requests[1].body["contents"]
    # The unsigned thought summary is not sent back; the signature is back on its call,
    # untagged, and the id ccrelay made up is not sent.
    assert contents[1] == {"role": "model", "parts": [
        {"functionCall": {"name": "Write", "args": {"file_path": "hello.txt", "content": "hi"}},
         "thoughtSignature": "Q2lRQkhlbGxv"},
    ]}  # fmt: skip
    assert contents[2] == {
        "role": "user",
        "parts": [{"functionResponse": {"name": "Write", "response": {"output": "File created"}}}],
    }
    lines = relay.token_lines(expect=2)
    assert "provider=gem | model=gemini-2.5-flash" in lines[0] and "status=success" in lines[0]


def test_text_answer_usage_and_token_log(sdk, upstream, relay):
    upstream.reply(Reply(json=g.response([{"text": "Hello there"}],
                                         usage=g.usage(30, 4, thoughts=6, cached=10))))  # fmt: skip
    msg = sdk.messages.create(model="claude-x", max_tokens=100, system="Be brief.",
                              messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    assert msg.content[0].text == "Hello there" and msg.stop_reason == "end_turn"
    assert (msg.usage.input_tokens, msg.usage.cache_read_input_tokens,
            msg.usage.output_tokens) == (20, 10, 10)  # fmt: skip
    sent = upstream.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:generateContent"
    assert sent.body["systemInstruction"] == {"parts": [{"text": "Be brief."}]}
    line = relay.token_lines()[0]
    assert "input_tokens=20 | output_tokens=10 | cache_read_tokens=10" in line


def test_count_tokens_uses_count_tokens(sdk, upstream):
    upstream.reply(Reply(json={"totalTokens": 1234}))
    count = sdk.messages.count_tokens(model="claude-x", tools=[WRITE],
                                      messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    assert count.input_tokens == 1234
    sent = upstream.requests[0]
    assert sent.path == "/v1beta/models/gemini-2.5-flash:countTokens"
    inner = sent.body["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash" and inner["tools"]


def test_output_limit_of_the_profile_is_what_gemini_receives(start_relay, upstream):
    relay = start_relay(gemini_config(upstream.url, model="gemini-2.0-flash"))
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    upstream.reply(Reply(json=g.response([{"text": "ok"}])))
    sdk.messages.create(model="claude-x", max_tokens=20000, tools=[WRITE],
                        thinking={"type": "adaptive"},
                        messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    body = upstream.requests[0].body
    assert body["generationConfig"] == {"maxOutputTokens": 8192}, "clamped; no thinking config"
    params = body["tools"][0]["functionDeclarations"][0]["parameters"]
    assert params == {"type": "OBJECT", "properties": {"file_path": {"type": "STRING"},
                                                       "content": {"type": "STRING"}},
                      "required": ["file_path", "content"]}  # fmt: skip


def test_rate_limit_reaches_the_sdk_with_its_retry_after(sdk, upstream):
    upstream.reply(Reply(429, json=g.error(429, "Resource has been exhausted", "RESOURCE_EXHAUSTED",
                                           details=[{"@type": "type.googleapis.com/google.rpc."
                                                     "RetryInfo", "retryDelay": "17s"}])))  # fmt: skip
    with pytest.raises(anthropic.RateLimitError) as info:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert info.value.response.headers["retry-after"] == "17"


def test_a_bad_key_is_an_authentication_error(sdk, upstream):
    upstream.reply(Reply(400, json=g.error(400, "API key not valid. Please pass a valid API key.",
                                           "INVALID_ARGUMENT", details=[
                                               {"reason": "API_KEY_INVALID"}])))  # fmt: skip
    with pytest.raises(anthropic.AuthenticationError) as bad:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "gm-test-key" not in str(bad.value.body)


def test_error_inside_the_stream_ends_it_as_an_error(sdk, upstream, relay):
    upstream.reply(g.sse([g.chunk({"text": "Partial"}),
                          g.error(500, "Internal error encountered.", "INTERNAL")]))  # fmt: skip
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk.messages.stream(model="c", max_tokens=50,
                                 messages=[{"role": "user", "content": "x"}]) as stream:  # fmt: skip
            for _ in stream:
                pass
    assert "Internal error encountered" in str(info.value)
    assert "status=error" in relay.token_lines()[0]


def test_malformed_function_call_falls_back(start_relay, upstream, upstream2):
    config = gemini_config(upstream.url)
    config["provider"]["fallback_providers"] = ["spare"]
    config["providers"]["spare"] = {"type": "gemini", "base_url": upstream2.url + "/v1beta",
                                    "api_key": "k2", "model": "gemini-2.5-pro"}  # fmt: skip
    relay = start_relay(config)
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    upstream.reply(g.sse([g.chunk(finish="MALFORMED_FUNCTION_CALL")]))
    upstream2.reply(g.sse([g.chunk({"text": "fine"}, finish="STOP")]))
    with sdk.messages.stream(model="c", max_tokens=50,
                             messages=[{"role": "user", "content": "x"}]) as stream:  # fmt: skip
        assert stream.get_final_message().content[0].text == "fine"
    assert upstream2.requests[0].path.startswith("/v1beta/models/gemini-2.5-pro:")


def test_claude_code_turn_two_without_signatures_gets_the_bypass(relay, upstream):
    """Fixture 02 went to a backend that signs nothing: its call must not make Gemini 3 fail."""
    fixture = json.loads((FIXTURES / "claude_code" / "02_messages_turn2_tool_result_stream.json")
                         .read_text())  # fmt: skip
    upstream.reply(g.sse([g.chunk({"text": "Done."}, finish="STOP")]))
    resp = requests.post(relay.url + "/v1/messages?beta=true", json=fixture["body"],
                         headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
                         timeout=10)  # fmt: skip
    assert resp.status_code == 200 and "Done." in resp.text
    contents = upstream.requests[0].body["contents"]
    model_turns = [c for c in contents if c["role"] == "model"]
    call_part = model_turns[-1]["parts"][0]
    assert "functionCall" in call_part and call_part["thoughtSignature"] == BYPASS


# --- an OpenAI Chat client (the openai SDK) ---------------------------------------------------

CHAT_TOOLS = [{"type": "function", "function": {
    "name": "Write", "description": "Write a file",
    "parameters": {"type": "object", "properties": {"file_path": {"type": "string"},
                                                   "content": {"type": "string"}}}}}]  # fmt: skip


@pytest.fixture
def chat(relay):
    import openai

    return openai.OpenAI(base_url=relay.url + "/v1", api_key="client-key", max_retries=0)


def _call_turn(chat, messages):
    stream = chat.chat.completions.create(model="gpt-x", messages=messages, tools=CHAT_TOOLS,
                                          stream=True, stream_options={"include_usage": True})  # fmt: skip
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for tc in choice.delta.tool_calls or ():
                entry = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] = tc.id or entry["id"]
                entry["name"] = (tc.function.name or "") or entry["name"]
                entry["arguments"] += tc.function.arguments or ""
    return list(calls.values()), finish


def test_openai_client_tool_loop_keeps_the_signature(chat, upstream):
    """A Chat client has no place for signatures: ccrelay keeps the signed thinking under the
    call's id, and Gemini gets its signature back on the call."""
    upstream.reply(g.sse([g.chunk({"functionCall": {"name": "Write", "args": {
        "file_path": "a.txt", "content": "hi"}}, "thoughtSignature": "U0lH"},
        finish="STOP", usage=g.usage(50, 9))]))  # fmt: skip
    messages: list = [{"role": "user", "content": "write a.txt"}]
    calls, finish = _call_turn(chat, messages)
    assert finish == "tool_calls" and [c["name"] for c in calls] == ["Write"]
    assert json.loads(calls[0]["arguments"]) == {"file_path": "a.txt", "content": "hi"}
    messages += [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": calls[0]["id"], "type": "function",
             "function": {"name": "Write", "arguments": calls[0]["arguments"]}}]},
        {"role": "tool", "tool_call_id": calls[0]["id"], "content": "written"},
    ]  # fmt: skip
    upstream.reply(Reply(json=g.response([{"text": "Done."}])))
    answer = chat.chat.completions.create(model="gpt-x", messages=messages, tools=CHAT_TOOLS)
    assert answer.choices[0].message.content == "Done."
    model_turn = upstream.requests[1].body["contents"][1]
    assert model_turn["parts"][0]["thoughtSignature"] == "U0lH"


def test_openai_client_history_without_signatures_gets_the_bypass(chat, upstream):
    """History the relay never saw (another session, a restart): the call turn is unsigned,
    so Gemini 3 gets the documented bypass value instead of answering 400."""
    upstream.reply(Reply(json=g.response([{"text": "Done."}])))
    messages = [
        {"role": "user", "content": "write a.txt"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_from_elsewhere", "type": "function",
             "function": {"name": "Write", "arguments": '{"file_path": "a.txt"}'}}]},
        {"role": "tool", "tool_call_id": "call_from_elsewhere", "content": "written"},
    ]  # fmt: skip
    answer = chat.chat.completions.create(model="gpt-x", messages=messages, tools=CHAT_TOOLS)
    assert answer.choices[0].message.content == "Done."
    parts = upstream.requests[0].body["contents"][1]["parts"]
    assert parts == [{"functionCall": {"name": "Write", "args": {"file_path": "a.txt"},
                                       "id": "call_from_elsewhere"},
                      "thoughtSignature": BYPASS}]  # fmt: skip


# --- an Ollama client (the ollama SDK) --------------------------------------------------------


def test_ollama_client_tool_loop_keeps_the_signature(relay, upstream):
    """An Ollama client has no place for signatures either: the Ollama dialect keeps the
    turn's thinking blocks, and Gemini gets its signature back on the call."""
    import ollama

    client = ollama.Client(host=relay.url)
    upstream.reply(Reply(json=g.response([{"functionCall": {"name": "Write", "args": {
        "file_path": "a.txt", "content": "hi"}}, "thoughtSignature": "T0xM"}],
        usage=g.usage(40, 6))))  # fmt: skip
    messages: list = [{"role": "user", "content": "write a.txt"}]
    first = client.chat(model="gemini-x", messages=messages, tools=CHAT_TOOLS)
    (call,) = first.message.tool_calls
    assert call.function.name == "Write" and call.function.arguments["content"] == "hi"
    messages += [first.message.model_dump(exclude_none=True),
                 {"role": "tool", "tool_name": "Write", "content": "written"}]  # fmt: skip
    upstream.reply(Reply(json=g.response([{"text": "Done."}])))
    second = client.chat(model="gemini-x", messages=messages, tools=CHAT_TOOLS)
    assert second.message.content == "Done."
    parts = upstream.requests[1].body["contents"][1]["parts"]
    assert parts[0]["thoughtSignature"] == "T0xM"
    assert [p["functionCall"]["name"] for p in parts if "functionCall" in p] == ["Write"]
