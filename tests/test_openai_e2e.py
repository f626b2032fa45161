"""The anthropic SDK through ccrelay to a scripted OpenAI Chat Completions upstream."""

from __future__ import annotations

import json

import anthropic
import pytest

from tests.conftest import one_provider
from tests.fakes.replies import openai_chunk as chunk
from tests.fakes.replies import openai_completion as completion
from tests.fakes.upstream import Reply


@pytest.fixture
def relay(start_relay, upstream):
    return start_relay(one_provider("openai", upstream.url, model="gpt-up"))


@pytest.fixture
def sdk(relay):
    return anthropic.Anthropic(base_url=relay.url, api_key="client-key", max_retries=0)


TOOLS = [{
    "name": "write_file", "description": "Write a file",
    "input_schema": {"type": "object", "properties": {"path": {"type": "string"},
                     "content": {"type": "string"}}, "required": ["path", "content"]},
}]  # fmt: skip


def test_text_with_system_prompt(sdk, upstream, relay):
    upstream.reply(Reply(json=completion({"content": "Hello there"})))
    msg = sdk.messages.create(model="claude-sonnet-4-5", max_tokens=100, system="Be brief.",
                              messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    assert msg.content[0].text == "Hello there"
    assert msg.stop_reason == "end_turn"
    assert msg.model == "claude-sonnet-4-5"
    assert (msg.usage.input_tokens, msg.usage.output_tokens) == (12, 3)
    sent = upstream.requests[0]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-upstream"
    assert sent.body["model"] == "gpt-up"
    assert sent.body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
    ]
    assert sent.body["max_tokens"] == 100
    assert "stream" not in sent.body or sent.body["stream"] is False
    line = relay.token_lines()[0]
    assert "provider=up | model=gpt-up | client_model=claude-sonnet-4-5 | stream=false" in line
    assert "input_tokens=12 | output_tokens=3" in line and "status=success" in line


def test_streaming_text(sdk, upstream, relay):
    upstream.reply(Reply(sse=[
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo wörld"}),
        chunk({}, finish="stop"),
        chunk(None, usage={"prompt_tokens": 20, "completion_tokens": 4, "total_tokens": 24}),
        "data: [DONE]\n\n",
    ]))  # fmt: skip
    with sdk.messages.stream(model="claude-x", max_tokens=50,
                             messages=[{"role": "user", "content": "hi"}]) as stream:  # fmt: skip
        texts = list(stream.text_stream)
        final = stream.get_final_message()
    assert "".join(texts) == "Hello wörld"
    assert [b.type for b in final.content] == ["text"]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 4
    body = upstream.requests[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    line = relay.token_lines()[0]
    assert "stream=true | input_tokens=20 | output_tokens=4" in line


def test_two_turn_tool_loop_with_streamed_arguments(sdk, upstream):
    args = json.dumps({"path": "hello.txt", "content": 'hi "there" \u00e9'})
    pieces = [args[i : i + 5] for i in range(0, len(args), 5)]  # splits mid-string and mid-escape
    upstream.reply(Reply(sse=[
        chunk({"role": "assistant", "content": None}),
        chunk({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function",
                               "function": {"name": "write_file", "arguments": ""}}]}),
        *[chunk({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}) for p in pieces],
        chunk({}, finish="tool_calls"),
        chunk(None, usage={"prompt_tokens": 30, "completion_tokens": 9, "total_tokens": 39}),
        "data: [DONE]\n\n",
    ]))  # fmt: skip
    messages: list = [{"role": "user", "content": "Create hello.txt"}]
    with sdk.messages.stream(model="claude-x", max_tokens=200, tools=TOOLS, messages=messages) as s:
        events = [e.type for e in s]
        first = s.get_final_message()
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert first.stop_reason == "tool_use"
    (call,) = first.content
    assert call.type == "tool_use" and call.name == "write_file" and call.id == "call_abc"
    assert call.input == {"path": "hello.txt", "content": 'hi "there" \u00e9'}
    sent_tools = upstream.requests[0].body["tools"]
    assert sent_tools == [{"type": "function", "function": {
        "name": "write_file", "description": "Write a file",
        "parameters": TOOLS[0]["input_schema"]}}]  # fmt: skip

    # Turn two: the tool result goes back; the model answers in text.
    messages += [
        {"role": "assistant", "content": [c.model_dump(exclude_none=True) for c in first.content]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "call_abc", "content": "written"}],
        },
    ]
    upstream.reply(
        Reply(sse=[chunk({"content": "Done."}), chunk({}, finish="stop"), "data: [DONE]\n\n"])
    )
    with sdk.messages.stream(model="claude-x", max_tokens=200, tools=TOOLS, messages=messages) as s:
        second = s.get_final_message()
    assert second.content[0].text == "Done."
    sent = upstream.requests[1].body["messages"]
    assert sent[1]["role"] == "assistant"
    (tool_call,) = sent[1]["tool_calls"]
    assert (tool_call["id"], tool_call["type"], tool_call["function"]["name"]) == (
        "call_abc",
        "function",
        "write_file",
    )
    assert json.loads(tool_call["function"]["arguments"]) == call.input
    assert sent[2] == {"role": "tool", "tool_call_id": "call_abc", "content": "written"}


def test_non_streaming_tool_call(sdk, upstream):
    upstream.reply(Reply(json=completion({"content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "write_file", "arguments": "{\"path\":\"a\",\"content\":\"b\"}"}}]},
        finish="tool_calls")))  # fmt: skip
    msg = sdk.messages.create(model="claude-x", max_tokens=50, tools=TOOLS,
                              messages=[{"role": "user", "content": "go"}])  # fmt: skip
    assert msg.stop_reason == "tool_use"
    assert [(b.type, b.name, b.input) for b in msg.content] == [
        ("tool_use", "write_file", {"path": "a", "content": "b"})
    ]


def test_stream_without_done_after_finish_is_fine(sdk, upstream):
    upstream.reply(Reply(sse=[chunk({"content": "ok"}), chunk({}, finish="stop")]))
    with sdk.messages.stream(
        model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}]
    ) as s:
        assert s.get_final_message().content[0].text == "ok"


def test_stream_cut_before_finish_is_an_error_event(sdk, upstream, relay):
    upstream.reply(Reply(sse=[chunk({"content": "partial"})]))
    with pytest.raises(anthropic.APIStatusError) as info:
        with sdk.messages.stream(
            model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}]
        ) as s:
            for _ in s:
                pass
    assert "ended" in str(info.value)
    assert "status=error" in relay.token_lines()[0]


def test_upstream_error_keeps_its_meaning(sdk, upstream):
    upstream.reply(Reply(401, json={"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                              "code": "invalid_api_key"}}))  # fmt: skip
    with pytest.raises(anthropic.AuthenticationError) as info:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert "Incorrect API key" in str(info.value)
    assert info.value.body["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (413, anthropic.APIStatusError, "request_too_large"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.InternalServerError, "overloaded_error"),
    ],
)
def test_upstream_status_reaches_the_client_as_anthropic_expects(
    sdk, upstream, status, error_class, error_type
):
    headers = {"retry-after": "12"} if status == 429 else {}
    upstream.reply(
        Reply(status, json={"error": {"message": f"upstream says {status}"}}, headers=headers)
    )
    with pytest.raises(error_class) as info:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == status
    assert info.value.body["error"]["type"] == error_type
    assert f"upstream says {status}" in info.value.body["error"]["message"]
    if status == 429:
        assert info.value.response.headers["retry-after"] == "12"
