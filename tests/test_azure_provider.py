"""The ``azure`` strategy: addressing and keys (plain data), then the anthropic SDK through
ccrelay to a scripted Azure resource that checks URLs and headers as Azure does."""

from __future__ import annotations

import json
from types import MappingProxyType
from typing import Any

import anthropic
import pytest

from ccrelay.core.config import ProviderConfig
from ccrelay.core.errors import ErrorKind
from ccrelay.core.provider import RequestContext, SSEEvent
from ccrelay.providers.azure import DEFAULT_API_VERSION, AzureProvider
from ccrelay.providers.openai import OpenAIProvider
from tests.fakes.azure import (
    AzureUpstream,
    chunk,
    completion,
    filter_results,
    prompt_chunk,
    prompt_filtered_error,
)
from tests.fakes.upstream import Reply

P = AzureProvider()
REQ: Any = {"model": "claude-x", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


def ctx(base: str = "https://res.openai.azure.com", model: str = "gpt-4o-dep", **options: Any):
    pcfg = ProviderConfig(name="az", type="azure", base_url=base, api_key="azure-key-123456",
                          options=MappingProxyType(options))  # fmt: skip
    return RequestContext(pcfg, model, "claude-x", {}, "rid")


@pytest.mark.parametrize(
    "base, options, path, query, model",
    [
        ("https://res.openai.azure.com", {},
         "/openai/deployments/gpt-4o-dep/chat/completions", {"api-version": DEFAULT_API_VERSION},
         "gpt-4o-dep"),
        ("https://res.openai.azure.com/openai", {"api_version": "2025-04-01-preview"},
         "/deployments/gpt-4o-dep/chat/completions", {"api-version": "2025-04-01-preview"},
         "gpt-4o-dep"),
        ("https://res.openai.azure.com", {"deployment": "my dep/1"},
         "/openai/deployments/my%20dep%2F1/chat/completions", {"api-version": DEFAULT_API_VERSION},
         "gpt-4o-dep"),
        ("https://res.openai.azure.com/openai/v1", {}, "/chat/completions", {}, "gpt-4o-dep"),
        ("https://res.openai.azure.com", {"route": "v1", "deployment": "d2", "api_version": "preview"},
         "/openai/v1/chat/completions", {"api-version": "preview"}, "d2"),
        ("https://res.services.ai.azure.com/openai", {"route": "v1"}, "/v1/chat/completions", {},
         "gpt-4o-dep"),
    ],
)  # fmt: skip
def test_routes(base, options, path, query, model):
    up = P.convert_request(REQ, ctx(base, **options))
    assert (up.path, dict(up.query), up.body["model"]) == (path, query, model)
    # The body is the OpenAI strategy's, not a copy of its converter.
    expected = OpenAIProvider().convert_request(REQ, ctx(base, **options)).body
    assert {k: v for k, v in up.body.items() if k != "model"} == {
        k: v for k, v in expected.items() if k != "model"
    }


def test_key_header():
    assert P.auth_headers(ctx().provider) == {"api-key": "azure-key-123456"}
    assert P.auth_headers(ctx(auth="bearer").provider) == {
        "authorization": "Bearer azure-key-123456"
    }


def test_check_options():
    assert AzureProvider.check_options({"route": "v1", "auth": "bearer", "api_version": "x"}) == []
    problems = AzureProvider.check_options({"route": "v2", "auth": "key", "deployment": ""})
    assert [p.split(":")[0] for p in problems] == ["deployment", "route", "auth"]
    assert {"max_output_tokens", "api_version"} <= AzureProvider.option_keys


@pytest.mark.parametrize(
    "status, body, headers, kind, words",
    [
        (400, prompt_filtered_error(hate="high", violence="medium"), {}, ErrorKind.INVALID_REQUEST,
         ["content filter", "hate, violence"]),
        (404, {"error": {"code": "DeploymentNotFound", "message": "does not exist"}}, {},
         ErrorKind.NOT_FOUND, ["does not exist", "options.deployment"]),
        (401, {"error": {"code": "401", "message": "Access denied"}}, {},
         ErrorKind.AUTHENTICATION, ["api-key", "options.auth: bearer"]),
        (400, {"error": {"code": "context_length_exceeded", "message": "This model's maximum "
                         "context length is 128000 tokens."}}, {}, ErrorKind.CONTEXT_TOO_LONG, []),
        (429, {"error": {"code": "429", "message": "Rate limit"}}, {"retry-after-ms": "1500"},
         ErrorKind.RATE_LIMITED, []),
    ],
)  # fmt: skip
def test_errors(status, body, headers, kind, words):
    err = P.map_error(status, body, headers)
    assert err.kind is kind
    for word in words:
        assert word in err.message
    if "retry-after-ms" in headers:
        assert err.headers["retry-after"] == "2"


def test_filtered_answer_gets_a_notice():
    c = ctx()
    P.convert_request(REQ, c)
    out = P.convert_response(completion({"content": None}, "content_filter",
                                        filters=filter_results(sexual="medium")), c)  # fmt: skip
    assert out["stop_reason"] == "refusal"
    assert "sexual" in out["content"][0]["text"]
    evs = [SSEEvent("", json.dumps(e)) for e in [
        prompt_chunk(), chunk({"role": "assistant", "content": ""}),
        chunk({}, "content_filter", filters=filter_results(violence="high"))]] + [
        SSEEvent("", "[DONE]")]  # fmt: skip
    events = list(P.stream(evs, c))
    texts = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert len(texts) == 1 and "violence" in texts[0]
    assert [e["type"] for e in events][-2:] == ["message_delta", "message_stop"]


# --- end to end -----------------------------------------------------------------------------


@pytest.fixture
def azure():
    fake = AzureUpstream()
    yield fake
    fake.close()


def start(start_relay, azure, base_suffix: str = "", key: str = "azure-key-123456", **options):
    config = {
        "provider": {"name": "az"},
        "providers": {"az": {"type": "azure", "base_url": azure.url + base_suffix, "api_key": key,
                             "model": "gpt-4o-dep", "options": options}},
    }  # fmt: skip
    relay = start_relay(config)
    return relay, anthropic.Anthropic(base_url=relay.url, api_key="client", max_retries=0)


def test_streaming_through_a_deployment_url(start_relay, azure):
    relay, sdk = start(start_relay, azure)
    azure.reply(Reply(sse=[prompt_chunk(), chunk({"role": "assistant", "content": ""}),
                           chunk({"content": "Hello "}), chunk({"content": "from Azure"}),
                           chunk({}, "stop"),
                           chunk(usage={"prompt_tokens": 20, "completion_tokens": 4,
                                        "total_tokens": 24}), "data: [DONE]\n\n"]))  # fmt: skip
    with sdk.messages.stream(model="claude-x", max_tokens=50,
                             messages=[{"role": "user", "content": "hi"}]) as s:  # fmt: skip
        final = s.get_final_message()
    assert final.content[0].text == "Hello from Azure" and final.usage.output_tokens == 4
    sent = azure.requests[0]
    assert (
        sent.path
        == f"/openai/deployments/gpt-4o-dep/chat/completions?api-version={DEFAULT_API_VERSION}"
    )
    assert sent.headers["api-key"] == "azure-key-123456" and "authorization" not in sent.headers
    assert "status=success" in relay.token_lines()[0]


def test_v1_route_with_bearer_token(start_relay, azure):
    relay, sdk = start(start_relay, azure, "/openai/v1", auth="bearer")
    azure.reply(Reply(json=completion({"content": "v1 ok"})))
    msg = sdk.messages.create(model="claude-x", max_tokens=50,
                              messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    assert msg.content[0].text == "v1 ok"
    sent = azure.requests[0]
    assert sent.path == "/openai/v1/chat/completions" and sent.body["model"] == "gpt-4o-dep"
    assert sent.headers["authorization"] == "Bearer azure-key-123456"
    assert "api-key" not in sent.headers


def test_tool_loop_uses_the_shared_chat_converter(start_relay, azure):
    relay, sdk = start(start_relay, azure)
    tools = [{"name": "Write", "input_schema": {"type": "object", "properties": {}}}]
    azure.reply(Reply(json=completion({"content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "Write", "arguments": "{\"file_path\":\"a\"}"}}]}, "tool_calls")))  # fmt: skip
    msg = sdk.messages.create(model="c", max_tokens=50, tools=tools,
                              messages=[{"role": "user", "content": "go"}])  # fmt: skip
    assert msg.stop_reason == "tool_use" and msg.content[0].input == {"file_path": "a"}
    assert azure.requests[0].body["tools"][0] == {
        "type": "function",
        "function": {"name": "Write", "parameters": tools[0]["input_schema"]},
    }


