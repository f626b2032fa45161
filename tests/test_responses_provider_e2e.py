"""The anthropic SDK through ccrelay to a scripted OpenAI Responses upstream.

(The OpenAI Chat and Responses client dialects are being merged separately; once they are
on main, the same upstream serves them through ``ctx.side_for`` rules tested in
``test_responses_provider.py``.)
"""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.conftest import one_provider
from tests.fakes.responses import (
    function_call,
    message,
    reasoning,
    response_body,
    response_events,
)
from tests.fakes.upstream import Reply

TOOLS = [{
    "name": "Write", "description": "Write a file",
    "input_schema": {"type": "object", "properties": {"file_path": {"type": "string"},
                     "content": {"type": "string"}}, "required": ["file_path", "content"]},
}]  # fmt: skip


@pytest.fixture
def relay(start_relay, upstream):
    return start_relay(one_provider("responses", upstream.url + "/v1", model="gpt-5-codex"))


@pytest.fixture
def sdk(relay):
    return anthropic.Anthropic(base_url=relay.url, api_key="client-key", max_retries=0)


def sse(items, **kw):
    return Reply(sse=response_events(items, **kw), event_names=True)


def test_non_streaming_text(sdk, upstream, relay):
    upstream.reply(Reply(json=response_body([message("Hello there")])))
    msg = sdk.messages.create(model="claude-sonnet-4-5", max_tokens=100, system="Be brief.",
                              messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    assert msg.content[0].text == "Hello there" and msg.stop_reason == "end_turn"
    assert msg.model == "claude-sonnet-4-5"
    assert (msg.usage.input_tokens, msg.usage.cache_read_input_tokens) == (100, 20)
    sent = upstream.requests[0]
    assert sent.path == "/v1/responses"
    assert sent.headers["authorization"] == "Bearer sk-test-upstream"
    assert sent.body["model"] == "gpt-5-codex" and sent.body["instructions"] == "Be brief."
    assert sent.body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}
    ]
    assert sent.body["store"] is False and sent.body["stream"] is False
    assert sent.body["include"] == ["reasoning.encrypted_content"]
    line = relay.token_lines()[0]
    assert "provider=up | model=gpt-5-codex" in line and "input_tokens=100" in line
    assert "cache_read_tokens=20" in line and "status=success" in line


def test_streaming_text_with_reasoning_summary(sdk, upstream):
    upstream.reply(sse([reasoning("rs_1", "Think **first**.", enc="gAAAenc1"),
                        message("Hello wörld, split across many events")], chunk=3))  # fmt: skip
    with sdk.messages.stream(model="claude-x", max_tokens=500,
                             thinking={"type": "enabled", "budget_tokens": 1024},
                             messages=[{"role": "user", "content": "hi"}]) as stream:  # fmt: skip
        kinds = [e.type for e in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    thinking, text = final.content
    assert thinking.type == "thinking" and thinking.thinking == "Think **first**."
    assert thinking.signature.startswith("ccrelay:openai_responses:")
    assert text.text == "Hello wörld, split across many events"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 30
    assert upstream.requests[0].body["reasoning"] == {"effort": "low", "summary": "auto"}


def test_two_turn_tool_loop_returns_the_reasoning_item(sdk, upstream, relay):
    """Turn 1's reasoning (encrypted_content) must reach the upstream again in turn 2, right
    before the function call it produced, as Claude Code sends its thinking blocks back."""
    args = {"file_path": "/tmp/hello.txt", "content": 'hi "there" \u00e9'}
    upstream.reply(sse([reasoning("rs_turn1", "The user wants a file.", enc="gAAAAB-secret-state"),
                        function_call("call_w1", "Write", args)], chunk=5))  # fmt: skip
    messages: list = [{"role": "user", "content": "Create hello.txt containing hi"}]
    with sdk.messages.stream(model="claude-x", max_tokens=2000, tools=TOOLS,
                             messages=messages) as s:  # fmt: skip
        first = s.get_final_message()
    assert first.stop_reason == "tool_use"
    thinking, call = first.content
    assert (call.type, call.id, call.name, call.input) == ("tool_use", "call_w1", "Write", args)
    first_body = upstream.requests[0].body
    assert first_body["tools"] == [{"type": "function", "name": "Write",
                                    "description": "Write a file",
                                    "parameters": TOOLS[0]["input_schema"], "strict": False}]  # fmt: skip

    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_w1",
                                      "content": "File created"}]},
    ]  # fmt: skip
    upstream.reply(sse([message("Created hello.txt.")]))
    with sdk.messages.stream(model="claude-x", max_tokens=2000, tools=TOOLS,
                             messages=messages) as s:  # fmt: skip
        second = s.get_final_message()
    assert second.content[0].text == "Created hello.txt." and second.stop_reason == "end_turn"
    items = upstream.requests[1].body["input"]
    assert [i["type"] for i in items] == [
        "message", "reasoning", "function_call", "function_call_output"]  # fmt: skip
    assert items[1] == {"type": "reasoning", "encrypted_content": "gAAAAB-secret-state",
                        "summary": [{"type": "summary_text", "text": "The user wants a file."}]}  # fmt: skip
    assert items[2] == {"type": "function_call", "call_id": "call_w1", "name": "Write",
                        "arguments": json.dumps(args, separators=(",", ":"), ensure_ascii=False)}  # fmt: skip
    assert items[3] == {"type": "function_call_output", "call_id": "call_w1",
                        "output": "File created"}  # fmt: skip
    assert len(relay.token_lines(expect=2)) == 2


