"""Tool compat mode through the real server, in front of backends that reject ``tools``.

The backend (tests/fakes/toolless.py) answers 400 to any request carrying tools and streams
its scripted answers in awkward pieces: text deltas cut inside tags and inside the JSON,
SSE bytes cut inside lines and inside UTF-8 characters. On top, the official SDKs run the
tool loops their users run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from ccrelay.core.compat import render_call
from tests.conftest import FIXTURES
from tests.fakes.toolless import Answer, ToollessBackend
from tests.fakes.upstream import Reply


@pytest.fixture
def backend() -> Iterator[ToollessBackend]:
    fake = ToollessBackend()
    yield fake
    fake.close()


def config(backend: ToollessBackend, kind: str = "openai", mode: str = "compat", **extra: Any):
    base = backend.url + ("/v1" if kind == "openai" else "")
    return {
        "provider": {"name": "local"},
        "providers": {"local": {"type": kind, "base_url": base, "api_key": "none",
                                "model": "qwen-local", "tool_mode": mode, **extra}},
    }  # fmt: skip


def sdk(relay) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=relay.url, api_key="client-key", max_retries=0)


def call(name: str, args: dict[str, Any]) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': args}, ensure_ascii=False)}\n</tool_call>"


def fixture_body(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "claude_code" / name).read_text())["body"]


def stream_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    """A Claude Code body as anthropic SDK arguments (its newer fields ride in extra_body)."""
    known = ("model", "max_tokens", "system", "messages", "tools", "metadata", "thinking")
    kwargs = {k: body[k] for k in known if k in body}
    kwargs["extra_body"] = {
        k: body[k] for k in ("context_management", "output_config") if k in body
    }
    return kwargs


def test_claude_code_tool_loop_through_an_openai_backend(start_relay, backend, tmp_path):
    relay = start_relay(config(backend))
    assert relay.health()["providers"]["local"]["tool_mode"] == "compat"  # /health says so
    client = sdk(relay)
    target = str(tmp_path / "hello.txt")
    backend.answer(Answer(
        thinking="The user wants a file; the Write tool does that.",
        text="I'll create the file now.\n\n" + call("Write", {"file_path": target, "content": "hi"}),
    ))  # fmt: skip
    body = fixture_body("01_messages_turn1_stream.json")
    with client.messages.stream(**stream_kwargs(body)) as stream:
        types = [ev.type for ev in stream]
        first = stream.get_final_message()
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert [b.type for b in first.content] == ["thinking", "text", "tool_use"]
    thinking, text, tool = first.content
    assert thinking.thinking == "The user wants a file; the Write tool does that."
    assert text.text == "I'll create the file now."
    assert (tool.name, tool.input) == ("Write", {"file_path": target, "content": "hi"})
    assert tool.id.startswith("toolu_")
    assert first.stop_reason == "tool_use"
    assert first.usage.output_tokens == 45

    sent = backend.seen[0]
    assert sent.status == 200 and sent.path == "/v1/chat/completions"
    assert "tools" not in sent.body and "tool_choice" not in sent.body
    system = sent.body["messages"][0]
    assert system["role"] == "system" and "<tool_call>" in system["content"]
    assert all(f'<tool name="{t["name"]}">\n' in system["content"] for t in body["tools"])
    assert sent.body["model"] == "qwen-local"

    # Claude Code runs the tool, then sends the result back with the whole conversation.
    with open(tool.input["file_path"], "w") as f:
        f.write(tool.input["content"])
    messages = body["messages"] + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool.id,
                                      "content": f"File created successfully at: {target}"}]},
    ]  # fmt: skip
    backend.answer(Answer(text="Created hello.txt containing «hi».", thinking="Done; report."))
    with client.messages.stream(**{**stream_kwargs(body), "messages": messages}) as stream:
        second = stream.get_final_message()
    assert [b.type for b in second.content] == ["thinking", "text"]
    assert second.content[1].text == "Created hello.txt containing «hi»."
    assert second.stop_reason == "end_turn"
    assert (tmp_path / "hello.txt").read_text() == "hi"

    turn2 = backend.seen[1].body
    assert backend.seen[1].status == 200 and "tools" not in turn2
    assert all("tool_calls" not in m and m["role"] != "tool" for m in turn2["messages"])
    # the history in the model's own format: its call as it wrote it, the result tagged
    assert turn2["messages"][-2] == {
        "role": "assistant",
        "content": "I'll create the file now.\n"
        + render_call("Write", {"file_path": target, "content": "hi"}),
    }
    assert turn2["messages"][-1] == {"role": "user", "content": (
        f'<tool_result id="{tool.id}" name="Write">\n'
        f"File created successfully at: {target}\n</tool_result>")}  # fmt: skip
    lines = relay.token_lines(2)
    assert len(lines) == 2 and all("status=success" in line for line in lines)


def test_native_mode_gets_the_backends_400(start_relay, backend):
    """The control: the same backend, without compat mode, refuses the tools."""
    relay = start_relay(config(backend, mode="native"))
    body = fixture_body("01_messages_turn1_stream.json")
    with pytest.raises(anthropic.BadRequestError, match="does not support tools"):
        with sdk(relay).messages.stream(**stream_kwargs(body)) as stream:
            stream.get_final_message()
    assert backend.seen[0].status == 400


TOOLS = [
    {"name": "Read", "description": "Read a file.", "input_schema": {
        "type": "object", "properties": {"file_path": {"type": "string"}}, "required": ["file_path"]}},
    {"name": "Bash", "description": "Run a command.", "input_schema": {
        "type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}},
]  # fmt: skip
TRICKY = {"command": 'printf "<tool_call>%s</tool_call>\\n" "ü"; echo \'</arguments>\''}


def test_anthropic_backend_two_calls_streamed(start_relay, backend):
    relay = start_relay(config(backend, kind="anthropic"))
    backend.answer(Answer(
        thinking="Two things to do.",
        text="Reading and running.\n" + call("Read", {"file_path": "/etc/hostname"}) + "\n"
        + call("Bash", TRICKY) + "\nI expect the output to be...",
    ))  # fmt: skip
    with sdk(relay).messages.stream(model="claude-sonnet-4-5", max_tokens=500, tools=TOOLS,
                                    tool_choice={"type": "any"},
                                    messages=[{"role": "user", "content": "go"}]) as stream:  # fmt: skip
        msg = stream.get_final_message()
    assert [b.type for b in msg.content] == ["thinking", "text", "tool_use", "tool_use"]
    assert msg.content[0].signature == "bG9jYWw="  # the backend's own, untouched
    assert msg.content[1].text == "Reading and running."
    assert [(b.name, b.input) for b in msg.content[2:]] == [
        ("Read", {"file_path": "/etc/hostname"}), ("Bash", TRICKY)]  # fmt: skip
    assert len({b.id for b in msg.content[2:]}) == 2
    assert msg.stop_reason == "tool_use" and msg.model == "claude-sonnet-4-5"
    sent = backend.seen[0]
    assert sent.path == "/v1/messages" and sent.status == 200
    assert "tools" not in sent.body and "tool_choice" not in sent.body
    assert "In this answer you must call at least one tool." in sent.body["system"][-1]["text"]


def test_anthropic_backend_non_streaming(start_relay, backend):
    relay = start_relay(config(backend, kind="anthropic"))
    backend.answer(Answer(text=call("Bash", {"command": "ls"})))
    msg = sdk(relay).messages.create(model="m", max_tokens=100, tools=TOOLS,
                                     messages=[{"role": "user", "content": "list"}])  # fmt: skip
    assert [(b.type, b.name, b.input) for b in msg.content] == [
        ("tool_use", "Bash", {"command": "ls"})
    ]
    assert msg.stop_reason == "tool_use"


def test_malformed_call_reaches_the_client_as_text_with_a_log_line(start_relay, backend):
    relay = start_relay(config(backend))
    text = 'Let me try. <tool_call>{"name": "rm_rf", "arguments": {}}</tool_call>'
    backend.answer(Answer(text=text))
    with sdk(relay).messages.stream(model="m", max_tokens=100, tools=TOOLS,
                                    messages=[{"role": "user", "content": "x"}]) as stream:  # fmt: skip
        msg = stream.get_final_message()
    assert [(b.type, b.text) for b in msg.content] == [("text", text)]
    assert msg.stop_reason == "end_turn"
    deadline = time.monotonic() + 5
    while "malformed tool call" not in relay.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "unknown tool 'rm_rf'" in relay.log()


def test_a_call_cut_by_max_tokens(start_relay, backend):
    relay = start_relay(config(backend))
    text = 'Writing.\n<tool_call>\n{"name": "Bash", "arguments": {"command": "echo hel'
    backend.answer(Answer(text=text, finish="length"))
    with sdk(relay).messages.stream(model="m", max_tokens=20, tools=TOOLS,
                                    messages=[{"role": "user", "content": "x"}]) as stream:  # fmt: skip
        msg = stream.get_final_message()
    assert [b.text for b in msg.content] == [text]
    assert msg.stop_reason == "max_tokens"


def test_fallback_to_a_native_provider_sends_tools_natively(start_relay, backend, upstream):
    cfg = config(backend)
    cfg["provider"]["fallback_providers"] = ["native"]
    cfg["providers"]["native"] = {"type": "openai", "base_url": upstream.url + "/v1",
                                  "api_key": "k", "model": "gpt-up"}  # fmt: skip
    relay = start_relay(cfg)
    # the compat backend has no answer scripted: it fails with a 500, so the chain moves on
    upstream.reply(Reply(json={
        "id": "c", "object": "chat.completion", "created": 1, "model": "gpt-up",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
            "function": {"name": "Bash", "arguments": "{\"command\": \"ls\"}"}}]}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5}}))  # fmt: skip
    msg = sdk(relay).messages.create(model="m", max_tokens=100, tools=TOOLS,
                                     messages=[{"role": "user", "content": "list"}])  # fmt: skip
    assert [(b.type, b.id, b.input) for b in msg.content] == [
        ("tool_use", "call_1", {"command": "ls"})
    ]
    assert backend.seen[0].status == 500 and "tools" not in backend.seen[0].body
    assert [t["function"]["name"] for t in upstream.requests[0].body["tools"]] == ["Read", "Bash"]


def test_openai_sdk_chat_tool_loop(start_relay, backend, tmp_path):
    """The openai SDK's Chat Completions tool loop."""
    openai = pytest.importorskip("openai")
    relay = start_relay(config(backend))
    client = openai.OpenAI(base_url=relay.url + "/v1", api_key="client-key", max_retries=0)
    tools = [{"type": "function", "function": {"name": t["name"], "description": t["description"],
                                               "parameters": t["input_schema"]}} for t in TOOLS]  # fmt: skip
    backend.answer(Answer(text="Sure.\n" + call("Bash", {"command": "echo hi > hello.txt"})))
    messages: list[Any] = [{"role": "user", "content": "create hello.txt containing hi"}]
    stream = client.chat.completions.create(model="m", messages=messages, tools=tools, stream=True)
    text, calls, finish = "", {}, None
    for chunk in stream:
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        text += choice.delta.content or ""
        for tc in choice.delta.tool_calls or ():
            entry = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
            entry["id"] = tc.id or entry["id"]
            if tc.function is not None:
                entry["name"] = tc.function.name or entry["name"]
                entry["arguments"] += tc.function.arguments or ""
        finish = choice.finish_reason or finish
    assert text == "Sure."
    (tc,) = calls.values()
    assert tc["name"] == "Bash" and json.loads(tc["arguments"]) == {
        "command": "echo hi > hello.txt"
    }
    assert finish == "tool_calls"
    messages += [
        {"role": "assistant", "content": text, "tool_calls": [{"id": tc["id"], "type": "function",
         "function": {"name": tc["name"], "arguments": tc["arguments"]}}]},
        {"role": "tool", "tool_call_id": tc["id"], "content": "(no output)"},
    ]  # fmt: skip
    backend.answer(Answer(text="Done: hello.txt contains hi."))
    second = client.chat.completions.create(model="m", messages=messages, tools=tools)
    assert second.choices[0].message.content == "Done: hello.txt contains hi."
    assert second.choices[0].finish_reason == "stop"
    turn2 = backend.seen[1].body["messages"]
    assert "tools" not in backend.seen[1].body
    assert any("<tool_result" in json.dumps(m) for m in turn2 if m["role"] == "user")


