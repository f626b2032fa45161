"""The Gemini dialect's converters with plain data: requests in, canonical out, and back."""

from __future__ import annotations

import base64
import json

import pytest

from ccrelay.core.dialect import ClientCall, Headers, Inbound
from ccrelay.core.dialects.gemini import GeminiDialect
from ccrelay.core.dialects.gemini.thoughts import BUNDLE, bundle, unbundle
from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError

DIALECT = GeminiDialect()
USER = {"role": "user", "parts": [{"text": "hi"}]}
SIG = "EqQBCkYIBxgCKkAnthropicSignature=="


def parse(body: dict, method: str = "generateContent", query: dict | None = None) -> ClientCall:
    inbound = Inbound("call", {"target": f"gemini-2.5-flash:{method}"}, query or {},
                      Headers({}), body)  # fmt: skip
    return DIALECT.parse(inbound)


def request(body: dict, **kw) -> dict:
    return dict(parse(body, **kw).request)


def render(content: list, stop: str = "end_turn", include: bool = True, usage=None) -> dict:
    call = parse({"contents": [USER], "generationConfig": {"thinkingConfig": {
        "includeThoughts": include}}})  # fmt: skip
    resp = {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": usage or {"input_tokens": 3, "output_tokens": 2}}  # fmt: skip
    return DIALECT.render_response(resp, call).body


def parts_of(body: dict) -> list:
    return body["candidates"][0]["content"]["parts"]


# --- request fields ---------------------------------------------------------------------------


def test_camel_and_snake_case_bodies_give_the_same_request():
    camel = {
        "contents": [USER, {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}},
                                                        "thoughtSignature": "c2ln"}]},
                     {"role": "user", "parts": [{"functionResponse": {"name": "f",
                                                                      "response": {"output": "x"}}}]}],
        "systemInstruction": {"parts": [{"text": "sys"}]},
        "tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object"}}]}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}},
        "generationConfig": {"maxOutputTokens": 9000, "topP": 0.5, "stopSequences": ["x"],
                             "responseMimeType": "application/json",
                             "thinkingConfig": {"includeThoughts": True, "thinkingBudget": 2048}},
    }  # fmt: skip
    snake = json.loads(
        json.dumps(camel)
        .replace("systemInstruction", "system_instruction")
        .replace("functionDeclarations", "function_declarations")
        .replace("parametersJsonSchema", "parameters_json_schema")
        .replace("toolConfig", "tool_config")
        .replace("functionCallingConfig", "function_calling_config")
        .replace("allowedFunctionNames", "allowed_function_names")
        .replace("generationConfig", "generation_config")
        .replace("maxOutputTokens", "max_output_tokens")
        .replace("topP", "top_p")
        .replace("stopSequences", "stop_sequences")
        .replace("responseMimeType", "response_mime_type")
        .replace("thinkingConfig", "thinking_config")
        .replace("includeThoughts", "include_thoughts")
        .replace("thinkingBudget", "thinking_budget")
        .replace("functionCall", "function_call")
        .replace("functionResponse", "function_response")
        .replace("thoughtSignature", "thought_signature")
    )
    assert request(snake) == request(camel)
    assert parse(snake).state == parse(camel).state
    req = request(camel)
    assert req["system"] == [{"type": "text", "text": "sys"}]
    assert req["tool_choice"] == {"type": "tool", "name": "f"}
    assert req["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert req["output_config"] == {"format": {"type": "json_schema", "schema": {"type": "object"}}}


@pytest.mark.parametrize(
    ("config", "tools", "choice"),
    [
        ({"mode": "AUTO"}, ["a", "b"], {"type": "auto"}),
        ({"mode": "NONE"}, ["a", "b"], {"type": "none"}),
        ({"mode": "ANY"}, ["a", "b"], {"type": "any"}),
        ({"mode": "ANY", "allowedFunctionNames": ["b"]}, ["b"], {"type": "tool", "name": "b"}),
        ({"mode": "ANY", "allowedFunctionNames": ["a", "c"]}, ["a", "c"], {"type": "any"}),
        ({"mode": "VALIDATED", "allowedFunctionNames": ["c"]}, ["c"], {"type": "auto"}),
        ({}, ["a", "b"], {"type": "auto"}),
    ],
)  # fmt: skip
def test_function_calling_modes(config, tools, choice):
    decls = [{"name": n} for n in ("a", "b", "c")]
    body = {"contents": [USER], "tools": [{"functionDeclarations": decls}],
            "toolConfig": {"functionCallingConfig": config}}  # fmt: skip
    call = parse(body)
    if config == {}:
        assert "tool_choice" not in call.request and len(call.request["tools"]) == 3
        return
    assert call.request["tool_choice"] == choice
    if config.get("allowedFunctionNames"):
        assert [t["name"] for t in call.request["tools"]] == tools
    assert ("toolConfig" in call.side) is (config["mode"] == "VALIDATED")


@pytest.mark.parametrize(
    ("thinking", "max_tokens", "expected", "effort"),
    [
        ({"thinkingBudget": 0}, None, {"type": "disabled"}, None),
        ({"thinkingBudget": -1}, None, {"type": "adaptive"}, None),
        ({"thinkingBudget": 100}, None, {"type": "enabled", "budget_tokens": 1024}, None),
        ({"thinkingBudget": 8000}, 4000, {"type": "enabled", "budget_tokens": 3999}, None),
        ({"thinkingBudget": 8000}, 512, {"type": "disabled"}, None),
        ({"thinkingLevel": "MINIMAL"}, None, {"type": "disabled"}, None),
        ({"thinkingLevel": "low"}, None, {"type": "adaptive"}, "low"),
        ({"thinkingLevel": "HIGH"}, None, {"type": "adaptive"}, "high"),
        ({"includeThoughts": True}, None, {"type": "adaptive"}, None),
        ({"includeThoughts": False}, None, None, None),
    ],
)  # fmt: skip
def test_thinking_config(thinking, max_tokens, expected, effort):
    gen: dict = {"thinkingConfig": thinking}
    if max_tokens:
        gen["maxOutputTokens"] = max_tokens
    call = parse({"contents": [USER], "generationConfig": gen})
    assert call.request.get("thinking") == expected
    assert call.request.get("output_config", {}).get("effort") == effort
    assert call.side["generationConfig"]["thinkingConfig"] == thinking
    assert call.state["include_thoughts"] is bool(thinking.get("includeThoughts"))
    if max_tokens == 512:
        assert "thinking is off" in call.warnings[0]


def test_sampling_and_side_fields():
    call = parse({"contents": [USER], "generationConfig": {
        "temperature": 1.7, "topK": 40.0, "seed": 3, "frequencyPenalty": 0.1,
        "responseModalities": ["TEXT"], "candidateCount": 1}})  # fmt: skip
    assert (call.request["temperature"], call.request["top_k"]) == (1, 40)
    assert call.side == {"generationConfig": {"temperature": 1.7, "seed": 3,
                                              "frequencyPenalty": 0.1,
                                              "responseModalities": ["TEXT"]}}  # fmt: skip
    assert call.needs_protocol == ""


def test_openapi_schemas_become_json_schema():
    params = {
        "type": "OBJECT", "propertyOrdering": ["a", "b"],
        "properties": {
            "a": {"type": "STRING", "nullable": True, "example": "x", "format": "enum",
                  "enum": ["x", "y"]},
            "b": {"type": "ARRAY", "items": {"type": "integer"}, "minItems": "1"},
            "c": {"anyOf": [{"type": "STRING"}, {"type": "NUMBER"}], "nullable": True},
            "type": {"type": "TYPE_UNSPECIFIED", "description": "a property named type"},
        },
        "required": ["a"],
    }  # fmt: skip
    req = request({"contents": [USER], "tools": [{"functionDeclarations": [
        {"name": "f", "description": "d", "parameters": params}]}]})  # fmt: skip
    assert req["tools"] == [{"name": "f", "description": "d", "input_schema": {
        "type": "object",
        "properties": {
            "a": {"type": ["string", "null"], "examples": ["x"], "format": "enum",
                  "enum": ["x", "y"]},
            "b": {"type": "array", "items": {"type": "integer"}, "minItems": 1},
            "c": {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]},
            "type": {"description": "a property named type"},
        },
        "required": ["a"],
    }}]  # fmt: skip


