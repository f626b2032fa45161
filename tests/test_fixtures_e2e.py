"""Every real Claude Code request, relayed through the running server to both kinds of upstream.

For each fixture the test asserts what the upstream received (a body the real vendor accepts,
the right headers, no client key) and what the client got back.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import FIXTURES, one_provider
from tests.fakes.upstream import Reply
from tests.openai_checks import assert_openai_valid

CLAUDE_CODE = sorted(p for p in (FIXTURES / "claude_code").glob("*.json") if p.name[:2] != "00")
ANTHROPIC_ANSWER = {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
                    "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
                    "stop_sequence": None, "usage": {"input_tokens": 5, "output_tokens": 1}}  # fmt: skip
FORWARDED = ("anthropic-version", "anthropic-beta", "content-type")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def send(relay, fixture: dict) -> requests.Response:
    headers = {k: v for k, v in fixture["headers"].items() if k in FORWARDED}
    headers["x-api-key"] = "client-side-key"
    query = "?beta=true" if fixture["query"].get("beta") else ""
    body = dict(fixture["body"])
    body["stream"] = False  # the answer shape is not what these tests are about
    return requests.post(
        relay.url + fixture["path"] + query, json=body, headers=headers, timeout=10
    )


@pytest.mark.parametrize("path", CLAUDE_CODE, ids=lambda p: p.stem)
def test_fixture_through_an_openai_upstream(start_relay, upstream, path):
    relay = start_relay(one_provider("openai", upstream.url, model="deepseek-chat"))
    upstream.reply(Reply(json={"id": "c", "object": "chat.completion", "model": "deepseek-chat",
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": "ok"}}],
                               "usage": {"prompt_tokens": 5, "completion_tokens": 1}}))  # fmt: skip
    fixture = load(path)
    resp = send(relay, fixture)
    assert resp.status_code == 200, resp.text
    assert resp.json()["content"] == [{"type": "text", "text": "ok"}]
    (sent,) = upstream.requests
    assert sent.path == "/v1/chat/completions"
    assert_openai_valid(sent.body)
    assert sent.body["model"] == "deepseek-chat"
    assert len(sent.body.get("tools", [])) == len(fixture["body"].get("tools", []))
    assert "client-side-key" not in json.dumps(sent.headers)


@pytest.mark.parametrize("path", CLAUDE_CODE, ids=lambda p: p.stem)
def test_fixture_through_an_anthropic_upstream(start_relay, upstream, path):
    relay = start_relay(one_provider("anthropic", upstream.url, model="deepseek-chat",
                                     options={"system_messages": "keep"}))  # fmt: skip
    upstream.reply(Reply(json=ANTHROPIC_ANSWER))
    fixture = load(path)
    resp = send(relay, fixture)
    assert resp.status_code == 200, resp.text
    assert resp.json()["model"] == fixture["body"]["model"]
    (sent,) = upstream.requests
    assert sent.path == "/v1/messages"
    expected = {**fixture["body"], "model": "deepseek-chat", "stream": False}
    # deepseek-chat's profile caps its output at 8,192 tokens, and a thinking budget stays
    # below it (core/profiles.py)
    expected["max_tokens"] = min(expected["max_tokens"], 8192)
    if expected.get("thinking", {}).get("budget_tokens", 0) >= 8192:
        expected["thinking"] = {**expected["thinking"], "budget_tokens": 8191}
    assert sent.body == expected  # a pass-through: nothing else added, nothing lost
    assert sent.headers["anthropic-version"] == fixture["headers"]["anthropic-version"]
    assert sent.headers["anthropic-beta"] == fixture["headers"]["anthropic-beta"]
    assert sent.headers["x-api-key"] == "sk-test-upstream"


def test_third_party_settings_strip_fields_and_betas(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url, options={
        "strip_fields": ["context_management", "output_config"],
        "strip_betas": ["context-management-2025-06-27", "effort-2025-11-24"],
        "auth": "bearer",
    }))  # fmt: skip
    upstream.reply(Reply(json=ANTHROPIC_ANSWER))
    fixture = load(FIXTURES / "claude_code" / "01_messages_turn1_stream.json")
    assert send(relay, fixture).status_code == 200
    (sent,) = upstream.requests
    assert "context_management" not in sent.body and "output_config" not in sent.body
    assert sent.body["thinking"] == fixture["body"]["thinking"]
    betas = sent.headers["anthropic-beta"].split(",")
    assert "context-management-2025-06-27" not in betas and "effort-2025-11-24" not in betas
    assert "claude-code-20250219" in betas
    assert sent.headers["authorization"] == "Bearer sk-test-upstream"
    assert "x-api-key" not in sent.headers


def test_foreign_thinking_never_reaches_a_signature_checking_backend(start_relay, upstream):
    relay = start_relay(
        one_provider("anthropic", upstream.url, options={"validates_signatures": True})
    )
    upstream.reply(Reply(json=ANTHROPIC_ANSWER))
    body = {"model": "c", "max_tokens": 50, "messages": [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "from deepseek, unsigned"},
            {"type": "thinking", "thinking": "signed by Anthropic", "signature": "EqQBsig"},
            {"type": "text", "text": "a"}]},
        {"role": "user", "content": "next"},
    ]}  # fmt: skip
    assert requests.post(relay.url + "/v1/messages", json=body, timeout=10).status_code == 200
    sent = upstream.requests[0].body["messages"][1]["content"]
    assert sent == [{"type": "thinking", "thinking": "signed by Anthropic", "signature": "EqQBsig"},
                    {"type": "text", "text": "a"}]  # fmt: skip


def test_anthropic_context_error_tells_claude_code_to_compact(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url))
    upstream.reply(Reply(400, json={"error": {"message": "This model's maximum context length is 65536 tokens",
                                              "type": "invalid_request_error"}}))  # fmt: skip
    resp = requests.post(relay.url + "/v1/messages", json={"model": "c", "max_tokens": 5,
                         "messages": [{"role": "user", "content": "x"}]}, timeout=10)  # fmt: skip
    assert resp.status_code == 400
    assert resp.json()["error"]["type"] == "invalid_request_error"
    assert "prompt is too long" in resp.json()["error"]["message"]


@pytest.mark.parametrize("path", CLAUDE_CODE, ids=lambda p: p.stem)
def test_third_party_gets_mid_conversation_system_merged(start_relay, upstream, path):
    # By default a third-party Anthropic-compatible vendor never sees role "system" (a beta
    # only Anthropic knows); the text travels in the nearest user turn, after tool results.
    relay = start_relay(one_provider("anthropic", upstream.url))
    upstream.reply(Reply(json=ANTHROPIC_ANSWER))
    fixture = load(path)
    assert send(relay, fixture).status_code == 200
    sent = upstream.requests[0].body["messages"]
    original = fixture["body"]["messages"]
    assert all(m["role"] in ("user", "assistant") for m in sent)
    system_texts = [m["content"] for m in original if m["role"] == "system"]
    flat = json.dumps(sent)
    for text in system_texts:
        assert json.dumps(f"<system-reminder>\n{text}\n</system-reminder>")[1:-1] in flat
    for before, after in zip([m for m in original if m["role"] != "system"], sent, strict=False):
        assert before["role"] == after["role"]
        if before["role"] == "user" and isinstance(before["content"], list):
            # the user's own blocks come first, unchanged (tool results stay first)
            assert after["content"][: len(before["content"])] == before["content"]


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        (  # after a tool_use turn: waits for the user turn and goes after its tool results
            [{"role": "user", "content": "q"},
             {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]},
             {"role": "system", "content": "S"},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"}]}],
            [{"role": "user", "content": "q"},
             {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "n", "input": {}}]},
             {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "r"},
                                          {"type": "text", "text": "<system-reminder>\nS\n</system-reminder>"}]}],
        ),
        (  # right after a user turn: appended to it
            [{"role": "user", "content": "q"}, {"role": "system", "content": [{"type": "text", "text": "S"}]}],
            [{"role": "user", "content": [{"type": "text", "text": "q"},
                                          {"type": "text", "text": "<system-reminder>\nS\n</system-reminder>"}]}],
        ),
    ],
)  # fmt: skip
def test_merge_system_messages(messages, expected):
    from ccrelay.core.plugins import Registry
    from tests.conftest import ROOT

    registry = Registry([ROOT / "providers"], entrypoints=False)
    registry.refresh()
    module = sys.modules[type(registry.get("anthropic")).__module__]
    assert module._merge_system_messages(messages) == expected
