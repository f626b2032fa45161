"""Every real Gemini CLI request, relayed through the running server to both kinds of upstream.

For each fixture the test asserts what the upstream received (a well-formed body of its
protocol: every function declared, every call answered, no Gemini-only field or signature,
no client key) and what the client got back (a Gemini answer of the right framing).
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.conftest import one_provider
from tests.fakes.gemini_support import (
    GEMINI_FIXTURES,
    anthropic_events,
    anthropic_message,
    chat_completion,
    chat_text_stream,
    load_fixture,
)
from tests.fakes.upstream import Reply

CLIENT_KEY = "client-side-gemini-key"


def send(relay, fixture: dict) -> requests.Response:
    headers = {k: v for k, v in fixture["headers"].items() if k in ("content-type", "user-agent")}
    headers["x-goog-api-key"] = CLIENT_KEY
    query = "&".join(f"{k}={v[0]}" for k, v in fixture["query"].items())
    url = relay.url + fixture["path"] + (f"?{query}" if query else "")
    return requests.post(url, json=fixture["body"], headers=headers, timeout=15)


def declared(fixture: dict) -> list[str]:
    tools = fixture["body"].get("tools", [])
    return [d["name"] for t in tools for d in t.get("functionDeclarations", [])]


def answer_of(resp: requests.Response, streamed: bool) -> str:
    if streamed:
        chunks = [json.loads(e[6:]) for e in resp.text.split("\n\n") if e.startswith("data: ")]
        assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
        assert "usageMetadata" in chunks[-1]
    else:
        chunks = [resp.json()]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    return "".join(p.get("text", "") for p in parts if not p.get("thought"))


def assert_no_gemini_leftovers(sent) -> None:
    text = json.dumps(sent.body)
    for word in ("thoughtSignature", "skip_thought_signature_validator", "functionCall",
                 "parametersJsonSchema", '"OBJECT"', '"STRING"', CLIENT_KEY):  # fmt: skip
        assert word not in text
    assert CLIENT_KEY not in json.dumps(sent.headers) + sent.path


@pytest.mark.parametrize("path", GEMINI_FIXTURES, ids=lambda p: p.stem)
def test_fixture_through_an_openai_upstream(start_relay, upstream, path):
    relay = start_relay(one_provider("openai", upstream.url, model="deepseek-chat"))
    fixture = load_fixture(path)
    streamed = "streamGenerateContent" in fixture["path"]
    text = '{"complexity_reasoning": "small", "complexity_score": 5}'
    if streamed:
        upstream.reply(Reply(sse=chat_text_stream(text)))
    else:
        upstream.reply(Reply(json=chat_completion({"content": text})))
    resp = send(relay, fixture)
    assert resp.status_code == 200, resp.text
    assert answer_of(resp, streamed) == text
    (sent,) = upstream.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-test-upstream"
    assert_no_gemini_leftovers(sent)
    body = sent.body
    assert body["model"] == "deepseek-chat"
    assert body["messages"][0]["role"] == "system"
    assert [t["function"]["name"] for t in body.get("tools", [])] == declared(fixture)
    for tool in body.get("tools", []):
        assert tool["function"]["parameters"]["type"] == "object"
    called = [c["id"] for m in body["messages"] for c in m.get("tool_calls", [])]
    answered = [m["tool_call_id"] for m in body["messages"] if m["role"] == "tool"]
    assert called == answered
    gen = fixture["body"]["generationConfig"]
    assert (body["temperature"], body["top_p"]) == (gen["temperature"], gen["topP"])
    if "responseJsonSchema" in gen:
        schema = body["response_format"]["json_schema"]["schema"]
        assert schema["type"] == "object"
        assert schema["properties"]["complexity_score"]["type"] == "integer"


@pytest.mark.parametrize("path", GEMINI_FIXTURES, ids=lambda p: p.stem)
def test_fixture_through_an_anthropic_upstream(start_relay, upstream, path):
    relay = start_relay(one_provider("anthropic", upstream.url, model="claude-up"))
    fixture = load_fixture(path)
    streamed = "streamGenerateContent" in fixture["path"]
    content = [{"type": "thinking", "thinking": "hm", "signature": "c2ln"},
               {"type": "text", "text": "ok"}]  # fmt: skip
    if streamed:
        upstream.reply(Reply(sse=anthropic_events(content), event_names=True))
    else:
        upstream.reply(Reply(json=anthropic_message(content)))
    resp = send(relay, fixture)
    assert resp.status_code == 200, resp.text
    assert answer_of(resp, streamed) == "ok"
    (sent,) = upstream.requests
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == "sk-test-upstream"
    assert_no_gemini_leftovers(sent)
    body = sent.body
    assert body["model"] == "claude-up" and body.get("stream", False) is streamed
    assert body["system"][0]["text"] == fixture["body"]["systemInstruction"]["parts"][0]["text"]
    assert [t["name"] for t in body.get("tools", [])] == declared(fixture)
    assert all(t["input_schema"]["type"] == "object" for t in body.get("tools", []))
    assert body["messages"][0]["role"] == "user"
    roles = [m["role"] for m in body["messages"]]
    assert all(a != b for a, b in zip(roles, roles[1:], strict=False))  # merged, alternating
    uses = [b["id"] for m in body["messages"] for b in m["content"] if b["type"] == "tool_use"]
    results = [b["tool_use_id"] for m in body["messages"] for b in m["content"]
               if b["type"] == "tool_result"]  # fmt: skip
    assert uses == results
    # Gemini CLI asks for thinking at level HIGH with thoughts shown.
    assert body["thinking"] == {"type": "adaptive"}
    assert body["output_config"]["effort"] == "high"
    if streamed:
        assert '"thought":true' in resp.text.replace(" ", "")
