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

    request: Callable[[bool, str], tuple[str, dict[str, Any]]]  # (stream, model) -> path, body
    text_of: Callable[[requests.Response, bool], str]  # the answer's text
    stream_error: Callable[[str], bool]  # whether a stream body ends in the dialect's error


def _sse_data(text: str) -> list[Any]:
    return [json.loads(x[6:]) for x in text.splitlines() if x.startswith("data: {")]


def _anthropic_text(resp: requests.Response, stream: bool) -> str:
    if not stream:
        return "".join(b.get("text", "") for b in resp.json()["content"])
    return "".join(ev["delta"].get("text", "") for ev in _sse_data(resp.text)
                   if ev.get("type") == "content_block_delta")  # fmt: skip


def _anthropic_stream_error(text: str) -> bool:
    last = [line for line in text.splitlines() if line.startswith("event: ")][-1]
    return last == "event: error" and '"type":"error"' in text.replace(" ", "")


def _chat_text(resp: requests.Response, stream: bool) -> str:
    if not stream:
        return str(resp.json()["choices"][0]["message"]["content"] or "")
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in _sse_data(resp.text)
                   if c.get("choices"))  # fmt: skip


def _responses_text(resp: requests.Response, stream: bool) -> str:
    if not stream:
        return "".join(part.get("text", "") for item in resp.json()["output"]
                       if item["type"] == "message" for part in item["content"])  # fmt: skip
    return "".join(ev["delta"] for ev in _sse_data(resp.text)
                   if ev.get("type") == "response.output_text.delta")  # fmt: skip


def _responses_stream_error(text: str) -> bool:
    types = [ev.get("type") for ev in _sse_data(text)]
    return "response.failed" in types and "response.completed" not in types


def _gemini_text(resp: requests.Response, stream: bool) -> str:
    answers = _sse_data(resp.text) if stream else [resp.json()]
    return "".join(p.get("text", "") for a in answers for c in a.get("candidates") or ()
                   for p in c["content"].get("parts") or () if not p.get("thought"))  # fmt: skip


def _ollama_text(resp: requests.Response, stream: bool) -> str:
    lines = (
        [json.loads(x) for x in resp.text.splitlines() if x.strip()] if stream else [resp.json()]
    )
    return "".join(x.get("message", {}).get("content", "") for x in lines)


def _last_data_is_an_error(text: str) -> bool:
    events = _sse_data(text)
    return bool(events) and "error" in events[-1]


def _last_line_is_an_error(text: str) -> bool:
    lines = [json.loads(x) for x in text.splitlines() if x.strip()]
    return bool(lines) and "error" in lines[-1] and not lines[-1].get("done")


MSGS = [{"role": "user", "content": "hi"}]
CLIENTS = {
    "anthropic": Client(
        lambda s, m: (
            "/v1/messages",
            {"model": m, "max_tokens": 20, "stream": s, "messages": MSGS},
        ),
        _anthropic_text,
        _anthropic_stream_error,
    ),
    "openai_chat": Client(
        lambda s, m: ("/v1/chat/completions", {"model": m, "stream": s, "messages": MSGS}),
        _chat_text,
        _last_data_is_an_error,
    ),
    "openai_responses": Client(
        lambda s, m: ("/v1/responses", {"model": m, "stream": s, "input": "hi"}),
        _responses_text,
        _responses_stream_error,
    ),
    "gemini": Client(
        lambda s, m: (
            f"/v1beta/models/{m}:" + ("streamGenerateContent?alt=sse" if s else "generateContent"),
            {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
        ),
        _gemini_text,
        _last_data_is_an_error,
    ),
    "ollama": Client(
        lambda s, m: ("/api/chat", {"model": m, "stream": s, "messages": MSGS}),
        _ollama_text,
        _last_line_is_an_error,
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
        path, body = client.request(stream, fault)
        resp = requests.post(relay.url + path, json=body, timeout=30)
        assert resp.status_code == 200, (fault, resp.text)
        assert client.text_of(resp, stream) == HEALTHY_TEXT, fault
        lines = lines_for(relay, fault, 2)
        assert f"provider={fault} " in lines[0] and "status=fallback" in lines[0], lines
        assert "provider=healthy" in lines[1] and "status=success" in lines[1], lines


@pytest.mark.parametrize("dialect", sorted(CLIENTS))
def test_faults_after_the_first_byte_end_the_stream_with_an_error(relay, upstream, dialect):
    client = CLIENTS[dialect]
    for fault in FAULTS_AFTER:
        path, body = client.request(True, fault)
        resp = requests.post(relay.url + path, json=body, timeout=30)
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
    path, body = CLIENTS["anthropic"].request(False, f"solo-{fault}")
    resp = requests.post(relay.url + path, json=body, timeout=30)
    assert resp.status_code >= 400
    assert words in resp.json()["error"]["message"], resp.text
