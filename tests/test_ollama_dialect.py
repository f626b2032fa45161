"""The official ollama SDK through ccrelay to scripted OpenAI-Chat and Anthropic upstreams."""

from __future__ import annotations

import base64
import json

import ollama
import pytest
import requests

from tests.conftest import one_provider
from tests.fakes.replies import openai_chunk as chunk
from tests.fakes.replies import openai_completion as completion
from tests.fakes.upstream import Reply

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()
TOOLS = [{"type": "function", "function": {
    "name": "write_file", "description": "Write a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"},
                   "content": {"type": "string"}}, "required": ["path", "content"]}}}]  # fmt: skip
ARGS = {"path": "hello.txt", "content": 'hi "there" \u00e9'}


# --- scripted upstream answers ------------------------------------------------------------


def message(content: list, stop: str = "end_turn") -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up",
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 2}}  # fmt: skip


def events(*blocks: dict, stop: str = "end_turn") -> list[dict]:
    """An Anthropic SSE stream of ``blocks``, text and thinking split into two deltas each."""
    out: list[dict] = [{"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-up", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 0}}}]  # fmt: skip
    for i, block in enumerate(blocks):
        kind = block["type"]
        if kind == "text":
            text = block["text"]
            out.append({"type": "content_block_start", "index": i,
                        "content_block": {"type": "text", "text": ""}})  # fmt: skip
            for part in (text[: len(text) // 2], text[len(text) // 2 :]):
                out.append({"type": "content_block_delta", "index": i,
                            "delta": {"type": "text_delta", "text": part}})  # fmt: skip
        elif kind == "thinking":
            text = block["thinking"]
            out.append({"type": "content_block_start", "index": i,
                        "content_block": {"type": "thinking", "thinking": ""}})  # fmt: skip
            for part in (text[: len(text) // 2], text[len(text) // 2 :]):
                out.append({"type": "content_block_delta", "index": i,
                            "delta": {"type": "thinking_delta", "thinking": part}})  # fmt: skip
            out.append({"type": "content_block_delta", "index": i,
                        "delta": {"type": "signature_delta", "signature": block["signature"]}})  # fmt: skip
        else:
            args = json.dumps(block["input"])
            out.append({"type": "content_block_start", "index": i, "content_block": {
                "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})  # fmt: skip
            for j in range(0, len(args), 7):  # fragments cut mid-string and mid-escape
                out.append({"type": "content_block_delta", "index": i,
                            "delta": {"type": "input_json_delta", "partial_json": args[j : j + 7]}})  # fmt: skip
        out.append({"type": "content_block_stop", "index": i})
    out.append({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": 7}})  # fmt: skip
    out.append({"type": "message_stop"})
    return out


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(params=["openai", "anthropic"])
def kind(request):
    return request.param


@pytest.fixture
def relay(start_relay, upstream, kind):
    model = "gpt-up" if kind == "openai" else "claude-up"
    return start_relay(one_provider(kind, upstream.url, model=model))


@pytest.fixture
def client(relay):
    return ollama.Client(host=relay.url)


def text_reply(kind: str, text: str, stream: bool) -> Reply:
    if kind == "openai":
        if not stream:
            return Reply(json=completion({"content": text}))
        return Reply(sse=[chunk({"role": "assistant", "content": ""}), chunk({"content": text[:3]}),
                          chunk({"content": text[3:]}), chunk({}, finish="stop"),
                          chunk(None, usage={"prompt_tokens": 12, "completion_tokens": 3}),
                          "data: [DONE]\n\n"])  # fmt: skip
    if not stream:
        return Reply(json=message([{"type": "text", "text": text}]))
    return Reply(sse=events({"type": "text", "text": text}), event_names=True)


def tool_reply(kind: str, stream: bool) -> Reply:
    """The model calls write_file(ARGS)."""
    if kind == "openai":
        args = json.dumps(ARGS)
        if not stream:
            return Reply(json=completion({"content": None, "tool_calls": [{
                "id": "call_up1", "type": "function",
                "function": {"name": "write_file", "arguments": args}}]}, finish="tool_calls"))  # fmt: skip
        return Reply(sse=[
            chunk({"role": "assistant", "content": None}),
            chunk({"tool_calls": [{"index": 0, "id": "call_up1", "type": "function",
                                   "function": {"name": "write_file", "arguments": ""}}]}),
            *[chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i : i + 5]}}]})
              for i in range(0, len(args), 5)],
            chunk({}, finish="tool_calls"),
            chunk(None, usage={"prompt_tokens": 30, "completion_tokens": 9}),
            "data: [DONE]\n\n",
        ])  # fmt: skip
    use = {"type": "tool_use", "id": "toolu_up1", "name": "write_file", "input": ARGS}
    if not stream:
        return Reply(json=message([use], stop="tool_use"))
    return Reply(sse=events(use, stop="tool_use"), event_names=True)


# --- chat -----------------------------------------------------------------------------------


def test_chat_text(client, upstream, relay, kind):
    upstream.reply(text_reply(kind, "Hello there", stream=False))
    resp = client.chat(model="claude-sonnet-4-5:latest", stream=False, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}],
        options={"num_predict": 100, "temperature": 0.5, "num_ctx": 8192, "seed": 7})  # fmt: skip
    assert resp.message.role == "assistant" and resp.message.content == "Hello there"
    assert resp.done is True and resp.done_reason == "stop"
    assert resp.model == "claude-sonnet-4-5:latest"  # the name the client asked for
    if kind == "openai":
        assert (resp.prompt_eval_count, resp.eval_count) == (12, 3)
    else:
        assert (resp.prompt_eval_count, resp.eval_count) == (12, 4)  # input + cache read
    assert resp.total_duration > 0 and resp.eval_duration > 0
    sent = upstream.requests[0].body
    if kind == "openai":
        assert sent["messages"] == [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "hi"}]  # fmt: skip
        assert sent["max_tokens"] == 100 and sent["temperature"] == 0.5
    else:
        assert sent["system"] == "Be brief."
        assert sent["messages"] == [{"role": "user", "content": "hi"}]
        assert sent["max_tokens"] == 100 and sent["temperature"] == 0.5
    # Ollama-only options travel in the side field, which no other strategy reads.
    assert "num_ctx" not in json.dumps(sent) and "seed" not in sent
    line = relay.token_lines()[0]
    assert "client_model=claude-sonnet-4-5" in line and "dialect=ollama" in line


