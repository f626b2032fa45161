"""The ``responses`` strategy's converters with plain data: requests, answers, streams."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import pytest

from ccrelay.core import signatures
from ccrelay.core.config import ProviderConfig
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.provider import RequestContext, SSEEvent
from ccrelay.providers.responses import ResponsesProvider
from ccrelay.providers.responses.reasoning import replay_item, source_of
from tests.fakes.responses import (
    function_call,
    message,
    reasoning,
    response_body,
    response_events,
)

BASE = "https://api.openai.com/v1"
SOURCE = source_of(BASE)
P = ResponsesProvider()


def ctx(model: str = "gpt-5-codex", base: str = BASE, side: Any = None, **options: Any):
    pcfg = ProviderConfig(name="up", type="responses", base_url=base, api_key="k",
                          options=MappingProxyType(options))  # fmt: skip
    return RequestContext(pcfg, model, "claude-x", {}, "rid1", client_protocol="openai_responses"
                          if side is not None else "anthropic", side=side or {})  # fmt: skip


def convert(req: dict[str, Any], c: RequestContext | None = None) -> dict[str, Any]:
    base = {"model": "claude-x", "max_tokens": 1000, "messages": []}
    return P.convert_request({**base, **req}, c or ctx()).body  # type: ignore[return-value]


def sig(enc: str, *summary: str, source: str = SOURCE) -> str:
    payload: dict[str, Any] = {"enc": enc, "src": source}
    if summary:
        payload["summary"] = list(summary)
    return signatures.tag("openai_responses", json.dumps(payload, separators=(",", ":")))


def events(items: list[dict[str, Any]], **kw: Any) -> list[SSEEvent]:
    return [SSEEvent(e["type"], json.dumps(e)) for e in response_events(items, **kw)]


def run_stream(evs: list[SSEEvent], c: RequestContext | None = None) -> list[dict[str, Any]]:
    c = c or ctx()
    P.convert_request({"model": "m", "max_tokens": 10, "messages": []}, c)
    return list(P.stream(evs, c))


def blocks_of(stream: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reassemble the canonical blocks a stream describes (what an SDK would build)."""
    blocks: dict[int, dict[str, Any]] = {}
    for e in stream:
        if e["type"] == "content_block_start":
            blocks[e["index"]] = dict(e["content_block"])
            if blocks[e["index"]]["type"] == "tool_use":
                blocks[e["index"]]["partial"] = ""
        elif e["type"] == "content_block_delta":
            b, d = blocks[e["index"]], e["delta"]
            key = {"text_delta": "text", "thinking_delta": "thinking",
                   "signature_delta": "signature", "input_json_delta": "partial"}[d["type"]]  # fmt: skip
            value = d.get("partial_json", d.get(key))
            b[key] = value if key == "signature" else b.get(key, "") + value
    out = []
    for i in sorted(blocks):
        b = blocks[i]
        if b["type"] == "tool_use":
            b["input"] = json.loads(b.pop("partial") or "{}")
        out.append(b)
    return out


# --- requests -------------------------------------------------------------------------------

