"""The openai SDK's ``client.responses`` through the running relay to both backend kinds.

Every test runs against an OpenAI-Chat-compatible and an Anthropic-compatible scripted
upstream and asserts what the SDK parsed and what the upstream received.
"""

from __future__ import annotations

import json

import openai
import pytest
import requests

from tests.fakes.upstream import Reply
from tests.responses_helpers import BACKENDS, Answer, Call, relay_config, reply

TOOLS = [
    {"type": "function", "name": "get_weather", "description": "Weather for a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]}, "strict": False},
    {"type": "function", "name": "get_time", "description": "Time in a city",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]}, "strict": False},
]  # fmt: skip
PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Edit files",
              "format": {"type": "grammar", "syntax": "lark",
                         "definition": 'start: "*** Begin Patch" LF body "*** End Patch"'}}  # fmt: skip
PATCH = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch"


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def relay(start_relay, upstream, backend):
    return start_relay(relay_config(backend, upstream.url))


@pytest.fixture
def sdk(relay):
    return openai.OpenAI(base_url=relay.url + "/v1", api_key="client-key", max_retries=0)


def sent_messages(upstream, n: int = -1) -> list:
    return upstream.requests[n].body["messages"]


def test_text_answer(sdk, upstream, backend, relay):
    upstream.reply(reply(backend, Answer(text="Hello there", input_tokens=12, cached=4,
                                         output_tokens=3), stream=False))  # fmt: skip
    resp = sdk.responses.create(model="gpt-5.5", instructions="Be brief.", input="hi",
                                max_output_tokens=100)  # fmt: skip
    assert resp.output_text == "Hello there"
    assert resp.status == "completed" and resp.object == "response"
    assert resp.model == "gpt-5.5" and resp.id.startswith("resp_")
    assert (resp.usage.input_tokens, resp.usage.output_tokens) == (16, 3)
    assert resp.usage.input_tokens_details.cached_tokens == 4
    assert resp.usage.total_tokens == 19
    body = upstream.requests[0].body
    assert body["model"] == f"{backend}-up"
    if backend == "openai":
        assert body["messages"] == [{"role": "system", "content": "Be brief."},
                                    {"role": "user", "content": "hi"}]  # fmt: skip
        assert body["max_tokens"] == 100
    else:
        assert body["system"] == [{"type": "text", "text": "Be brief."}]
        assert body["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
        assert body["max_tokens"] == 100
    assert "client-key" not in json.dumps(upstream.requests[0].headers)
    line = relay.token_lines()[0]
    assert "client_model=gpt-5.5 | stream=false | input_tokens=12" in line
    assert "status=success | dialect=openai_responses" in line


def test_streaming_text_event_sequence(sdk, upstream, backend):
    upstream.reply(reply(backend, Answer(text="Hello wörld, streamed"), stream=True))
    events = list(sdk.responses.create(model="m", input="hi", stream=True))
    types = [e.type for e in events]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert types[2:4] == ["response.output_item.added", "response.content_part.added"]
    assert types[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]  # fmt: skip
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == "Hello wörld, streamed"
    final = events[-1].response
    assert final.output_text == "Hello wörld, streamed" and final.status == "completed"
    assert final.usage.output_tokens == 7
    assert upstream.requests[0].body["stream"] is True


def test_stream_helper_gets_the_final_response(sdk, upstream, backend):
    upstream.reply(reply(backend, Answer(text="ok then"), stream=True))
    with sdk.responses.stream(model="m", input="hi") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "ok then" == final.output_text


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_parallel_two_tool_call(sdk, upstream, backend, stream):
    answer = Answer(calls=[Call("call_w1", "get_weather", {"city": "Oslo"}),
                           Call("call_t1", "get_time", {"city": "Lima \u00e9"})])  # fmt: skip
    upstream.reply(reply(backend, answer, stream))
    kwargs = {"model": "m", "input": "weather and time", "tools": TOOLS}
    if stream:
        with sdk.responses.stream(**kwargs) as s:
            events = list(s)
            resp = s.get_final_response()
        arg_done = [e for e in events if e.type == "response.function_call_arguments.done"]
        assert [json.loads(e.arguments) for e in arg_done] == [
            {"city": "Oslo"},
            {"city": "Lima \u00e9"},
        ]
    else:
        resp = sdk.responses.create(**kwargs)
    calls = [item for item in resp.output if item.type == "function_call"]
    assert [(c.call_id, c.name, json.loads(c.arguments)) for c in calls] == [
        ("call_w1", "get_weather", {"city": "Oslo"}), ("call_t1", "get_time", {"city": "Lima \u00e9"})
    ]  # fmt: skip
    assert all(c.id.startswith("fc_") and c.status == "completed" for c in calls)
    body = upstream.requests[0].body
    if backend == "openai":
        assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "get_time"]
        assert body["tools"][0]["function"]["parameters"] == TOOLS[0]["parameters"]
    else:
        assert body["tools"] == [
            {"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}
            for t in TOOLS
        ]


@pytest.mark.parametrize("chain", ["previous_response_id", "by_value"])
def test_two_turn_tool_loop(sdk, upstream, backend, chain):
    upstream.reply(reply(backend, Answer(calls=[Call("call_1", "get_weather", {"city": "Oslo"})]),
                         stream=False))  # fmt: skip
    first = sdk.responses.create(model="m", input="weather in Oslo?", tools=TOOLS)
    (call,) = [i for i in first.output if i.type == "function_call"]
    result = {"type": "function_call_output", "call_id": call.call_id, "output": "4°C, rain"}
    upstream.reply(reply(backend, Answer(text="It is 4°C and raining."), stream=True))
    if chain == "previous_response_id":
        kwargs = {"previous_response_id": first.id, "input": [result]}
    else:
        history = [{"role": "user", "content": "weather in Oslo?"},
                   *[i.model_dump(exclude_none=True) for i in first.output], result]  # fmt: skip
        kwargs = {"input": history, "store": False}
    with sdk.responses.stream(model="m", tools=TOOLS, **kwargs) as s:
        second = s.get_final_response()
    assert second.output_text == "It is 4°C and raining."
    sent = sent_messages(upstream)
    if backend == "openai":
        assert sent[0] == {"role": "user", "content": "weather in Oslo?"}
        assert sent[1]["tool_calls"][0]["id"] == "call_1"
        assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"city": "Oslo"}
        assert sent[2] == {"role": "tool", "tool_call_id": "call_1", "content": "4°C, rain"}
    else:
        assert sent[1] == {"role": "assistant", "content": [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Oslo"}}]}  # fmt: skip
        assert sent[2] == {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "4°C, rain"}]}  # fmt: skip


