"""Long silences and hang-ups: pings keep a stream alive, a departed client frees the upstream."""

from __future__ import annotations

import http.client
import json
import time

from tests.conftest import one_provider
from tests.fakes.upstream import Reply
from tests.helpers import ANSWER, sse_events, wait_for

BODY = {"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def post(relay, body: dict) -> http.client.HTTPConnection:
    conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=30)
    conn.request("POST", "/v1/messages", json.dumps(body), {"content-type": "application/json"})
    return conn


def hang_up_and_expect_upstream_closed(conn, upstream, relay) -> None:
    """Close the client side; the relay must close its upstream and log the cancel.

    The upstream would stay silent for 20 s, so its connection closing (well before) is
    the event that shows the relay noticed; how fast is bench/'s business."""
    conn.close()
    assert upstream.requests[0].closed.wait(15), "upstream connection was not closed"
    assert "status=cancelled" in relay.token_lines(timeout=15)[0]


def test_pings_flow_while_the_upstream_is_silent(start_relay, upstream):
    config = one_provider("anthropic", upstream.url)
    config["limits"] = {"ping_interval": 1}
    relay = start_relay(config)
    events = sse_events("after the silence")
    # message_start at once, then 2.6 s of silence (long reasoning), then the rest.
    upstream.reply(
        Reply(sse=[events[0], {"type": "ping"}, *events[1:]], event_names=True, chunk_delay=1.3)
    )
    conn = post(relay, {**BODY, "stream": True})
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    names = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
    assert names[0] == "message_start" and names[-1] == "message_stop"
    # The upstream's own ping is not relayed; ccrelay's pings fill the silences.
    assert names.count("ping") >= 2
    assert "after the silence" in text


def test_client_hangup_during_a_silent_stream_closes_the_upstream(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url))
    upstream.reply(Reply(sse=sse_events("x")[:2], event_names=True, hang=20))
    conn = post(relay, {**BODY, "stream": True})
    resp = conn.getresponse()
    assert resp.status == 200
    resp.read1(100)  # the stream has started
    resp.close()
    hang_up_and_expect_upstream_closed(conn, upstream, relay)


def test_client_hangup_before_a_non_streaming_answer_closes_the_upstream(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url))
    # The upstream streams slowly but the client asked for no stream: ccrelay is waiting.
    upstream.reply(Reply(sse=sse_events("x")[:2], event_names=True, hang=20))
    conn = post(relay, BODY)
    wait_for(lambda: upstream.requests)
    time.sleep(0.2)  # let the relay start waiting for the answer
    hang_up_and_expect_upstream_closed(conn, upstream, relay)


def test_keys_quoted_by_an_upstream_are_scrubbed(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url))
    upstream.reply(Reply(401, json={"type": "error", "error": {"type": "authentication_error",
                   "message": "invalid x-api-key sk-test-upstream"}}))  # fmt: skip
    conn = post(relay, BODY)
    resp = conn.getresponse()
    body = resp.read().decode()
    conn.close()
    assert resp.status == 401
    assert "sk-test-upstream" not in body and "invalid x-api-key ***" in body
    assert "sk-test-upstream" not in "\n".join(relay.token_lines())
    assert "sk-test-upstream" not in relay.log()
    upstream.reply(Reply(json=ANSWER))