def test_chat_streaming(client, upstream, relay, kind):
    upstream.reply(text_reply(kind, "Hello wörld", stream=True))
    parts = list(client.chat(model="m", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert "".join(p.message.content for p in parts) == "Hello wörld"
    assert all(p.done is False for p in parts[:-1])
    final = parts[-1]
    assert final.done is True and final.done_reason == "stop" and final.message.content == ""
    assert final.eval_count == (3 if kind == "openai" else 7)
    assert final.total_duration >= final.prompt_eval_duration > 0 and final.eval_duration > 0
    assert upstream.requests[0].body["stream"] is True
    assert "stream=true" in relay.token_lines()[0]


def test_stream_is_ndjson_by_default(relay, upstream, kind):
    upstream.reply(text_reply(kind, "abcdef", stream=True))
    # No content type, no stream field: Ollama streams by default, and takes any body type.
    resp = requests.post(relay.url + "/api/chat", data=json.dumps(
        {"model": "m", "messages": [{"role": "user", "content": "hi"}]}), timeout=10)  # fmt: skip
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(x) for x in resp.text.splitlines()]
    assert lines[-1]["done"] is True and lines[-1]["done_reason"] == "stop"
    assert "".join(x["message"]["content"] for x in lines) == "abcdef"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_two_turn_tool_loop(client, upstream, kind, stream):
    upstream.reply(tool_reply(kind, stream))
    messages: list = [{"role": "user", "content": "Create hello.txt"}]
    out = client.chat(model="m", messages=messages, tools=TOOLS, stream=stream)
    if stream:
        parts = list(out)
        calls = [c for p in parts for c in p.message.tool_calls or ()]
        assert parts[-1].done_reason == "stop"  # Ollama says stop after tool calls too
        reply = ollama.Message(role="assistant", content="", tool_calls=calls)
    else:
        calls = list(out.message.tool_calls)
        assert out.done_reason == "stop"
        reply = out.message
    (call,) = calls
    assert call.function.name == "write_file"
    assert call.function.arguments == ARGS  # an object, not a JSON string
    sent_tools = upstream.requests[0].body["tools"]
    if kind == "openai":
        assert sent_tools[0]["function"]["parameters"] == TOOLS[0]["function"]["parameters"]
    else:
        assert sent_tools[0]["input_schema"] == TOOLS[0]["function"]["parameters"]

    # Turn two: the SDK's own message goes back (no ids) with the tool's result by name.
    messages += [reply, {"role": "tool", "tool_name": "write_file", "content": "written"}]
    upstream.reply(text_reply(kind, "Done.", stream))
    second = client.chat(model="m", messages=messages, tools=TOOLS, stream=stream)
    text = "".join(p.message.content for p in second) if stream else second.message.content
    assert text == "Done."
    sent = upstream.requests[1].body["messages"]
    if kind == "openai":
        (tool_call,) = sent[1]["tool_calls"]
        assert tool_call["function"]["name"] == "write_file"
        assert json.loads(tool_call["function"]["arguments"]) == ARGS
        assert sent[2] == {"role": "tool", "tool_call_id": tool_call["id"], "content": "written"}
    else:
        (use,) = sent[1]["content"]
        assert use["type"] == "tool_use" and use["input"] == ARGS
        assert sent[2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": use["id"], "content": "written"}]}  # fmt: skip


def test_tool_result_without_a_name_pairs_by_order(client, upstream, kind):
    # Continue sends tool results with neither tool_name nor an id.
    upstream.reply(text_reply(kind, "ok", stream=False))
    client.chat(model="m", stream=False, tools=TOOLS, messages=[
        {"role": "user", "content": "two files"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"function": {"name": "write_file", "arguments": {"path": "a", "content": "1"}}},
            {"function": {"name": "write_file", "arguments": {"path": "b", "content": "2"}}}]},
        {"role": "tool", "content": "wrote a"},
        {"role": "tool", "content": "wrote b"},
        {"role": "user", "content": "thanks"}])  # fmt: skip
    sent = upstream.requests[0].body["messages"]
    if kind == "openai":
        ids = [c["id"] for c in sent[1]["tool_calls"]]
        assert len(set(ids)) == 2
        assert [(m["tool_call_id"], m["content"]) for m in sent[2:4]] == list(
            zip(ids, ["wrote a", "wrote b"], strict=True)
        )
        assert sent[4] == {"role": "user", "content": "thanks"}
    else:
        ids = [b["id"] for b in sent[1]["content"]]
        assert [b.get("tool_use_id") or b.get("text") for b in sent[2]["content"]] == [
            *ids, "thanks"]  # fmt: skip