def test_json_schemas_keep_everything_but_upper_case_types():
    schema = {"type": "OBJECT", "additionalProperties": False, "$defs": {"x": {"type": "STRING"}},
              "properties": {"v": {"type": ["STRING", "null"], "const": "q"}}}  # fmt: skip
    req = request({"contents": [USER], "generationConfig": {
        "responseMimeType": "application/json", "responseJsonSchema": schema}})  # fmt: skip
    assert req["output_config"]["format"]["schema"] == {
        "type": "object", "additionalProperties": False, "$defs": {"x": {"type": "string"}},
        "properties": {"v": {"type": ["string", "null"], "const": "q"}},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"contents": [USER], "generationConfig": {"candidateCount": 3}}, "candidateCount"),
        ({"contents": [USER], "generationConfig": {"responseMimeType": "text/html"}},
         "text/html"),
        ({"contents": [USER], "generationConfig": {"responseSchema": {"type": "STRING"}}},
         "application/json"),
        ({"contents": [USER], "generationConfig": {"responseMimeType": "application/json",
          "responseSchema": {}, "responseJsonSchema": {}}}, "mutually exclusive"),
        ({"contents": [USER], "generationConfig": {"thinkingConfig": {"thinkingLevel": "max"}}},
         "thinkingLevel"),
        ({"contents": [USER], "generationConfig": {"thinkingConfig": {"thinkingBudget": 5,
          "thinkingLevel": "LOW"}}}, "mutually exclusive"),
        ({"contents": [USER], "generationConfig": {"thinkingConfig": {"thinkingBudget": -5}}},
         "thinkingBudget"),
        ({"contents": [USER], "tools": [{"functionDeclarations": [{"name": "f"}]}],
          "toolConfig": {"functionCallingConfig": {"mode": "ANY",
                                                   "allowedFunctionNames": ["g"]}}},
         "'g' is not a declared function"),
        ({"contents": [USER], "tools": [{"functionDeclarations": [{"name": "f",
          "parameters": {}, "parametersJsonSchema": {}}]}]}, "mutually exclusive"),
        ({"contents": [USER], "tools": [{"functionDeclarations": [{"name": "f",
          "parameters": {"type": "OBJECTS"}}]}]}, "parameters.type: unknown type"),
        ({"contents": [USER], "systemInstruction": {"parts": [{"inlineData": {
          "mimeType": "image/png", "data": "AA=="}}]}}, "only text parts"),
        ({"contents": [{"role": "user", "parts": [{"functionCall": {"name": "f"}}]}]},
         "contents[0].parts[0].functionCall: function calls belong in a model turn"),
        ({"contents": [{"role": "model", "parts": [{"functionResponse": {"name": "f"}}]}]},
         "belong in a user turn"),
        ({"contents": [{"role": "user", "parts": [{"inlineData": {"mimeType": "text/plain",
                                                                  "data": "%%%"}}]}]},
         "base64 of UTF-8"),
        ({"contents": [{"role": "user", "parts": [{"text": ""}]}]}, "no content to send"),
        ({"contents": [{"role": "system", "parts": [{"text": "x"}]}]},
         "contents.0.role: expected 'user' or 'model'"),
        ({"contents": "hi"}, "contents: expected a list of contents"),
        ({"contents": [{"role": "user", "parts": [{"text": 5}]}]},
         "contents.0.parts.0.text: expected a string, got 5"),
        ({"contents": [{"role": "user", "parts": [{"inline_data": {"mime_type": 5}}]}]},
         "contents.0.parts.0.inline_data.mime_type: expected a string"),
        ({"contents": [{"role": "model", "parts": [{"text": "", "thoughtSignature":
                                                    BUNDLE + "xx"}]}, USER]},
         "does not decode"),
    ],
)  # fmt: skip
def test_bad_requests_are_400s_naming_the_field(body, words):
    with pytest.raises(InvalidRequest) as info:
        parse(body)
    assert info.value.status == 400
    assert words in info.value.message


