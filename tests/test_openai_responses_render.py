"""The Responses dialect's answer side with plain data: output items, streams, errors, the store."""

from __future__ import annotations

import json

import pytest

from ccrelay.core.dialect import Headers, Inbound
from ccrelay.core.dialects.openai_responses import OpenAIResponsesDialect
from ccrelay.core.dialects.openai_responses.output import custom_input, usage_of
from ccrelay.core.dialects.openai_responses.store import ConversationStore
from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError

PATCH_TOOL = {"type": "custom", "name": "apply_patch"}
FN = {"type": "function", "name": "f", "parameters": {"type": "object"}}


def parse(dialect, body, options=None):
    return dialect.parse(Inbound("responses", {}, {}, Headers({}), body, options or {}))


def canonical(content, stop="end_turn", usage=None):
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": usage or {"input_tokens": 10, "output_tokens": 5}}  # fmt: skip


def decode(raw: bytes) -> list[dict]:
    events = []
    for block in raw.decode().split("\n\n"):
        if not block or block.startswith(":"):
            continue
        name, data = block.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == f"event: {event['type']}"
        events.append(event)
    return events


# --- non-streaming -------------------------------------------------------------------------


def test_answer_items_in_block_order():
    d = OpenAIResponsesDialect()
    call = parse(d, {"model": "gpt-x", "input": "go", "tools": [FN, PATCH_TOOL]})
    content = [
        {"type": "thinking", "thinking": "plan", "signature": "sig"},
        {"type": "text", "text": "Doing it."},
        {"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}},
        {"type": "tool_use", "id": "c2", "name": "apply_patch", "input": {"input": "*** P"}},
        {"type": "text", "text": ""},
        {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}},
    ]
    body = d.render_response(canonical(content, "tool_use"), call).body
    assert [i["type"] for i in body["output"]] == ["reasoning", "message", "function_call",
                                                   "custom_tool_call"]  # fmt: skip
    reasoning, message, fn, custom = body["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "plan"}]
    assert reasoning["id"].startswith("rs_") and reasoning["encrypted_content"].startswith(
        "ccrelay.v1:"
    )
    assert message["content"][0]["text"] == "Doing it." and message["status"] == "completed"
    assert (fn["call_id"], fn["name"], json.loads(fn["arguments"])) == ("c1", "f", {"a": 1})
    assert (custom["call_id"], custom["input"], custom["id"][:4]) == ("c2", "*** P", "ctc_")
    assert body["status"] == "completed" and body["model"] == "gpt-x"
    assert body["id"] == call.state["rid"] and body["object"] == "response"


@pytest.mark.parametrize(
    ("stop", "status", "reason"),
    [("end_turn", "completed", None), ("tool_use", "completed", None),
     ("stop_sequence", "completed", None), ("max_tokens", "incomplete", "max_output_tokens"),
     ("refusal", "incomplete", "content_filter")],
)  # fmt: skip
def test_status_from_the_stop_reason(stop, status, reason):
    d = OpenAIResponsesDialect()
    call = parse(d, {"model": "m", "input": "x"})
    body = d.render_response(canonical([{"type": "text", "text": "t"}], stop), call).body
    assert body["status"] == status
    assert body["incomplete_details"] == (reason and {"reason": reason})
    assert body["output"][0]["status"] == ("incomplete" if reason else "completed")


@pytest.mark.parametrize(
    ("usage", "thinking", "expected"),
    [
        ({"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 30,
          "cache_creation_input_tokens": 2}, "",
         {"input_tokens": 42, "input_tokens_details": {"cached_tokens": 30}, "output_tokens": 5,
          "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 47}),
        ({"input_tokens": 1, "output_tokens": 50, "output_tokens_details": {"reasoning_tokens": 20}},
         "ignored when the backend counts",
         {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 50,
          "output_tokens_details": {"reasoning_tokens": 20}, "total_tokens": 51}),
        ({"input_tokens": 1, "output_tokens": 3}, "a long chain of thought " * 20,
         {"input_tokens": 1, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 3,
          "output_tokens_details": {"reasoning_tokens": 3}, "total_tokens": 4}),
        (None, "", {"input_tokens": 0, "input_tokens_details": {"cached_tokens": 0},
                    "output_tokens": 0, "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 0}),
    ],
)  # fmt: skip
def test_usage(usage, thinking, expected):
    assert usage_of(usage, thinking) == expected


def test_reasoning_tokens_are_estimated_from_thinking_when_the_backend_has_no_count():
    out = usage_of({"input_tokens": 1, "output_tokens": 500}, "one two three four five six")
    assert 0 < out["output_tokens_details"]["reasoning_tokens"] < 500


@pytest.mark.parametrize(
    ("args", "expected"),
    [({"input": "x"}, "x"), ({"patch": "y"}, "y"), ({}, ""), ({"a": 1, "b": "z"}, '{"a":1,"b":"z"}'),
     ("raw", "raw")],
)  # fmt: skip
def test_custom_input_from_whatever_the_model_sent(args, expected):
    assert custom_input(args) == expected


# --- streams -------------------------------------------------------------------------------


def stream_events(content, stop="end_turn", tools=(), usage=None):
    """Canonical events for ``content`` blocks, split into small deltas."""
    out = [{"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant",
            "content": [], "model": "x", "usage": {"input_tokens": 9, "output_tokens": 1}}}]  # fmt: skip
    for i, block in enumerate(content):
        kind = block["type"]
        if kind == "text":
            out.append(
                {
                    "type": "content_block_start",
                    "index": i,
                    "content_block": {"type": "text", "text": ""},
                }
            )
            out += [
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "text_delta", "text": c},
                }
                for c in block["text"]
            ]
        elif kind == "thinking":
            out.append(
                {
                    "type": "content_block_start",
                    "index": i,
                    "content_block": {"type": "thinking", "thinking": "", "signature": ""},
                }
            )
            out += [
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "thinking_delta", "thinking": c},
                }
                for c in block["thinking"]
            ]
            out.append(
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "signature_delta", "signature": block["signature"]},
                }
            )
        else:
            out.append(
                {
                    "type": "content_block_start",
                    "index": i,
                    "content_block": {
                        "type": "tool_use",
                        "id": block["id"],
                        "name": block["name"],
                        "input": {},
                    },
                }
            )
            raw = json.dumps(block["input"])
            out += [
                {
                    "type": "content_block_delta",
                    "index": i,
                    "delta": {"type": "input_json_delta", "partial_json": raw[j : j + 2]},
                }
                for j in range(0, len(raw), 2)
            ]
        out.append({"type": "content_block_stop", "index": i})
    out.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop},
            "usage": usage or {"output_tokens": 6},
        }
    )
    out.append({"type": "message_stop"})
    return out  # fmt: skip