def test_thinking_signature_survives_the_tool_loop(start_relay, upstream):
    """An Anthropic backend with thinking accepts the next tool-loop turn: the signed
    thinking the ollama client cannot carry comes back from ccrelay's vault."""
    relay = start_relay(one_provider("anthropic", upstream.url, model="claude-up"))
    client = ollama.Client(host=relay.url)
    thinking = {"type": "thinking", "thinking": "I should write it.", "signature": "sig-A1"}
    use = {"type": "tool_use", "id": "toolu_up1", "name": "write_file", "input": ARGS}
    upstream.reply(Reply(sse=events(thinking, use, stop="tool_use"), event_names=True))
    messages: list = [{"role": "user", "content": "Create hello.txt"}]
    parts = list(client.chat(model="m", messages=messages, tools=TOOLS, think=True, stream=True,
                             options={"num_predict": 16000}))  # fmt: skip
    assert "".join(p.message.thinking or "" for p in parts) == "I should write it."
    calls = [c for p in parts for c in p.message.tool_calls or ()]
    first = upstream.requests[0].body
    assert first["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assert first["max_tokens"] == 16000

    messages += [
        {"role": "assistant", "content": "", "thinking": "I should write it.", "tool_calls": calls},
        {"role": "tool", "tool_name": "write_file", "content": "written"},
    ]
    upstream.reply(Reply(json=message([{"type": "text", "text": "Done."}])))
    resp = client.chat(model="m", messages=messages, tools=TOOLS, think=True, stream=False,
                       options={"num_predict": 16000})  # fmt: skip
    assert resp.message.content == "Done."
    second = upstream.requests[1].body
    assert second["thinking"] == {"type": "enabled", "budget_tokens": 4096}
    assistant = second["messages"][1]
    assert assistant["content"][0] == thinking  # the signed block, first, byte for byte
    assert assistant["content"][1]["type"] == "tool_use"
    assert second["messages"][2]["content"][0]["tool_use_id"] == assistant["content"][1]["id"]


def test_unknown_thinking_turns_thinking_off_with_a_warning(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url, model="claude-up"))
    upstream.reply(Reply(json=message([{"type": "text", "text": "ok"}])))
    # A history whose tool-calling turn ccrelay never answered (another server, a restart).
    resp = requests.post(relay.url + "/api/chat", json={
        "model": "m", "stream": False, "think": "high", "options": {"num_predict": 30000},
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": "", "thinking": "hmm",
             "tool_calls": [{"function": {"name": "write_file", "arguments": ARGS}}]},
            {"role": "tool", "tool_name": "write_file", "content": "done"}]}, timeout=10)  # fmt: skip
    assert resp.status_code == 200
    assert "thinking is off" in resp.headers["x-ccrelay-warning"]
    sent = upstream.requests[0].body
    assert "thinking" not in sent
    assert "thinking is off" in relay.log()