def test_unknown_methods_and_alt_values():
    inbound = Inbound("call", {"target": "g:embedContent"}, {}, Headers({}), {"contents": []})
    with pytest.raises(RelayError) as info:
        DIALECT.parse(inbound)
    assert (info.value.status, info.value.kind) == (404, ErrorKind.NOT_FOUND)
    with pytest.raises(InvalidRequest, match="alt"):
        parse({"contents": [USER]}, "streamGenerateContent", {"alt": "proto"})
    call = parse({"contents": [USER]}, "streamGenerateContent", {"alt": "sse"})
    assert call.stream and call.request["stream"] is True and call.state["sse"] is True


def test_count_tokens_bodies():
    plain = parse({"contents": [USER]}, "countTokens")
    wrapped = parse({"generateContentRequest": {"contents": [USER], "systemInstruction": {
        "parts": [{"text": "s"}]}}}, "countTokens")  # fmt: skip
    assert plain.count_only and wrapped.count_only
    assert wrapped.request["system"] == [{"type": "text", "text": "s"}]
    assert DIALECT.render_count(42, plain).body == {"totalTokens": 42}
    with pytest.raises(InvalidRequest, match="not both"):
        parse({"contents": [USER], "generateContentRequest": {"contents": [USER]}}, "countTokens")
    with pytest.raises(InvalidRequest, match="contents: Field required"):
        parse({}, "countTokens")


