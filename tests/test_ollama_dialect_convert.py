"""The Ollama dialect's converters with plain data: bodies in, canonical requests out, and back."""

from __future__ import annotations

import base64
import json

import pytest

from ccrelay.core.dialect import Headers, Inbound, ModelEntry
from ccrelay.core.dialects.ollama import OllamaDialect
from ccrelay.core.dialects.ollama import models as catalog
from ccrelay.core.errors import InvalidRequest, RelayError

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 20).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 20).decode()
GIF = base64.b64encode(b"GIF89a" + b"\0" * 20).decode()
WEBP = base64.b64encode(b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 20).decode()
USER = {"role": "user", "content": "hi"}


@pytest.fixture
def dialect():
    return OllamaDialect()


def chat(dialect, **body):
    body.setdefault("model", "m")
    body.setdefault("messages", [USER])
    return dialect.parse(Inbound("chat", {}, {}, Headers({}), body))


def generate(dialect, **body):
    body.setdefault("model", "m")
    return dialect.parse(Inbound("generate", {}, {}, Headers({}), body))


def call_msg(*calls, thinking=None, content=""):
    msg = {"role": "assistant", "content": content, "tool_calls": [
        {"function": {"name": n, "arguments": a}} for n, a in calls]}  # fmt: skip
    if thinking:
        msg["thinking"] = thinking
    return msg


# --- parse: the request ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "canonical"), [
    ("m", "m"), ("m:latest", "m"), ("qwen3:8b", "qwen3:8b"), (":latest", ":latest"),
    ("org/x:latest", "org/x")])  # fmt: skip
def test_model_names(dialect, name, canonical):
    call = chat(dialect, model=name)
    assert call.request["model"] == canonical
    assert call.state["model"] == name  # answers echo the client's own name


def test_stream_defaults_to_true(dialect):
    assert chat(dialect).stream is True and chat(dialect).request["stream"] is True
    assert chat(dialect, stream=False).stream is False
    assert chat(dialect, stream=None).stream is True


@pytest.mark.parametrize(("options", "canonical", "carried"), [
    ({"num_predict": 100}, {"max_tokens": 100}, None),
    ({"num_predict": 100.0}, {"max_tokens": 100}, None),
    ({"num_predict": -1}, {}, None),
    ({"num_predict": 0}, {}, None),
    ({"temperature": 0.2, "top_p": 0.9, "top_k": 40}, {"temperature": 0.2, "top_p": 0.9, "top_k": 40}, None),
    ({"temperature": 1.6}, {"temperature": 1.0}, {"temperature": 1.6}),
    ({"top_k": 0}, {}, {"top_k": 0}),
    ({"stop": ["</a>", " ", ""]}, {"stop_sequences": ["</a>"]}, {"stop": ["</a>", " ", ""]}),
    ({"stop": ["x"]}, {"stop_sequences": ["x"]}, None),
    ({"stop": "x"}, {"stop_sequences": ["x"]}, None),
    ({"stop": ""}, {}, {"stop": [""]}),
    ({"seed": 7, "num_ctx": 8192, "min_p": 0.1, "repeat_penalty": 1.1},
     {}, {"seed": 7, "num_ctx": 8192, "min_p": 0.1, "repeat_penalty": 1.1}),
    ({"temperature": None, "num_ctx": None}, {}, None),  # Zed sends unset options as null
])  # fmt: skip
def test_options(dialect, options, canonical, carried):
    call = chat(dialect, options=options)
    got = {k: v for k, v in call.request.items() if k not in ("model", "messages", "stream")}
    assert got == canonical
    assert call.side.get("options") == carried


@pytest.mark.parametrize(("options", "message"), [
    ({"temperature": -1}, "options.temperature: expected a number >= 0"),
    ({"top_p": 1.5}, "options.top_p: expected a number from 0 to 1"),
    ({"num_predict": 1.5}, "options.num_predict: expected a 64-bit integer"),
    ({"num_predict": 1e300}, "options.num_predict: expected a 64-bit integer"),
    ({"stop": [1]}, "options.stop.0: expected a string"),
    ({"temperature": "hot"}, "options.temperature: expected a number"),
])  # fmt: skip
def test_bad_options(dialect, options, message):
    with pytest.raises(InvalidRequest) as info:
        chat(dialect, options=options)
    assert info.value.message.startswith(message)


