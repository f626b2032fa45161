"""Every client dialect in front of every backend type: 5 x 6 pairs, streaming and not.

The other tests go deep on one pair at a time; this one checks the whole grid stays wired: for
each backend type one relay is started in front of a scripted upstream speaking that
backend's protocol, and each client protocol asks it for the same short answer. The client
must get the text in its own shape (and a stream its own terminal marker), the upstream must
get the configured model on its own path, and the token log a success line naming the
dialect."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.fakes import gemini, ollama, responses
from tests.fakes.replies import answer
from tests.fakes.upstream import Reply

TEXT = "matrix ok"
QUESTION = "matrix question"


def _responses_reply(stream: bool) -> Reply:
    items = [responses.message(TEXT)]
    if stream:
        return Reply(sse=responses.response_events(items, chunk=100), event_names=True)
    return Reply(json=responses.response_body(items))


def _gemini_reply(stream: bool) -> Reply:
    body = gemini.response([{"text": TEXT}], usage=gemini.usage())
    return gemini.sse([body]) if stream else Reply(json=body)


def _ollama_reply(stream: bool) -> Reply:
    if stream:
        return ollama.ndjson([ollama.line(TEXT), ollama.done()])
    return Reply(json=ollama.done(content=TEXT))


#: backend type -> (provider section given the upstream's URL, reply builder, upstream path)
BACKENDS: dict[str, tuple[Any, Any, Any]] = {
    "openai": (lambda url: {"base_url": url + "/v1", "model": "up-model"},
               lambda s: answer("openai", text=TEXT, stream=s),
               lambda s: "/v1/chat/completions"),
    "anthropic": (lambda url: {"base_url": url, "model": "up-model"},
                  lambda s: answer("anthropic", text=TEXT, stream=s),
                  lambda s: "/v1/messages"),
    "azure": (lambda url: {"base_url": url, "model": "up-model"},
              lambda s: answer("openai", text=TEXT, stream=s),
              lambda s: "/openai/deployments/up-model/chat/completions"),
    "responses": (lambda url: {"base_url": url + "/v1", "model": "up-model"},
                  _responses_reply, lambda s: "/v1/responses"),
    "gemini": (lambda url: {"base_url": url + "/v1beta", "model": "up-model"},
               _gemini_reply,
               lambda s: "/v1beta/models/up-model:" + ("streamGenerateContent" if s else "generateContent")),
    "ollama": (lambda url: {"base_url": url, "model": "up-model"},
               _ollama_reply, lambda s: "/api/chat"),
}  # fmt: skip


def _gemini_request(stream: bool) -> tuple[str, dict[str, Any]]:
    verb = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"/v1beta/models/m:{verb}", {
        "contents": [{"role": "user", "parts": [{"text": QUESTION}]}]
    }


def _message_text(body: dict[str, Any]) -> str:
    (item,) = [i for i in body["output"] if i["type"] == "message"]
    return item["content"][0]["text"]


def _sse(text: str) -> list[Any]:
    return [json.loads(x[6:]) for x in text.split("\n") if x.startswith("data: {")]


def _anthropic_stream(text: str) -> tuple[str, bool]:
    events = _sse(text)
    deltas = [e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta"]
    return "".join(deltas), events[-1]["type"] == "message_stop"


def _chat_stream(text: str) -> tuple[str, bool]:
    chunks = _sse(text)
    deltas = [c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]]
    return "".join(deltas), text.rstrip().endswith("data: [DONE]")


def _responses_stream(text: str) -> tuple[str, bool]:
    events = _sse(text)
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    return "".join(deltas), events[-1]["type"] == "response.completed"


def _gemini_stream(text: str) -> tuple[str, bool]:
    chunks = _sse(text)
    parts = [p.get("text", "") for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    return "".join(parts), chunks[-1]["candidates"][0].get("finishReason") == "STOP"


def _ollama_stream(text: str) -> tuple[str, bool]:
    lines = [json.loads(x) for x in text.splitlines() if x.strip()]
    return "".join(x["message"]["content"] for x in lines), lines[-1]["done"] is True


USER = [{"role": "user", "content": QUESTION}]
#: dialect -> (request given stream, text of a whole answer, (text, ended) of a stream)
DIALECTS: dict[str, tuple[Any, Any, Any]] = {
    "anthropic": (lambda s: ("/v1/messages", {"model": "m", "max_tokens": 64, "messages": USER, "stream": s}),
                  lambda b: b["content"][0]["text"], _anthropic_stream),
    "openai_chat": (lambda s: ("/v1/chat/completions", {"model": "m", "messages": USER, "stream": s}),
                    lambda b: b["choices"][0]["message"]["content"], _chat_stream),
    "openai_responses": (lambda s: ("/v1/responses", {"model": "m", "input": QUESTION, "stream": s}),
                         _message_text, _responses_stream),
    "gemini": (_gemini_request, lambda b: b["candidates"][0]["content"]["parts"][0]["text"],
               _gemini_stream),
    "ollama": (lambda s: ("/api/chat", {"model": "m", "messages": USER, "stream": s}),
               lambda b: b["message"]["content"], _ollama_stream),
}  # fmt: skip


@pytest.mark.parametrize("backend", list(BACKENDS))
def test_every_dialect_through_this_backend(start_relay, upstream, backend):
    section, reply, upstream_path = BACKENDS[backend]
    relay = start_relay({"provider": {"name": "up"}, "providers": {
        "up": {"type": backend, "api_key": "sk-test-upstream", **section(upstream.url)}}})  # fmt: skip
    n = 0
    for dialect, (request, text_of, stream_of) in DIALECTS.items():
        for stream in (False, True):
            case = f"{dialect} -> {backend}, stream={stream}"
            upstream.reply(reply(stream))
            path, body = request(stream)
            resp = requests.post(relay.url + path, json=body, timeout=20,
                                 headers={"authorization": "Bearer client-key"})  # fmt: skip
            assert resp.status_code == 200, f"{case}: {resp.status_code} {resp.text[:300]}"
            if stream:
                assert stream_of(resp.text) == (TEXT, True), f"{case}: {resp.text[-300:]}"
            else:
                assert text_of(resp.json()) == TEXT, f"{case}: {resp.text[:300]}"
            sent = upstream.requests[n]
            n += 1
            assert sent.path.split("?")[0] == upstream_path(stream), case
            assert QUESTION in json.dumps(sent.body), case
            assert "client-key" not in json.dumps(sent.headers), case
    lines = relay.token_lines(expect=n)
    assert [ln.split("dialect=")[1].split(" ")[0] for ln in lines] == [
        d for d in DIALECTS for _ in (0, 1)
    ]
    assert all("status=success" in ln and "model=up-model" in ln for ln in lines)