# --- contents -------------------------------------------------------------------------------


def test_media_parts():
    png = base64.b64encode(b"\x89PNG....").decode()
    text = base64.b64encode("héllo".encode()).decode()
    call = parse({"contents": [{"role": "user", "parts": [
        {"inlineData": {"mimeType": "image/PNG", "data": png}},
        {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}},
        {"inline_data": {"mime_type": "text/plain", "data": text}},
    ]}]})  # fmt: skip
    assert call.request["messages"][0]["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                        "data": "JVBERi0="}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain",
                                        "data": "héllo"}},
    ]  # fmt: skip
    assert call.needs_protocol == ""


@pytest.mark.parametrize(
    ("part", "where"),
    [
        ({"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}},
         "contents[0].parts[0].inlineData: audio/wav data"),
        ({"fileData": {"mimeType": "video/mp4", "fileUri": "gs://b/v.mp4"}},
         "contents[0].parts[0].fileData: a file URI (gs://b/v.mp4)"),
    ],
)  # fmt: skip
def test_parts_only_a_gemini_backend_can_read(part, where):
    call = parse({"contents": [{"role": "user", "parts": [part]}]})
    assert call.needs_protocol == "gemini"
    assert call.needs_reason.startswith(where)
    assert "only a Gemini backend can use" in call.needs_reason


def test_results_pair_by_id_then_by_name_and_order():
    call = parse({"contents": [
        USER,
        {"role": "model", "parts": [
            {"functionCall": {"name": "read", "args": {"p": 1}, "id": "r1"}},
            {"functionCall": {"name": "read", "args": {"p": 2}}},
            {"functionCall": {"name": "ls", "args": {}}},
            {"functionCall": {"name": "rm", "args": {}}}]},
        {"role": "tool", "parts": [
            {"functionResponse": {"name": "read", "response": {"output": "two"}}},
            {"functionResponse": {"name": "read", "id": "r1", "response": {"output": "one"}}},
            {"functionResponse": {"name": "ls", "response": {"error": "denied"}}},
            {"functionResponse": {"name": "ghost", "response": {"output": "boo"}}}]},
        {"role": "user", "parts": [{"text": "go on"}]},
    ]})  # fmt: skip
    assistant, results = call.request["messages"][1:]
    ids = [b["id"] for b in assistant["content"]]
    assert ids[0] == "r1" and all(i.startswith("call_") for i in ids[1:])
    assert results["content"] == [
        {"type": "tool_result", "tool_use_id": "r1", "content": "one"},
        {"type": "tool_result", "tool_use_id": ids[1], "content": "two"},
        {"type": "tool_result", "tool_use_id": ids[2], "content": "denied", "is_error": True},
        {"type": "tool_result", "tool_use_id": ids[3], "is_error": True,
         "content": "Error: the function call was not executed (no functionResponse for it)"},
        {"type": "text", "text": "Result of function ghost: boo"},
        {"type": "text", "text": "go on"},
    ]  # fmt: skip


def test_ids_are_legal_everywhere_and_results_follow_the_same_transform():
    call = parse({"contents": [
        USER,
        {"role": "model", "parts": [{"functionCall": {"name": "mcp.tool", "id": "a.b:c/1"}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "mcp.tool", "id": "a.b:c/1",
                                                         "response": {"x": [1]}}}]},
    ]})  # fmt: skip
    use = call.request["messages"][1]["content"][0]
    result = call.request["messages"][2]["content"][0]
    assert use["id"].startswith("a_b_c_1_") and result["tool_use_id"] == use["id"]
    assert result["content"] == '{"x":[1]}'