def test_side_field_holds_what_the_canonical_form_cannot(dialect):
    call = chat(dialect, keep_alive="10m", think="high", format="json", truncate=True,
                shift=False, logprobs=False, top_logprobs=3, _debug_render_only=True,
                brand_new={"x": 1})  # fmt: skip
    assert call.side == {
        "keep_alive": "10m", "think": "high", "format": "json", "truncate": True, "shift": False,
        "logprobs": False, "top_logprobs": 3, "_debug_render_only": True, "brand_new": {"x": 1}}  # fmt: skip
    assert chat(dialect).side == {}


def test_logprobs_are_rejected(dialect):
    with pytest.raises(InvalidRequest, match="^logprobs: ccrelay cannot return"):
        chat(dialect, logprobs=True)


@pytest.mark.parametrize(("fmt", "schema"), [
    ("json", {"type": "object"}),
    ({"type": "object", "properties": {"a": {"type": "integer"}}},
     {"type": "object", "properties": {"a": {"type": "integer"}}}),
])  # fmt: skip
def test_format(dialect, fmt, schema):
    call = chat(dialect, format=fmt)
    assert call.request["output_config"] == {"format": {"type": "json_schema", "schema": schema}}
    assert call.side["format"] == fmt
    assert "output_config" not in chat(dialect, format="").request
    with pytest.raises(InvalidRequest, match="^format: expected 'json'"):
        chat(dialect, format="xml")


@pytest.mark.parametrize(("think", "options", "thinking"), [
    (False, {}, {"type": "disabled"}),
    (True, {}, {"type": "enabled", "budget_tokens": 4096}),
    ("low", {}, {"type": "enabled", "budget_tokens": 1024}),
    ("medium", {}, {"type": "enabled", "budget_tokens": 8192}),
    ("high", {"num_predict": 64000}, {"type": "enabled", "budget_tokens": 24576}),
    ("high", {"num_predict": 10000}, {"type": "enabled", "budget_tokens": 9999}),
    (True, {"num_predict": 1000}, None),  # no room: off, with a warning
    (None, {}, None),
])  # fmt: skip
def test_think(dialect, think, options, thinking):
    call = chat(dialect, think=think, options=options)
    assert call.request.get("thinking") == thinking
    assert bool(call.warnings) == (think is True and thinking is None)
    if call.warnings:
        assert "no room for thinking" in call.response_headers["x-ccrelay-warning"]


def test_thinking_drops_sampling_anthropic_rejects(dialect):
    call = chat(dialect, think=True, options={"temperature": 0.5, "top_k": 3, "top_p": 0.5})
    assert not {"temperature", "top_k", "top_p"} & set(call.request)
    assert call.side["options"] == {"temperature": 0.5, "top_k": 3, "top_p": 0.5}
    call = chat(dialect, think=True, options={"top_p": 0.97})
    assert call.request["top_p"] == 0.97


# --- parse: messages ------------------------------------------------------------------------


def test_system_messages(dialect):
    call = chat(dialect, messages=[
        {"role": "system", "content": "one"}, {"role": "SYSTEM", "content": "two"}, USER,
        {"role": "system", "content": "later"}, {"role": "assistant", "content": "ok"}])  # fmt: skip
    req = call.request
    assert req["system"] == [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]
    assert req["messages"] == [USER, {"role": "system", "content": "later"},
                               {"role": "assistant", "content": "ok"}]  # fmt: skip
    assert chat(dialect, messages=[{"role": "system", "content": "s"}, USER]).request[
        "system"] == "s"  # fmt: skip


@pytest.mark.parametrize(("data", "media"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp"),
    (f"data:image/png;base64,{PNG}", "image/png")])  # fmt: skip
def test_images(dialect, data, media):
    call = chat(dialect, messages=[{"role": "user", "content": "look", "images": [data]}])
    (msg,) = call.request["messages"]
    assert msg["content"] == [
        {"type": "image", "source": {"type": "base64", "media_type": media, "data": data.split(",")[-1]}},
        {"type": "text", "text": "look"}]  # fmt: skip


