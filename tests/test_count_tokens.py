"""POST /v1/messages/count_tokens: the upstream's count when it has one, else a local estimate."""

from __future__ import annotations

import json

import anthropic
import pytest

from ccrelay.core.tokens import estimate_input_tokens
from tests.conftest import FIXTURES, one_provider
from tests.fakes.upstream import Reply

MSGS = [{"role": "user", "content": "How many tokens is this sentence, roughly?"}]


def test_upstream_count_endpoint_is_asked(start_relay, upstream):
    relay = start_relay(
        one_provider("anthropic", upstream.url, model="up-model", options={"count_tokens": True})
    )
    upstream.reply(Reply(json={"input_tokens": 4242}))
    client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    count = client.messages.count_tokens(model="claude-x", messages=MSGS, system="sys")
    assert count.input_tokens == 4242
    (sent,) = upstream.requests
    assert sent.path == "/v1/messages/count_tokens"
    assert sent.body == {"model": "up-model", "messages": MSGS, "system": "sys"}
    assert sent.headers["x-api-key"] == "sk-test-upstream"


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_local_estimate_without_a_count_endpoint(start_relay, upstream, kind):
    # openai upstreams have no count endpoint; third-party anthropic ones default to none.
    relay = start_relay(one_provider(kind, upstream.url))
    fixture = json.loads(
        (FIXTURES / "claude_code" / "02_messages_turn2_tool_result_stream.json").read_text()
    )
    body = {
        k: v for k, v in fixture["body"].items() if k not in ("max_tokens", "stream", "metadata")
    }
    client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    # Claude Code calls the beta route with its beta fields; the SDK's beta client does too.
    count = client.beta.messages.count_tokens(**body)
    assert count.input_tokens == estimate_input_tokens(body)
    assert count.input_tokens > 10_000  # 24 tools and a long system prompt
    assert upstream.requests == []


def test_failing_count_endpoint_falls_back_to_the_estimate(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url, options={"count_tokens": True}))
    upstream.reply(
        Reply(404, json={"error": {"type": "not_found_error", "message": "no such route"}})
    )
    client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    count = client.messages.count_tokens(model="m", messages=MSGS)
    assert count.input_tokens == estimate_input_tokens({"model": "m", "messages": MSGS})


def test_count_tokens_validates_input(start_relay, upstream):
    relay = start_relay(one_provider("openai", upstream.url))
    client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="messages"):
        client.messages.count_tokens(model="m", messages="not a list")  # type: ignore[arg-type]
