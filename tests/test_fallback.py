"""Fallback across providers, mid-stream failures, and the token log lines they leave."""

from __future__ import annotations

import anthropic
import pytest

from tests.conftest import free_port
from tests.fakes.upstream import Reply
from tests.helpers import ANSWER, MSGS, client, fields, sse_events, two


@pytest.mark.parametrize(
    "first_reply",
    [
        Reply(
            429,
            json={"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}},
        ),
        Reply(500, json={"type": "error", "error": {"type": "api_error", "message": "boom"}}),
        Reply(
            529, json={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
        ),
        Reply(408, raw=b"timeout"),
        Reply(delay=3, json=ANSWER),  # slower than providers.first.timeout
    ],
)
def test_retryable_failures_move_to_the_next_provider(
    start_relay, upstream, upstream2, first_reply
):
    relay = start_relay(two(upstream.url, upstream2.url))
    upstream.reply(first_reply)
    upstream2.reply(Reply(json=ANSWER))
    msg = client(relay).messages.create(model="claude-x", max_tokens=5, messages=MSGS)
    assert msg.content[0].text == "from second"
    assert msg.model == "claude-x"
    assert upstream.requests[0].body["model"] == "m1"
    assert upstream2.requests[0].body["model"] == "m2"
    lines = [fields(line) for line in relay.token_lines(2)]
    assert [(f["provider"], f["status"]) for f in lines] == [
        ("first", "fallback"),
        ("second", "success"),
    ]
    assert lines[1]["input_tokens"] == "7" and lines[1]["total_tokens"] == "10"


def test_connection_refused_moves_on(start_relay, upstream2):
    relay = start_relay(two(f"http://127.0.0.1:{free_port()}", upstream2.url))
    upstream2.reply(Reply(json=ANSWER))
    msg = client(relay).messages.create(model="claude-x", max_tokens=5, messages=MSGS)
    assert msg.content[0].text == "from second"
    first = fields(relay.token_lines()[0])
    assert first["status"] == "fallback" and "cannot connect" in first["error"]


def test_other_4xx_goes_back_to_the_client_as_is(start_relay, upstream, upstream2):
    relay = start_relay(two(upstream.url, upstream2.url))
    upstream.reply(Reply(400, json={"type": "error", "error": {"type": "invalid_request_error",
                                                               "message": "bad tool schema"}}))  # fmt: skip
    with pytest.raises(anthropic.BadRequestError) as info:
        client(relay).messages.create(model="claude-x", max_tokens=5, messages=MSGS)
    assert "bad tool schema" in str(info.value)
    assert upstream2.requests == []
    assert fields(relay.token_lines()[0])["status"] == "error"


def test_all_failing_reports_every_provider(start_relay, upstream, upstream2):
    relay = start_relay(two(upstream.url, upstream2.url))
    upstream.reply(Reply(503, raw=b"down for maintenance"))
    upstream2.reply(Reply(429, json={"error": {"message": "quota"}}, headers={"retry-after": "7"}))
    with pytest.raises(anthropic.RateLimitError) as info:
        client(relay).messages.create(model="claude-x", max_tokens=5, messages=MSGS)
    text = str(info.value)
    assert (
        "first: " in text
        and "down for maintenance" in text
        and "second: " in text
        and "quota" in text
    )
    assert info.value.response.headers["retry-after"] == "7"


def test_unconfigured_provider_is_skipped_with_a_clear_reason(start_relay, upstream, upstream2):
    config = two(upstream.url, upstream2.url)
    config["providers"]["first"]["api_key"] = "${CCRELAY_TEST_MISSING_KEY}"
    relay = start_relay(config)
    upstream2.reply(Reply(json=ANSWER))
    msg = client(relay).messages.create(model="claude-x", max_tokens=5, messages=MSGS)
    assert msg.content[0].text == "from second"
    assert upstream.requests == []
    assert "CCRELAY_TEST_MISSING_KEY is not set" in fields(relay.token_lines()[0])["error"]


def test_stream_that_fails_before_its_first_event_falls_back(start_relay, upstream, upstream2):
    relay = start_relay(two(upstream.url, upstream2.url))
    upstream.reply(
        Reply(sse=[{"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}])
    )
    upstream2.reply(Reply(sse=sse_events("streamed"), event_names=True))
    with client(relay).messages.stream(model="claude-x", max_tokens=5, messages=MSGS) as s:
        final = s.get_final_message()
    assert final.content[0].text == "streamed"
    assert [fields(x)["status"] for x in relay.token_lines(2)] == ["fallback", "success"]


def test_failure_after_the_first_byte_ends_with_an_error_event(start_relay, upstream, upstream2):
    relay = start_relay(two(upstream.url, upstream2.url))
    # The upstream starts answering, then the stream stops without message_stop.
    upstream.reply(Reply(sse=sse_events("partial")[:3], event_names=True))
    with pytest.raises(anthropic.APIStatusError) as info:
        with client(relay).messages.stream(model="claude-x", max_tokens=5, messages=MSGS) as s:
            for _ in s:
                pass
    assert "stream ended before message_stop" in str(info.value)
    assert upstream2.requests == []  # never splice another model's continuation
    (line,) = relay.token_lines()
    assert fields(line)["status"] == "error" and fields(line)["input_tokens"] == "11"
