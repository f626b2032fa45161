"""Property: any mutation of a real Claude Code body gets a 2xx or a 4xx in Anthropic's error
shape, never a 5xx made by ccrelay (bench/fuzz.py runs thousands of these)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from tests.fakes.upstream import Reply
from tests.fuzzing import mutated

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude_code"
BODIES = [
    json.loads(p.read_text())["body"]
    for p in sorted(FIXTURES.glob("0[1-7]_*.json"))
    if json.loads(p.read_text())["path"].startswith("/v1/messages")
]
ANSWER = {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
          "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
          "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}  # fmt: skip
EVENTS = [
    {"type": "message_start", "message": {**ANSWER, "content": [], "stop_reason": None}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
     "usage": {"output_tokens": 1}},
    {"type": "message_stop"},
]  # fmt: skip


def answer_in_kind(rec) -> Reply:
    stream = isinstance(rec.body, dict) and rec.body.get("stream") is True
    return Reply(sse=EVENTS, event_names=True) if stream else Reply(json=ANSWER)


@pytest.fixture
def relay(start_relay, upstream):
    upstream.responder = answer_in_kind
    return start_relay({"provider": {"name": "up"}, "providers": {"up": {
        "type": "anthropic", "base_url": upstream.url, "api_key": "k-up-1234"}}})  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=mutated(BODIES))
def test_mutated_claude_code_bodies_never_get_a_5xx(relay, body):
    resp = requests.post(relay.url + "/v1/messages?beta=true", json=body, timeout=30)
    assert resp.status_code < 500, resp.text[:500]
    if resp.status_code >= 400:
        err = resp.json()
        assert err["type"] == "error" and isinstance(err["error"]["message"], str)
        assert len(resp.content) < 4096  # a bad value is quoted as an excerpt, never whole
