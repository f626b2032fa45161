"""The anthropic SDK through ccrelay to a scripted Ollama native API (NDJSON streams)."""

from __future__ import annotations

import anthropic
import pytest

from tests.fakes import ollama as o
from tests.fakes.upstream import Reply

WRITE = {
    "name": "Write", "description": "Write a file",
    "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"},
                                                      "content": {"type": "string"}},
                     "required": ["file_path", "content"]},
}  # fmt: skip


def ollama_config(url: str, model: str = "qwen3:8b", **extra: object) -> dict:
    # No api_key: a local Ollama takes none.
    return {"provider": {"name": "local"},
            "providers": {"local": {"type": "ollama", "base_url": url, "model": model,
                                    **extra}}}  # fmt: skip


@pytest.fixture
def relay(start_relay, upstream):
    return start_relay(ollama_config(upstream.url))


@pytest.fixture
def sdk(relay):
    return anthropic.Anthropic(base_url=relay.url, api_key="client-key", max_retries=0)


def test_streamed_tool_loop(sdk, upstream, relay):
    assert relay.health()["providers"]["local"]["configured"] is True
    upstream.reply(o.ndjson([
        o.line(thinking="A file is wanted."),
        o.line(tool_calls=[o.call("Write", {"file_path": "hello.txt", "content": "hi"})]),
        o.done("stop", prompt=812, out=31),
    ]))  # fmt: skip
    messages: list = [{"role": "user", "content": "Create hello.txt containing hi"}]
    with sdk.messages.stream(model="claude-sonnet-4-5", max_tokens=32000, tools=[WRITE],
                             thinking={"type": "adaptive"}, messages=messages) as stream:  # fmt: skip
        first = stream.get_final_message()
    assert [b.type for b in first.content] == ["thinking", "tool_use"]
    call = first.content[1]
    assert call.input == {"file_path": "hello.txt", "content": "hi"}
    assert first.stop_reason == "tool_use"
    assert (first.usage.input_tokens, first.usage.output_tokens) == (812, 31)
    sent = upstream.requests[0]
    assert sent.path == "/api/chat"
    assert "authorization" not in sent.headers
    assert sent.headers["accept"] == "application/x-ndjson"
    body = sent.body
    assert body["model"] == "qwen3:8b" and body["stream"] is True and body["think"] is True
    # a prompt of ~400 tokens (tool use adds Anthropic's 346) + 8,192 of room for the answer,
    # rounded up to a power of two; qwen3's 40,960-token window is not reached
    assert body["options"]["num_ctx"] == 16384
    # the answer may use what the context leaves after the prompt, no more
    assert 15_000 < body["options"]["num_predict"] < 16384 - 300
    assert body["tools"][0]["function"]["parameters"] == WRITE["input_schema"]

    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                      "content": "File created"}]},
    ]  # fmt: skip
    upstream.reply(o.ndjson([o.line(content="Created "), o.line(content="hello.txt."), o.done()]))
    with sdk.messages.stream(model="claude-sonnet-4-5", max_tokens=32000, tools=[WRITE],
                             messages=messages) as stream:  # fmt: skip
        second = stream.get_final_message()
    assert second.content[0].text == "Created hello.txt."
    history = upstream.requests[1].body["messages"]
    assert history[1]["tool_calls"][0]["function"]["arguments"] == call.input
    assert history[1]["thinking"] == "A file is wanted."
    assert history[2] == {"role": "tool", "tool_name": "Write", "content": "File created"}
    assert "status=success" in relay.token_lines(expect=2)[1]