def test_think_false_and_levels(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url, model="claude-up"))
    client = ollama.Client(host=relay.url)
    upstream.reply(text_reply("anthropic", "a", False), text_reply("anthropic", "b", False))
    client.chat(model="m", messages=[{"role": "user", "content": "x"}], think=False)
    client.chat(model="m", messages=[{"role": "user", "content": "x"}], think="low",
                options={"temperature": 0.3, "top_k": 5})  # fmt: skip
    assert upstream.requests[0].body["thinking"] == {"type": "disabled"}
    second = upstream.requests[1].body
    assert second["thinking"] == {"type": "enabled", "budget_tokens": 1024}
    # Anthropic takes no sampling settings while thinking.
    assert "temperature" not in second and "top_k" not in second


# --- generate -------------------------------------------------------------------------------


def test_generate(client, upstream, kind):
    upstream.reply(text_reply(kind, "A poem", stream=False))
    resp = client.generate(model="m", prompt="Write a poem", system="You rhyme.", images=[PNG])
    assert resp.response == "A poem" and resp.done is True and resp.done_reason == "stop"
    sent = upstream.requests[0].body
    if kind == "openai":
        assert sent["messages"][0] == {"role": "system", "content": "You rhyme."}
        parts = sent["messages"][1]["content"]
        assert parts[0]["image_url"]["url"] == f"data:image/png;base64,{PNG}"
        assert parts[1] == {"type": "text", "text": "Write a poem"}
    else:
        assert sent["system"] == "You rhyme."
        assert sent["messages"][0]["content"] == [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            {"type": "text", "text": "Write a poem"}]  # fmt: skip


def test_generate_streaming(client, upstream, kind):
    upstream.reply(text_reply(kind, "streamed!", stream=True))
    parts = list(client.generate(model="m", prompt="go", stream=True))
    assert "".join(p.response for p in parts) == "streamed!"
    assert parts[-1].done is True and parts[-1].done_reason == "stop"


@pytest.mark.parametrize(("field", "value"), [
    ("raw", True), ("suffix", "}"), ("template", "{{ .Prompt }}"), ("context", [1, 2, 3])])  # fmt: skip
def test_generate_rejects_what_it_cannot_honour(client, upstream, field, value):
    with pytest.raises(ollama.ResponseError) as info:
        client.generate(model="m", prompt="x", **{field: value})
    assert info.value.status_code == 400
    assert info.value.error.startswith(f"{field}: ")
    assert upstream.requests == []