def test_custom_tool_round_trip(sdk, upstream, backend):
    upstream.reply(reply(backend, Answer(calls=[Call("call_p", "apply_patch", {"input": PATCH})]),
                         stream=True))  # fmt: skip
    events = list(sdk.responses.create(model="m", input="create hello.txt", tools=[PATCH_TOOL],
                                       stream=True))  # fmt: skip
    sent_tool = upstream.requests[0].body["tools"][0]
    schema = (
        sent_tool["function"]["parameters"] if backend == "openai" else sent_tool["input_schema"]
    )
    description = (
        sent_tool["function"]["description"] if backend == "openai" else sent_tool["description"]
    )
    assert schema["properties"]["input"]["type"] == "string" and schema["required"] == ["input"]
    assert PATCH_TOOL["format"]["definition"] in description and "Lark" in description
    types = [e.type for e in events]
    assert "response.custom_tool_call_input.done" in types
    assert "response.function_call_arguments.delta" not in types
    done = [e for e in events if e.type == "response.output_item.done"][-1].item
    assert (done.type, done.call_id, done.name, done.input) == (
        "custom_tool_call",
        "call_p",
        "apply_patch",
        PATCH,
    )
    # The call and its output go back; the backend sees a tool call taking {"input": ...}.
    upstream.reply(reply(backend, Answer(text="Created."), stream=False))
    history = [
        "create hello.txt",
        done.model_dump(exclude_none=True),
        {"type": "custom_tool_call_output", "call_id": "call_p", "output": "Done!"},
    ]
    history[0] = {"role": "user", "content": history[0]}
    sdk.responses.create(model="m", input=history, tools=[PATCH_TOOL], store=False)
    sent = sent_messages(upstream)
    if backend == "openai":
        assert json.loads(sent[1]["tool_calls"][0]["function"]["arguments"]) == {"input": PATCH}
        assert sent[2] == {"role": "tool", "tool_call_id": "call_p", "content": "Done!"}
    else:
        assert sent[1]["content"][0]["input"] == {"input": PATCH}


