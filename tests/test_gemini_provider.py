"""The gemini strategy with plain data: requests, schemas, answers, streams, signatures, errors."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ccrelay.core.config import ProviderConfig
from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError, Unsupported
from ccrelay.core.framing import parse_stream
from ccrelay.core.provider import RequestContext, SSEEvent
from tests.fakes import gemini as g
from tests.fakes.events import accumulate
from tests.strategy_helpers import canonical_request as request
from tests.strategy_helpers import context, load_plugin

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude_code"
BYPASS = "skip_thought_signature_validator"


plugin = load_plugin("gemini")
PROVIDER = plugin.GeminiProvider()
schema_mod = sys.modules[plugin.__name__ + ".schema"]


def ctx(model: str = "gemini-2.5-flash", side: Any = None, protocol: str = "anthropic",
        **options: Any) -> RequestContext:  # fmt: skip
    return context("gemini", model, name="gem", base_url="http://upstream/v1beta",
                   api_key="gkey", side=side, protocol=protocol, **options)  # fmt: skip


def convert(req: dict[str, Any], model: str = "gemini-2.5-flash", **kw: Any) -> dict[str, Any]:
    before = copy.deepcopy(req)
    up = PROVIDER.convert_request(req, ctx(model, **kw))
    assert req == before, "convert_request must not mutate the canonical request"
    assert_gemini_valid(up.body)
    return up.body


def assert_gemini_valid(body: dict[str, Any]) -> None:
    """What Gemini's validator would reject (gemini.md §2-§4), checked on a converted body."""
    allowed = {"contents", "systemInstruction", "tools", "toolConfig", "generationConfig",
               "safetySettings", "cachedContent"}  # fmt: skip
    assert set(body) <= allowed, set(body) - allowed
    contents = body["contents"]
    assert contents and contents[0]["role"] == "user"
    calls_open: list[str] = []
    for i, content in enumerate(contents):
        assert content["role"] in ("user", "model")
        assert content["parts"], f"contents[{i}] has no parts"
        if i:
            assert content["role"] != contents[i - 1]["role"], f"contents[{i}]: same role twice"
        responses = [p["functionResponse"]["name"] for p in content["parts"]
                     if "functionResponse" in p]  # fmt: skip
        if responses:
            assert content["role"] == "user" and responses == calls_open, (responses, calls_open)
        elif calls_open:
            raise AssertionError(f"contents[{i}]: calls {calls_open} unanswered")
        calls_open = [p["functionCall"]["name"] for p in content["parts"] if "functionCall" in p]
        for p in content["parts"]:
            data = [k for k in p if k not in ("thought", "thoughtSignature")]
            assert len(data) == 1, f"a part holds exactly one data field: {p}"
            if "functionCall" in p:
                assert isinstance(p["functionCall"]["args"], dict)
            if "text" in p and not p["text"]:
                assert "thoughtSignature" in p, "empty text parts only carry signatures"
            sig = p.get("thoughtSignature")
            if sig is not None:
                assert not sig.startswith("ccrelay:"), "signatures go to Gemini untagged"
    assert not calls_open, "the history ends with unanswered calls"


# --- requests -----------------------------------------------------------------------------

GREP = {"name": "Grep", "description": "search", "input_schema": {
    "$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
    "properties": {"pattern": {"type": "string"}, "-A": {"type": "number"},
                   "-n": {"type": "boolean"}},
    "required": ["pattern", "-A"], "additionalProperties": False}}  # fmt: skip
WRITE = {"name": "Write", "input_schema": {"type": "object", "properties": {
    "file_path": {"type": "string"}, "content": {"type": "string"}}}}  # fmt: skip