def test_load_and_unload_are_answered_locally(client, upstream, relay):
    loaded = client.chat(model="gpt-x")
    assert loaded.done is True and loaded.done_reason == "load"
    unloaded = client.generate(model="gpt-x", keep_alive=0)
    assert unloaded.done_reason == "unload" and unloaded.response == ""
    assert upstream.requests == []


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401, 404, 429, 500, 529])
def test_upstream_errors_reach_the_sdk_with_their_status(start_relay, upstream, status):
    relay = start_relay(one_provider("anthropic", upstream.url))
    etype = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
             429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}[status]  # fmt: skip
    reply = Reply(status, json={"type": "error", "error": {"type": etype, "message": "nope"}},
                  headers={"retry-after": "3"} if status == 429 else {})  # fmt: skip
    upstream.default = reply
    client = ollama.Client(host=relay.url)
    with pytest.raises(ollama.ResponseError) as info:
        client.chat(model="m", messages=[{"role": "user", "content": "x"}], stream=False)
    assert info.value.status_code == (503 if status == 529 else status)
    assert "nope" in info.value.error
    raw = requests.post(relay.url + "/api/chat", json={
        "model": "m", "stream": False, "messages": [{"role": "user", "content": "x"}]}, timeout=10)  # fmt: skip
    assert set(raw.json()) == {"error"}
    if status == 429:
        assert raw.headers["retry-after"] == "3"


def test_bad_bodies_are_400_in_ollama_shape(relay, upstream):
    for body, wanted in [
        ({"messages": []}, "model: Field required"),
        ({"model": "m", "messages": "hi"}, "messages: expected a list"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"model": "m", "messages": [{"role": "user", "content": ["x"]}]}, "messages.0.content"),
        ({"model": "m", "think": "max", "messages": []}, "think: expected true, false"),
        ({"model": "m", "format": "yaml", "messages": [{"role": "user", "content": "x"}]},
         "format: expected 'json'"),
        ({"model": "m", "messages": [{"role": "user", "content": "x", "images": ["bm90IGFuIGltYWdl"]}]},
         "messages.0.images.0: not a base64 PNG"),
    ]:  # fmt: skip
        resp = requests.post(relay.url + "/api/chat", json=body, timeout=10)
        assert resp.status_code == 400, resp.text
        assert list(resp.json()) == ["error"]
        assert resp.json()["error"].startswith(wanted), resp.json()
    resp = requests.post(relay.url + "/api/chat", data=b"{not json", timeout=10)
    assert resp.status_code == 400 and "not valid JSON" in resp.json()["error"]
    for method, path in (("POST", "/api/pull"), ("POST", "/api/embed"), ("DELETE", "/api/delete"),
                         ("HEAD", "/api/blobs/sha256:00")):  # fmt: skip
        body = None if method == "HEAD" else {"model": "m"}
        resp = requests.request(method, relay.url + path, json=body, timeout=10)
        assert resp.status_code == 404
        if method != "HEAD":
            assert resp.json()["error"].startswith("ccrelay ")
    assert upstream.requests == []