def test_reasoning_comes_back_as_a_summary_and_returns_as_thinking(sdk, upstream, backend):
    answer = Answer(thinking="The user wants weather.", signature="sig-from-claude",
                    calls=[Call("call_1", "get_weather", {"city": "Oslo"})])  # fmt: skip
    upstream.reply(reply(backend, answer, stream=True))
    with sdk.responses.stream(model="m", input="weather?", tools=TOOLS,
                              reasoning={"effort": "high"}, store=False,
                              include=["reasoning.encrypted_content"]) as s:  # fmt: skip
        events = list(s)
        first = s.get_final_response()
    assert (
        "".join(e.delta for e in events if e.type == "response.reasoning_summary_text.delta")
        == answer.thinking
    )
    reasoning = first.output[0]
    assert reasoning.type == "reasoning" and reasoning.summary[0].text == answer.thinking
    assert reasoning.encrypted_content.startswith("ccrelay.v1:")
    effort = upstream.requests[0].body.get("reasoning_effort") if backend == "openai" else \
        upstream.requests[0].body["output_config"]["effort"]  # fmt: skip
    assert effort == "high"
    # Turn two by value, as Codex does: the Anthropic backend gets its signed block back.
    upstream.reply(reply(backend, Answer(text="Rainy."), stream=False))
    history = [{"role": "user", "content": "weather?"},
               *[i.model_dump(exclude_none=True) for i in first.output],
               {"type": "function_call_output", "call_id": "call_1", "output": "rain"}]  # fmt: skip
    sdk.responses.create(model="m", input=history, tools=TOOLS, store=False)
    sent = sent_messages(upstream)
    if backend == "anthropic":
        assert sent[1]["content"][0] == {"type": "thinking", "thinking": answer.thinking,
                                         "signature": "sig-from-claude"}  # fmt: skip
    else:
        assert sent[1]["reasoning_content"] == answer.thinking


def test_max_output_tokens_makes_an_incomplete_response(sdk, upstream, backend):
    upstream.reply(reply(backend, Answer(text="cut sho", stop="max_tokens"), stream=True))
    events = list(sdk.responses.create(model="m", input="long story", max_output_tokens=5,
                                       stream=True))  # fmt: skip
    last = events[-1]
    assert last.type == "response.incomplete"
    assert last.response.status == "incomplete"
    assert last.response.incomplete_details.reason == "max_output_tokens"
    upstream.reply(reply(backend, Answer(text="cut sho", stop="max_tokens"), stream=False))
    resp = sdk.responses.create(model="m", input="long story", max_output_tokens=5)
    assert resp.status == "incomplete" and resp.incomplete_details.reason == "max_output_tokens"


@pytest.mark.parametrize(
    ("status", "error_class", "code"),
    [
        (400, openai.BadRequestError, None),
        (401, openai.AuthenticationError, "invalid_api_key"),
        (403, openai.PermissionDeniedError, None),
        (404, openai.NotFoundError, None),
        (429, openai.RateLimitError, "rate_limit_exceeded"),
        (500, openai.InternalServerError, "server_error"),
        (503, openai.InternalServerError, "server_is_overloaded"),
    ],
)
def test_upstream_errors_by_status(sdk, upstream, status, error_class, code):
    headers = {"retry-after": "7"} if status == 429 else {}
    upstream.reply(Reply(status, json={"error": {"message": f"upstream says {status}",
                                                 "type": "x"}}, headers=headers))  # fmt: skip
    with pytest.raises(error_class) as info:
        sdk.responses.create(model="m", input="hi")
    err = info.value
    assert err.status_code == status
    assert set(err.body) == {"message", "type", "param", "code"}
    assert f"upstream says {status}" in err.body["message"]
    assert err.body["code"] == code
    if status == 429:
        assert err.response.headers["retry-after"] == "7"
        assert "try again in 7s" in err.body["message"]


def test_context_too_long_says_context_length_exceeded(sdk, upstream, backend):
    message = "prompt is too long: 300000 tokens" if backend == "anthropic" else \
        "This model's maximum context length is 128000 tokens"  # fmt: skip
    upstream.reply(Reply(400, json={"type": "error", "error": {"type": "invalid_request_error",
                                                               "message": message}}))  # fmt: skip
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model="m", input="hi")
    assert info.value.body["code"] == "context_length_exceeded"