def test_prompt_blocked_by_the_content_filter(start_relay, azure):
    relay, sdk = start(start_relay, azure)
    azure.reply(Reply(400, json=prompt_filtered_error(self_harm="high")))
    with pytest.raises(anthropic.BadRequestError) as info:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    message = info.value.body["error"]["message"]
    assert "content filter" in message and "self_harm" in message


def test_filtered_stream_ends_as_refusal_with_a_notice(start_relay, azure):
    relay, sdk = start(start_relay, azure)
    azure.reply(Reply(sse=[prompt_chunk(), chunk({"role": "assistant", "content": ""}),
                           chunk({}, "content_filter", filters=filter_results(hate="medium")),
                           "data: [DONE]\n\n"]))  # fmt: skip
    with sdk.messages.stream(model="c", max_tokens=50,
                             messages=[{"role": "user", "content": "x"}]) as s:  # fmt: skip
        final = s.get_final_message()
    assert final.stop_reason == "refusal"
    assert "hate" in final.content[0].text


@pytest.mark.parametrize(
    "suffix, options, key, error, words",
    [
        ("", {"deployment": "missing-dep"}, "azure-key-123456", anthropic.NotFoundError,
         ["does not exist", "options.deployment"]),
        ("", {}, "wrong-key-0000000", anthropic.AuthenticationError, ["Access denied", "api-key"]),
    ],
)  # fmt: skip
def test_azure_errors_say_what_to_fix(start_relay, azure, suffix, options, key, error, words):
    relay, sdk = start(start_relay, azure, suffix, key=key, **options)
    with pytest.raises(error) as info:
        sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "x"}])
    for word in words:
        assert word in info.value.body["error"]["message"]
