"""The Responses dialect's request side with plain data: items, tools, fields, side field, 400s."""

from __future__ import annotations

import base64
import json

import pytest

from ccrelay.core.dialect import Headers, Inbound
from ccrelay.core.dialects.openai_responses import OpenAIResponsesDialect
from ccrelay.core.dialects.openai_responses.reasoning import WRAP, encrypted_for
from ccrelay.core.errors import InvalidRequest, RelayError

PNG = "iVBORw0KGgo="


def parse(body, options=None, dialect=None, endpoint="responses"):
    dialect = dialect or OpenAIResponsesDialect()
    return dialect.parse(Inbound(endpoint, {}, {}, Headers({}), body, options or {}))


def req(input_, **fields):
    return parse({"model": "m", "input": input_, **fields}).request


def text(t):
    return {"type": "text", "text": t}


# --- input items -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("items", "system", "messages"),
    [
        ("hi", None, [{"role": "user", "content": [text("hi")]}]),
        ([{"role": "developer", "content": "Be terse."}, {"role": "user", "content": "hi"},
          {"role": "system", "content": [{"type": "input_text", "text": "Now French."}]},
          {"role": "user", "content": "encore"}],
         [text("Be terse.")],
         [{"role": "user", "content": [text("hi")]},
          {"role": "system", "content": [text("Now French.")]},
          {"role": "user", "content": [text("encore")]}]),
        ([{"type": "message", "role": "user", "content": [
            {"type": "input_text", "text": "look"},
            {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}", "detail": "high"},
            {"type": "input_image", "image_url": "https://x.test/a.jpg"},
            {"type": "input_text", "text": ""}]}],
         None,
         [{"role": "user", "content": [
             text("look"),
             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
             {"type": "image", "source": {"type": "url", "url": "https://x.test/a.jpg"}}]}]),
        ([{"role": "user", "content": [
            {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBE"},
            {"type": "input_file", "filename": "n.txt",
             "file_data": base64.b64encode("héllo".encode()).decode()},
            {"type": "input_file", "file_url": "https://x.test/b.pdf"}]}],
         None,
         [{"role": "user", "content": [
             {"type": "document", "title": "a.pdf",
              "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
             {"type": "document", "title": "n.txt",
              "source": {"type": "text", "media_type": "text/plain", "data": "héllo"}},
             {"type": "document", "source": {"type": "url", "url": "https://x.test/b.pdf"}}]}]),
        ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
          {"role": "assistant", "content": [{"type": "output_text", "text": "c", "annotations": []},
                                            {"type": "refusal", "refusal": "no"}]},
          {"role": "assistant", "content": ""}],
         None,
         [{"role": "user", "content": [text("a"), text("b")]},
          {"role": "assistant", "content": [text("c"), text("no")]}]),
        ([{"role": "user", "content": "go"},
          {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"x": 1}', "id": "fc_1"},
          {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** P"},
          {"type": "custom_tool_call_output", "call_id": "c2", "output": "ok"},
          {"role": "user", "content": "and?"},
          {"type": "function_call_output", "call_id": "c1", "output": [
              {"type": "input_text", "text": "img:"},
              {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"}]}],
         None,
         [{"role": "user", "content": [text("go")]},
          {"role": "assistant", "content": [
              {"type": "tool_use", "id": "c1", "name": "f", "input": {"x": 1}},
              {"type": "tool_use", "id": "c2", "name": "apply_patch", "input": {"input": "*** P"}}]},
          {"role": "user", "content": [
              {"type": "tool_result", "tool_use_id": "c2", "content": "ok"},
              {"type": "tool_result", "tool_use_id": "c1", "content": [
                  text("img:"),
                  {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                               "data": PNG}}]},
              text("and?")]}]),
        ([{"role": "user", "content": "q"},
          {"type": "function_call", "call_id": "c1", "name": "f", "arguments": ""},
          {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {}}],
         None,
         [{"role": "user", "content": [text("q")]},
          {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {}}]}]),
    ],
    ids=["string", "developer", "images", "files", "merge-and-assistant", "tools", "hosted-item"],
)  # fmt: skip
def test_input_items(items, system, messages):
    out = req(items)
    assert out.get("system") == system
    assert out["messages"] == messages


def test_instructions_come_first_then_leading_developer_messages():
    out = req([{"role": "developer", "content": "B"}, {"role": "user", "content": "hi"}],
              instructions="A", text={"format": {"type": "json_object"}})  # fmt: skip
    assert [b["text"] for b in out["system"]] == ["A", "B", "Respond with a single JSON object and nothing else."]  # fmt: skip


# --- reasoning items ---------------------------------------------------------------------------

ANTHROPIC_THINKING = {"type": "thinking", "thinking": "Let me see.", "signature": "EqQBsig=="}


@pytest.mark.parametrize(
    ("block", "encrypted"),
    [
        (ANTHROPIC_THINKING, None),
        ({"type": "thinking", "thinking": "", "signature": "ccrelay:gemini:c2ln"}, None),
        ({"type": "thinking", "thinking": "plain", "signature": ""}, None),
        ({"type": "redacted_thinking", "data": "opaque=="}, None),
        ({"type": "thinking", "thinking": "resp", "signature": "ccrelay:openai_responses:gAAAA"},
         "gAAAA"),
    ],
    ids=["anthropic", "gemini", "unsigned", "redacted", "responses-backend"],
)  # fmt: skip
def test_reasoning_state_round_trips_through_the_client(block, encrypted):
    carried = encrypted_for(block)
    if encrypted is None:
        assert carried.startswith(WRAP)
    else:
        assert carried == encrypted  # a Responses backend's own state goes out unchanged
    item = {"type": "reasoning", "id": "rs_x", "encrypted_content": carried,
            "summary": [{"type": "summary_text", "text": block.get("thinking", "")}]}  # fmt: skip
    out = req([{"role": "user", "content": "q"}, item, {"role": "assistant", "content": "a"}])
    expected = {k: v for k, v in block.items() if not (k == "signature" and v == "")}
    assert out["messages"][1]["content"][0] == expected


@pytest.mark.parametrize(
    ("item", "blocks"),
    [
        ({"type": "reasoning", "summary": [{"type": "summary_text", "text": "a"},
                                           {"type": "summary_text", "text": "b"}]},
         [{"type": "thinking", "thinking": "a\n\nb"}]),
        ({"type": "reasoning", "summary": [], "content": [{"type": "reasoning_text", "text": "raw"}]},
         [{"type": "thinking", "thinking": "raw"}]),
        ({"type": "reasoning", "summary": [], "encrypted_content": None}, []),
    ],
)  # fmt: skip
def test_reasoning_without_ccrelay_state(item, blocks):
    out = req([{"role": "user", "content": "q"}, item, {"role": "assistant", "content": "a"}])
    assert out["messages"][1]["content"] == [*blocks, text("a")]


# --- tools -----------------------------------------------------------------------------------

FN = {"type": "function", "name": "f", "description": "F", "parameters": {"type": "object",
      "properties": {"a": {"type": "string"}}}, "strict": True}  # fmt: skip


def test_function_and_custom_tools():
    call = parse({"model": "m", "input": "x", "tools": [
        FN,
        {"type": "function", "name": "bare"},
        {"type": "custom", "name": "apply_patch", "description": "Edit",
         "format": {"type": "grammar", "syntax": "lark", "definition": "start: LINE+"}},
        {"type": "custom", "name": "re", "format": {"type": "grammar", "syntax": "regex",
                                                    "definition": "^[a-z]+$"}},
        {"type": "custom", "name": "free"},
    ]})  # fmt: skip
    tools = {t["name"]: t for t in call.request["tools"]}
    assert tools["f"] == {"name": "f", "description": "F", "input_schema": FN["parameters"]}
    assert tools["bare"] == {"name": "bare", "input_schema": {"type": "object", "properties": {}}}
    patch = tools["apply_patch"]
    assert patch["input_schema"]["required"] == ["input"]
    assert patch["input_schema"]["properties"]["input"]["type"] == "string"
    assert patch["description"].startswith("Edit\n\n") and "Lark grammar" in patch["description"]
    assert patch["description"].endswith("start: LINE+")
    assert "regular expression grammar" in tools["re"]["description"]
    assert "free-form text" in tools["free"]["description"]
    assert call.state["custom"] == frozenset({"apply_patch", "re", "free"})
    assert call.side["fields"]["tools"][0]["strict"] is True  # kept for a Responses backend


@pytest.mark.parametrize(
    ("fields", "choice", "names"),
    [
        ({"tool_choice": "auto"}, {"type": "auto"}, ["f", "g"]),
        ({"tool_choice": "required"}, {"type": "any"}, ["f", "g"]),
        ({"tool_choice": "none"}, {"type": "none"}, ["f", "g"]),
        ({"tool_choice": {"type": "function", "name": "g"}}, {"type": "tool", "name": "g"}, ["f", "g"]),
        ({"tool_choice": {"type": "custom", "name": "g"}}, {"type": "tool", "name": "g"}, ["f", "g"]),
        ({"tool_choice": {"type": "allowed_tools", "mode": "required",
                          "tools": [{"type": "function", "name": "g"}]}}, {"type": "any"}, ["g"]),
        ({"parallel_tool_calls": False}, {"type": "auto", "disable_parallel_tool_use": True}, ["f", "g"]),
        ({"parallel_tool_calls": False, "tool_choice": "required"},
         {"type": "any", "disable_parallel_tool_use": True}, ["f", "g"]),
        ({"parallel_tool_calls": False, "tool_choice": "none"}, {"type": "none"}, ["f", "g"]),
        ({"tool_choice": {"type": "web_search_preview"}}, None, ["f", "g"]),
        ({}, None, ["f", "g"]),
    ],
)  # fmt: skip
def test_tool_choice(fields, choice, names):
    tools = [{**FN, "name": "f"}, {**FN, "name": "g"}]
    out = req("x", tools=tools, **fields)
    assert out.get("tool_choice") == choice
    assert [t["name"] for t in out["tools"]] == names


def test_hosted_tools_are_named_once_in_a_warning_and_headers():
    call = parse({"model": "m", "tools": [FN, {"type": "web_search"}, {"type": "web_search"},
                                          {"type": "tool_search", "execution": "client"}],
                  "input": [{"role": "user", "content": "q"},
                            {"type": "web_search_call", "id": "ws", "action": {}},
                            {"type": "compaction", "encrypted_content": "x"}]})  # fmt: skip
    assert [t["name"] for t in call.request["tools"]] == ["f"]
    assert call.response_headers == {"x-ccrelay-omitted-tools": "web_search, tool_search",
                                     "x-ccrelay-omitted-items": "web_search_call, compaction"}  # fmt: skip
    (warning,) = call.warnings
    assert "web_search, tool_search" in warning and "web_search_call, compaction" in warning


@pytest.mark.parametrize(
    "body",
    [
        {"model": "m", "input": "x", "tools": [{"type": "file_search"}]},
        {"model": "m", "input": [{"type": "web_search_call", "id": "ws"}]},
        {"model": "m", "input": "x", "tools": [FN], "tool_choice": {"type": "file_search"}},
    ],
)
def test_hosted_tools_reject_option(body):
    with pytest.raises(InvalidRequest) as info:
        parse(body, {"hosted_tools": "reject"})
    assert "hosted" in info.value.message


# --- top-level fields ----------------------------------------------------------------------


def test_sampling_output_and_user_fields():
    out = req("x", max_output_tokens=300, temperature=1.7, top_p=0.5, safety_identifier="u1",
              user="u0", text={"format": {"type": "json_schema", "name": "r", "strict": True,
                                          "schema": {"type": "object"}}, "verbosity": "low"})  # fmt: skip
    assert out["max_tokens"] == 300
    assert out["temperature"] == 1.7  # the anthropic strategy clamps it to 1
    assert out["top_p"] == 0.5
    assert out["metadata"] == {"user_id": "u1"}
    assert out["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    assert "stream" not in out


@pytest.mark.parametrize(
    ("effort", "mode", "extra", "output_config", "thinking", "max_tokens"),
    [
        ("minimal", "off", {}, {"effort": "low"}, None, None),
        ("medium", "off", {}, {"effort": "medium"}, None, None),
        ("xhigh", "off", {}, {"effort": "max"}, None, None),
        ("none", "off", {}, None, None, None),
        ("high", "adaptive", {}, {"effort": "high"}, {"type": "adaptive"}, None),
        ("none", "adaptive", {}, None, {"type": "disabled"}, None),
        ("medium", "budget", {}, {"effort": "medium"}, {"type": "enabled", "budget_tokens": 8192}, 16384),
        ("high", "budget", {"max_output_tokens": 4000}, {"effort": "high"},
         {"type": "enabled", "budget_tokens": 3999}, 4000),
        ("high", "budget", {"max_output_tokens": 500}, {"effort": "high"}, None, 500),
        ("high", "adaptive", {"temperature": 0.2}, {"effort": "high"}, None, None),
        ("high", "adaptive", {"tool_choice": "required", "tools": [FN]}, {"effort": "high"}, None, None),
    ],
)  # fmt: skip
def test_reasoning_effort_and_thinking_option(effort, mode, extra, output_config, thinking,
                                              max_tokens):  # fmt: skip
    call = parse({"model": "m", "input": "x", "reasoning": {"effort": effort}, **extra},
                 {"thinking": mode})  # fmt: skip
    out = call.request
    assert out.get("output_config") == output_config
    assert out.get("thinking") == thinking
    assert out.get("max_tokens") == max_tokens
    if mode != "off" and effort != "none" and thinking is None:
        assert "thinking left off" in call.warnings[0]


def test_side_field_holds_every_other_field_and_the_items_a_responses_backend_takes():
    wrapped = encrypted_for(ANTHROPIC_THINKING)
    body = {
        "model": "m", "stream": True, "store": False, "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "k", "metadata": {"a": "b"}, "brand_new": [1], "tools": [FN],
        "instructions": "I", "reasoning": {"effort": "low", "summary": "auto"},
        "input": [
            {"role": "user", "content": "q", "id": "msg_client"},
            {"type": "reasoning", "id": "rs_ccrabc", "summary": [], "encrypted_content": wrapped},
            {"type": "reasoning", "id": "rs_real", "summary": [], "encrypted_content": "gAAA"},
            {"type": "function_call", "id": "fc_ccr123", "call_id": "c", "name": "f", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c", "output": "r"},
        ],
    }  # fmt: skip
    call = parse(body)
    assert call.side["fields"] == {k: v for k, v in body.items()
                                   if k not in ("model", "input", "stream")}  # fmt: skip
    assert call.side["input"] == [
        body["input"][0],
        body["input"][2],
        {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"},
        body["input"][4],
    ]
    assert call.stream is True and call.request["stream"] is True
    assert call.state["keep"] is None  # store: false


# --- rejections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"input": "x", "background": True}, "background"),
        ({"input": "x", "conversation": "conv_1"}, "Conversations API"),
        ({"input": "x", "prompt": {"id": "pmpt_1"}}, "prompt templates"),
        ({"input": "x", "previous_response_id": "resp_gone"}, "is not kept by this relay"),
        ({"input": []}, "no user, assistant or tool item"),
        ({"input": [{"role": "developer", "content": "only"}]}, "no user, assistant or tool item"),
        ({"input": [{"type": "item_reference", "id": "msg_1"}]}, "item_reference"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}]},
         "input.0.content.0.file_id"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "ftp://x"}]}]},
         "image_url: expected a data: URL"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "data:image/png,abc"}]}]},
         "base64 data URL"),
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]},
         "file ids"),
        ({"input": [{"role": "user", "content": [{"type": "input_file", "file_data": "data:image/gif;base64,R0"}]}]},
         "image/gif files"),
        ({"input": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]},
         "audio input"),
        ({"input": [{"role": "assistant", "content": [{"type": "input_image", "image_url": "https://x"}]}]},
         "assistant message can only hold text"),
        ({"input": [{"role": "developer", "content": [{"type": "input_image", "image_url": "https://x"}]}]},
         "can only hold text"),
        ({"input": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "[1]"}]},
         "input.0.arguments: expected a JSON object"),
        ({"input": [{"type": "reasoning", "summary": [], "encrypted_content": WRAP + "%%%"}]},
         "does not decode"),
        ({"input": [{"type": "reasoning", "summary": [],
                     "encrypted_content": WRAP + base64.b64encode(b'{"type":"thinking"}').decode()}]},
         "does not decode"),
        ({"input": [{"content": "no role"}]}, "input.0: expected an input item"),
        ({"input": [{"type": "message", "role": "robot", "content": "x"}]}, "input.0.role"),
        ({"input": "x", "reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"input": "x", "tool_choice": "sometimes"}, "tool_choice"),
        ({"input": "x", "temperature": 3}, "temperature"),
        ({"input": "x", "max_output_tokens": 0}, "max_output_tokens"),
    ],
)  # fmt: skip
def test_rejections_name_the_field(body, fragment):
    with pytest.raises(InvalidRequest) as info:
        parse({"model": "m", **body})
    assert fragment in info.value.message
    assert info.value.status == 400


def test_options_are_checked():
    problems = OpenAIResponsesDialect.check_options(
        {"hosted_tools": "maybe", "store_max_responses": -1, "store_max_age": "1h",
         "thinking": True}
    )  # fmt: skip
    assert [p.split(":")[0] for p in problems] == [
        "hosted_tools", "store_max_responses", "store_max_age", "thinking"]  # fmt: skip
    assert (
        OpenAIResponsesDialect.check_options({"store_max_responses": 0, "store_max_age": 5}) == []
    )
    with pytest.raises(RelayError) as info:
        parse({"model": "m", "input": "x"}, {"hosted_tools": "maybe"})
    assert "dialects.openai_responses.hosted_tools" in info.value.message


def test_count_endpoint_takes_a_body_without_model():
    call = parse({"input": "how many tokens?"}, endpoint="input_tokens")
    assert call.count_only and not call.stream
    assert call.request["messages"] == [{"role": "user", "content": [text("how many tokens?")]}]
    json.dumps(call.request)