TOOLS = [{"name": "Write", "description": "Write a file",
          "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}}}]  # fmt: skip


@pytest.mark.parametrize(
    "req, expect",
    [
        ({"system": "Be brief.", "messages": [{"role": "user", "content": "hi"}]},
         {"instructions": "Be brief.",
          "input": [{"type": "message", "role": "user",
                     "content": [{"type": "input_text", "text": "hi"}]}]}),
        ({"system": [{"type": "text", "text": "x-anthropic-billing-header: cc=1"},
                     {"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}},
                     {"type": "text", "text": "B"}]},
         {"instructions": "A\n\nB"}),
        ({"max_tokens": 1}, {"max_output_tokens": 16}),
        ({"max_tokens": 500_000}, {"max_output_tokens": 128_000}),
        ({"temperature": 0.2, "top_p": 0.9}, {}),  # reasoning model: dropped
        ({"thinking": {"type": "enabled", "budget_tokens": 2000}},
         {"reasoning": {"effort": "low", "summary": "auto"},
          "include": ["reasoning.encrypted_content"]}),
        ({"thinking": {"type": "enabled", "budget_tokens": 20000}},
         {"reasoning": {"effort": "high", "summary": "auto"}}),
        ({"output_config": {"effort": "max"}}, {"reasoning": {"effort": "high", "summary": "auto"}}),
        ({"thinking": {"type": "disabled"}}, {"reasoning": {"effort": "low", "summary": "auto"}}),
        ({"thinking": {"type": "adaptive"}}, {"reasoning": {"summary": "auto"}}),
        ({"output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
         {"text": {"format": {"type": "json_schema", "name": "response",
                              "schema": {"type": "object"}, "strict": False}}}),
        ({"tools": TOOLS, "tool_choice": {"type": "tool", "name": "Write",
                                          "disable_parallel_tool_use": True}},
         {"tools": [{"type": "function", "name": "Write", "description": "Write a file",
                     "parameters": TOOLS[0]["input_schema"], "strict": False}],
          "tool_choice": {"type": "function", "name": "Write"}, "parallel_tool_calls": False}),
        ({"tools": TOOLS, "tool_choice": {"type": "any"}}, {"tool_choice": "required"}),
        ({"tools": [], "tool_choice": {"type": "auto"}}, {}),
        ({"metadata": {"user_id": "u1"}},
         {"safety_identifier": ...}),
    ],
)  # fmt: skip
def test_request_fields(req, expect):
    body = convert(req)
    assert body["model"] == "gpt-5-codex" and body["store"] is False and body["stream"] is False
    for key, value in expect.items():
        if value is ...:
            assert isinstance(body[key], str) and len(body[key]) == 32 and "u1" not in body[key]
        else:
            assert body[key] == value, key
    if "temperature" in req:
        assert "temperature" not in body and "top_p" not in body
    if not req.get("tools"):
        assert "tools" not in body and "tool_choice" not in body


def test_non_reasoning_model_gets_no_reasoning_fields_and_keeps_sampling():
    body = convert({"temperature": 0.3, "thinking": {"type": "enabled", "budget_tokens": 9000}},
                   ctx("gpt-4.1"))  # fmt: skip
    assert "reasoning" not in body and "include" not in body
    assert body["temperature"] == 0.3 and body["max_output_tokens"] == 1000


def test_options_override_the_table():
    c = ctx("my-model", reasoning=True, reasoning_summary="none", max_output_tokens=64,
            send_user=False, extra_body={"service_tier": "flex"})  # fmt: skip
    body = convert({"max_tokens": 5000, "output_config": {"effort": "medium"},
                    "metadata": {"user_id": "u"}}, c)  # fmt: skip
    assert body["reasoning"] == {"effort": "medium"}
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["max_output_tokens"] == 64 and "safety_identifier" not in body
    assert body["service_tier"] == "flex"


def test_history_with_reasoning_calls_and_results():
    history = [
        {"role": "user", "content": "make a file"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "Need a file.", "signature": sig("gAAA1", "Need a file.")},
            {"type": "text", "text": "Writing it."},
            {"type": "tool_use", "id": "toolu_01", "name": "Write", "input": {"path": "a"}},
            {"type": "tool_use", "id": "toolu_02", "name": "Write", "input": {"path": "b"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_01", "content": "ok"},
            {"type": "text", "text": "and?"},
        ]},
    ]  # fmt: skip
    items = convert({"messages": history, "tools": TOOLS})["input"]
    assert items == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "make a file"}]},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "Need a file."}],
         "encrypted_content": "gAAA1"},
        {"type": "message", "role": "assistant",
         "content": [{"type": "output_text", "text": "Writing it.", "annotations": []}]},
        {"type": "function_call", "call_id": "toolu_01", "name": "Write", "arguments": '{"path":"a"}'},
        {"type": "function_call", "call_id": "toolu_02", "name": "Write", "arguments": '{"path":"b"}'},
        {"type": "function_call_output", "call_id": "toolu_01", "output": "ok"},
        {"type": "function_call_output", "call_id": "toolu_02",
         "output": "Error: tool call was not executed (no result in the conversation)"},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "and?"}]},
    ]  # fmt: skip
    assert all("id" not in item for item in items)