@pytest.mark.parametrize("data", ["bm90IGFuIGltYWdl", "%%%", ""])
def test_images_that_are_not_images(dialect, data):
    with pytest.raises(InvalidRequest, match=r"^messages\.0\.images\.0: not a base64 PNG"):
        chat(dialect, messages=[{"role": "user", "content": "x", "images": [data]}])


def test_assistant_messages(dialect):
    call = chat(dialect, messages=[
        USER, {"role": "assistant", "content": "a", "thinking": "t"},
        USER, {"role": "assistant", "content": ""},  # empty: left out
        USER, {"role": "assistant", "content": "", "thinking": "only"},  # thinking alone: left out
        USER])  # fmt: skip
    msgs = call.request["messages"]
    assert msgs[1] == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "t"}, {"type": "text", "text": "a"}]}  # fmt: skip
    assert [m["role"] for m in msgs] == ["user", "assistant", "user", "user", "user"]
    with pytest.raises(InvalidRequest, match=r"^messages\.1\.images: no backend takes"):
        chat(dialect, messages=[USER, {"role": "assistant", "content": "x", "images": [PNG]}])


def test_tool_calls_and_results_pair_by_name(dialect):
    call = chat(dialect, messages=[
        USER,
        call_msg(("read", {"p": "a"}), ("list", {}), ("read", {"p": "b"})),
        {"role": "tool", "tool_name": "read", "content": "A"},
        {"role": "tool", "tool_name": "read", "content": "B"},
        {"role": "tool", "tool_name": "list", "content": "L", "images": [PNG]},
        {"role": "user", "content": "and now?"}])  # fmt: skip
    assistant, results = call.request["messages"][1:]
    ids = [b["id"] for b in assistant["content"]]
    assert len(set(ids)) == 3 and all(i.startswith("call_") and len(i) == 13 for i in ids)
    assert results["content"][:2] == [
        {"type": "tool_result", "tool_use_id": ids[0], "content": "A"},
        {"type": "tool_result", "tool_use_id": ids[2], "content": "B"}]  # fmt: skip
    assert results["content"][2]["tool_use_id"] == ids[1]
    assert results["content"][2]["content"][0] == {"type": "text", "text": "L"}
    assert results["content"][2]["content"][1]["type"] == "image"
    assert results["content"][3] == {"type": "text", "text": "and now?"}
    assert call.state["ids"] == set(ids)


def test_tool_results_pair_by_id_when_the_client_sends_ids(dialect):
    msg = call_msg(("f", {}), ("f", {}))
    msg["tool_calls"][0]["id"] = "call_x.1"  # illegal for some backends: cleaned, both sides
    msg["tool_calls"][1]["id"] = "call_y"
    call = chat(dialect, messages=[USER, msg,
        {"role": "tool", "tool_call_id": "call_y", "tool_name": "f", "content": "Y"},
        {"role": "tool", "tool_call_id": "call_x.1", "tool_name": "f", "content": "X"}])  # fmt: skip
    assert [b["id"] for b in call.request["messages"][1]["content"]] == ["call_x_1", "call_y"]
    assert [(r["tool_use_id"], r["content"]) for r in call.request["messages"][2]["content"]] == [
        ("call_y", "Y"), ("call_x_1", "X")]  # fmt: skip


def test_unanswered_calls_and_orphan_results(dialect):
    call = chat(dialect, messages=[
        USER, call_msg(("f", {"a": 1})),
        {"role": "user", "content": "never mind"},
        {"role": "tool", "tool_name": "g", "content": "stray"}])  # fmt: skip
    (use,) = call.request["messages"][1]["content"]
    turn = call.request["messages"][2]["content"]
    assert turn[0]["tool_use_id"] == use["id"] and turn[0]["is_error"] is True
    assert turn[1:] == [{"type": "text", "text": "never mind"},
                        {"type": "text", "text": "Result of tool g: stray"}]  # fmt: skip
    assert "has no result in the conversation" in call.warnings[0]


def test_a_system_message_among_tool_results_follows_them(dialect):
    call = chat(dialect, messages=[
        USER, call_msg(("f", {})), {"role": "system", "content": "reminder"},
        {"role": "tool", "tool_name": "f", "content": "r"}])  # fmt: skip
    roles = [m["role"] for m in call.request["messages"]]
    assert roles == ["user", "assistant", "user", "system"]
    assert call.request["messages"][2]["content"][0]["content"] == "r"


