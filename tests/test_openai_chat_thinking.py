"""Thinking through a Chat client: shown as reasoning_content, signatures kept by ccrelay.

A Chat client has no place for Anthropic's thinking signatures; the dialect keeps them under
the tool call id and puts the signed blocks back when the tool loop continues, so an
Anthropic backend with thinking on accepts the next turn.
"""

from __future__ import annotations

import json

import openai
import pytest

from tests.conftest import one_provider
from tests.fakes.replies import answer

TOOLS = [{"type": "function", "function": {
    "name": "write_file", "description": "Write a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]  # fmt: skip
ASK = [{"role": "user", "content": "Create hello.txt"}]
CALL = ("toolu_01AbC", "write_file", {"path": "hello.txt"})


@pytest.fixture
def relay(start_relay, upstream):
    return start_relay(one_provider("anthropic", upstream.url, model="claude-up"))


@pytest.fixture
def client(relay):
    return openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)


def _first_turn(client, stream: bool) -> dict:
    """The assistant message as a Chat client stores it after turn one."""
    if not stream:
        out = client.chat.completions.create(model="m", messages=ASK, tools=TOOLS,
                                             reasoning_effort="high", max_tokens=30000)  # fmt: skip
        return out.choices[0].message.model_dump(exclude_none=True)
    chunks = list(client.chat.completions.create(model="m", messages=ASK, tools=TOOLS,
                                                 reasoning_effort="high", max_tokens=30000,
                                                 stream=True))  # fmt: skip
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    calls = [tc for d in deltas for tc in d.tool_calls or ()]
    return {
        "role": "assistant",
        "content": None,
        "reasoning_content": "".join(getattr(d, "reasoning_content", None) or "" for d in deltas),
        "tool_calls": [{"id": calls[0].id, "type": "function", "function": {
            "name": calls[0].function.name,
            "arguments": "".join(tc.function.arguments or "" for tc in calls)}}],
    }  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
def test_signed_thinking_comes_back_before_the_tool_call(client, upstream, stream):
    upstream.reply(answer("anthropic", thinking="I should write the file.",
                          signature="EqQBsig-from-anthropic", calls=[CALL], stream=stream))  # fmt: skip
    assistant = _first_turn(client, stream)
    assert assistant["reasoning_content"] == "I should write the file."
    assert assistant["tool_calls"][0]["id"] == "toolu_01AbC"
    first = upstream.requests[0].body
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 24576}

    upstream.reply(answer("anthropic", text="Done."))
    history = [*ASK, assistant, {"role": "tool", "tool_call_id": "toolu_01AbC", "content": "ok"}]
    out = client.chat.completions.create(model="m", messages=history, tools=TOOLS,
                                         reasoning_effort="high", max_tokens=30000)  # fmt: skip
    assert out.choices[0].message.content == "Done."
    second = upstream.requests[1].body
    assert second["thinking"] == {"type": "enabled", "budget_tokens": 24576}
    # What Anthropic checks: the turn holding the tool_use starts with its signed thinking,
    # byte for byte as it was sent.
    assert second["messages"][1] == {
        "role": "assistant",
        "content": [
            {
                "type": "thinking",
                "thinking": "I should write the file.",
                "signature": "EqQBsig-from-anthropic",
            },
            {"type": "tool_use", "id": "toolu_01AbC", "name": "write_file", "input": CALL[2]},
        ],
    }
    assert second["messages"][2]["content"][0]["tool_use_id"] == "toolu_01AbC"


def test_unknown_thinking_turns_thinking_off_for_that_request(start_relay, upstream):
    # A history whose signed thinking ccrelay never saw (say, after a restart), to a backend
    # that checks signatures as Anthropic does.
    relay = start_relay(one_provider("anthropic", upstream.url,
                                     options={"validates_signatures": True}))  # fmt: skip
    client = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    upstream.reply(answer("anthropic", text="Done."))
    history = [*ASK, {"role": "assistant", "reasoning_content": "lost", "tool_calls": [
        {"id": "toolu_gone", "type": "function",
         "function": {"name": "write_file", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "toolu_gone", "content": "ok"}]  # fmt: skip
    client.chat.completions.create(model="m", messages=history, tools=TOOLS,
                                   reasoning_effort="medium")  # fmt: skip
    sent = upstream.requests[0].body
    assert "thinking" not in sent
    # unsigned text is nothing Anthropic can check: the strategy leaves it out
    assert sent["messages"][1]["content"][0]["type"] == "tool_use"
    assert "thinking of the last tool-calling turn is not known" in relay.log()


def test_budget_fits_below_the_default_output_limit(client, upstream):
    upstream.reply(answer("anthropic", text="ok"))
    client.chat.completions.create(model="m", messages=ASK, reasoning_effort="xhigh")
    sent = upstream.requests[0].body
    assert sent["thinking"]["budget_tokens"] < sent["max_tokens"]


def test_deepseek_style_reasoning_goes_back_on_tool_turns(start_relay, upstream):
    relay = start_relay(one_provider("openai", upstream.url, model="deepseek-chat"))
    client = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    upstream.reply(answer("openai", text="fine"))
    history = [*ASK, {"role": "assistant", "content": None, "reasoning_content": "plan",
                      "tool_calls": [{"id": "call_1", "type": "function", "function": {
                          "name": "write_file", "arguments": '{"path": "hello.txt"}'}}]},
               {"role": "tool", "tool_call_id": "call_1", "content": "ok"}]  # fmt: skip
    client.chat.completions.create(model="m", messages=history, tools=TOOLS)
    sent = upstream.requests[0].body["messages"][1]
    assert sent["reasoning_content"] == "plan"
    assert sent["tool_calls"][0]["function"]["arguments"] == '{"path": "hello.txt"}'
    assert json.loads(sent["tool_calls"][0]["function"]["arguments"]) == {"path": "hello.txt"}


def test_anthropic_rules_while_thinking(client, upstream):
    upstream.reply(answer("anthropic", text="ok"))
    client.chat.completions.create(model="m", messages=ASK, tools=TOOLS, reasoning_effort="low",
                                   tool_choice="required", temperature=0.3, top_p=0.5)  # fmt: skip
    sent = upstream.requests[0].body
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    assert sent["tool_choice"] == {"type": "auto"}  # Anthropic rejects forced tools then
    assert "temperature" not in sent and "top_p" not in sent
