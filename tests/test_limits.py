"""Limits of a shared relay: answer size, requests in flight, per-key request and token budgets."""

from __future__ import annotations

import socket
import threading

import anthropic
import pytest
import requests

from ccrelay.core.errors import RelayError
from ccrelay.core.limits import KeyLimits
from tests.fakes.upstream import Reply

BODY = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def answer(text: str = "ok", tokens: int = 3) -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 7, "output_tokens": tokens}}  # fmt: skip


def config(url: str, **extra) -> dict:
    return {"provider": {"name": "up"},
            "providers": {"up": {"type": "anthropic", "base_url": url, "api_key": "k-up-1234"}},
            **extra}  # fmt: skip


def test_an_answer_over_max_response_bytes_is_cut(start_relay, upstream):
    relay = start_relay(config(upstream.url, limits={"max_response_bytes": 4096}))
    upstream.reply(Reply(json=answer("x" * 10_000)))
    resp = requests.post(relay.url + "/v1/messages", json=BODY, timeout=10)
    assert resp.status_code == 502
    assert "limits.max_response_bytes" in resp.json()["error"]["message"]


def test_a_runaway_stream_is_cut_with_an_error_event(start_relay, upstream):
    relay = start_relay(config(upstream.url, limits={"max_response_bytes": 20_000}))
    start = {"type": "message_start", "message": {**answer(), "content": [], "stop_reason": None}}
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    delta = {"type": "content_block_delta", "index": 0,
             "delta": {"type": "text_delta", "text": "y" * 1000}}  # fmt: skip
    upstream.reply(Reply(sse=[start, block] + [delta] * 500, event_names=True))
    resp = requests.post(relay.url + "/v1/messages", json={**BODY, "stream": True}, timeout=30)
    text = resp.text
    assert resp.status_code == 200
    assert "event: error" in text and "max_response_bytes" in text
    assert len(text) < 40_000  # cut, not relayed whole


def test_requests_over_max_concurrent_are_refused_at_once(start_relay, upstream):
    relay = start_relay(config(upstream.url, limits={"max_concurrent": 1}))
    upstream.reply(Reply(json=answer("slow"), delay=3))
    upstream.default = Reply(json=answer())
    first: dict = {}
    thread = threading.Thread(
        target=lambda: first.update(
            r=requests.post(relay.url + "/v1/messages", json=BODY, timeout=30)
        )
    )
    thread.start()
    deadline = threading.Event()
    while not upstream.requests and not deadline.wait(0.02):
        pass
    refused = requests.post(relay.url + "/v1/messages", json=BODY, timeout=10)
    assert refused.status_code == 503
    assert refused.json()["error"]["type"] == "overloaded_error"
    assert "max_concurrent" in refused.json()["error"]["message"]
    assert refused.headers["retry-after"] == "1"
    thread.join(30)
    assert first["r"].status_code == 200
    assert requests.post(relay.url + "/v1/messages", json=BODY, timeout=10).status_code == 200


def test_per_key_requests_per_minute(start_relay, upstream):
    upstream.default = Reply(json=answer())
    relay = start_relay(config(upstream.url, access_keys=[
        {"name": "intern", "key": "intern-key-123456", "rpm": 2}]))  # fmt: skip
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="intern-key-123456", max_retries=0)
    for _ in range(2):
        sdk.messages.create(**BODY)
    with pytest.raises(anthropic.RateLimitError) as info:
        sdk.messages.create(**BODY)
    assert "2 requests per minute" in info.value.message
    assert 1 <= int(info.value.response.headers["retry-after"]) <= 60
    assert len(upstream.requests) == 2


def test_per_key_tokens_per_day_survive_a_reload(start_relay, upstream):
    upstream.default = Reply(json=answer(tokens=3))
    cfg = config(upstream.url, access_keys=[
        {"name": "intern", "key": "intern-key-123456", "tokens_per_day": 15}])  # fmt: skip
    relay = start_relay(cfg)
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="intern-key-123456", max_retries=0)
    sdk.messages.create(**BODY)  # 10 tokens
    cfg["providers"]["up"]["timeout"] = 30
    relay.write_config(cfg)
    sdk.messages.create(**BODY)  # 20 tokens: over, but it was admitted at 10
    with pytest.raises(anthropic.RateLimitError) as info:
        sdk.messages.create(**BODY)
    assert "15 tokens for today" in info.value.message


def test_key_limits_windows():
    now = [1_000_000.0]
    limits = KeyLimits(clock=lambda: now[0])
    for _ in range(3):
        limits.admit("k", 3, None)
    with pytest.raises(RelayError) as info:
        limits.admit("k", 3, None)
    assert info.value.headers["retry-after"] == "60"
    now[0] += 60.5
    limits.admit("k", 3, None)
    limits.add_tokens("k", 100)
    with pytest.raises(RelayError):
        limits.admit("k", None, 100)
    now[0] += 24 * 3600
    limits.admit("k", None, 100)  # a new day


def test_a_reset_after_connecting_is_not_cannot_connect(start_relay):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    url = f"http://127.0.0.1:{server.getsockname()[1]}"

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            conn.close()  # a reset after the request arrived

    threading.Thread(target=serve, daemon=True).start()
    try:
        relay = start_relay(config(url))
        resp = requests.post(relay.url + "/v1/messages", json=BODY, timeout=10)
        message = resp.json()["error"]["message"]
        assert resp.status_code >= 500
        assert "closed the connection before answering" in message
        assert "cannot connect" not in message
    finally:
        server.close()