def test_mid_stream_error_is_an_error_line(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url))
    evs = events({"type": "text", "text": "partial answer"})[:3]  # start, block, "partial"
    evs.append({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    upstream.reply(Reply(sse=evs, event_names=True))
    client = ollama.Client(host=relay.url)
    got = []
    with pytest.raises(ollama.ResponseError) as info:
        for part in client.chat(
            model="m", messages=[{"role": "user", "content": "x"}], stream=True
        ):
            got.append(part.message.content)
    assert "busy" in info.value.error
    assert "".join(got) == "partial"


def test_keepalive_lines_during_upstream_silence(start_relay, upstream):
    config = one_provider("anthropic", upstream.url)
    config["limits"] = {"ping_interval": 1}
    relay = start_relay(config)
    evs = events({"type": "text", "text": "after the silence"})
    rest = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in evs[1:])
    # message_start at once, then 2.6 s of silence (a model thinking), then the rest at once.
    upstream.reply(Reply(sse=[evs[0], {"type": "ping"}, rest], event_names=True, chunk_delay=1.3))
    client = ollama.Client(host=relay.url)
    parts = list(client.chat(model="m", messages=[{"role": "user", "content": "x"}], stream=True))
    # The SDK parses every line; keep-alives are empty, unfinished message lines.
    assert "".join(p.message.content for p in parts) == "after the silence"
    assert any(p.message.content == "" and not p.done for p in parts)
    assert parts[-1].done is True


# --- the model catalog ----------------------------------------------------------------------


@pytest.fixture
def catalog_relay(start_relay, upstream):
    config = one_provider("openai", upstream.url, models=["gpt-4o", "qwen3:8b"])
    config["dialects"] = {"ollama": {"version": "0.13.1"}}
    return start_relay(config)


def test_list_show_ps_and_version(catalog_relay):
    client = ollama.Client(host=catalog_relay.url)
    listed = client.list()
    assert [m.model for m in listed.models] == ["gpt-4o:latest", "qwen3:8b"]
    gpt = listed.models[0]
    assert gpt.details.family == "gpt" and gpt.size == 0 and len(gpt.digest) == 64
    raw = requests.get(catalog_relay.url + "/api/tags", timeout=5).json()["models"][0]
    assert raw["name"] == "gpt-4o:latest" and set(raw["details"]) >= {
        "format", "family", "families", "parameter_size", "quantization_level"}  # fmt: skip
    for name in ("gpt-4o", "gpt-4o:latest"):
        shown = client.show(name)
        # gpt-4o's model profile (core/profiles.py) says it takes tools and images but
        # cannot think, so thinking is not offered
        assert shown.capabilities == ["completion", "tools", "vision"]
        assert shown.modelinfo["general.architecture"] == "gpt"
        assert ".Suffix" not in shown.template  # no fill-in-the-middle on offer
    assert client.show("qwen3:8b").details.family == "qwen"
    with pytest.raises(ollama.ResponseError) as info:
        client.show("llama9")
    assert info.value.status_code == 404 and "gpt-4o:latest" in info.value.error
    running = client.ps()
    assert [m.model for m in running.models] == ["gpt-4o:latest", "qwen3:8b"]
    assert running.models[0].expires_at is not None
    assert requests.get(catalog_relay.url + "/api/version", timeout=5).json() == {
        "version": "0.13.1"}  # fmt: skip
    # Older clients (Continue) ask /api/show with "name".
    resp = requests.post(catalog_relay.url + "/api/show", json={"name": "gpt-4o"}, timeout=5)
    assert resp.status_code == 200 and resp.json()["details"]["family"] == "gpt"


def test_root_answers_the_ollama_probe(catalog_relay):
    url = catalog_relay.url + "/"
    plain = requests.get(url, timeout=5)
    assert plain.status_code == 200 and plain.text == "Ollama is running"
    assert plain.headers["content-type"].startswith("text/plain")
    assert requests.head(url, timeout=5).status_code == 200
    as_json = requests.get(url, headers={"accept": "application/json"}, timeout=5)
    assert as_json.json() == {"name": "ccrelay", "status": "ok"}
    page = requests.get(url, headers={"accept": "text/html"}, timeout=5)  # a browser
    assert page.headers["content-type"].startswith("text/html") and "<title>ccrelay" in page.text
    assert requests.head(catalog_relay.url + "/api/tags", timeout=5).status_code == 200


def test_group_prefix_and_access_keys(start_relay, upstream, upstream2):
    # An Ollama host with a path: the SDK keeps it, so /qwen/api/chat reaches the group.
    upstream2.default = text_reply("anthropic", "from the group", stream=False)
    config = one_provider("anthropic", upstream.url)
    config["providers"]["other"] = {"type": "anthropic", "base_url": upstream2.url,
                                    "api_key": "k-other-5678", "model": "other-model"}  # fmt: skip
    config["groups"] = {"qwen": {"provider": {"name": "other"},
                                 "system_prompt": {"mode": "append", "text": "Group rule."}}}  # fmt: skip
    config["access_keys"] = [{"name": "editor", "key": "ollama-client-key-1"}]
    relay = start_relay(config)
    keyed = ollama.Client(host=relay.url + "/qwen",
                          headers={"authorization": "Bearer ollama-client-key-1"})  # fmt: skip
    resp = keyed.chat(model="m", stream=False, messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}])  # fmt: skip
    assert resp.message.content == "from the group"
    sent = upstream2.requests[0].body
    assert sent["model"] == "other-model" and "Group rule." in json.dumps(sent["system"])
    assert "other-model:latest" in [m.model for m in keyed.list().models]
    with pytest.raises(ollama.ResponseError) as info:
        ollama.Client(host=relay.url).chat(model="m", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 401 and isinstance(info.value.error, str)
    assert requests.get(relay.url + "/", timeout=5).text == "Ollama is running"  # stays open
    assert upstream.requests == []