def test_code_execution_parts_become_text():
    call = parse({"contents": [USER, {"role": "model", "parts": [
        {"executableCode": {"language": "PYTHON", "code": "print(1)"}},
        {"codeExecutionResult": {"outcome": "OUTCOME_OK", "output": "1"}}]}, USER]})  # fmt: skip
    assert call.request["messages"][1]["content"] == [
        {"type": "text", "text": "```python\nprint(1)\n```"},
        {"type": "text", "text": "Code execution result (OUTCOME_OK):\n1"},
    ]


# --- thought signatures -----------------------------------------------------------------------


def test_bundles_survive_url_safe_re_encoding():
    blocks = [{"type": "thinking", "thinking": "t" * 300, "signature": SIG},
              {"type": "redacted_thinking", "data": "abc"}]  # fmt: skip
    value = bundle(blocks)
    assert value.startswith(BUNDLE)
    raw = base64.b64decode(value)
    # google-genai hands it back URL-safe, padded; a JS client hands it back as it was.
    again = base64.urlsafe_b64encode(raw).decode()
    assert again.startswith(BUNDLE)
    assert unbundle(again, "x") == unbundle(value.rstrip("="), "x") == blocks


def test_client_signatures_become_canonical_thinking():
    call = parse({"contents": [USER, {"role": "model", "parts": [
        {"text": "think ", "thought": True},
        {"text": "more", "thought": True, "thoughtSignature": "Z2VtaW5p"},
        {"text": "answer", "thoughtSignature": "c2ln"},
        {"text": " continues"},
        {"functionCall": {"name": "f", "id": "c1"},
         "thoughtSignature": "skip_thought_signature_validator"},
        {"text": "", "thoughtSignature": "dHJhaWw="}]}, USER]})  # fmt: skip
    assert call.request["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "think more", "signature": "ccrelay:gemini:Z2VtaW5p"},
        {"type": "thinking", "thinking": "", "signature": "ccrelay:gemini:c2ln"},
        {"type": "text", "text": "answer continues"},
        {"type": "thinking", "thinking": "",
         "signature": "ccrelay:gemini:skip_thought_signature_validator"},
        {"type": "tool_use", "id": "c1", "name": "f", "input": {}},
        {"type": "thinking", "thinking": "", "signature": "ccrelay:gemini:dHJhaWw="},
    ]  # fmt: skip


def test_display_copies_of_bundled_thinking_are_dropped():
    blocks = [{"type": "thinking", "thinking": "plan", "signature": SIG}]
    call = parse({"contents": [USER, {"role": "model", "parts": [
        {"text": "pl", "thought": True}, {"text": "an", "thought": True},
        {"functionCall": {"name": "f", "id": "c1"}, "thoughtSignature": bundle(blocks)}]},
        USER]})  # fmt: skip
    assert call.request["messages"][1]["content"] == [
        *blocks, {"type": "tool_use", "id": "c1", "name": "f", "input": {}}]  # fmt: skip
    unsigned = parse({"contents": [USER, {"role": "model", "parts": [
        {"text": "musing", "thought": True}, {"text": "hi"}]}, USER]})  # fmt: skip
    assert unsigned.request["messages"][1]["content"] == [
        {"type": "thinking", "thinking": "musing"}, {"type": "text", "text": "hi"}]  # fmt: skip


@pytest.mark.parametrize("include", [True, False])
def test_rendered_signatures_sit_on_the_part_they_precede(include):
    body = render([
        {"type": "thinking", "thinking": "gemini thought", "signature": "ccrelay:gemini:R1Q="},
        {"type": "thinking", "thinking": "", "signature": "ccrelay:gemini:Q0FMTA=="},
        {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}},
        {"type": "thinking", "thinking": "claude thought", "signature": SIG},
        {"type": "text", "text": "done"},
        {"type": "thinking", "thinking": "", "signature": "ccrelay:openai_responses:enc"},
    ], include=include)  # fmt: skip
    parts = parts_of(body)
    shown = "gemini thought" if include else ""
    assert parts[0] == {"text": shown, "thought": True, "thoughtSignature": "R1Q="}
    assert parts[1] == {"functionCall": {"name": "f", "args": {"a": 1}, "id": "c1"},
                        "thoughtSignature": "Q0FMTA=="}  # fmt: skip
    rest = parts[2:]
    if include:
        assert rest[0] == {"text": "claude thought", "thought": True}
        rest = rest[1:]
    assert rest[0]["text"] == "done"
    assert unbundle(rest[0]["thoughtSignature"], "x") == [
        {"type": "thinking", "thinking": "claude thought", "signature": SIG}]  # fmt: skip
    assert rest[1]["text"] == "" and unbundle(rest[1]["thoughtSignature"], "x") == [
        {"type": "thinking", "thinking": "", "signature": "ccrelay:openai_responses:enc"}]  # fmt: skip
    assert len(rest) == 2