def test_reasoning_from_another_upstream_is_not_replayed(start_relay, upstream, upstream2):
    """The same protocol at another organisation cannot verify the state: it is dropped."""
    config = one_provider("responses", upstream.url + "/v1", model="gpt-5-codex")
    config["providers"]["second"] = {"type": "responses", "base_url": upstream2.url + "/v1",
                                     "api_key": "sk-2", "model": "gpt-5-codex"}  # fmt: skip
    config["provider"]["fallback_providers"] = ["second"]
    relay = start_relay(config)
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    upstream.reply(Reply(json=response_body([
        reasoning("rs", "why", enc="gAAA-org1"),
        function_call("c1", "Write", {"file_path": "a", "content": "b"})])))  # fmt: skip
    messages: list = [{"role": "user", "content": "go"}]
    first = sdk.messages.create(model="m", max_tokens=100, tools=TOOLS, messages=messages)
    messages += [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "ok"}]},
    ]  # fmt: skip
    upstream.reply(Reply(503, json={"error": {"message": "overloaded"}}))
    upstream2.reply(Reply(json=response_body([message("done")])))
    second = sdk.messages.create(model="m", max_tokens=100, tools=TOOLS, messages=messages)
    assert second.content[0].text == "done"
    assert upstream.requests[1].body["input"][1]["type"] == "reasoning"  # its own: replayed
    assert "reasoning" not in [i["type"] for i in upstream2.requests[0].body["input"]]


def test_parallel_calls_and_interleaved_text(sdk, upstream):
    upstream.reply(sse([message("Two files."),
                        function_call("call_a", "Write", {"file_path": "a", "content": "1"}),
                        function_call("call_b", "Write", {"file_path": "b", "content": "2"})]))  # fmt: skip
    with sdk.messages.stream(model="c", max_tokens=300, tools=TOOLS,
                             messages=[{"role": "user", "content": "go"}]) as s:  # fmt: skip
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["text", "tool_use", "tool_use"]
    assert [b.input["file_path"] for b in final.content[1:]] == ["a", "b"]


def test_failed_stream_becomes_an_error_event(sdk, upstream, relay):
    upstream.reply(sse([message("partial")], status="failed",
                       error={"code": "server_error", "message": "the model crashed"}))  # fmt: skip
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk.messages.stream(model="c", max_tokens=5,
                                 messages=[{"role": "user", "content": "x"}]) as s:  # fmt: skip
            for _ in s:
                pass
    assert "the model crashed" in str(info.value)
    assert "status=error" in relay.token_lines()[0]


def test_stream_without_terminal_event_is_an_error(sdk, upstream):
    upstream.reply(sse([message("cut off")], terminal=False))
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk.messages.stream(model="c", max_tokens=5,
                                 messages=[{"role": "user", "content": "x"}]) as s:  # fmt: skip
            for _ in s:
                pass
    assert "ended before response.completed" in str(info.value)


def test_context_too_long_reaches_claude_code_as_prompt_too_long(sdk, upstream):
    upstream.reply(Reply(400, json={"error": {
        "message": "Your input exceeds the context window of this model.",
        "type": "invalid_request_error", "param": "input", "code": "context_length_exceeded"}}))  # fmt: skip
    with pytest.raises(anthropic.BadRequestError) as info:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "prompt is too long" in info.value.body["error"]["message"].lower()


def test_rate_limit_keeps_retry_after(sdk, upstream):
    upstream.reply(Reply(429, json={"error": {"message": "Rate limit reached", "type": "tokens",
                                              "code": "rate_limit_exceeded"}},
                         headers={"retry-after": "7"}))  # fmt: skip
    with pytest.raises(anthropic.RateLimitError) as info:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert info.value.response.headers["retry-after"] == "7"


def test_stop_sequences_are_refused_with_a_clear_400(sdk, upstream):
    with pytest.raises(anthropic.BadRequestError) as info:
        sdk.messages.create(model="c", max_tokens=5, stop_sequences=["END"],
                            messages=[{"role": "user", "content": "x"}])  # fmt: skip
    assert "stop_sequences" in str(info.value)
    assert upstream.requests == []