@pytest.mark.parametrize(("arguments", "expected"), [
    ('{"a": 1}', {"a": 1}), ("", {}), (None, {}), ({"b": [1]}, {"b": [1]})])  # fmt: skip
def test_tool_call_arguments(dialect, arguments, expected):
    call = chat(dialect, messages=[USER, call_msg(("f", arguments))])
    assert call.request["messages"][1]["content"][0]["input"] == expected


@pytest.mark.parametrize("arguments", ["[1]", "{bad", [1, 2], 5])
def test_tool_call_arguments_must_be_objects(dialect, arguments):
    with pytest.raises(InvalidRequest, match=r"^messages\.1\.tool_calls\.0\.function\.arguments"):
        chat(dialect, messages=[USER, call_msg(("f", arguments))])


def test_ids_are_the_same_on_every_turn(dialect):
    turn1 = [USER, call_msg(("f", {"a": 1})), {"role": "tool", "tool_name": "f", "content": "1"}]
    turn2 = turn1 + [call_msg(("f", {"a": 1})), {"role": "tool", "tool_name": "f", "content": "2"}]
    first = chat(dialect, messages=turn1).request["messages"]
    second = chat(dialect, messages=turn2).request["messages"]
    assert second[:3] == first
    # An identical call later in the conversation still gets its own id.
    assert second[3]["content"][0]["id"] != first[1]["content"][0]["id"]


def test_tools(dialect):
    call = chat(dialect, tools=[
        {"type": "function", "function": {"name": "a", "description": "A", "parameters": {"type": "object"}}},
        {"function": {"name": "b"}}])  # fmt: skip
    assert call.request["tools"] == [
        {"name": "a", "description": "A", "input_schema": {"type": "object"}},
        {"name": "b", "input_schema": {"type": "object", "properties": {}}}]  # fmt: skip
    assert "tools" not in chat(dialect, tools=[]).request
    with pytest.raises(InvalidRequest, match=r"^tools\.0\.type: only function tools"):
        chat(dialect, tools=[{"type": "retrieval", "function": {"name": "a"}}])


@pytest.mark.parametrize(("body", "message"), [
    ({"model": ""}, "model: expected a non-empty string"),
    ({"messages": [{"content": "x"}]}, "messages.0.role: Field required"),
    ({"messages": [{"role": "bot", "content": "x"}]}, "messages.0.role: expected one of system"),
    ({"messages": [{"role": "user", "content": 5}]}, "messages.0.content: expected a string"),
    ({"messages": [{"role": "user", "images": "x"}]}, "messages.0.images: expected a list"),
    ({"think": "max"}, "think: expected true, false"),
    ({"tools": [{"function": {"name": ""}}]}, "tools.0.function.name: expected a non-empty"),
    ({"options": []}, "options: expected an object"),
])  # fmt: skip
def test_bad_chat_bodies(dialect, body, message):
    with pytest.raises(InvalidRequest) as info:
        chat(dialect, **body)
    assert info.value.message.startswith(message)


def test_load_requests(dialect):
    for call in (chat(dialect, messages=[]), chat(dialect, messages=None), generate(dialect)):
        assert call.count_only is True and call.state["load"] == "load"
    for keep in (0, "0", "0s", 0.0):
        assert generate(dialect, prompt="", keep_alive=keep).state["load"] == "unload"
    assert generate(dialect, keep_alive="5m").state["load"] == "load"


# --- parse: generate ------------------------------------------------------------------------


def test_generate_builds_one_user_turn(dialect):
    call = generate(dialect, prompt="p", system="s", images=[PNG], raw=False, suffix="",
                    template="", context=[], options={"num_predict": 9})  # fmt: skip
    assert call.request["system"] == "s" and call.request["max_tokens"] == 9
    (msg,) = call.request["messages"]
    assert msg["role"] == "user" and msg["content"][0]["type"] == "image"
    assert msg["content"][1] == {"type": "text", "text": "p"}
    assert generate(dialect, prompt="p").request["messages"] == [{"role": "user", "content": "p"}]
    assert call.state["endpoint"] == "generate"


@pytest.mark.parametrize("field", [{"raw": True}, {"suffix": "x"}, {"template": "t"},
                                   {"context": [1]}])  # fmt: skip