def test_non_streaming_answer(sdk, upstream, relay):
    upstream.reply(Reply(json=o.done("stop", prompt=20, out=3, content="Hello!")))
    msg = sdk.messages.create(model="claude-x", max_tokens=100, system="Be brief.",
                              messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    assert msg.content[0].text == "Hello!"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (20, 3)
    body = upstream.requests[0].body
    assert body["stream"] is False
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "input_tokens=20 | output_tokens=3" in relay.token_lines()[0]


def test_long_prompt_gets_a_context_to_hold_it(sdk, upstream):
    upstream.reply(o.ndjson([o.line(content="ok"), o.done()]))
    long_text = "lorem ipsum dolor sit amet " * 3000  # about 15k tokens
    with sdk.messages.stream(model="c", max_tokens=4096,
                             messages=[{"role": "user", "content": long_text}]) as stream:  # fmt: skip
        stream.get_final_message()
    assert upstream.requests[0].body["options"]["num_ctx"] == 32768


def test_too_long_prompt_is_refused_before_sending(start_relay, upstream):
    relay = start_relay(ollama_config(upstream.url, profile={"context_window": 4096}))
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as info:
        sdk.messages.create(model="c", max_tokens=100, messages=[
            {"role": "user", "content": "lorem ipsum dolor sit amet " * 2000}])  # fmt: skip
    assert info.value.body["error"]["message"].startswith("prompt is too long")
    assert "providers.local.profile.context_window" in info.value.body["error"]["message"]
    assert upstream.requests == [], "nothing was sent upstream"


def test_error_line_mid_stream(sdk, upstream, relay):
    upstream.reply(o.ndjson([o.line(content="Hal"), {"error": "llama runner terminated"}]))
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk.messages.stream(model="c", max_tokens=50,
                                 messages=[{"role": "user", "content": "x"}]) as stream:  # fmt: skip
            for _ in stream:
                pass
    assert "llama runner terminated" in str(info.value)
    assert "status=error" in relay.token_lines()[0]


def test_missing_model_says_how_to_fix_it(sdk, upstream):
    upstream.reply(Reply(404, json={"error": 'model "qwen3:8b" not found, try pulling it first'}))
    with pytest.raises(anthropic.NotFoundError) as info:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "ollama pull qwen3:8b" in info.value.body["error"]["message"]


def test_tools_to_a_model_without_tools_are_refused_by_its_profile(start_relay, upstream):
    relay = start_relay(ollama_config(upstream.url, model="gemma3:4b"))
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as info:
        sdk.messages.create(model="c", max_tokens=5, tools=[WRITE],
                            messages=[{"role": "user", "content": "x"}])  # fmt: skip
    assert "gemma3:4b" in info.value.body["error"]["message"]
    assert "cannot call tools" in info.value.body["error"]["message"]
    assert upstream.requests == []


# --- an OpenAI Chat client (the openai SDK) ---------------------------------------------------


def test_openai_client_streams_from_ollama(relay, upstream):
    import openai

    chat = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    upstream.reply(o.ndjson([o.line(thinking="hmm"), o.line(content="Hel"),
                             o.line(content="lo"), o.done(prompt=11, out=2)]))  # fmt: skip
    stream = chat.chat.completions.create(
        model="gpt-x", messages=[{"role": "user", "content": "hi"}], max_tokens=300,
        stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello"
    assert chunks[-1].usage.prompt_tokens == 11 and chunks[-1].usage.completion_tokens == 2
    body = upstream.requests[0].body
    assert body["options"]["num_predict"] == 300 and body["options"]["num_ctx"] == 8192


def test_openai_client_gets_context_length_exceeded(start_relay, upstream):
    import openai

    relay = start_relay(ollama_config(upstream.url, profile={"context_window": 2048}))
    chat = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        chat.chat.completions.create(model="gpt-x", messages=[
            {"role": "user", "content": "lorem ipsum dolor sit amet " * 1000}])  # fmt: skip
    assert info.value.body["code"] == "context_length_exceeded"
    assert upstream.requests == []


# --- an Ollama client (the ollama SDK) --------------------------------------------------------


def test_ollama_client_to_an_ollama_backend_keeps_its_options(relay, upstream):
    import ollama

    client = ollama.Client(host=relay.url)
    upstream.reply(o.ndjson([o.line(content="Hi"), o.done(prompt=9, out=1)]))
    parts = list(client.chat(model="qwen3:8b", messages=[{"role": "user", "content": "hi"}],
                             stream=True, keep_alive="1m",
                             options={"repeat_penalty": 1.05, "num_ctx": 16384,
                                      "temperature": 0.1}))  # fmt: skip
    assert "".join(p.message.content for p in parts) == "Hi" and parts[-1].done
    body = upstream.requests[0].body
    assert body["keep_alive"] == "1m"
    options = body["options"]
    assert options["repeat_penalty"] == 1.05 and options["temperature"] == 0.1
    assert options["num_ctx"] == 16384, "the client's own context size wins when the prompt fits"
    shown = client.show("qwen3:8b")
    assert shown.modelinfo and 40_960 in shown.modelinfo.values(), "context from the profile"


def test_ollama_client_num_ctx_too_small_is_refused(relay, upstream):
    import ollama

    client = ollama.Client(host=relay.url)
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="qwen3:8b", options={"num_ctx": 2048},
                    messages=[{"role": "user", "content": "lorem ipsum dolor " * 2000}])  # fmt: skip
    assert info.value.status_code == 400 and "prompt is too long" in info.value.error
    assert upstream.requests == []
