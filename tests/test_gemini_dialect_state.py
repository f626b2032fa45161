"""What must survive a Gemini client's round trip: thought signatures, side fields, keep-alives.

Real server, google-genai (retries off), scripted upstreams. A small strategy plugin of
protocol ``gemini`` stands in for a Gemini backend, so the side-field contract and the
"only a Gemini backend can serve this" fallback are checked through the running relay.
"""

from __future__ import annotations

import json
import textwrap

import pytest
import requests
from google.genai import types

from tests.conftest import one_provider
from tests.fakes.gemini_support import (
    anthropic_events,
    anthropic_message,
    chat_text_stream,
    genai_client,
)
from tests.fakes.upstream import Reply

WRITE_FILE = types.FunctionDeclaration(
    name="write_file",
    description="Write a file",
    parameters=types.Schema(
        type="OBJECT",
        properties={"file_path": types.Schema(type="STRING"),
                    "content": types.Schema(type="STRING", nullable=True)},
        required=["file_path"],
    ),
)  # fmt: skip
CONFIG = types.GenerateContentConfig(
    tools=[types.Tool(function_declarations=[WRITE_FILE])],
    automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    thinking_config=types.ThinkingConfig(thinking_budget=4096, include_thoughts=True),
    max_output_tokens=8192,
)
ARGS = {"file_path": "hello.txt", "content": "hi"}
SIGNATURE = "EqQBCkYIBxgCKkDsignedByAnthropic+/=="

# A strategy of protocol "gemini" that forwards what it was given, so the test can see it.
PROBE = textwrap.dedent("""
    from ccrelay.core.hookspecs import hookimpl
    from ccrelay.core.provider import Provider, UpstreamRequest

    @hookimpl
    def ccrelay_register_providers(register):
        register(Probe)

    class Probe(Provider):
        name = "gemini_probe"
        protocol = "gemini"

        def convert_request(self, req, ctx):
            return UpstreamRequest("/probe", {"request": req, "side": dict(ctx.side_for("gemini"))}, False)

        def convert_response(self, body, ctx):
            return {"id": "msg_probe", "type": "message", "role": "assistant",
                    "model": ctx.client_model, "content": [{"type": "text", "text": "probed"}],
                    "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": 1, "output_tokens": 1}}

        def stream(self, events, ctx):
            raise NotImplementedError
""")


@pytest.mark.parametrize("stream", [True, False])
def test_anthropic_signed_thinking_comes_back_in_the_tool_loop(start_relay, upstream, stream):
    relay = start_relay(one_provider("anthropic", upstream.url, model="claude-up"))
    first = [
        {"type": "thinking", "thinking": "I should write the file.", "signature": SIGNATURE},
        {"type": "redacted_thinking", "data": "RWRhY3RlZA=="},
        {"type": "text", "text": "Writing it now."},
        {"type": "tool_use", "id": "toolu_01", "name": "write_file", "input": ARGS},
    ]
    if stream:
        upstream.reply(Reply(sse=anthropic_events(first, stop="tool_use"), event_names=True))
    else:
        upstream.reply(Reply(json=anthropic_message(first, stop="tool_use")))
    client = genai_client(relay.url)
    chat = client.chats.create(model="gemini-2.5-pro", config=CONFIG)
    if stream:
        chunks = list(chat.send_message_stream("Create hello.txt containing hi"))
        parts = [p for c in chunks for p in c.candidates[0].content.parts or ()]
    else:
        parts = chat.send_message("Create hello.txt containing hi").candidates[0].content.parts
    assert "".join(p.text for p in parts if p.thought) == "I should write the file."
    (call_part,) = [p for p in parts if p.function_call]
    assert call_part.function_call.id == "toolu_01" and call_part.function_call.args == ARGS
    # The signature rides on the first part after the thinking: (the first piece of) the text.
    (signed,) = [p for p in parts if p.thought_signature]
    assert not signed.thought and signed.text and "Writing it now.".startswith(signed.text)

    upstream.reply(Reply(json=anthropic_message([{"type": "text", "text": "Done."}])))
    answer = chat.send_message(types.Part(function_response=types.FunctionResponse(
        id="toolu_01", name="write_file", response={"output": "ok"})))  # fmt: skip
    assert answer.text == "Done."
    sent = upstream.requests[1].body
    assert sent["messages"][1] == {"role": "assistant", "content": first}
    assert sent["messages"][2] == {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "ok"}]}  # fmt: skip
    assert sent["tools"][0]["input_schema"] == {
        "type": "object",
        "properties": {"file_path": {"type": "string"},
                       "content": {"type": ["string", "null"]}},
        "required": ["file_path"],
    }  # fmt: skip