def test_generate_rejects(dialect, field):
    with pytest.raises(InvalidRequest) as info:
        generate(dialect, prompt="p", **field)
    assert info.value.message.startswith(f"{next(iter(field))}: ")


# --- rendering ------------------------------------------------------------------------------


def lines(data: bytes) -> list[dict]:
    assert data.endswith(b"\n") or not data
    return [json.loads(x) for x in data.splitlines()]


def response(content, stop="end_turn", usage=None):
    return {"id": "msg", "type": "message", "role": "assistant", "model": "x", "content": content,
            "stop_reason": stop, "stop_sequence": None,
            "usage": usage or {"input_tokens": 5, "output_tokens": 2}}  # fmt: skip


def test_render_response_and_the_next_turn(dialect):
    call = chat(dialect, model="m:latest", stream=False)
    thinking = {"type": "thinking", "thinking": "hm", "signature": "S"}
    resp = response([thinking, {"type": "text", "text": "doing it"},
                     {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}},
                     {"type": "tool_use", "id": "toolu_2", "name": "g", "input": {}}],
                    stop="tool_use",
                    usage={"input_tokens": 5, "cache_read_input_tokens": 3, "output_tokens": 2})  # fmt: skip
    out = dialect.render_response(resp, call).body
    assert out["model"] == "m:latest" and out["done"] is True and out["done_reason"] == "stop"
    assert (out["prompt_eval_count"], out["eval_count"]) == (8, 2)
    assert out["created_at"].endswith("Z") and out["eval_duration"] > 0
    msg = out["message"]
    assert (msg["content"], msg["thinking"]) == ("doing it", "hm")
    calls = msg["tool_calls"]
    assert [c["function"] for c in calls] == [
        {"index": 0, "name": "f", "arguments": {"a": 1}},
        {"index": 1, "name": "g", "arguments": {}}]  # fmt: skip
    # The next turn, as the ollama SDK sends it (no ids): the same ids, the signed thinking.
    back = {"role": "assistant", "content": "doing it", "thinking": "hm",
            "tool_calls": [{"function": c["function"]} for c in calls]}  # fmt: skip
    nxt = chat(dialect, messages=[USER, back, {"role": "tool", "tool_name": "f", "content": "1"},
                                  {"role": "tool", "tool_name": "g", "content": "2"}])  # fmt: skip
    blocks = nxt.request["messages"][1]["content"]
    assert blocks[0] == thinking
    assert [b["id"] for b in blocks[2:]] == [c["id"] for c in calls]


def test_kept_thinking_keeps_its_place(dialect):
    # A signature can belong to the block after it (Gemini signs the function call part):
    # the next turn has every thinking block where the backend put it.
    call = chat(dialect, stream=False)
    carrier = {"type": "thinking", "thinking": "", "signature": "ccrelay:gemini:FC"}
    resp = response([{"type": "thinking", "thinking": "plan", "signature": "ccrelay:gemini:T"},
                     {"type": "text", "text": "On it."}, carrier,
                     {"type": "tool_use", "id": "x", "name": "f", "input": {}},
                     {"type": "tool_use", "id": "y", "name": "f", "input": {"n": 2}}],
                    stop="tool_use")  # fmt: skip
    msg = dialect.render_response(resp, call).body["message"]
    back = {"role": "assistant", "content": msg["content"], "thinking": msg["thinking"],
            "tool_calls": [{"function": c["function"]} for c in msg["tool_calls"]]}  # fmt: skip
    blocks = chat(dialect, messages=[USER, back]).request["messages"][1]["content"]
    assert [b["type"] for b in blocks] == ["thinking", "text", "thinking", "tool_use", "tool_use"]
    assert blocks[2] == carrier and blocks[1]["text"] == "On it."
    assert [b["input"] for b in blocks[3:]] == [{}, {"n": 2}]


@pytest.mark.parametrize(("stop", "reason"), [
    ("end_turn", "stop"), ("tool_use", "stop"), ("stop_sequence", "stop"), ("refusal", "stop"),
    ("max_tokens", "length"), ("model_context_window_exceeded", "length"), (None, "stop")])  # fmt: skip
