"""Upstream faults, through every client dialect, streaming and not.

Before the first byte reaches the client, every fault falls back to the next provider; after
it, the stream ends with the dialect's own error form. Nothing hangs: each request is bounded
by the faulty provider's 2 s timeout.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.fakes.faults import FAULTS_AFTER, FAULTS_BEFORE, FaultServer
from tests.fakes.upstream import Reply

HEALTHY_TEXT = "healthy answer"


@dataclass(frozen=True)
class Client:
    """How one dialect's client asks, and how its answers and stream errors look."""

    path: str
    body: Callable[[bool, str], dict[str, Any]]  # (stream, model)
    text_of: Callable[[requests.Response, bool], str]  # the answer's text
    stream_error: Callable[[str], bool]  # whether a stream body ends in the dialect's error


def _anthropic_text(resp: requests.Response, stream: bool) -> str:
    if not stream:
        return "".join(b.get("text", "") for b in resp.json()["content"])
    out = []
    for line in resp.text.splitlines():
        if line.startswith("data: "):
            ev = json.loads(line[6:])
            if ev.get("type") == "content_block_delta":
                out.append(ev["delta"].get("text", ""))
    return "".join(out)


def _anthropic_stream_error(text: str) -> bool:
    last = [line for line in text.splitlines() if line.startswith("event: ")][-1]
    return last == "event: error" and '"type":"error"' in text.replace(" ", "")


CLIENTS = {
    "anthropic": Client(
        "/v1/messages",
        lambda stream, model: {
            "model": model,
            "max_tokens": 20,
            "stream": stream,
            "messages": [{"role": "user", "content": "hi"}],
        },  # fmt: skip
        _anthropic_text,
        _anthropic_stream_error,
    ),
}


def healthy_reply(stream: bool) -> Reply:
    if not stream:
        return Reply(json={"id": "msg_h", "type": "message", "role": "assistant", "model": "h",
                           "content": [{"type": "text", "text": HEALTHY_TEXT}],
                           "stop_reason": "end_turn", "stop_sequence": None,
                           "usage": {"input_tokens": 3, "output_tokens": 2}})  # fmt: skip
    msg = {"id": "msg_h", "type": "message", "role": "assistant", "model": "h", "content": [],
           "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 3, "output_tokens": 1}}  # fmt: skip
    return Reply(event_names=True, sse=[
        {"type": "message_start", "message": msg},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": HEALTHY_TEXT}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ])  # fmt: skip


FAULTS: dict[str, FaultServer] = {}


@pytest.fixture(scope="module", autouse=True)
def fault_servers():
    FAULTS.update({f: FaultServer(f, stall=20) for f in FAULTS_BEFORE + FAULTS_AFTER})
    yield
    for server in FAULTS.values():
        server.close()
    FAULTS.clear()


@pytest.fixture
def relay(start_relay, upstream):
    """One relay in front of every fault: model ``<fault>`` tries that fault's provider, then
    a healthy one; model ``solo-<fault>`` tries the fault alone."""
    providers: dict[str, Any] = {
        "healthy": {"type": "anthropic", "base_url": upstream.url, "api_key": "k-healthy-1"}
    }
    models = []
    for fault, server in FAULTS.items():
        providers[fault] = {"type": "anthropic", "base_url": server.url, "api_key": "k-faulty-1",
                            "timeout": 2, "connect_timeout": 2}  # fmt: skip
        models.append({"match": fault, "to": [fault, "healthy"]})
        models.append({"match": f"solo-{fault}", "to": [fault]})
    return start_relay({"provider": {"name": "healthy"}, "providers": providers,
                        "models": models, "resilience": {"breaker_failures": 1000}})  # fmt: skip


def lines_for(relay, model: str, expect: int) -> list[str]:
    deadline = time.monotonic() + 5
    while True:
        lines = [x for x in relay.token_lines() if f"client_model={model} " in x]
        if len(lines) >= expect or time.monotonic() > deadline:
            return lines
        time.sleep(0.02)


@pytest.mark.parametrize("dialect", sorted(CLIENTS))
@pytest.mark.parametrize("stream", [False, True])
def test_faults_before_the_first_byte_fall_back(relay, upstream, dialect, stream):
    client = CLIENTS[dialect]
    upstream.default = healthy_reply(stream)
    for fault in FAULTS_BEFORE + (() if stream else FAULTS_AFTER):
        resp = requests.post(relay.url + client.path, json=client.body(stream, fault), timeout=30)
        assert resp.status_code == 200, (fault, resp.text)
        assert client.text_of(resp, stream) == HEALTHY_TEXT, fault
        lines = lines_for(relay, fault, 2)
        assert f"provider={fault} " in lines[0] and "status=fallback" in lines[0], lines
        assert "provider=healthy" in lines[1] and "status=success" in lines[1], lines


@pytest.mark.parametrize("dialect", sorted(CLIENTS))
def test_faults_after_the_first_byte_end_the_stream_with_an_error(relay, upstream, dialect):
    client = CLIENTS[dialect]
    for fault in FAULTS_AFTER:
        resp = requests.post(relay.url + client.path, json=client.body(True, fault), timeout=30)
        assert resp.status_code == 200
        assert "partial answer" in client.text_of(resp, True)  # what arrived was relayed
        assert client.stream_error(resp.text), (fault, resp.text[-300:])
        (line,) = lines_for(relay, fault, 1)
        assert f"provider={fault} " in line and "status=error" in line
    assert upstream.requests == []  # never spliced with another model's answer


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        ("refused", "cannot connect to http://127.0.0.1"),
        ("reset_before", "closed the connection before answering"),
        ("slow_first_byte", "no answer from"),
        ("html_200", "not JSON"),
        ("status_429", "fault 429"),
        ("reset_after", "answer cut off (Connection reset by peer)"),
    ],
)
def test_messages_say_what_happened(relay, fault, words):
    """With no fallback, the client's error names what happened, in plain words."""
    body = CLIENTS["anthropic"].body(False, f"solo-{fault}")
    resp = requests.post(relay.url + "/v1/messages", json=body, timeout=30)
    assert resp.status_code >= 400
    assert words in resp.json()["error"]["message"], resp.text