REQUEST_CASES = [
    ("text, system blocks (billing header dropped), sampling",
     {"system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=1"},
                 {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
      "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop_sequences": ["END"]},
     "gemini-2.5-flash",
     {"systemInstruction": {"parts": [{"text": "Be brief."}]},
      "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
      "generationConfig": {"maxOutputTokens": 1024, "temperature": 0.5, "topP": 0.9,
                           "topK": 40, "stopSequences": ["END"]}}),
    ("2.5: parametersJsonSchema as sent, property names Gemini rejects renamed",
     {"tools": [GREP]}, "gemini-2.5-pro",
     {"tools": [{"functionDeclarations": [{"name": "Grep", "description": "search",
        "parametersJsonSchema": {**GREP["input_schema"],
            "properties": {"pattern": {"type": "string"}, "_A": {"type": "number"},
                           "_n": {"type": "boolean"}},
            "required": ["pattern", "_A"]}}]}]}),
    ("2.0: the parameters subset",
     {"tools": [GREP]}, "gemini-2.0-flash",
     {"tools": [{"functionDeclarations": [{"name": "Grep", "description": "search",
        "parameters": {"type": "OBJECT", "properties": {
            "pattern": {"type": "STRING"}, "_A": {"type": "NUMBER"}, "_n": {"type": "BOOLEAN"}},
            "required": ["pattern", "_A"]}}]}]}),
    ("tool without parameters: no parameters field in the subset",
     {"tools": [{"name": "TaskList", "input_schema": {"type": "object", "properties": {}}}]},
     "gemini-2.0-flash", {"tools": [{"functionDeclarations": [{"name": "TaskList"}]}]}),
    ("tool_choice any", {"tools": [WRITE], "tool_choice": {"type": "any"}}, "gemini-2.5-flash",
     {"toolConfig": {"functionCallingConfig": {"mode": "ANY"}}}),
    ("tool_choice tool", {"tools": [WRITE], "tool_choice": {"type": "tool", "name": "Write"}},
     "gemini-2.5-flash",
     {"toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["Write"]}}}),
    ("tool_choice none", {"tools": [WRITE], "tool_choice": {"type": "none"}}, "gemini-2.5-flash",
     {"toolConfig": {"functionCallingConfig": {"mode": "NONE"}}}),
    ("2.5 Flash: budget clamped to its range",
     {"thinking": {"type": "enabled", "budget_tokens": 50000}}, "gemini-2.5-flash",
     {"generationConfig": {"thinkingConfig": {"includeThoughts": True,
                                              "thinkingBudget": 24576}}}),
    ("2.5: adaptive is dynamic", {"thinking": {"type": "adaptive"}}, "gemini-2.5-flash",
     {"generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingBudget": -1}}}),
    ("2.5: adaptive + effort picks a budget",
     {"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}},
     "gemini-2.5-flash",
     {"generationConfig": {"thinkingConfig": {"includeThoughts": True,
                                              "thinkingBudget": 8192}}}),
    ("2.5 Flash: disabled is budget 0", {"thinking": {"type": "disabled"}}, "gemini-2.5-flash",
     {"generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}}),
    ("2.5 Pro cannot stop thinking: its lowest budget", {"thinking": {"type": "disabled"}},
     "gemini-2.5-pro", {"generationConfig": {"thinkingConfig": {"thinkingBudget": 128}}}),
    ("3 Pro: effort medium snaps to HIGH (it takes LOW and HIGH)",
     {"thinking": {"type": "adaptive"}, "output_config": {"effort": "medium"}},
     "gemini-3-pro-preview",
     {"generationConfig": {"thinkingConfig": {"includeThoughts": True,
                                              "thinkingLevel": "HIGH"}}}),
    ("3 Pro: small budget is LOW", {"thinking": {"type": "enabled", "budget_tokens": 2000}},
     "gemini-3-pro-preview",
     {"generationConfig": {"thinkingConfig": {"includeThoughts": True, "thinkingLevel": "LOW"}}}),
    ("3 Flash: disabled is MINIMAL", {"thinking": {"type": "disabled"}}, "gemini-3-flash-preview",
     {"generationConfig": {"thinkingConfig": {"thinkingLevel": "MINIMAL"}}}),
    ("3: adaptive keeps the model's level",
     {"thinking": {"type": "adaptive", "display": "omitted"}}, "gemini-3-flash-preview",
     {"generationConfig": {"maxOutputTokens": 1024}}),
    ("structured output: responseJsonSchema",
     {"output_config": {"format": {"type": "json_schema", "schema": {
         "type": "object", "properties": {"title": {"type": "string"}},
         "additionalProperties": False}}}},
     "gemini-2.5-flash",
     {"generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {
         "type": "object", "properties": {"title": {"type": "string"}},
         "additionalProperties": False}}}),
    ("structured output on 2.0: responseSchema",
     {"output_config": {"format": {"type": "json_schema", "schema": {
         "type": "object", "properties": {"title": {"type": "string"}},
         "additionalProperties": False}}}},
     "gemini-2.0-flash",
     {"generationConfig": {"responseMimeType": "application/json", "responseSchema": {
         "type": "OBJECT", "properties": {"title": {"type": "STRING"}}}}}),
]  # fmt: skip


def assert_fragment(actual: Any, expected: Any, path: str = "body") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{path}.{key} missing in {actual!r}"
            assert_fragment(actual[key], value, f"{path}.{key}")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


@pytest.mark.parametrize("fields, model, expected", [c[1:] for c in REQUEST_CASES],
                         ids=[c[0] for c in REQUEST_CASES])  # fmt: skip
def test_convert_request(fields: dict[str, Any], model: str, expected: dict[str, Any]) -> None:
    assert_fragment(convert(request(**fields), model), expected)


@pytest.mark.parametrize(
    "fields, model, absent",
    [
        ({"thinking": {"type": "adaptive"}}, "gemini-2.0-flash", "thinkingConfig"),
        ({"thinking": {"type": "adaptive"}}, "some-gemini-proxy-model", "thinkingConfig"),
        ({"metadata": {"user_id": "u"}, "context_management": {"edits": []}},
         "gemini-2.5-flash", "metadata"),
        ({"tools": [WRITE], "tool_choice": {"type": "auto", "disable_parallel_tool_use": True}},
         "gemini-2.5-flash", "parallel"),
    ],
)  # fmt: skip
def test_convert_request_drops(fields: dict[str, Any], model: str, absent: str) -> None:
    assert absent not in json.dumps(convert(request(**fields), model))


@pytest.mark.parametrize(
    "fields, error, match",
    [
        ({"stop_sequences": list("abcdef")}, InvalidRequest, "at most 5"),
        ({"tools": [{"name": "web_search", "type": "web_search_20250305"}]}, Unsupported,
         "server tool"),
        ({"mcp_servers": [{"url": "x"}]}, Unsupported, "mcp_servers"),
        ({"messages": [{"role": "user", "content": [{"type": "image", "source": {
            "type": "url", "url": "https://example.com/a.png"}}]}]}, Unsupported,
         r"messages\[0\].content\[0\].source.url"),
        ({"messages": [{"role": "user", "content": [{"type": "image", "source": {
            "type": "file", "file_id": "file_1"}}]}]}, Unsupported, "content\\[0\\]"),
        ({"output_config": {"format": {"type": "text"}}}, Unsupported, "output_config.format"),
    ],
)  # fmt: skip
def test_convert_request_rejects(fields: dict[str, Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        PROVIDER.convert_request(request(**fields), ctx())


def test_endpoints_query_and_auth() -> None:
    up = PROVIDER.convert_request(request(stream=True), ctx("models/gemini-2.5-flash"))
    assert (up.path, dict(up.query), up.stream) == (
        "/models/gemini-2.5-flash:streamGenerateContent", {"alt": "sse"}, True)  # fmt: skip
    once = PROVIDER.convert_request(request(), ctx())
    assert (once.path, dict(once.query), once.method) == (
        "/models/gemini-2.5-flash:generateContent", {}, "POST")  # fmt: skip
    cfg = ctx().provider
    assert PROVIDER.auth_headers(cfg) == {"x-goog-api-key": "gkey"}
    by_query = ctx(auth="query")
    assert PROVIDER.auth_headers(by_query.provider) == {}
    assert PROVIDER.convert_request(request(), by_query).query == {"key": "gkey"}
    assert PROVIDER.auth_headers(ctx(auth="bearer").provider) == {"authorization": "Bearer gkey"}
    bare = RequestContext(ProviderConfig(name="g", type="gemini", api_key="k",
                                         base_url="https://generativelanguage.googleapis.com"),
                          "gemini-2.5-flash", "c", {}, "r")  # fmt: skip
    assert PROVIDER.convert_request(request(), bare).path.startswith("/v1beta/models/")


def test_count_tokens_request_and_answer() -> None:
    up = PROVIDER.count_tokens_request(
        request(system="S", tools=[WRITE], max_tokens=5, temperature=0.2), ctx()
    )
    assert up is not None and up.path == "/models/gemini-2.5-flash:countTokens"
    inner = up.body["generateContentRequest"]
    assert inner["model"] == "models/gemini-2.5-flash"
    assert set(inner) == {"model", "contents", "systemInstruction", "tools"}
    assert PROVIDER.count_tokens_answer({"totalTokens": 31}) == 31
    assert PROVIDER.count_tokens_answer({"error": {}}) is None


def test_side_fields_of_a_gemini_client_are_merged() -> None:
    client_tools = [{"functionDeclarations": [{"name": "Write", "behavior": "BLOCKING",
                                               "parameters": {"type": "OBJECT"}}]},
                    {"googleSearch": {}}]  # fmt: skip
    side = {"safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "OFF"}],
            "generationConfig": {"seed": 7, "responseLogprobs": True},
            "tools": client_tools, "cachedContent": "cachedContents/abc"}  # fmt: skip
    body = PROVIDER.convert_request(
        request(tools=[WRITE], temperature=0.3), ctx(side=side, protocol="gemini")
    ).body
    assert body["safetySettings"] == side["safetySettings"]
    assert body["cachedContent"] == "cachedContents/abc"
    assert body["generationConfig"] == {"maxOutputTokens": 1024, "temperature": 0.3, "seed": 7,
                                        "responseLogprobs": True}  # fmt: skip
    assert body["tools"] == client_tools, "a Gemini client's whole tools list replaces ours"
    other = PROVIDER.convert_request(request(), ctx(side=side, protocol="openai_chat")).body
    assert "safetySettings" not in other, "side fields of another protocol never reach Gemini"


def test_extra_body_option_is_merged() -> None:
    body = PROVIDER.convert_request(
        request(), ctx(extra_body={"safetySettings": [], "generationConfig": {"seed": 1}})
    ).body
    assert body["safetySettings"] == [] and body["generationConfig"]["seed"] == 1
    assert PROVIDER.check_options({"auth": "cookie", "extra_body": []}) == [
        "auth: got 'cookie'; expected one of header, query, bearer",
        "extra_body: expected a mapping of Gemini request fields",
    ]
    assert PROVIDER.check_options({"auth": "query", "extra_body": {"safetySettings": []}}) == []


# --- contents: tool loops, signatures, ids ------------------------------------------------


def sig(payload: str, origin: str = "gemini") -> dict[str, Any]:
    prefix = "" if origin == "anthropic" else f"ccrelay:{origin}:"
    return {"type": "thinking", "thinking": "", "signature": prefix + payload}


def use(tool_id: str, name: str = "Write", **args: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": args}


def result(tool_id: str, content: Any = "ok", **extra: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": tool_id, "content": content, **extra}


def contents_of(messages: list[dict[str, Any]], **kw: Any) -> list[dict[str, Any]]:
    return convert(request(messages=messages, tools=[WRITE, GREP]), **kw)["contents"]


def test_parallel_calls_keep_the_signature_on_the_first_call_only() -> None:
    contents = contents_of([
        {"role": "user", "content": "write two files"},
        {"role": "assistant", "content": [
            sig("SIG-1"), use("toolu_gemini_aaaa", file_path="a"), use("gcall-2", file_path="b")]},
        {"role": "user", "content": [result("gcall-2", "b done"), result("toolu_gemini_aaaa")]},
    ])  # fmt: skip
    model, answers = contents[1], contents[2]
    assert model == {"role": "model", "parts": [
        {"functionCall": {"name": "Write", "args": {"file_path": "a"}},
         "thoughtSignature": "SIG-1"},
        {"functionCall": {"name": "Write", "args": {"file_path": "b"}, "id": "gcall-2"}},
    ]}, "synthesized ids are never sent; Gemini's own ids are"  # fmt: skip
    assert answers == {"role": "user", "parts": [
        {"functionResponse": {"name": "Write", "response": {"output": "ok"}}},
        {"functionResponse": {"name": "Write", "id": "gcall-2",
                              "response": {"output": "b done"}}},
    ]}, "results in call order, names read from the history"  # fmt: skip


def test_thought_text_signatures_and_foreign_thinking() -> None:
    contents = contents_of([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "summary", "signature": "ccrelay:gemini:T1"},
            {"type": "thinking", "thinking": "claude thoughts", "signature": "EqQBanthropic"},
            {"type": "thinking", "thinking": "other", "signature": "ccrelay:openai_responses:e"},
            {"type": "redacted_thinking", "data": "xx"},
            sig("S-TEXT"), {"type": "text", "text": "Answer."}, sig("S-END")]},
        {"role": "user", "content": "thanks"},
    ])  # fmt: skip
    assert contents[1]["parts"] == [
        {"text": "summary", "thought": True, "thoughtSignature": "T1"},
        {"text": "Answer.", "thoughtSignature": "S-TEXT"},
        {"text": "", "thoughtSignature": "S-END"},
    ]


def test_unsigned_calls_of_the_current_turn_get_the_bypass() -> None:
    messages = [
        {"role": "user", "content": "first task"},
        {"role": "assistant", "content": [use("call_old1"), use("call_old2")]},
        {"role": "user", "content": [result("call_old1"), result("call_old2")]},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
        {"role": "user", "content": "second task"},
        {"role": "assistant", "content": [use("call_a"), use("call_b")]},
        {"role": "user", "content": [result("call_a"), result("call_b")]},
        {"role": "assistant", "content": [sig("KEEP"), use("call_c")]},
        {"role": "user", "content": [result("call_c")]},
    ]
    contents = contents_of(messages)
    old, current, signed = contents[1]["parts"], contents[5]["parts"], contents[7]["parts"]
    assert all("thoughtSignature" not in p for p in old), "older turns are not validated"
    assert [p.get("thoughtSignature") for p in current] == [BYPASS, None]
    assert [p.get("thoughtSignature") for p in signed] == ["KEEP"]


def test_missing_and_orphan_results_images_and_merging() -> None:
    img = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                       "data": "iVBORw0KGgo="}}  # fmt: skip
    contents = contents_of([
        {"role": "assistant", "content": [use("call_1"), use("call_2")]},
        {"role": "user", "content": [result("call_1", [{"type": "text", "text": "shot"}, img]),
                                     result("call_zz", "lost"), {"type": "text", "text": "and?"}]},
        {"role": "system", "content": "be careful"},
        {"role": "user", "content": [img]},
    ])  # fmt: skip
    assert contents[0] == {"role": "user", "parts": [{"text": "(conversation continues)"}]}
    parts = contents[2]["parts"]
    assert parts[0] == {"functionResponse": {"name": "Write", "id": "call_1",
                                             "response": {"output": "shot"}}}  # fmt: skip
    assert parts[1]["functionResponse"]["response"]["error"].startswith("tool call was not")
    assert parts[2] == {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}}
    assert parts[3] == {"text": "Result of tool call call_zz: lost"}
    assert parts[4] == {"text": "and?"}
    assert parts[5] == {"text": "<system-reminder>\nbe careful\n</system-reminder>"}
    assert parts[6] == parts[2]
    assert len(contents) == 3, "consecutive user contents are merged"