def test_done_reasons(dialect, stop, reason):
    call = generate(dialect, prompt="p", stream=False)
    out = dialect.render_response(response([{"type": "text", "text": "t"}], stop), call).body
    assert out["done_reason"] == reason and out["response"] == "t" and "message" not in out


def stream_events(*blocks, stop="end_turn"):
    out = [{"type": "message_start", "message": {"usage": {"input_tokens": 7, "output_tokens": 0}}}]
    for i, (kind, *parts) in enumerate(blocks):
        if kind == "tool_use":
            name, *frags = parts
            out.append({"type": "content_block_start", "index": i, "content_block": {
                "type": "tool_use", "id": f"t{i}", "name": name, "input": {}}})  # fmt: skip
            out += [{"type": "content_block_delta", "index": i,
                     "delta": {"type": "input_json_delta", "partial_json": f}} for f in frags]  # fmt: skip
        else:
            out.append({"type": "content_block_start", "index": i,
                        "content_block": {"type": kind, kind: ""}})  # fmt: skip
            field = "text" if kind == "text" else "thinking"
            out += [{"type": "content_block_delta", "index": i,
                     "delta": {"type": f"{field}_delta", field: p}} for p in parts]  # fmt: skip
            if kind == "thinking":
                out.append({"type": "content_block_delta", "index": i,
                            "delta": {"type": "signature_delta", "signature": "SIG"}})  # fmt: skip
        out.append({"type": "content_block_stop", "index": i})
    out.append(
        {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 9}}
    )
    out.append({"type": "message_stop"})
    return out


def test_stream_lines(dialect):
    call = chat(dialect)
    renderer = dialect.stream_renderer(call)
    assert renderer.content_type == "application/x-ndjson"
    evs = stream_events(("thinking", "a", "b"), ("text", "Hel", "lo"),
                        ("tool_use", "f", '{"x": "\\u00', 'e9"}'), stop="tool_use")  # fmt: skip
    # Delivered one event per batch: every fragment is its own line.
    out = lines(b"".join(renderer.events([e]) for e in evs))
    assert [x["message"].get("thinking") for x in out[:2]] == ["a", "b"]
    assert [x["message"]["content"] for x in out[2:4]] == ["Hel", "lo"]
    (tool_call,) = out[4]["message"]["tool_calls"]
    assert tool_call["function"] == {"index": 0, "name": "f", "arguments": {"x": "\u00e9"}}
    final = out[5]
    assert final["done"] is True and final["done_reason"] == "stop"
    assert (final["prompt_eval_count"], final["eval_count"]) == (7, 9)
    assert all(x["done"] is False for x in out[:5]) and len(out) == 6
    assert renderer.end() == b""
    # The signed thinking is kept for the next turn under the call's id, with the places of
    # the text and the call.
    assert dialect.vault.get(tool_call["id"]) == [
        {"type": "thinking", "thinking": "ab", "signature": "SIG"}, {"type": "text"},
        {"type": "tool_use"}]  # fmt: skip


def test_stream_batches_share_lines(dialect):
    renderer = dialect.stream_renderer(chat(dialect))
    out = lines(renderer.events(stream_events(("text", "a", "b", "c"))))
    assert [x["message"]["content"] for x in out] == ["abc", ""]
    assert out[-1]["done"] is True


def test_stream_lines_survive_unicode_line_breaks(dialect):
    # The ollama SDK cuts lines with str.splitlines: these must arrive escaped.
    text = "a\u2028b\x85c\u2029d"
    renderer = dialect.stream_renderer(chat(dialect, model=f"m{text}"))
    data = renderer.events(stream_events(("text", text)))
    out = [json.loads(x) for x in data.decode().splitlines()]
    assert [x["message"]["content"] for x in out] == [text, ""]
    assert out[0]["model"] == f"m{text}"


def test_generate_stream_lines(dialect):
    renderer = dialect.stream_renderer(generate(dialect, prompt="p"))
    out = lines(renderer.events(stream_events(("thinking", "t"), ("text", "r"))))
    assert out[0] == {**out[0], "response": "", "thinking": "t", "done": False}
    assert out[1]["response"] == "r" and "message" not in out[1]
    assert out[2]["done"] is True and out[2]["response"] == ""


