"""Compat mode's request side with plain data: the tools prompt, the history, the config key."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from ccrelay.core.compat import CallParser, ToolCall, applies, compat_request
from ccrelay.core.config import ConfigError, ProviderConfig, load_settings
from ccrelay.core.dialect import ClientCall
from ccrelay.core.errors import Unsupported
from ccrelay.core.provider import RequestContext
from tests.conftest import FIXTURES

TOOLS = [
    {"name": "Write", "description": "Write a file to the local filesystem.",
     "input_schema": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
                      "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
                      "required": ["file_path", "content"], "additionalProperties": False}},
    {"name": "Bash", "description": "Run a shell command.",
     "input_schema": {"type": "object", "properties": {"command": {"type": "string"},
                      "timeout": {"type": "number"}}, "required": ["command"]}},
]  # fmt: skip


def request(**extra):
    return {"model": "m", "max_tokens": 100, "tools": TOOLS,
            "messages": [{"role": "user", "content": "hi"}], **extra}  # fmt: skip


def system_text(req) -> str:
    system = req["system"]
    return system if isinstance(system, str) else "\n".join(b["text"] for b in system)


def test_tools_leave_the_request_and_enter_the_system_prompt():
    original = request(system="Be brief.", tool_choice={"type": "auto"})
    before = copy.deepcopy(original)
    out = compat_request(original)
    assert original == before  # the client's request is not edited
    assert "tools" not in out and "tool_choice" not in out
    assert out["system"][0] == {"type": "text", "text": "Be brief."}
    prompt = out["system"][1]["text"]
    assert (
        '<tool name="Write">\nWrite a file to the local filesystem.\nArguments schema: {' in prompt
    )
    assert '"required":["file_path","content"]' in prompt and "$schema" not in prompt
    assert '<tool name="Bash">' in prompt and "<tool_call>" in prompt and "</tool_call>" in prompt
    # the example in the prompt is itself a valid call in the format the parser reads
    parser = CallParser({"Write", "Bash"})
    calls = [s for s in parser.feed(prompt[prompt.index("Example") :]) + parser.flush()
             if isinstance(s, ToolCall)]  # fmt: skip
    assert calls == [ToolCall("Write", {"file_path": "...", "content": "..."}),
                     ToolCall("Bash", {"command": "..."})]  # fmt: skip
    assert "several tools at once" in prompt


def test_system_blocks_keep_their_cache_control():
    system = [{"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}]
    out = compat_request(request(system=system))
    assert out["system"][0] == system[0] and len(out["system"]) == 2


@pytest.mark.parametrize(
    "choice,expect,absent",
    [
        ({"type": "any"}, "you must call at least one tool", None),
        ({"type": "tool", "name": "Bash"}, "you must call the tool Bash", None),
        ({"type": "auto", "disable_parallel_tool_use": True}, "at most one tool", "several tools"),
    ],
)
def test_tool_choice_becomes_an_instruction(choice, expect, absent):
    prompt = system_text(compat_request(request(tool_choice=choice)))
    assert expect in prompt
    if absent:
        assert absent not in prompt


def test_tool_choice_none_describes_no_tools():
    out = compat_request(request(tool_choice={"type": "none"}))
    assert "system" not in out and "tools" not in out and "tool_choice" not in out


def test_server_tools_are_rejected():
    with pytest.raises(Unsupported, match=r"tools\[1\]: 'web_search_20250305'"):
        compat_request(
            request(tools=[TOOLS[0], {"type": "web_search_20250305", "name": "web_search"}])
        )


def test_claude_code_second_turn_history_becomes_text():
    body = json.loads(
        (FIXTURES / "claude_code" / "02_messages_turn2_tool_result_stream.json").read_text()
    )["body"]
    out = compat_request(body)
    assert [m["role"] for m in out["messages"]] == [m["role"] for m in body["messages"]]
    for msg in out["messages"]:
        content = msg["content"]
        assert content, "no message is left empty"
        if isinstance(content, list):
            assert all(b["type"] not in ("tool_use", "tool_result") for b in content)
    call = body["messages"][2]["content"][0]
    (assistant,) = out["messages"][2]["content"]
    parser = CallParser({"Write"})
    assert parser.feed(assistant["text"]) + parser.flush() == [ToolCall("Write", call["input"])]
    (result,) = out["messages"][3]["content"]
    original = body["messages"][3]["content"][0]
    assert result["text"] == (f'<tool_result id="{call["id"]}" name="Write">\n'
                              f'{original["content"]}\n</tool_result>')  # fmt: skip
    assert result["cache_control"] == {"type": "ephemeral"}
    assert out["messages"][1] == body["messages"][1]  # Claude Code's role: system message
    prompt = out["system"][-1]["text"]
    assert all(f'<tool name="{t["name"]}">\n' in prompt for t in body["tools"])


def test_mixed_turns_errors_and_attachments():
    img = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "plan", "signature": "sig"},
            {"type": "text", "text": "Two things."},
            {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "false"}},
            {"type": "tool_use", "id": "t2", "name": "Bash", "input": {"command": "shot"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": "exit 1", "is_error": True},
            {"type": "tool_result", "tool_use_id": "t2",
             "content": [{"type": "text", "text": "took it"}, img]},
            {"type": "tool_result", "tool_use_id": "t9"},
            {"type": "text", "text": "and now?"},
        ]},
    ]  # fmt: skip
    out = compat_request(request(messages=messages))["messages"]
    thinking, text = out[1]["content"]
    assert thinking == messages[1]["content"][0]
    assert text["text"].startswith("Two things.\n<tool_call>\n")
    parser = CallParser({"Bash"})
    segs = parser.feed(text["text"]) + parser.flush()
    assert segs == ["Two things.", ToolCall("Bash", {"command": "false"}),
                    ToolCall("Bash", {"command": "shot"})]  # fmt: skip
    texts = [b.get("text") for b in out[2]["content"]]
    assert texts[0] == '<tool_result id="t1" name="Bash" error="true">\nexit 1\n</tool_result>'
    assert texts[1] == ('<tool_result id="t2" name="Bash">\ntook it\n'
                        "(1 attachment(s) follow this result)\n</tool_result>")  # fmt: skip
    assert out[2]["content"][2] == img
    assert texts[3] == '<tool_result id="t9">\n(no output)\n</tool_result>'  # no call: no name
    assert texts[4] == "and now?"


def test_without_tools_the_request_keeps_its_shape():
    req = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "title?"}]}
    assert compat_request(req) == req


def write_config(tmp_path: Path, tool_mode: object) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": {"local": {
        "type": "openai", "base_url": "http://127.0.0.1:1/v1", "api_key": "x",
        "tool_mode": tool_mode}}}))  # fmt: skip
    return path


def test_tool_mode_config_key(tmp_path):
    settings = load_settings(write_config(tmp_path, "compat"), environ={})
    assert settings.providers["local"].tool_mode == "compat"
    with pytest.raises(
        ConfigError, match=r"providers\.local\.tool_mode: expected native or compat, got \"xml\""
    ):
        load_settings(write_config(tmp_path, "xml"), environ={})


def test_compat_applies_per_call_or_per_provider():
    def ctx(mode: str) -> RequestContext:
        return RequestContext(
            ProviderConfig("p", "openai", "http://x", tool_mode=mode), "m", "m", {}, "r"
        )

    native, compat = (
        ClientCall(request=request()),
        ClientCall(request=request(), tool_mode="compat"),
    )
    assert not applies(native, ctx("native"))
    assert applies(native, ctx("compat"))  # the provider needs it
    assert applies(compat, ctx("native"))  # a group or the compat_mode path asks for it