def test_error_results_and_google_uris() -> None:
    contents = contents_of([
        {"role": "user", "content": [{"type": "document", "source": {
            "type": "url", "url": "gs://bucket/spec.pdf"}}, {"type": "text", "text": "read"}]},
        {"role": "assistant", "content": [use("call_1")]},
        {"role": "user", "content": [result("call_1", "denied", is_error=True)]},
    ])  # fmt: skip
    assert contents[0]["parts"][0] == {
        "fileData": {"mimeType": "application/pdf", "fileUri": "gs://bucket/spec.pdf"}
    }
    assert contents[2]["parts"][0]["functionResponse"]["response"] == {"error": "denied"}


def test_renamed_properties_and_long_names_round_trip() -> None:
    long_name = "mcp__some_server__" + "x" * 60
    tool = {"name": long_name, "input_schema": GREP["input_schema"]}
    req = request(tools=[tool], messages=[
        {"role": "user", "content": "search"},
        {"role": "assistant", "content": [use("call_1", long_name, pattern="p", **{"-A": 2})]},
        {"role": "user", "content": [result("call_1")]},
    ])  # fmt: skip
    c = ctx("gemini-2.5-flash")
    body = PROVIDER.convert_request(req, c).body
    sent = body["tools"][0]["functionDeclarations"][0]["name"]
    assert len(sent) <= 64 and sent != long_name
    call = body["contents"][1]["parts"][0]["functionCall"]
    assert call == {"name": sent, "args": {"pattern": "p", "_A": 2}, "id": "call_1"}
    assert body["contents"][2]["parts"][0]["functionResponse"]["name"] == sent
    answer = g.response([{"functionCall": {"name": sent, "args": {"pattern": "q", "_A": 5}}}])
    out = PROVIDER.convert_response(answer, c)
    (block,) = out["content"]
    assert (block["name"], block["input"]) == (long_name, {"pattern": "q", "-A": 5})