def test_stream_keepalive_error_and_cut_arguments(dialect):
    renderer = dialect.stream_renderer(chat(dialect, model="m:latest"))
    (ka,) = lines(renderer.keepalive())
    assert ka["message"] == {"role": "assistant", "content": ""} and ka["done"] is False
    assert ka["model"] == "m:latest"
    evs = stream_events(("tool_use", "f", '{"x": "cut'), stop="max_tokens")
    out = lines(renderer.events(evs))
    assert len(out) == 1 and out[0]["done_reason"] == "length"  # the broken call is left out
    renderer = dialect.stream_renderer(chat(dialect))
    assert lines(renderer.error(RelayError(529, "busy"))) == [{"error": "busy"}]
    assert renderer.end() == b""


def test_errors(dialect):
    for status, want in ((400, 400), (404, 404), (429, 429), (529, 503), (502, 502), (200, 500)):
        out = dialect.render_error(RelayError(status, "why", headers={"retry-after": "2"}))
        assert (out.status, out.body) == (want, {"error": "why"})
        assert out.headers == {"retry-after": "2"}


def test_client_key_is_a_bearer_token(dialect):
    def key(**headers):
        environ = {f"HTTP_{k.upper()}": v for k, v in headers.items()}
        return dialect.client_key(Inbound("chat", {}, {}, Headers(environ), None))

    assert key(authorization="Bearer abc") == "abc"
    assert key(x_api_key="abc") is None and key() is None


def test_check_options():
    assert OllamaDialect.check_options({"version": "0.13.0"}) == []
    assert OllamaDialect.check_options({"version": 13})[0].startswith("version: expected")


# --- the catalog ----------------------------------------------------------------------------

ENTRIES = [ModelEntry("claude-sonnet-4-5", "a", context_window=200000, vision=True,
                      thinking=True, created=1_700_000_000),
           ModelEntry("qwen3:8b", "b", tools=False, vision=False, thinking=False),
           ModelEntry("org/glm-4.6", "c")]  # fmt: skip


@pytest.mark.parametrize(("name", "found"), [
    ("claude-sonnet-4-5", 0), ("claude-sonnet-4-5:latest", 0), ("qwen3:8b", 1),
    ("qwen3", None), ("org/glm-4.6:latest", 2), ("glm-4.6", None), (":latest", None)])  # fmt: skip
def test_find(name, found):
    assert catalog.find(ENTRIES, name) is (ENTRIES[found] if found is not None else None)


def test_tags_and_show():
    tags = catalog.tags(ENTRIES)["models"]
    assert [t["name"] for t in tags] == [
        "claude-sonnet-4-5:latest",
        "qwen3:8b",
        "org/glm-4.6:latest",
    ]
    assert [t["details"]["family"] for t in tags] == ["claude", "qwen", "glm"]
    assert tags[0]["modified_at"] == "2023-11-14T22:13:20.000000Z"
    assert tags[0]["capabilities"] == ["completion", "tools", "vision", "thinking"]
    assert tags[1]["capabilities"] == ["completion"]
    # Unknown is offered: clients hide what is not listed, backends explain what they lack.
    assert tags[2]["capabilities"] == ["completion", "tools", "vision", "thinking"]
    shown = catalog.show(ENTRIES[0])
    assert shown["model_info"]["claude.context_length"] == 200000
    assert shown["parameters"] == "num_ctx 200000"  # Continue reads the context size here
    assert shown["details"]["context_length"] == 200000
    assert catalog.show(ENTRIES[2])["parameters"] == ""


def test_info_routes(dialect):
    def info(endpoint, body=None, options=None):
        inbound = Inbound(endpoint, {}, {}, Headers({}), body, options or {})
        return dialect.info(inbound, ENTRIES)

    assert info("version").body == {"version": "0.12.6"}
    assert info("version", options={"version": "1.2.3"}).body == {"version": "1.2.3"}
    assert len(info("tags").body["models"]) == 3
    assert info("ps").body["models"][0]["context_length"] == 200000
    assert info("show", {"name": "qwen3:8b"}).body["details"]["family"] == "qwen"
    with pytest.raises(RelayError) as err:
        info("show", {"model": "nope"})
    assert err.value.status == 404
    with pytest.raises(RelayError) as err:
        info("show", {})
    assert err.value.status == 400
    with pytest.raises(InvalidRequest):
        info("show", {"model": 5})