def test_gemini_cli_history_without_thought_parts_still_returns_the_signature(
    start_relay, upstream
):
    """Gemini CLI drops thought parts from its history and keeps the functionCall part's
    signature: the signed thinking must still reach the Anthropic backend whole."""
    relay = start_relay(one_provider("anthropic", upstream.url, model="claude-up"))
    first = [
        {"type": "thinking", "thinking": "Plan: write it.", "signature": SIGNATURE},
        {"type": "tool_use", "id": "toolu_02", "name": "write_file", "input": ARGS},
    ]
    upstream.reply(Reply(sse=anthropic_events(first, stop="tool_use"), event_names=True))
    url = relay.url + "/v1beta/models/gemini-3-pro:streamGenerateContent?alt=sse"
    body = {
        "contents": [{"role": "user", "parts": [{"text": "Create hello.txt"}]}],
        "tools": [{"functionDeclarations": [{"name": "write_file", "parametersJsonSchema": {
            "type": "object", "properties": {"file_path": {"type": "string"}}}}]}],
        "generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingLevel": "HIGH"}},
    }  # fmt: skip
    resp = requests.post(url, json=body, timeout=10)
    chunks = [json.loads(line[6:]) for line in resp.text.split("\n\n") if line.startswith("data: ")]
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    kept = [p for p in parts if not p.get("thought")]  # what Gemini CLI keeps
    assert [list(p) for p in kept] == [["functionCall", "thoughtSignature"]]
    assert upstream.requests[0].body["thinking"] == {"type": "adaptive"}
    assert upstream.requests[0].body["output_config"] == {"effort": "high"}

    upstream.reply(Reply(json=anthropic_message([{"type": "text", "text": "Done."}])))
    body["contents"] += [
        {"role": "model", "parts": kept},
        {"role": "user", "parts": [{"functionResponse": {
            "id": "write_file__toolu_02", "name": "write_file", "response": {"output": "ok"}}}]},
    ]  # fmt: skip
    # Gemini CLI prefixes the ids it was given with "<name>__" on the call and the response.
    body["contents"][1]["parts"][0]["functionCall"]["id"] = "write_file__toolu_02"
    resp = requests.post(url.replace("streamGenerateContent?alt=sse", "generateContent"),
                         json=body, timeout=10)  # fmt: skip
    assert resp.status_code == 200, resp.text
    sent = upstream.requests[1].body["messages"]
    assert sent[1]["content"] == [
        {"type": "thinking", "thinking": "Plan: write it.", "signature": SIGNATURE},
        {"type": "tool_use", "id": "write_file__toolu_02", "name": "write_file", "input": ARGS},
    ]
    assert sent[2]["content"][0]["tool_use_id"] == "write_file__toolu_02"


def test_gemini_signatures_never_reach_other_backends(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url, model="claude-up"))
    upstream.reply(Reply(json=anthropic_message([{"type": "text", "text": "ok"}])))
    contents = [
        {"role": "user", "parts": [{"text": "go"}]},
        {"role": "model", "parts": [
            {"text": "thinking...", "thought": True, "thoughtSignature": "c2lnLXRob3VnaHQ="},
            {"functionCall": {"name": "f", "args": {}},
             "thoughtSignature": "skip_thought_signature_validator"}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]},
    ]  # fmt: skip
    resp = requests.post(relay.url + "/v1beta/models/g:generateContent",
                         json={"contents": contents}, timeout=10)  # fmt: skip
    assert resp.status_code == 200, resp.text
    sent = json.dumps(upstream.requests[0].body)
    assert "skip_thought_signature_validator" not in sent and "c2lnLXRob3VnaHQ=" not in sent
    assert upstream.requests[0].body["messages"][1]["content"] == [
        {"type": "tool_use", "id": upstream.requests[0].body["messages"][2]["content"][0][
            "tool_use_id"], "name": "f", "input": {}}]  # fmt: skip