def run_stream(body, events, batch=3):
    d = OpenAIResponsesDialect()
    call = parse(d, {"model": "m", **body, "stream": True})
    renderer = d.stream_renderer(call)
    raw = b"".join(renderer.events(events[i : i + batch]) for i in range(0, len(events), batch))
    raw += renderer.end()
    return d, call, decode(raw)


def test_stream_of_thinking_text_and_two_calls():
    content = [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Hi"},
        {"type": "tool_use", "id": "c1", "name": "f", "input": {"q": "é"}},
        {"type": "tool_use", "id": "c2", "name": "apply_patch", "input": {"input": "*** P\n"}},
    ]
    _, call, events = run_stream({"input": "x", "tools": [FN, PATCH_TOOL]},
                                 stream_events(content, "tool_use"))  # fmt: skip
    types = [e["type"] for e in events]
    assert types == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        *["response.reasoning_summary_text.delta"] * 3,
        "response.reasoning_summary_text.done", "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * 2,
        "response.output_text.done", "response.content_part.done", "response.output_item.done",
        "response.output_item.added",
        *["response.function_call_arguments.delta"] * 8,  # {"q": "\u00e9"} in twos
        "response.function_call_arguments.done", "response.output_item.done",
        "response.output_item.added", "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done", "response.output_item.done",
        "response.completed",
    ]  # fmt: skip
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    added = [e for e in events if e["type"] == "response.output_item.added"]
    done = [e for e in events if e["type"] == "response.output_item.done"]
    assert [e["output_index"] for e in added] == [0, 1, 2, 3] == [e["output_index"] for e in done]
    assert [a["item"]["id"] for a in added] == [d["item"]["id"] for d in done]
    assert done[0]["item"]["encrypted_content"].startswith("ccrelay.v1:")
    assert json.loads(done[2]["item"]["arguments"]) == {"q": "é"}
    assert done[3]["item"]["input"] == "*** P\n" and done[3]["item"]["type"] == "custom_tool_call"
    final = events[-1]["response"]
    assert [i["id"] for i in final["output"]] == [d["item"]["id"] for d in done]
    assert final["usage"]["input_tokens"] == 9 and final["usage"]["output_tokens"] == 6
    assert final["id"] == events[0]["response"]["id"] == call.state["rid"]
    assert (
        events[0]["response"]["status"] == "in_progress" and events[0]["response"]["output"] == []
    )