def test_mid_stream_failure_raises_in_the_sdk_and_fails_the_response(sdk, relay, upstream, backend):
    def cut() -> Reply:
        partial = reply(backend, Answer(text="partial answer"), stream=True)
        partial.sse = partial.sse[:4]  # the upstream stops before finishing
        return partial

    upstream.reply(cut(), cut())
    seen = []
    with pytest.raises(openai.APIError) as info:
        for event in sdk.responses.create(model="m", input="hi", stream=True):
            seen.append(event.type)
    assert "ended" in str(info.value)
    assert seen[:2] == ["response.created", "response.in_progress"]
    raw = requests.post(relay.url + "/v1/responses", timeout=10,
                        json={"model": "m", "input": "hi", "stream": True})  # fmt: skip
    assert raw.status_code == 200
    events = [json.loads(line[6:]) for line in raw.text.splitlines() if line.startswith("data: ")]
    assert [e["type"] for e in events[-2:]] == ["error", "response.failed"]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    error, failed = events[-2:]
    assert "ended" in error["message"] and error["error"]["message"] == error["message"]
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"]["code"] == "server_error"
    assert "status=error" in relay.token_lines(2)[-1]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"model": "m", "input": "hi", "background": True}, "background"),
        ({"model": "m", "input": "hi", "previous_response_id": "resp_nope"}, "not kept"),
        ({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}, "item_reference"),
        ({"model": "m", "input": 5}, "input: expected a string or a list of input items"),
        ({"model": "m", "input": "hi", "tools": [{"type": "function"}]}, "tools.0.name"),
        ({"input": "hi"}, "model: Field required"),
    ],
)
def test_bad_requests_are_400s_in_openai_shape(relay, upstream, body, fragment):
    resp = requests.post(relay.url + "/v1/responses", json=body, timeout=10)
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["type"] == "invalid_request_error"
    assert fragment in err["message"]
    assert not upstream.requests


def test_hosted_tools_are_left_out_with_a_header_and_a_log_line(relay, upstream, backend):
    upstream.reply(reply(backend, Answer(text="ok"), stream=False))
    body = {"model": "m", "input": "hi",
            "tools": [TOOLS[0], {"type": "web_search"}, {"type": "file_search", "vector_store_ids": ["v"]}]}  # fmt: skip
    resp = requests.post(relay.url + "/v1/responses", json=body, timeout=10)
    assert resp.status_code == 200
    assert resp.headers["x-ccrelay-omitted-tools"] == "web_search, file_search"
    sent_tools = upstream.requests[0].body["tools"]
    assert len(sent_tools) == 1
    assert relay.log().count("hosted tools web_search, file_search left out") == 1


def test_hosted_tools_reject_option(start_relay, upstream):
    relay = start_relay({**relay_config("openai", upstream.url),
                         "dialects": {"openai_responses": {"hosted_tools": "reject"}}})  # fmt: skip
    resp = requests.post(relay.url + "/v1/responses", timeout=10, json={
        "model": "m", "input": "hi", "tools": [{"type": "web_search"}]})  # fmt: skip
    assert resp.status_code == 400
    assert "web_search" in resp.json()["error"]["message"]
    assert not upstream.requests


def test_store_false_is_not_kept(sdk, upstream, backend):
    upstream.reply(reply(backend, Answer(text="one"), stream=False))
    first = sdk.responses.create(model="m", input="hi", store=False)
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model="m", input="again", previous_response_id=first.id)
    assert "not kept" in info.value.body["message"]
    assert info.value.body["param"] == "previous_response_id"
    assert len(upstream.requests) == 1


def test_instructions_are_not_inherited(sdk, upstream, backend):
    upstream.reply(reply(backend, Answer(text="one"), stream=False),
                   reply(backend, Answer(text="two"), stream=False))  # fmt: skip
    first = sdk.responses.create(model="m", input="hi", instructions="Speak French.")
    sdk.responses.create(model="m", input="more", previous_response_id=first.id,
                         instructions="Speak Dutch.")  # fmt: skip
    body = upstream.requests[1].body
    text = json.dumps(body)
    assert "Speak Dutch." in text and "Speak French." not in text
    assert len(body["messages"]) == (4 if backend == "openai" else 3)


def test_input_tokens_count(relay):
    resp = requests.post(relay.url + "/v1/responses/input_tokens", timeout=10,
                         json={"model": "m", "input": "hello there, how are you?"})  # fmt: skip
    assert resp.status_code == 200
    out = resp.json()
    assert out["object"] == "response.input_tokens" and out["input_tokens"] > 5