def test_side_fields_and_gemini_only_calls_reach_a_gemini_protocol_backend(
    start_relay, upstream, upstream2, tmp_path
):
    plugins = tmp_path / "plugins"
    (plugins / "gemini_probe").mkdir(parents=True)
    (plugins / "gemini_probe" / "__init__.py").write_text(PROBE)
    config = {
        "provider": {"name": "chat", "fallback_providers": ["probe"]},
        "providers": {
            "chat": {"type": "openai", "base_url": upstream.url + "/v1", "api_key": "k1"},
            "probe": {"type": "gemini_probe", "base_url": upstream2.url, "api_key": "k2"},
        },
    }
    relay = start_relay(config, "--providers-dir", str(plugins))
    upstream2.default = Reply(json={"ok": True})
    body = {
        "contents": [{"role": "user", "parts": [
            {"text": "summarise"},
            {"fileData": {"mimeType": "application/pdf", "fileUri": "files/abc123"}}]}],
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_NONE"}],
        "cachedContent": "cachedContents/xyz",
        "tools": [{"googleSearch": {}}],
        "generationConfig": {"seed": 7, "presencePenalty": 0.5, "temperature": 1.5,
                             "thinking_config": {"thinking_budget": -1}},
        "futureField": {"x": 1},
    }  # fmt: skip
    resp = requests.post(relay.url + "/v1beta/models/gemini-2.5-pro:generateContent",
                         json=body, timeout=10)  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert resp.json()["candidates"][0]["content"]["parts"] == [{"text": "probed"}]
    assert "futureField" in resp.headers["x-ccrelay-warning"]
    assert upstream.requests == []  # the OpenAI provider was skipped, not sent half a request
    (probe,) = upstream2.requests
    side = probe.body["side"]
    assert side == {
        "safetySettings": body["safetySettings"],
        "cachedContent": "cachedContents/xyz",
        "tools": [{"googleSearch": {}}],
        "generationConfig": {"seed": 7, "presencePenalty": 0.5, "temperature": 1.5,
                             "thinkingConfig": {"thinking_budget": -1}},
        "futureField": {"x": 1},
    }  # fmt: skip
    req = probe.body["request"]
    assert req["temperature"] == 1 and req["thinking"] == {"type": "adaptive"}
    assert req["messages"][0]["content"][1] == {"type": "document", "source": {
        "type": "url", "url": "files/abc123", "media_type": "application/pdf"}}  # fmt: skip
    lines = relay.token_lines(2)
    assert "provider=chat" in lines[0] and "status=fallback" in lines[0]


def test_gemini_only_call_without_a_gemini_backend_names_every_reason(start_relay, upstream):
    relay = start_relay(one_provider("openai", upstream.url))
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "cachedContent": "cachedContents/xyz",
        "tools": [{"codeExecution": {}}],
    }
    resp = requests.post(relay.url + "/v1/models/g:generateContent", json=body, timeout=10)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert "cachedContent" in error["message"] and "tools[0].codeExecution" in error["message"]
    assert upstream.requests == []


def test_keepalives_keep_both_framings_valid(start_relay, upstream):
    config = one_provider("openai", upstream.url)
    config["limits"] = {"ping_interval": 0.5}
    relay = start_relay(config)
    url = relay.url + "/v1beta/models/g:streamGenerateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}
    for alt in ("?alt=sse", ""):
        upstream.reply(Reply(sse=chat_text_stream("slow\u2028answer", pieces=2), chunk_delay=1.2))
        raw = requests.post(url + alt, json=body, timeout=30).content
        if alt:
            assert b"\xe2\x80\xa8" not in raw  # written as \\u2028 for the JS SDK
            assert b"\n\n\n" in raw  # a keep-alive newline between two events
            chunks = [json.loads(e[6:]) for e in raw.split(b"\n\n") if e.startswith(b"data: ")]
        else:
            assert raw.startswith(b"\n") and raw.lstrip().startswith(b"[") and raw.endswith(b"]")
            chunks = json.loads(raw)
        text = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"])
        assert text == "slow\u2028answer"
    # The SDK reads a stream with keep-alives in it.
    upstream.reply(Reply(sse=chat_text_stream("kept alive", pieces=2), chunk_delay=1.2))
    client = genai_client(relay.url)
    chunks = list(client.models.generate_content_stream(model="g", contents="hi"))
    assert "".join(c.text or "" for c in chunks) == "kept alive"