def test_stream_at_the_output_limit_is_incomplete():
    _, _, events = run_stream({"input": "x"},
                              stream_events([{"type": "text", "text": "cut"}], "max_tokens"))  # fmt: skip
    last = events[-1]
    assert last["type"] == "response.incomplete"
    assert last["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert last["response"]["output"][0]["status"] == "incomplete"


def test_stream_error_after_some_output():
    d = OpenAIResponsesDialect()
    call = parse(d, {"model": "m", "input": "x", "stream": True})
    r = d.stream_renderer(call)
    events = stream_events([{"type": "text", "text": "partial"}])[:4]
    raw = r.events(events) + r.keepalive()
    err = RelayError(429, "slow down", kind=ErrorKind.RATE_LIMITED, headers={"retry-after": "3"})
    raw += r.error(err) + r.end()
    assert r.keepalive() == b": keep-alive\n\n"
    out = decode(raw)
    error, failed = out[-2:]
    assert error["type"] == "error" and error["code"] == "rate_limit_exceeded"
    assert error["message"] == "slow down Please try again in 3s."
    assert error["error"] == {"message": error["message"], "type": "rate_limit_error",
                              "param": None, "code": "rate_limit_exceeded"}  # fmt: skip
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {
        "code": "rate_limit_exceeded",
        "message": error["message"],
    }
    assert [e["sequence_number"] for e in out] == list(range(len(out)))
    assert len(d.store) == 0  # a failed answer is not kept


def test_stream_that_ends_without_message_stop_fails():
    _, _, events = run_stream({"input": "x"}, stream_events([{"type": "text", "text": "a"}])[:-1])
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]


# --- the store -----------------------------------------------------------------------------