@pytest.mark.parametrize(
    "signature",
    [
        "EqQBCkYIBRgCKkD-anthropic-signature",  # Anthropic's own
        "ccrelay:gemini:c2lnbmF0dXJl",  # another origin
        sig("gAAA9", source="00000000"),  # same protocol, another upstream
        "ccrelay:openai_responses:not json",
        "",
    ],
)
def test_foreign_or_broken_reasoning_state_is_dropped(signature):
    history = [{"role": "user", "content": "q"}, {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "t", "signature": signature},
        {"type": "text", "text": "a"}]}, {"role": "user", "content": "again"}]  # fmt: skip
    items = convert({"messages": history})["input"]
    assert [i["type"] for i in items] == ["message", "message", "message"]


def test_reasoning_left_last_in_a_turn_is_dropped():
    history = [{"role": "user", "content": "q"},
               {"role": "assistant", "content": [
                   {"type": "text", "text": "a"},
                   {"type": "thinking", "thinking": "", "signature": sig("gAAA2")}]},
               {"role": "user", "content": "go on"}]  # fmt: skip
    assert "reasoning" not in [i["type"] for i in convert({"messages": history})["input"]]


def test_tool_results_with_images_errors_and_orphans():
    history = [
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_img", "name": "Shot", "input": {}},
            {"type": "tool_use", "id": "toolu_err", "name": "Shot", "input": {}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_img", "content": [
                {"type": "text", "text": "here"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}]},
            {"type": "tool_result", "tool_use_id": "toolu_err", "is_error": True, "content": "boom"},
            {"type": "tool_result", "tool_use_id": "toolu_gone", "content": "late"}]},
    ]  # fmt: skip
    items = convert({"messages": history})["input"]
    assert items[2] == {"type": "function_call_output", "call_id": "toolu_img", "output": [
        {"type": "input_text", "text": "here"},
        {"type": "input_image", "image_url": "data:image/png;base64,AAA", "detail": "auto"}]}  # fmt: skip
    assert items[3]["output"] == "Error: boom"
    assert items[4] == {"type": "message", "role": "user", "content": [
        {"type": "input_text", "text": "Result of tool call toolu_gone: late"}]}  # fmt: skip


