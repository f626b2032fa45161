"""The ollama strategy with plain data: requests, num_ctx, answers, NDJSON streams, errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ccrelay.core.config import ProviderConfig
from ccrelay.core.errors import ErrorKind, RelayError, Unsupported
from ccrelay.core.framing import parse_stream
from ccrelay.core.profiles import ModelProfile
from ccrelay.core.provider import RequestContext, SSEEvent
from ccrelay.core.tokens import estimate_input_tokens
from tests.fakes import ollama as o
from tests.fakes.events import accumulate
from tests.strategy_helpers import canonical_request as request
from tests.strategy_helpers import context, load_plugin

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude_code"


plugin = load_plugin("ollama")
PROVIDER = plugin.OllamaProvider()


def ctx(model: str = "qwen3:8b", profile: ModelProfile | None = None, side: Any = None,
        protocol: str = "anthropic", base_url: str = "http://127.0.0.1:11434",
        **options: Any) -> RequestContext:  # fmt: skip
    return context("ollama", model, name="local", base_url=base_url, api_key="", side=side,
                   protocol=protocol, profile=profile, **options)  # fmt: skip


def convert(req: dict[str, Any], c: RequestContext | None = None) -> dict[str, Any]:
    before = copy.deepcopy(req)
    up = PROVIDER.convert_request(req, c or ctx())
    assert req == before, "convert_request must not mutate the canonical request"
    assert up.path == "/api/chat" and up.method == "POST"
    assert up.body["stream"] is bool(req.get("stream")), "stream is always explicit"
    for msg in up.body["messages"]:
        assert msg["role"] in ("system", "user", "assistant", "tool")
        assert isinstance(msg["content"], str), "the native API takes string content only"
        for call in msg.get("tool_calls", ()):
            assert isinstance(call["function"]["arguments"], dict)
    return up.body


WRITE = {"name": "Write", "description": "Write a file", "input_schema": {
    "type": "object", "properties": {"file_path": {"type": "string"}}}}  # fmt: skip
IMG = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                   "data": "iVBORw0KGgo="}}  # fmt: skip


def use(tool_id: str, name: str = "Write", **args: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": args}


def result(tool_id: str, content: Any = "ok", **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": content, **extra}


# --- requests -----------------------------------------------------------------------------


def test_text_system_sampling_and_options() -> None:
    body = convert(request(system=[{"type": "text", "text": "x-anthropic-billing-header: v"},
                                   {"type": "text", "text": "Be brief."}],
                           temperature=0.2, top_p=0.9, top_k=20, stop_sequences=["</a>"],
                           stream=True))  # fmt: skip
    assert body["model"] == "qwen3:8b"
    assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "hi"}]  # fmt: skip
    assert body["options"] == {"num_predict": 1024, "temperature": 0.2, "top_p": 0.9,
                               "top_k": 20, "stop": ["</a>"], "num_ctx": 8192}  # fmt: skip


def test_tool_loop_with_images_errors_and_missing_results() -> None:
    body = convert(request(tools=[WRITE], messages=[
        {"role": "user", "content": [{"type": "text", "text": "look"}, IMG]},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "I should write", "signature": "sig"},
            {"type": "text", "text": "Writing."}, use("call_1", file_path="a"),
            use("call_2", file_path="b"), use("call_3", file_path="c")]},
        {"role": "user", "content": [result("call_2", "denied", is_error=True),
                                     result("call_1", [{"type": "text", "text": "shot"}, IMG]),
                                     result("ghost", "late"),
                                     {"type": "text", "text": "go on"}]},
        {"role": "system", "content": "reminder"},
    ]))  # fmt: skip
    msgs = body["messages"]
    assert msgs[0] == {"role": "user", "content": "look", "images": ["iVBORw0KGgo="]}
    assert msgs[1] == {"role": "assistant", "content": "Writing.", "thinking": "I should write",
                       "tool_calls": [
                           {"type": "function", "function": {"index": 0, "name": "Write",
                                                             "arguments": {"file_path": "a"}}},
                           {"type": "function", "function": {"index": 1, "name": "Write",
                                                             "arguments": {"file_path": "b"}}},
                           {"type": "function", "function": {"index": 2, "name": "Write",
                                                             "arguments": {"file_path": "c"}}},
                       ]}  # fmt: skip
    assert msgs[2] == {"role": "tool", "tool_name": "Write", "content": "shot"}
    assert msgs[3] == {"role": "tool", "tool_name": "Write", "content": "Error: denied"}
    assert msgs[4]["role"] == "tool" and msgs[4]["content"].startswith("Error: tool call was not")
    # a mid-conversation system message joins the user message before it
    assert msgs[5] == {"role": "user", "images": ["iVBORw0KGgo="], "content":
                       "Images returned by tool call call_1.\n\nResult of tool call ghost: late"
                       "\n\ngo on\n\n<system-reminder>\nreminder\n</system-reminder>"}  # fmt: skip
    assert len(msgs) == 6
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "Write",
                "description": "Write a file",
                "parameters": WRITE["input_schema"],
            },
        }
    ]


@pytest.mark.parametrize(
    "fields, expected_tools",
    [
        ({"tool_choice": {"type": "none"}}, None),
        ({"tool_choice": {"type": "auto"}}, ["Write", "Read"]),
        ({"tool_choice": {"type": "tool", "name": "Read"}}, ["Read"]),
    ],
)
def test_tool_choice(fields: dict[str, Any], expected_tools: list[str] | None) -> None:
    read = {"name": "Read", "input_schema": {"type": "object", "properties": {}}}
    body = convert(request(tools=[WRITE, read], **fields))
    names = [t["function"]["name"] for t in body["tools"]] if "tools" in body else None
    assert names == expected_tools


@pytest.mark.parametrize(
    "model, fields, think",
    [
        ("qwen3:8b", {"thinking": {"type": "adaptive"}}, True),
        ("qwen3:8b", {"thinking": {"type": "disabled"}}, False),
        ("gpt-oss:20b", {"thinking": {"type": "enabled", "budget_tokens": 20000}}, "high"),
        ("gpt-oss:20b", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}},
         "low"),
        ("gpt-oss:20b", {"thinking": {"type": "disabled"}}, "low"),
        ("llama3.1:8b", {"thinking": {"type": "adaptive"}}, None),
        ("my-finetune", {"thinking": {"type": "adaptive"}}, None),
        ("qwen3:8b", {}, None),
    ],
)  # fmt: skip
def test_think(model: str, fields: dict[str, Any], think: Any) -> None:
    body = convert(request(**fields), ctx(model))
    assert body.get("think") == think


def test_structured_output_and_keep_alive_and_side_fields() -> None:
    schema = {"type": "object", "properties": {"title": {"type": "string"}}}
    side = {"keep_alive": -1, "options": {"repeat_penalty": 1.1, "temperature": 0.1}}
    body = convert(request(temperature=0.7,
                           output_config={"format": {"type": "json_schema", "schema": schema}}),
                   ctx(keep_alive="10m", side=side, protocol="ollama"))  # fmt: skip
    assert body["format"] == schema
    assert body["keep_alive"] == -1, "the client's own keep_alive wins over the option"
    assert body["options"]["repeat_penalty"] == 1.1 and body["options"]["temperature"] == 0.1
    assert body["options"]["num_predict"] == 1024, "options are merged key by key"
    other = convert(request(), ctx(keep_alive="10m", side=side, protocol="gemini"))
    assert other["keep_alive"] == "10m" and "repeat_penalty" not in other["options"]


@pytest.mark.parametrize(
    "fields, match",
    [
        ({"messages": [{"role": "user", "content": [{"type": "image", "source": {
            "type": "url", "url": "https://x/a.png"}}]}]}, r"messages\[0\].content\[0\].source"),
        ({"messages": [{"role": "user", "content": [{"type": "document", "source": {
            "type": "base64", "media_type": "application/pdf", "data": "JVBE"}}]}]}, "PDF"),
        ({"tools": [{"name": "bash", "type": "bash_20250124"}]}, "server tool"),
    ],
)  # fmt: skip
def test_rejects(fields: dict[str, Any], match: str) -> None:
    with pytest.raises(Unsupported, match=match):
        PROVIDER.convert_request(request(**fields), ctx())


# --- num_ctx ------------------------------------------------------------------------------


def long_request(words: int, **fields: Any) -> dict[str, Any]:
    return request(messages=[{"role": "user", "content": "lorem ipsum " * (words // 2)}],
                   **fields)  # fmt: skip


@pytest.mark.parametrize(
    "words, max_tokens, profile, options, expected",
    [
        (10, 1024, ModelProfile(context_window=40_960), {}, 8192),
        (20_000, 1024, ModelProfile(context_window=40_960), {}, 32_768),
        (20_000, 64_000, ModelProfile(context_window=40_960), {}, 32_768),
        (36_000, 64_000, ModelProfile(context_window=40_960), {}, 40_960),
        (20_000, 1024, ModelProfile(), {}, 32_768),
        (10, 1024, ModelProfile(), {"min_num_ctx": 4096}, 4096),
        (10, 1024, ModelProfile(context_window=131_072), {"num_ctx": 65_536}, 65_536),
    ],
)  # fmt: skip
def test_num_ctx(words: int, max_tokens: int, profile: ModelProfile, options: dict[str, Any],
                 expected: int) -> None:  # fmt: skip
    req = long_request(words, max_tokens=max_tokens)
    body = convert(req, ctx(profile=profile, **options))
    assert body["options"]["num_ctx"] == expected
    room = expected - estimate_input_tokens(req)
    assert body["options"]["num_predict"] == min(max_tokens, room), "prompt + answer fit"


@pytest.mark.parametrize(
    "profile, options, side, setting",
    [
        (ModelProfile(context_window=8_192), {}, None, "profile.context_window"),
        (ModelProfile(context_window=131_072), {"num_ctx": 4096}, None, "options.num_ctx"),
        (ModelProfile(context_window=131_072), {}, {"options": {"num_ctx": 2048}},
         "options.num_ctx"),
    ],
)  # fmt: skip
def test_prompt_too_long_is_refused_before_sending(
    profile: ModelProfile, options: dict[str, Any], side: Any, setting: str
) -> None:
    c = ctx(profile=profile, side=side, protocol="ollama", **options)
    with pytest.raises(RelayError) as info:
        PROVIDER.convert_request(long_request(12_000), c)
    err = info.value
    assert (err.status, err.kind) == (400, ErrorKind.CONTEXT_TOO_LONG)
    assert err.retryable, "a fallback with a larger window may still answer"
    assert "prompt is too long" in err.message and setting in err.message


def test_claude_code_fixtures_fit_a_qwen3_coder_context() -> None:
    for path in sorted(FIXTURES.glob("0[1-7]_*.json")):
        body = convert(json.loads(path.read_text())["body"], ctx("qwen3-coder:30b"))
        assert body["options"]["num_ctx"] >= 16_384 or "07_" in path.name, path.name


def test_base_url_and_auth() -> None:
    assert PROVIDER.convert_request(request(), ctx(base_url="http://h:11434/api")).path == "/chat"
    assert PROVIDER.auth_headers(ctx().provider) == {}
    keyed = ProviderConfig(name="cloud", type="ollama", base_url="https://ollama.com",
                           api_key="ok-key")  # fmt: skip
    assert PROVIDER.auth_headers(keyed) == {"authorization": "Bearer ok-key"}
    assert PROVIDER.check_options({"num_ctx": 12, "keep_alive": True, "extra_body": 3}) == [
        "num_ctx: got 12; expected a whole number of tokens >= 256",
        'keep_alive: got True; expected a duration such as "10m" or seconds',
        "extra_body: expected a mapping of Ollama request fields",
    ]


# --- answers and streams ------------------------------------------------------------------


def test_non_streaming_answer() -> None:
    body = o.done("stop", prompt=40, out=9, thinking="hmm", content="Sure.",
                  tool_calls=[o.call("Write", {"file_path": "a"}),
                              {"function": {"name": "Write", "arguments": "{\"file_path\": \"b\"}"}}])  # fmt: skip
    out = PROVIDER.convert_response(body, ctx())
    assert [b["type"] for b in out["content"]] == ["thinking", "text", "tool_use", "tool_use"]
    assert out["content"][0] == {"type": "thinking", "thinking": "hmm", "signature": ""}
    assert [b["input"] for b in out["content"][2:]] == [{"file_path": "a"}, {"file_path": "b"}]
    ids = [b["id"] for b in out["content"][2:]]
    assert len(set(ids)) == 2 and all(i.startswith("toolu_ollama_") for i in ids)
    assert out["stop_reason"] == "tool_use"
    assert out["usage"] == {"input_tokens": 40, "output_tokens": 9}
    cut = PROVIDER.convert_response(o.done("length", content="abc"), ctx())
    assert cut["stop_reason"] == "max_tokens"


def stream_of(lines: list[Any], split: int = 9) -> list[SSEEvent]:
    raw = b"".join((x if isinstance(x, str) else json.dumps(x) + "\n").encode() for x in lines)
    return list(parse_stream("ndjson", [raw[i : i + split] for i in range(0, len(raw), split)]))


def test_ndjson_stream() -> None:
    events = stream_of([
        o.line(thinking="The user "), o.line(thinking="wants a file."),
        o.line(content="\n\n"), o.line(content="Writing é"), o.line(content=" now."),
        o.line(tool_calls=[o.call("Write", {"file_path": "hello.txt"})]),
        o.done("stop", prompt=300, out=25),
    ])  # fmt: skip
    msg = accumulate(list(PROVIDER.stream(events, ctx())))
    assert [b["type"] for b in msg["content"]] == ["thinking", "text", "tool_use"]
    assert msg["content"][0]["thinking"] == "The user wants a file."
    assert msg["content"][1]["text"] == "\n\nWriting é now."
    assert msg["content"][2]["input"] == {"file_path": "hello.txt"}
    assert msg["stop_reason"] == "tool_use"
    assert msg["usage"] == {"input_tokens": 300, "output_tokens": 25}


def test_whitespace_before_a_tool_call_opens_no_text_block() -> None:
    events = stream_of([o.line(content="\n"), o.line(tool_calls=[o.call("Write", {})]),
                        o.done()])  # fmt: skip
    msg = accumulate(list(PROVIDER.stream(events, ctx())))
    assert [b["type"] for b in msg["content"]] == ["tool_use"]


@pytest.mark.parametrize(
    "lines, match",
    [
        ([o.line(content="partial"), {"error": "an error was encountered while running the model"}],
         "error was encountered"),
        ([o.line(content="partial")], "without its done line"),
        ([o.done("load")], "loaded the model"),
        (["not json\n"], "malformed"),
    ],
)  # fmt: skip
def test_stream_errors(lines: list[Any], match: str) -> None:
    with pytest.raises(RelayError, match=match):
        list(PROVIDER.stream(stream_of(lines), ctx()))


def test_error_line_first_emits_nothing() -> None:
    events = PROVIDER.stream(stream_of([{"error": "model crashed"}]), ctx())
    with pytest.raises(RelayError) as info:
        next(events)
    assert info.value.retryable


@pytest.mark.parametrize(
    "status, body, expected_status, kind, match",
    [
        (404, {"error": 'model "qwen9" not found, try pulling it first'}, 404,
         ErrorKind.NOT_FOUND, "ollama pull qwen9"),
        (400, {"error": "registry.ollama.ai/library/gemma3:4b does not support tools"}, 400,
         ErrorKind.INVALID_REQUEST, "profile tools: false"),
        (400, {"error": '"llama3.2" does not support thinking'}, 400, ErrorKind.INVALID_REQUEST,
         "thinking: none"),
        (500, {"error": "llama runner process has terminated: exit status 2"}, 500,
         ErrorKind.UPSTREAM, "runner"),
        (400, {"error": "the input length exceeds the context length"}, 400,
         ErrorKind.CONTEXT_TOO_LONG, "context length"),
        (429, {"error": "too many requests"}, 429, ErrorKind.RATE_LIMITED, "too many"),
    ],
)  # fmt: skip
def test_map_error(status: int, body: Any, expected_status: int, kind: ErrorKind,
                   match: str) -> None:  # fmt: skip
    err = PROVIDER.map_error(status, body, {})
    assert (err.status, err.kind) == (expected_status, kind)
    assert match in err.message