@pytest.mark.parametrize(
    ("stop", "finish"),
    [("end_turn", "STOP"), ("tool_use", "STOP"), ("stop_sequence", "STOP"),
     ("max_tokens", "MAX_TOKENS"), ("model_context_window_exceeded", "MAX_TOKENS"),
     ("refusal", "SAFETY"), ("pause_turn", "STOP"), ("something_new", "OTHER")],
)  # fmt: skip
def test_finish_reasons(stop, finish):
    assert render([{"type": "text", "text": "x"}], stop)["candidates"][0]["finishReason"] == finish


def test_usage_metadata():
    body = render([{"type": "text", "text": "x"}], usage={
        "input_tokens": 10, "cache_read_input_tokens": 5, "cache_creation_input_tokens": 2,
        "output_tokens": 30, "output_tokens_details": {"reasoning_tokens": 12}})  # fmt: skip
    assert body["usageMetadata"] == {
        "promptTokenCount": 17, "candidatesTokenCount": 18, "thoughtsTokenCount": 12,
        "cachedContentTokenCount": 5, "totalTokenCount": 47,
    }  # fmt: skip
    assert (body["modelVersion"], body["responseId"]) == ("gemini-2.5-flash", "msg_1")


# --- streams ----------------------------------------------------------------------------------


def events_of(*blocks: dict, stop: str = "end_turn") -> list[dict]:
    out: list[dict] = [{"type": "message_start", "message": {
        "id": "msg_s", "usage": {"input_tokens": 4, "output_tokens": 0}}}]  # fmt: skip
    for i, b in enumerate(blocks):
        out.append({"type": "content_block_start", "index": i, "content_block": b["start"]})
        out += [{"type": "content_block_delta", "index": i, "delta": d} for d in b["deltas"]]
        out.append({"type": "content_block_stop", "index": i})
    out += [{"type": "message_delta", "delta": {"stop_reason": stop},
             "usage": {"output_tokens": 6}}, {"type": "message_stop"}]  # fmt: skip
    return out


def text_block(*pieces: str) -> dict:
    return {"start": {"type": "text", "text": ""},
            "deltas": [{"type": "text_delta", "text": p} for p in pieces]}  # fmt: skip


def tool_block(call_id: str, name: str, *fragments: str) -> dict:
    return {"start": {"type": "tool_use", "id": call_id, "name": name, "input": {}},
            "deltas": [{"type": "input_json_delta", "partial_json": f} for f in fragments]}  # fmt: skip


def stream(events: list[dict], sse: bool = True, batch: int = 1) -> bytes:
    call = parse({"contents": [USER]}, "streamGenerateContent", {"alt": "sse"} if sse else {})
    renderer = DIALECT.stream_renderer(call)
    out = renderer.keepalive()
    for i in range(0, len(events), batch):
        out += renderer.events(events[i : i + batch])
    return out + renderer.end()


def sse_chunks(raw: bytes) -> list[dict]:
    events = (e.strip() for e in raw.split(b"\n\n"))
    return [json.loads(e[6:]) for e in events if e.startswith(b"data: ")]


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_stream_assembles_tool_calls_and_finishes_on_the_last_chunk(batch):
    events = events_of(text_block("Wri", "ting"),
                       tool_block("c1", "write_file", '{"path": "a', '.txt", "n": [1,', ' 2]}'),
                       tool_block("c2", "ls"), stop="tool_use")  # fmt: skip
    raw = stream(events, batch=batch)
    assert raw.startswith(b"\ndata: ")
    chunks = sse_chunks(raw)
    parts = [p for c in chunks for p in c["candidates"][0]["content"]["parts"]]
    assert "".join(p.get("text", "") for p in parts) == "Writing"
    calls = [p["functionCall"] for p in parts if "functionCall" in p]
    assert calls == [{"name": "write_file", "args": {"path": "a.txt", "n": [1, 2]}, "id": "c1"},
                     {"name": "ls", "args": {}, "id": "c2"}]  # fmt: skip
    assert [c["candidates"][0].get("finishReason") for c in chunks][-1] == "STOP"
    assert all("finishReason" not in c["candidates"][0] for c in chunks[:-1])
    assert chunks[-1]["usageMetadata"]["totalTokenCount"] == 10
    assert {c["responseId"] for c in chunks} == {"msg_s"}