def test_user_media_and_mid_conversation_system():
    history = [
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
            {"type": "document", "title": "a.pdf",
             "source": {"type": "base64", "media_type": "application/pdf", "data": "JVB"}},
            {"type": "document", "title": "notes", "source": {"type": "text", "data": "n1"}}]},
        {"role": "system", "content": "be careful"},
    ]  # fmt: skip
    items = convert({"messages": history})["input"]
    assert items[0]["content"] == [
        {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
        {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVB"},
        {"type": "input_text", "text": "notes\n\nn1"},
    ]
    assert items[1] == {"type": "message", "role": "system",
                        "content": [{"type": "input_text", "text": "be careful"}]}  # fmt: skip


@pytest.mark.parametrize(
    "req, field",
    [
        ({"stop_sequences": ["END"]}, "stop_sequences"),
        ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools[0]"),
        ({"container": "c1"}, "container"),
        ({"messages": [{"role": "user", "content": [
            {"type": "image", "source": {"type": "file", "file_id": "f1"}}]}]}, "source.type"),
        ({"messages": [{"role": "user", "content": [{"type": "server_tool_use"}]}]},
         "messages[0].content[0]"),
    ],
)  # fmt: skip
def test_rejected_fields_name_the_field(req, field):
    with pytest.raises(RelayError) as info:
        convert(req)
    assert info.value.status == 400 and field in info.value.message


def test_side_fields_merge_by_the_documented_rules():
    side = {
        "text": {"verbosity": "low", "format": {"type": "text"}},
        "reasoning": {"summary": "detailed", "effort": "low"},
        "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
        "prompt_cache_key": "thread-1",
        "tools": [{"type": "web_search"}, {"type": "custom", "name": "Write", "format": {}},
                  {"type": "namespace", "name": "clock", "tools": [{"type": "function", "name": "sleep"}]}],
        "store": True, "stream": True, "previous_response_id": "resp_0", "model": "other",
    }  # fmt: skip
    body = convert({"tools": TOOLS, "output_config": {"effort": "high"},
                    "output_config_unused": None}, ctx(side=side))  # fmt: skip
    assert body["text"] == {"verbosity": "low", "format": {"type": "text"}}
    assert body["reasoning"] == {"summary": "auto", "effort": "high"}
    assert body["include"] == ["reasoning.encrypted_content", "message.output_text.logprobs"]
    assert body["prompt_cache_key"] == "thread-1"
    assert [t["type"] for t in body["tools"]] == ["function", "web_search"]
    assert body["store"] is False and body["stream"] is False and body["model"] == "gpt-5-codex"
    assert "previous_response_id" not in body


def test_side_fields_of_another_protocol_never_arrive():
    c = ctx()
    c2 = RequestContext(c.provider, c.model, "x", {}, "r", client_protocol="openai_chat",
                        side={"prompt_cache_key": "k"})  # fmt: skip
    assert "prompt_cache_key" not in convert({}, c2)


# --- answers --------------------------------------------------------------------------------


def answer(body: dict[str, Any]) -> dict[str, Any]:
    c = ctx()
    P.convert_request({"model": "m", "max_tokens": 10, "messages": []}, c)
    return P.convert_response(body, c)  # type: ignore[return-value]


def test_answer_with_reasoning_text_and_call():
    items = [reasoning("rs_1", "Look up.", "Then write.", enc="gAAA1"), message("Checking."),
             function_call("call_a1", "Write", {"path": "x"})]  # fmt: skip
    out = answer(response_body(items))
    thinking, text, call = out["content"]
    assert thinking["thinking"] == "Look up.\n\nThen write."
    assert replay_item(thinking["signature"], SOURCE) == {
        "type": "reasoning", "encrypted_content": "gAAA1",
        "summary": [{"type": "summary_text", "text": "Look up."},
                    {"type": "summary_text", "text": "Then write."}]}  # fmt: skip
    assert text == {"type": "text", "text": "Checking."}
    assert call == {"type": "tool_use", "id": "call_a1", "name": "Write", "input": {"path": "x"}}
    assert out["stop_reason"] == "tool_use" and out["model"] == "claude-x"
    assert out["usage"] == {"input_tokens": 100, "output_tokens": 30,
                            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20,
                            "output_tokens_details": {"reasoning_tokens": 12}}  # fmt: skip


@pytest.mark.parametrize(
    "body, reason",
    [
        (response_body([message("done")]), "end_turn"),
        (response_body([message("cut")], status="incomplete", incomplete="max_output_tokens"),
         "max_tokens"),
        (response_body([message("")], status="incomplete", incomplete="content_filter"), "refusal"),
        (response_body([message("", refusal="I can't help with that.")]), "refusal"),
        (response_body([message("a"), function_call("c1", "Write", '{"pa')], status="incomplete",
                       incomplete="max_output_tokens"), "max_tokens"),
    ],
)  # fmt: skip
def test_answer_stop_reasons(body, reason):
    assert answer(body)["stop_reason"] == reason


@pytest.mark.parametrize(
    "body, status, kind",
    [
        (response_body([], status="failed", error={"code": "rate_limit_exceeded", "message": "slow"}),
         429, ErrorKind.RATE_LIMITED),
        (response_body([], status="failed", error={"code": "server_error", "message": "x"}),
         500, ErrorKind.UPSTREAM),
        (response_body([], status="failed",
                       error={"code": "context_length_exceeded", "message": "too long"}),
         400, ErrorKind.CONTEXT_TOO_LONG),
        (response_body([], status="queued"), 502, ErrorKind.UPSTREAM),
        (response_body([reasoning("rs", "only thinking", enc="e")]), 502, ErrorKind.UPSTREAM),
        (response_body([function_call("c1", "Write", "{not json")]), 502, ErrorKind.UPSTREAM),
        ({"object": "response"}, 502, ErrorKind.UPSTREAM),
    ],
)  # fmt: skip
def test_answer_failures(body, status, kind):
    with pytest.raises(RelayError) as info:
        answer(body)
    assert (info.value.status, info.value.kind) == (status, kind)


# --- streams --------------------------------------------------------------------------------


def test_stream_reasoning_text_and_calls():
    items = [reasoning("rs_1", "Need it.", "Both files.", enc="gAAA1"), message("On it."),
             function_call("call_1", "Write", {"path": "a", "content": 'hi "x" \u00e9'}),
             function_call("call_2", "Write", {"path": "b"})]  # fmt: skip
    out = run_stream(events(items, chunk=3))
    assert out[0]["type"] == "message_start" and out[-1] == {"type": "message_stop"}
    blocks = blocks_of(out)
    assert blocks[0]["type"] == "thinking" and blocks[0]["thinking"] == "Need it.\n\nBoth files."
    assert replay_item(blocks[0]["signature"], SOURCE)["encrypted_content"] == "gAAA1"
    assert blocks[1] == {"type": "text", "text": "On it."}
    assert blocks[2] == {"type": "tool_use", "id": "call_1", "name": "Write",
                         "input": {"path": "a", "content": 'hi "x" \u00e9'}}  # fmt: skip
    assert blocks[3]["id"] == "call_2" and blocks[3]["input"] == {"path": "b"}
    delta = out[-2]
    assert delta["delta"]["stop_reason"] == "tool_use"
    assert delta["usage"]["input_tokens"] == 100 and delta["usage"]["cache_read_input_tokens"] == 20
    # Blocks open and close one at a time, in order.
    opened = [e["index"] for e in out if e["type"] == "content_block_start"]
    closed = [e["index"] for e in out if e["type"] == "content_block_stop"]
    assert opened == closed == [0, 1, 2, 3]


def test_stream_reasoning_without_summary_still_carries_state():
    out = run_stream(events([reasoning("rs_1", enc="gAAA7"), message("ok")]))
    thinking = blocks_of(out)[0]
    assert thinking["thinking"] == ""
    assert replay_item(thinking["signature"], SOURCE)["encrypted_content"] == "gAAA7"


@pytest.mark.parametrize(
    "kw, reason",
    [
        ({"status": "incomplete", "incomplete": "max_output_tokens"}, "max_tokens"),
        ({"status": "incomplete", "incomplete": "content_filter"}, "refusal"),
        ({}, "end_turn"),
    ],
)
def test_stream_terminal_reasons(kw, reason):
    out = run_stream(events([message("some text")], **kw))
    assert out[-2]["delta"]["stop_reason"] == reason


def test_stream_refusal():
    out = run_stream(events([message("", refusal="No.")]))
    assert blocks_of(out) == [{"type": "text", "text": "No."}]
    assert out[-2]["delta"]["stop_reason"] == "refusal"


def test_stream_cut_inside_arguments_reports_max_tokens():
    items = [function_call("call_1", "Write", '{"path": "a", "con')]
    out = run_stream(events(items, status="incomplete", incomplete="max_output_tokens"))
    assert out[-2]["delta"]["stop_reason"] == "max_tokens"


def test_stream_whitespace_before_text_never_opens_a_block():
    evs = events([message("   "), message("  hello", item_id="msg_2")])
    assert blocks_of(run_stream(evs)) == [{"type": "text", "text": "  hello"}]


def test_stream_with_only_the_terminal_event():
    final = {"type": "response.completed", "sequence_number": 0,
             "response": response_body([reasoning("rs", "r", enc="e1"), message("whole")])}  # fmt: skip
    out = run_stream([SSEEvent("response.completed", json.dumps(final))])
    assert [b["type"] for b in blocks_of(out)] == ["thinking", "text"]
    assert blocks_of(out)[1]["text"] == "whole"


def test_stream_done_marker_and_data_only_events_are_accepted():
    evs = [SSEEvent("", e.data) for e in events([message("x")])] + [SSEEvent("", "[DONE]")]
    assert blocks_of(run_stream(evs)) == [{"type": "text", "text": "x"}]


@pytest.mark.parametrize(
    "evs, status, kind",
    [
        (events([message("partial")], terminal=False), 502, ErrorKind.UPSTREAM),
        (events([], status="failed", error={"code": "rate_limit_exceeded", "message": "m"}),
         429, ErrorKind.RATE_LIMITED),
        ([SSEEvent("error", json.dumps({"type": "error", "code": "server_error",
                                        "message": "boom", "param": None,
                                        "sequence_number": 1}))], 500, ErrorKind.UPSTREAM),
        (events([function_call("c", "Write", "{bad")]), 502, ErrorKind.UPSTREAM),
        ([SSEEvent("", "{not json")], 502, ErrorKind.UPSTREAM),
    ],
)  # fmt: skip
def test_stream_failures(evs, status, kind):
    with pytest.raises(RelayError) as info:
        run_stream(evs)
    assert (info.value.status, info.value.kind) == (status, kind)


def test_stream_out_of_order_sequence_numbers_fail():
    evs = events([message("abcdefgh")])
    evs[3], evs[4] = evs[4], evs[3]
    with pytest.raises(RelayError, match="out of order"):
        run_stream(evs)


def test_renamed_tool_names_come_back_as_sent():
    c = ctx()
    tools = [{"name": "mcp.server:tool", "input_schema": {"type": "object"}}]
    body = P.convert_request(
        {"model": "m", "max_tokens": 10, "messages": [], "tools": tools}, c
    ).body
    sent = body["tools"][0]["name"]
    assert sent != "mcp.server:tool"
    evs = [SSEEvent(e["type"], json.dumps(e)) for e in
           response_events([function_call("call_9", sent, {})])]  # fmt: skip
    assert blocks_of(list(P.stream(evs, c)))[0]["name"] == "mcp.server:tool"


def test_check_options():
    assert ResponsesProvider.check_options({"reasoning_summary": "auto", "reasoning": True}) == []
    problems = ResponsesProvider.check_options(
        {"reasoning": "yes", "max_output_tokens": 8, "reasoning_summary": "long"}
    )
    assert len(problems) == 3 and problems[0].startswith("reasoning:")


def test_reasoning_source_follows_the_key_only_when_keys_rotate():
    from ccrelay.providers.responses.reasoning import source_for

    one = ProviderConfig(name="a", type="responses", base_url=BASE + "/", api_key="k1",
                         api_keys=("k1",))  # fmt: skip
    assert source_for(one) == SOURCE
    two = [ProviderConfig(name="a", type="responses", base_url=BASE, api_key=k,
                          api_keys=("k1", "k2")) for k in ("k1", "k2")]  # fmt: skip
    assert len({source_for(p) for p in two} | {SOURCE}) == 3
    assert all("k1" not in source_for(p) for p in two)