def test_previous_response_id_expands_the_stored_conversation_without_changing_it():
    d = OpenAIResponsesDialect()
    first = parse(d, {"model": "m", "input": [{"role": "developer", "content": "Rules."},
                                              {"role": "user", "content": "q"}],
                      "instructions": "Only now.", "tools": [FN]})  # fmt: skip
    answer = [{"type": "thinking", "thinking": "t", "signature": "s"},
              {"type": "tool_use", "id": "c1", "name": "f", "input": {}}]  # fmt: skip
    out1 = d.render_response(canonical(answer, "tool_use"), first).body
    stored = d.store.get(out1["id"])
    before = json.dumps(stored.messages)
    second = parse(d, {"model": "m", "previous_response_id": out1["id"], "input": [
        {"role": "assistant", "content": "more assistant text"},  # merges into the stored turn
        {"type": "function_call_output", "call_id": "c1", "output": "r"}]})  # fmt: skip
    r = second.request
    assert r["system"] == [{"type": "text", "text": "Rules."}]  # instructions not inherited
    assert [m["role"] for m in r["messages"]] == ["user", "assistant", "user"]
    assert r["messages"][1]["content"] == [*answer, {"type": "text", "text": "more assistant text"}]
    assert json.dumps(stored.messages) == before
    # The side field's items hold what a Responses backend accepts: no minted ids, no
    # reasoning carrying another backend's state.
    assert [i.get("type", "message") for i in second.side["input"]] == [
        "message", "message", "function_call", "message", "function_call_output"]  # fmt: skip
    assert not [i for i in second.side["input"] if "_ccr" in str(i.get("id"))]
    # A stream's answer is kept as well, and chains on.
    renderer = d.stream_renderer(second)
    events = decode(renderer.events(stream_events([{"type": "text", "text": "done"}])))
    third = parse(d, {"model": "m", "previous_response_id": events[-1]["response"]["id"],
                      "input": "thanks"})  # fmt: skip
    assert [m["role"] for m in third.request["messages"]] == ["user", "assistant", "user", "assistant", "user"]  # fmt: skip


def test_store_is_bounded_by_count_and_age():
    now = [0.0]
    store = ConversationStore(clock=lambda: now[0])
    d = OpenAIResponsesDialect()
    d.store = store
    opts = {"store_max_responses": 2, "store_max_age": 10}
    ids = []
    for n in range(3):
        call = parse(d, {"model": "m", "input": f"q{n}"}, opts)
        ids.append(d.render_response(canonical([{"type": "text", "text": "a"}]), call).body["id"])
    assert store.get(ids[0]) is None and store.get(ids[2]) is not None
    now[0] = 11.0
    with pytest.raises(InvalidRequest, match="is not kept by this relay"):
        parse(d, {"model": "m", "input": "x", "previous_response_id": ids[2]}, opts)


def test_store_zero_keeps_nothing():
    d = OpenAIResponsesDialect()
    call = parse(d, {"model": "m", "input": "q"}, {"store_max_responses": 0})
    d.render_response(canonical([{"type": "text", "text": "a"}]), call)
    assert len(d.store) == 0


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "etype", "code"),
    [
        (ErrorKind.INVALID_REQUEST, 400, "invalid_request_error", None),
        (ErrorKind.CONTEXT_TOO_LONG, 400, "invalid_request_error", "context_length_exceeded"),
        (ErrorKind.AUTHENTICATION, 401, "invalid_request_error", "invalid_api_key"),
        (ErrorKind.BILLING, 402, "insufficient_quota", "insufficient_quota"),
        (ErrorKind.PERMISSION, 403, "permission_error", None),
        (ErrorKind.NOT_FOUND, 404, "invalid_request_error", None),
        (ErrorKind.TOO_LARGE, 413, "invalid_request_error", "request_too_large"),
        (ErrorKind.RATE_LIMITED, 429, "rate_limit_error", "rate_limit_exceeded"),
        (ErrorKind.OVERLOADED, 529, "server_error", "server_is_overloaded"),
        (ErrorKind.TIMEOUT, 504, "server_error", "timeout"),
        (ErrorKind.UPSTREAM, 502, "server_error", "server_error"),
        (ErrorKind.NOT_CONFIGURED, 400, "invalid_request_error", "ccrelay_not_configured"),
    ],
)  # fmt: skip
def test_error_shape(kind, status, etype, code):
    err = RelayError(status, "what went wrong", kind=kind, param="input.2",
                     headers={"retry-after": "5"} if status == 429 else {})  # fmt: skip
    out = OpenAIResponsesDialect().render_error(err, "rid")
    assert out.status == status
    assert out.body == {"error": {"message": out.body["error"]["message"], "type": etype,
                                  "param": "input.2", "code": code}}  # fmt: skip
    assert out.body["error"]["message"].startswith("what went wrong")