def test_a_compat_group_and_the_compat_mode_path(start_relay, backend):
    """A group with ``tool_mode: compat``, and ``/compat_mode/`` on a native provider's path."""
    cfg = config(backend, mode="native")
    cfg["groups"] = {"local": {"tool_mode": "compat"}}
    relay = start_relay(cfg)
    for prefix in ("/local", "/compat_mode", "/local/compat_mode"):
        backend.answer(Answer(text=call("Bash", {"command": "ls"})))
        client = anthropic.Anthropic(base_url=relay.url + prefix, api_key="k", max_retries=0)
        with client.messages.stream(model="m", max_tokens=100, tools=TOOLS,
                                    messages=[{"role": "user", "content": "list"}]) as stream:  # fmt: skip
            msg = stream.get_final_message()
        assert [(b.type, b.name, b.input) for b in msg.content] == [
            ("tool_use", "Bash", {"command": "ls"})], prefix  # fmt: skip
        assert backend.seen[-1].status == 200 and "tools" not in backend.seen[-1].body
    # without either, the native provider passes the tools on (and this backend refuses them)
    with pytest.raises(anthropic.BadRequestError):
        sdk(relay).messages.create(model="m", max_tokens=100, tools=TOOLS,
                                   messages=[{"role": "user", "content": "list"}])  # fmt: skip
