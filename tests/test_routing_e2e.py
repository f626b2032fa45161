"""Routing through the real server: model rules, scenarios, several keys, breakers, balancing."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import anthropic
import pytest
import requests

from tests.fakes.upstream import Reply

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude_code"


def answer(text: str = "ok") -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 7, "output_tokens": 3}}  # fmt: skip


def provider(url: str, key="k", **extra) -> dict:
    return {"type": "anthropic", "base_url": url, "api_key": key, **extra}


def fields(line: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in line.split(" | ") if "=" in p)


def ask(relay, model: str = "claude-sonnet-4-5", **extra):
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="client", max_retries=0)
    return sdk.messages.create(
        model=model, max_tokens=20, messages=[{"role": "user", "content": "hi"}], **extra
    )


def fixture_body(name: str) -> dict:
    body = json.loads((FIXTURES / name).read_text())["body"]
    body["stream"] = False
    return body


def test_haiku_and_sonnet_fixtures_reach_different_providers(start_relay, upstream, upstream2):
    upstream.default = Reply(json=answer("main"))
    upstream2.default = Reply(json=answer("cheap"))
    relay = start_relay({
        "provider": {"name": "main"},
        "providers": {"main": provider(upstream.url, model="big-model"),
                      "cheap": provider(upstream2.url, model="small-model")},
        "models": [{"match": "claude-*haiku*", "to": ["cheap/tiny-model"]}],
    })  # fmt: skip
    # Claude Code's own bodies (they carry fields the SDK does not know), sent as it sends them.
    sonnet = requests.post(
        relay.url + "/v1/messages?beta=true",
        json=fixture_body("05_messages_sonnet.json"),
        timeout=10,
    ).json()
    haiku = requests.post(relay.url + "/v1/messages?beta=true",
                          json=fixture_body("06_messages_haiku.json"), timeout=10).json()  # fmt: skip
    assert (sonnet["content"][0]["text"], haiku["content"][0]["text"]) == ("main", "cheap")
    assert upstream.requests[0].body["model"] == "big-model"
    assert upstream2.requests[0].body["model"] == "tiny-model"  # the target's model wins
    lines = [fields(x) for x in relay.token_lines(2)]
    assert {(f["provider"], f["model"], f["route"]) for f in lines} == {
        ("main", "big-model", "default"),
        ("cheap", "tiny-model", "model:claude-*haiku*"),
    }


def test_over_the_threshold_takes_the_long_context_route(start_relay, upstream, upstream2):
    upstream.default = Reply(json=answer("short"))
    upstream2.default = Reply(json=answer("long"))
    relay = start_relay({
        "provider": {"name": "main"},
        "providers": {"main": provider(upstream.url), "wide": provider(upstream2.url)},
        "routes": {"long_context": {"over_tokens": 2000, "to": ["wide/wide-model"]}},
    })  # fmt: skip
    assert ask(relay).content[0].text == "short"
    long_text = "the quick brown fox jumps over the lazy dog " * 400  # ~3,600 tokens
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="client", max_retries=0)
    msg = sdk.messages.create(model="claude-sonnet-4-5", max_tokens=20,
                              messages=[{"role": "user", "content": long_text}])  # fmt: skip
    assert msg.content[0].text == "long"
    assert upstream2.requests[0].body["model"] == "wide-model"
    assert fields(relay.token_lines(2)[-1])["route"] == "long_context"


def test_a_rate_limited_key_cools_down_and_the_next_key_answers(start_relay, upstream):
    relay = start_relay({
        "provider": {"name": "up"},
        "providers": {"up": provider(upstream.url, key=["key-one-1111", "key-two-2222"])},
    })  # fmt: skip
    limited = Reply(429, json={"type": "error", "error": {"type": "rate_limit_error",
                                                           "message": "slow down"}},
                    headers={"retry-after": "2"})  # fmt: skip
    upstream.reply(limited, Reply(json=answer("second key")))
    upstream.default = Reply(json=answer())
    assert ask(relay).content[0].text == "second key"
    used = [r.headers["x-api-key"] for r in upstream.requests]
    assert used == ["key-one-1111", "key-two-2222"]  # the next key at once, same provider
    keys = relay.health()["providers"]["up"]["keys"]
    assert keys[0]["key"] == "...1111" and keys[0]["state"] == "cooling"
    assert "key-one" not in json.dumps(relay.health())
    # While key one cools, every request goes to key two.
    for _ in range(4):
        ask(relay)
    assert {r.headers["x-api-key"] for r in upstream.requests[2:]} == {"key-two-2222"}
    # After its Retry-After, key one is used again.
    deadline = time.monotonic() + 10
    while relay.health()["providers"]["up"]["keys"][0]["state"] == "cooling":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    before = len(upstream.requests)
    for _ in range(2):
        ask(relay)
    assert "key-one-1111" in {r.headers["x-api-key"] for r in upstream.requests[before:]}


def test_every_key_cooling_says_when_the_first_is_back(start_relay, upstream):
    relay = start_relay({"provider": {"name": "up"},
                         "providers": {"up": provider(upstream.url, key="only-key-3333")}})  # fmt: skip
    upstream.reply(
        Reply(429, json={"error": {"message": "slow down"}}, headers={"retry-after": "30"})
    )
    with pytest.raises(anthropic.RateLimitError):
        ask(relay)
    with pytest.raises(anthropic.RateLimitError) as info:
        ask(relay)
    assert len(upstream.requests) == 1  # the cooling key was not used
    assert "first is back in" in info.value.message
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 30


def test_a_rejected_key_is_skipped_until_the_config_changes(start_relay, upstream):
    config = {"provider": {"name": "up"},
              "providers": {"up": provider(upstream.url, key=["bad-key-4444", "good-key-5555"])}}  # fmt: skip
    relay = start_relay(config)
    upstream.reply(Reply(401, json={"type": "error", "error": {"type": "authentication_error",
                                                                "message": "invalid x-api-key"}}))  # fmt: skip
    upstream.default = Reply(json=answer())
    for _ in range(3):
        ask(relay)
    used = [r.headers["x-api-key"] for r in upstream.requests]
    assert used == ["bad-key-4444", "good-key-5555", "good-key-5555", "good-key-5555"]
    assert relay.health()["providers"]["up"]["keys"][0]["state"] == "rejected"
    config["providers"]["up"]["timeout"] = 30  # any edit brings rejected keys back
    relay.write_config(config)
    deadline = time.monotonic() + 10
    while relay.health()["providers"]["up"]["keys"][0]["state"] == "rejected":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for _ in range(2):
        ask(relay)
    assert "bad-key-4444" in {r.headers["x-api-key"] for r in upstream.requests[4:]}


def test_a_failing_provider_is_skipped_after_n_failures_then_tried_again(
    start_relay, upstream, upstream2
):
    relay = start_relay({
        "provider": {"name": "flaky", "fallback_providers": ["steady"]},
        "providers": {"flaky": provider(upstream.url), "steady": provider(upstream2.url)},
        "resilience": {"breaker_failures": 3, "breaker_cooloff": 2},
    })  # fmt: skip
    upstream.default = Reply(500, json={"type": "error", "error": {"type": "api_error",
                                                                    "message": "boom"}})  # fmt: skip
    upstream2.default = Reply(json=answer("steady"))
    for _ in range(3):
        assert ask(relay).content[0].text == "steady"
    assert len(upstream.requests) == 3
    breaker = relay.health()["providers"]["flaky"]["breaker"]
    assert breaker["state"] == "open" and "boom" in breaker["last_error"]
    for _ in range(3):
        assert ask(relay).content[0].text == "steady"
    assert len(upstream.requests) == 3  # skipped while open
    lines = [fields(x) for x in relay.token_lines(9)]
    assert any("circuit breaker" in f.get("error", "") for f in lines)
    # After the cool-off one trial goes through; it succeeds, and the breaker closes.
    upstream.default = Reply(json=answer("flaky is back"))
    deadline = time.monotonic() + 10
    while relay.health()["providers"]["flaky"]["breaker"]["state"] == "open":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert ask(relay).content[0].text == "flaky is back"
    assert relay.health()["providers"]["flaky"]["breaker"]["state"] == "closed"


def test_round_robin_spreads_100_requests_evenly(start_relay, upstream, upstream2):
    upstream.default = Reply(json=answer("a"))
    upstream2.default = Reply(json=answer("b"))
    relay = start_relay({
        "provider": {"name": "a"},
        "providers": {"a": provider(upstream.url), "b": provider(upstream2.url)},
        "models": [{"match": "fast", "to": ["a/m1", "b/m2"], "balance": "round_robin"}],
    })  # fmt: skip
    answers = Counter(ask(relay, "fast").content[0].text for _ in range(100))
    assert answers == {"a": 50, "b": 50}


def test_round_robin_still_falls_back(start_relay, upstream, upstream2):
    upstream.default = Reply(503, json={"error": {"message": "down"}})
    upstream2.default = Reply(json=answer("b"))
    relay = start_relay({
        "provider": {"name": "a"},
        "providers": {"a": provider(upstream.url), "b": provider(upstream2.url)},
        "models": [{"match": "fast", "to": ["a/m1", "b/m2"], "balance": "round_robin"}],
    })  # fmt: skip
    assert [ask(relay, "fast").content[0].text for _ in range(2)] == ["b", "b"]


def test_direct_addressing_and_a_live_edit_change_routing_at_once(start_relay, upstream, upstream2):
    upstream.default = Reply(json=answer("a"))
    upstream2.default = Reply(json=answer("b"))
    config = {"provider": {"name": "a"},
              "providers": {"a": provider(upstream.url), "b": provider(upstream2.url)}}  # fmt: skip
    relay = start_relay(config)
    assert ask(relay, "b/direct-model").content[0].text == "b"
    assert upstream2.requests[-1].body["model"] == "direct-model"
    assert ask(relay, "gpt-5").content[0].text == "a"
    config["models"] = [{"match": "gpt-5*", "to": ["b/routed"]}]
    relay.write_config(config)
    deadline = time.monotonic() + 10
    while not relay.health()["routing"]["models"]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ask(relay, "gpt-5").content[0].text == "b"
    assert upstream2.requests[-1].body["model"] == "routed"