def test_claude_code_fixtures_convert_to_valid_bodies() -> None:
    for path in sorted(FIXTURES.glob("0[1-7]_*.json")):
        body = json.loads(path.read_text())["body"]
        for model in ("gemini-2.5-flash", "gemini-3-pro-preview", "gemini-2.0-flash"):
            out = convert(body, model)
            assert out["contents"], path.name


# --- schemas ------------------------------------------------------------------------------

SCHEMA_CASES = [
    ("type list with null", {"type": ["string", "null"]}, {"type": "STRING", "nullable": True}),
    ("multi-type", {"type": ["string", "integer"]},
     {"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]}),
    ("const string", {"const": "deleted"}, {"enum": ["deleted"], "type": "STRING"}),
    ("string enum with null", {"enum": ["a", None]},
     {"enum": ["a"], "type": "STRING", "nullable": True}),
    ("numeric enum goes to the description", {"type": "integer", "enum": [1, 2],
                                              "description": "Level"},
     {"type": "INTEGER", "description": "Level (one of: 1, 2)"}),
    ("oneOf becomes anyOf; a null branch makes it nullable",
     {"oneOf": [{"type": "string"}, {"type": "null"}]}, {"type": "STRING", "nullable": True}),
    ("allOf merged", {"allOf": [{"type": "object", "properties": {"a": {"type": "string"}},
                                 "required": ["a"]},
                                {"properties": {"b": {"type": "number"}}}]},
     {"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "NUMBER"}},
      "required": ["a"]}),
    ("formats", {"type": "object", "properties": {
        "u": {"type": "string", "format": "uri"}, "d": {"type": "string", "format": "date-time"},
        "n": {"type": "number", "format": "double"}}},
     {"type": "OBJECT", "properties": {"u": {"type": "STRING"},
                                       "d": {"type": "STRING", "format": "date-time"},
                                       "n": {"type": "NUMBER", "format": "double"}}}),
    ("required naming no property", {"type": "object", "properties": {"a": {"type": "string"}},
                                     "required": ["a", "ghost"]},
     {"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "required": ["a"]}),
    ("tuple items", {"type": "array", "items": [{"type": "string"}, {"type": "number"}]},
     {"type": "ARRAY", "items": {"type": "STRING"}}),
    ("kept keywords", {"type": "string", "minLength": 1, "maxLength": 9, "pattern": "^a",
                       "title": "T", "default": "a", "exclusiveMinimum": 0},
     {"type": "STRING", "minLength": 1, "maxLength": 9, "pattern": "^a", "title": "T",
      "default": "a"}),
]  # fmt: skip


@pytest.mark.parametrize("schema, expected", [c[1:] for c in SCHEMA_CASES],
                         ids=[c[0] for c in SCHEMA_CASES])  # fmt: skip
def test_sanitise(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    wrapped = {"type": "object", "properties": {"x": schema}}
    out, keymap, _ = schema_mod.sanitise(wrapped)
    assert out == {"type": "OBJECT", "properties": {"x": expected}}
    assert keymap is None


def test_sanitise_refs_recursion_and_the_drop_list() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object", "additionalProperties": False, "propertyNames": {"pattern": "^a"},
        "$defs": {"Node": {"type": "object", "properties": {
            "name": {"type": "string"}, "child": {"$ref": "#/$defs/Node"}}}},
        "properties": {"root": {"$ref": "#/$defs/Node"}, "n": {"type": "integer",
                                                               "multipleOf": 2}},
    }  # fmt: skip
    out, _, dropped = schema_mod.sanitise(schema)
    assert out == {"type": "OBJECT", "properties": {
        "root": {"type": "OBJECT", "properties": {"name": {"type": "STRING"}, "child": {}}},
        "n": {"type": "INTEGER"}}}  # fmt: skip
    assert "$schema" in dropped and "additionalProperties" in dropped
    assert "propertyNames" in dropped and "multipleOf at n" in dropped
    assert "$ref #/$defs/Node (recursive) at root.child" in dropped


def test_sanitise_renames_nested_properties_and_maps_arguments_back() -> None:
    schema = {"type": "object", "properties": {"opts": {"type": "array", "items": {
        "type": "object", "properties": {"max-depth": {"type": "integer"}}}}}}  # fmt: skip
    names = sys.modules[plugin.__name__ + ".names"]
    for out, keymap in (schema_mod.sanitise(schema)[:2], schema_mod.json_schema(schema)):
        props = out["properties"]["opts"]["items"]["properties"]
        assert list(props) == ["max_depth"]
        sent = {"opts": [{"max_depth": 3}]}
        back = names.rename_keys(sent, keymap, to_gemini=False)
        assert back == {"opts": [{"max-depth": 3}]}
        assert names.rename_keys(back, keymap, to_gemini=True) == sent


def test_dropped_keywords_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    tool = {"name": "Odd", "input_schema": {"type": "object", "properties": {
        "a": {"type": "string", "propertyNames": {"pattern": "^z"}}}}}  # fmt: skip
    with caplog.at_level("INFO", logger="ccrelay.gemini"):
        for _ in range(3):
            PROVIDER.convert_request(request(tools=[tool]), ctx("gemini-2.0-flash"))
    lines = [r.getMessage() for r in caplog.records if "outside Gemini's subset" in r.message]
    assert lines == ["provider gem: tool schema keywords outside Gemini's subset were dropped: "
                     "Odd: propertyNames at a"]  # fmt: skip


# --- answers ------------------------------------------------------------------------------


def test_response_parts_to_blocks_and_back() -> None:
    parts = [
        {"text": "Planning", "thought": True, "thoughtSignature": "T-SIG"},
        {"text": "I will write it."},
        {"functionCall": {"name": "Write", "args": {"file_path": "a", "content": "hi"}},
         "thoughtSignature": "CALL-SIG"},
        {"functionCall": {"name": "Write", "args": {"file_path": "b", "content": "hi"}}},
    ]  # fmt: skip
    c = ctx()
    PROVIDER.convert_request(request(tools=[WRITE]), c)
    out = PROVIDER.convert_response(g.response(parts, usage=g.usage(100, 20, thoughts=30,
                                                                    cached=40)), c)  # fmt: skip
    types = [b["type"] for b in out["content"]]
    assert types == ["thinking", "text", "thinking", "tool_use", "tool_use"]
    assert out["content"][0] == {"type": "thinking", "thinking": "Planning",
                                 "signature": "ccrelay:gemini:T-SIG"}  # fmt: skip
    assert out["content"][2] == {"type": "thinking", "thinking": "",
                                 "signature": "ccrelay:gemini:CALL-SIG"}  # fmt: skip
    ids = [b["id"] for b in out["content"] if b["type"] == "tool_use"]
    assert all(i.startswith("toolu_gemini_") for i in ids) and len(set(ids)) == 2
    again = PROVIDER.convert_response(g.response(parts), c)
    assert [b["id"] for b in again["content"] if b["type"] == "tool_use"] == ids, "stable ids"
    assert out["stop_reason"] == "tool_use"
    assert out["usage"] == {
        "input_tokens": 60,
        "output_tokens": 50,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 40,
    }
    # The client keeps the blocks; the next request returns every signature to its part.
    history = [{"role": "user", "content": "go"},
               {"role": "assistant", "content": out["content"]},
               {"role": "user", "content": [result(i) for i in ids]}]  # fmt: skip
    model_turn = contents_of(history)[1]["parts"]
    assert model_turn == parts


RESPONSE_CASES = [
    ("max tokens", g.response([{"text": "cut"}], finish="MAX_TOKENS"), "max_tokens", "cut"),
    ("safety with nothing said", g.response([], finish="SAFETY", finishMessage="blocked"),
     "refusal", "[Gemini stopped the answer (finish reason SAFETY): blocked]"),
    ("recitation keeps the text", g.response([{"text": "partial"}], finish="RECITATION"),
     "refusal", "partial"),
    ("prompt blocked", {"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}},
     "refusal", "[Gemini blocked the prompt (blockReason PROHIBITED_CONTENT)]"),
    ("other with text", g.response([{"text": "ok"}], finish="OTHER"), "end_turn", "ok"),
    ("code execution", g.response([{"executableCode": {"language": "PYTHON", "code": "1+1"}},
                                   {"codeExecutionResult": {"outcome": "OUTCOME_OK",
                                                            "output": "2"}}]),
     "end_turn", "```python\n1+1\n``````\n2\n```"),
]  # fmt: skip


@pytest.mark.parametrize("body, reason, text", [c[1:] for c in RESPONSE_CASES],
                         ids=[c[0] for c in RESPONSE_CASES])  # fmt: skip
def test_convert_response(body: dict[str, Any], reason: str, text: str) -> None:
    out = PROVIDER.convert_response(body, ctx())
    assert out["stop_reason"] == reason
    assert "".join(b["text"] for b in out["content"] if b["type"] == "text") == text
    assert out["model"] == "claude-sonnet-4-5"


@pytest.mark.parametrize(
    "body, status, match",
    [
        (g.response([], finish="MALFORMED_FUNCTION_CALL", finishMessage="bad args"), 502,
         "MALFORMED_FUNCTION_CALL: bad args"),
        (g.response([{"text": "x"}], finish="UNEXPECTED_TOOL_CALL"), 502, "UNEXPECTED_TOOL_CALL"),
        (g.response([], finish="OTHER"), 502, "no content"),
        ({"candidates": []}, 502, "no content"),
        ([{"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}], 503,
         "overloaded"),
    ],
)  # fmt: skip
def test_convert_response_errors(body: Any, status: int, match: str) -> None:
    with pytest.raises(RelayError, match=match) as info:
        PROVIDER.convert_response(body, ctx())
    assert info.value.status == status


# --- streams ------------------------------------------------------------------------------


def sse_events(chunks: list[dict[str, Any]]) -> list[SSEEvent]:
    raw = b"".join(f"data: {json.dumps(c)}\r\n\r\n".encode() for c in chunks)
    return list(parse_stream("sse", [raw[i : i + 7] for i in range(0, len(raw), 7)]))


def array_events(chunks: list[dict[str, Any]]) -> list[SSEEvent]:
    raw = ("[" + ",\r\n".join(json.dumps(c, indent=1) for c in chunks) + "]").encode()
    return list(parse_stream("json_array", [raw[i : i + 5] for i in range(0, len(raw), 5)]))


def run_stream(events: list[SSEEvent], c: RequestContext | None = None) -> dict[str, Any]:
    return accumulate(list(PROVIDER.stream(events, c or ctx())))


STREAM = [
    g.chunk({"text": "Let me ", "thought": True}, usage=g.usage(120, 0)),
    g.chunk({"text": "think", "thought": True}),
    g.chunk({"text": "Checking the w"}),
    g.chunk({"text": "eather. é"}),
    g.chunk({"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}},
             "thoughtSignature": "CiQB"},
            {"functionCall": {"name": "get_weather", "args": {"city": "Bergen"}}},
            finish="STOP", usage=g.usage(120, 18, thoughts=40)),
]  # fmt: skip


@pytest.mark.parametrize("framing", [sse_events, array_events], ids=["alt=sse", "json array"])
def test_stream_in_both_framings(framing: Any) -> None:
    msg = run_stream(framing(STREAM))
    assert [b["type"] for b in msg["content"]] == ["thinking", "text", "thinking", "tool_use",
                                                   "tool_use"]  # fmt: skip
    assert msg["content"][0] == {"type": "thinking", "thinking": "Let me think", "signature": ""}
    assert msg["content"][1]["text"] == "Checking the weather. é"
    assert msg["content"][2]["signature"] == "ccrelay:gemini:CiQB"
    assert [b["input"] for b in msg["content"][3:]] == [{"city": "Oslo"}, {"city": "Bergen"}]
    assert msg["stop_reason"] == "tool_use"
    assert msg["start_usage"]["input_tokens"] == 120
    assert msg["usage"]["output_tokens"] == 58 and msg["usage"]["input_tokens"] == 120


def test_streamed_history_returns_signatures_to_their_parts() -> None:
    chunks = [
        g.chunk({"text": "Sure", "thoughtSignature": "TXT"}),
        g.chunk({"text": ", done."}),
        g.chunk({"text": "", "thoughtSignature": "MID"}),
        g.chunk({"text": " More."}),
        g.chunk({"text": "", "thoughtSignature": "END"}, finish="STOP"),
    ]
    msg = run_stream(sse_events(chunks))
    # An answer ends with its text (Claude Code reports the last block as the result): the
    # signature of the final empty part is dropped; Gemini checks none of a text answer.
    assert [b["type"] for b in msg["content"]] == ["thinking", "text", "thinking", "text"]
    parts = contents_of([{"role": "user", "content": "x"},
                         {"role": "assistant", "content": msg["content"]},
                         {"role": "user", "content": "next"}])[1]["parts"]  # fmt: skip
    assert parts == [{"text": "Sure, done.", "thoughtSignature": "TXT"},
                     {"text": " More.", "thoughtSignature": "MID"}]  # fmt: skip
    once = PROVIDER.convert_response(g.response([{"text": "Hi."},
                                                 {"text": "", "thoughtSignature": "END"}]),
                                     ctx())  # fmt: skip
    assert once["content"] == [{"type": "text", "text": "Hi."}]


def test_thought_signature_closes_its_thinking_block() -> None:
    msg = run_stream(sse_events([
        g.chunk({"text": "hmm", "thought": True}),
        g.chunk({"text": "", "thought": True, "thoughtSignature": "TH"}),
        g.chunk({"text": "Hello"}, finish="STOP"),
    ]))  # fmt: skip
    assert msg["content"][0] == {"type": "thinking", "thinking": "hmm",
                                 "signature": "ccrelay:gemini:TH"}  # fmt: skip


@pytest.mark.parametrize(
    "chunks, status, match",
    [
        ([g.chunk({"text": "par"})], 502, "ended before a finishReason"),
        ([g.chunk({"text": "a"}), {"error": {"code": 500, "message": "boom",
                                             "status": "INTERNAL"}}], 500, "boom"),
        ([g.chunk({"text": "a"}), g.chunk(finish="MALFORMED_FUNCTION_CALL")], 502,
         "MALFORMED_FUNCTION_CALL"),
        ([g.chunk(finish="STOP")], 502, "no content"),
    ],
)  # fmt: skip
def test_stream_errors(chunks: list[Any], status: int, match: str) -> None:
    with pytest.raises(RelayError, match=match) as info:
        list(PROVIDER.stream(sse_events(chunks), ctx()))
    assert info.value.status == status


def test_failure_in_the_first_chunk_emits_nothing() -> None:
    events = PROVIDER.stream(sse_events([g.chunk(finish="MALFORMED_FUNCTION_CALL")]), ctx())
    with pytest.raises(RelayError) as info:
        next(events)
    assert info.value.retryable, "nothing reached the client: the next provider may answer"


def test_stream_safety_and_blocked_prompt() -> None:
    msg = run_stream(sse_events([g.chunk(finish="SAFETY")]))
    assert msg["stop_reason"] == "refusal"
    assert msg["content"][0]["text"].startswith("[Gemini stopped the answer (finish reason SAFETY")
    blocked = run_stream(sse_events([{"promptFeedback": {"blockReason": "SAFETY"},
                                      "usageMetadata": g.usage(9, 0)}]))  # fmt: skip
    assert blocked["stop_reason"] == "refusal" and "blockReason SAFETY" in str(blocked)


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body, headers, expected_status, kind, match, retry_after",
    [
        (400, g.error(400, "API key not valid.", "INVALID_ARGUMENT", details=[
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]),
         {}, 401, ErrorKind.AUTHENTICATION, "check api_key", None),
        (429, g.error(429, "Quota exceeded", "RESOURCE_EXHAUSTED", details=[
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}]),
         {}, 429, ErrorKind.RATE_LIMITED, "Quota", "12"),
        (400, g.error(400, "The input token count (1200000) exceeds the maximum number of "
                           "tokens allowed (1048576).", "INVALID_ARGUMENT"),
         {}, 400, ErrorKind.CONTEXT_TOO_LONG, "input token count", None),
        (503, [g.error(503, "The model is overloaded.", "UNAVAILABLE")], {"retry-after": "3"},
         503, ErrorKind.OVERLOADED, "overloaded", "3"),
        (404, g.error(404, "models/gemini-9 is not found", "NOT_FOUND"), {}, 404,
         ErrorKind.NOT_FOUND, "check the model name", None),
        (400, g.error(400, "Function call is missing a thought_signature", "INVALID_ARGUMENT"),
         {}, 400, ErrorKind.INVALID_REQUEST, "thought_signature", None),
    ],
)  # fmt: skip
def test_map_error(status: int, body: Any, headers: dict[str, str], expected_status: int,
                   kind: ErrorKind, match: str, retry_after: str | None) -> None:  # fmt: skip
    err = PROVIDER.map_error(status, body, headers)
    assert (err.status, err.kind) == (expected_status, kind)
    assert match in err.message
    assert err.headers.get("retry-after") == retry_after