def test_array_framing_is_json_at_the_end():
    events = events_of(text_block("a", "b", "c"))
    raw = stream(events, sse=False)
    chunks = json.loads(raw)
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks
                   if c["candidates"][0]["content"]["parts"]) == "abc"  # fmt: skip


def test_broken_arguments_are_dropped_at_the_token_limit_and_an_error_otherwise():
    cut = events_of(text_block("x"), tool_block("c1", "f", '{"a": "unfini'), stop="max_tokens")
    chunks = sse_chunks(stream(cut))
    assert not any(
        "functionCall" in p for c in chunks for p in c["candidates"][0]["content"]["parts"]
    )
    assert chunks[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"
    bad = events_of(tool_block("c1", "f", "[1, 2]"), stop="tool_use")
    for sse in (True, False):
        raw = stream(bad, sse=sse)
        last = sse_chunks(raw)[-1] if sse else json.loads(raw)[-1]
        assert last["error"]["code"] == 502 and "'f'" in last["error"]["message"]


@pytest.mark.parametrize("sse", [True, False])
def test_mid_stream_error_ends_the_stream_in_its_framing(sse):
    call = parse({"contents": [USER]}, "streamGenerateContent", {"alt": "sse"} if sse else {})
    renderer = DIALECT.stream_renderer(call)
    raw = renderer.events(events_of(text_block("par"))[:3])
    raw += renderer.keepalive()
    raw += renderer.error(RelayError(503, "upstream went away", kind=ErrorKind.OVERLOADED))
    error = {"code": 503, "message": "upstream went away", "status": "UNAVAILABLE"}
    if sse:
        assert sse_chunks(raw)[-1] == {"error": error}
        assert renderer.content_type == "text/event-stream"
    else:
        assert json.loads(raw)[-1] == {"error": error}
        assert renderer.content_type == "application/json"


def test_sse_escapes_line_separators_for_the_js_sdk():
    raw = stream(events_of(text_block("a\u2028b\u2029c")))
    assert b"\xe2\x80\xa8" not in raw and b"\xe2\x80\xa9" not in raw
    assert sse_chunks(raw)[0]["candidates"][0]["content"]["parts"][0]["text"] == "a\u2028b\u2029c"


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("err", "status"),
    [
        (RelayError(400, "bad"), "INVALID_ARGUMENT"),
        (RelayError(401, "who"), "UNAUTHENTICATED"),
        (RelayError(403, "no"), "PERMISSION_DENIED"),
        (RelayError(404, "gone"), "NOT_FOUND"),
        (RelayError(429, "slow", headers={"retry-after": "30"}), "RESOURCE_EXHAUSTED"),
        (RelayError(502, "broke"), "INTERNAL"),
        (RelayError(503, "busy"), "UNAVAILABLE"),
        (RelayError(504, "late"), "DEADLINE_EXCEEDED"),
        (RelayError(400, "no key set", kind=ErrorKind.NOT_CONFIGURED), "FAILED_PRECONDITION"),
        (RelayError(400, "too many tokens", kind=ErrorKind.CONTEXT_TOO_LONG), "INVALID_ARGUMENT"),
    ],
)  # fmt: skip
def test_error_shape(err, status):
    out = DIALECT.render_error(err, "rid")
    assert out.status == err.status
    body = out.body["error"]
    assert (body["code"], body["status"]) == (err.status, status)
    if err.status == 429:
        assert body["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                    "retryDelay": "30s"}]  # fmt: skip
        assert out.headers["retry-after"] == "30"
    if err.kind is ErrorKind.CONTEXT_TOO_LONG:
        assert body["message"].startswith("The input token count exceeds the maximum")


def test_client_key_from_header_or_query():
    def key(headers: dict, query: dict) -> str | None:
        environ = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()}
        return DIALECT.client_key(Inbound("call", {}, query, Headers(environ), None))

    assert key({"x-goog-api-key": "a"}, {}) == "a"
    assert key({}, {"key": "b"}) == "b"
    assert key({"authorization": "Bearer c"}, {}) == "c"
    assert key({}, {}) is None
