"""The HTTP edge: bad input gets a 4xx in Anthropic's error shape, and the utility routes."""

from __future__ import annotations

import gzip
import json
import zlib

import anthropic
import openai
import pytest
import requests
from google import genai
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from tests.conftest import one_provider
from tests.fakes.replies import anthropic_message
from tests.fakes.upstream import Reply


@pytest.fixture
def relay(start_relay, upstream):
    return start_relay(one_provider("anthropic", upstream.url, model="up-model"))


def _assert_error(resp: requests.Response, status: int, etype: str, needle: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == etype
    assert needle in body["error"]["message"]


GOOD = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("data", "headers", "status", "etype", "needle"),
    [
        (
            b"{not json",
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "not valid JSON",
        ),
        (b"", {"content-type": "application/json"}, 400, "invalid_request_error", "empty"),
        (
            b"[1, 2]",
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "JSON object",
        ),
        (
            b'{"model":"m"}',
            {"content-type": "text/plain"},
            415,
            "invalid_request_error",
            "content-type",
        ),
        (
            b'{"max_tokens":5,"messages":[]}',
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "model",
        ),
        (
            b'{"model":"m","messages":[]}',
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "max_tokens",
        ),
        (
            b'{"model":"m","max_tokens":5}',
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "messages",
        ),
        (
            b'{"model":"m","max_tokens":"5","messages":[]}',
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "max_tokens",
        ),
        (
            b'{"model":"m","max_tokens":5,"messages":[{"role":"bot","content":"x"}]}',
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "messages.0.role",
        ),
        (
            b'{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text"}]}]}',
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "messages.0.content.0.text",
        ),
        (
            b'{"model":"m","max_tokens":5,"messages":[],"stream":"yes"}',
            {"content-type": "application/json"},
            400,
            "invalid_request_error",
            "stream",
        ),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem(
    relay, upstream, data, headers, status, etype, needle
):
    resp = requests.post(relay.url + "/v1/messages", data=data, headers=headers, timeout=5)
    _assert_error(resp, status, etype, needle)
    assert upstream.requests == []  # nothing bad reached the upstream


def test_body_over_the_limit_is_413(start_relay, upstream):
    config = one_provider("anthropic", upstream.url)
    config["limits"] = {"max_body_bytes": 1000}
    relay = start_relay(config)
    big = {**GOOD, "messages": [{"role": "user", "content": "x" * 2000}]}
    resp = requests.post(relay.url + "/v1/messages", json=big, timeout=5)
    _assert_error(resp, 413, "request_too_large", "max_body_bytes")


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
def test_compressed_bodies_are_read(relay, upstream, encoding):
    raw = json.dumps(GOOD).encode()
    if encoding == "gzip":
        data = gzip.compress(raw)
    else:  # deflate: zlib-wrapped as RFC 9110 says, or raw as some clients send it
        c = zlib.compressobj(wbits=15 if encoding == "deflate" else -15)
        data = c.compress(raw) + c.flush()
    upstream.reply(Reply(json=anthropic_message([{"type": "text", "text": "unpacked"}])))
    resp = requests.post(relay.url + "/v1/messages", data=data, timeout=5, headers={
        "content-type": "application/json", "content-encoding": encoding.split("-")[0]})  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert resp.json()["content"][0]["text"] == "unpacked"
    assert upstream.requests[0].body["messages"] == GOOD["messages"]


def test_compressed_bodies_are_checked(start_relay, upstream):
    config = one_provider("anthropic", upstream.url)
    config["limits"] = {"max_body_bytes": 1000}
    relay = start_relay(config)
    headers = {"content-type": "application/json", "content-encoding": "gzip"}
    bomb = gzip.compress(json.dumps({**GOOD, "pad": "x" * 100_000}).encode())
    assert len(bomb) < 1000  # small on the wire, over the limit unpacked
    resp = requests.post(relay.url + "/v1/messages", data=bomb, headers=headers, timeout=5)
    _assert_error(resp, 413, "request_too_large", "uncompressed")
    resp = requests.post(relay.url + "/v1/messages", data=b"not gzip", headers=headers, timeout=5)
    _assert_error(resp, 400, "invalid_request_error", "not valid gzip")
    resp = requests.post(relay.url + "/v1/messages", data=b"x", timeout=5,
                         headers={**headers, "content-encoding": "br"})  # fmt: skip
    _assert_error(resp, 415, "invalid_request_error", "content-encoding 'br' is not supported")
    assert upstream.requests == []


def test_sdk_raises_its_own_error_types(relay, upstream):
    client = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model="m",
            max_tokens=5,
            messages=[{"role": "user", "content": [{"type": "tool_result"}]}],
        )
    assert "tool_use_id" in str(info.value)


def test_unknown_route_is_an_anthropic_404(relay):
    _assert_error(
        requests.post(relay.url + "/v1/nothing", json={}, timeout=5),
        404,
        "not_found_error",
        "/v1/messages",
    )
    _assert_error(
        requests.get(relay.url + "/v1/messages", timeout=5), 405, "invalid_request_error", "GET"
    )


def test_root_head_and_get_answer_200(relay):
    assert requests.head(relay.url + "/", timeout=5).status_code == 200
    assert requests.get(relay.url + "/", timeout=5).status_code == 200


def test_event_logging_batch_is_accepted(relay):
    resp = requests.post(relay.url + "/api/event_logging/batch", json={"events": [1]}, timeout=5)
    assert resp.status_code == 200


def test_beta_query_and_both_auth_headers(relay, upstream):
    from tests.fakes.upstream import Reply

    answer = {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
              "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
              "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1}}  # fmt: skip
    upstream.reply(Reply(json=answer), Reply(json=answer))
    for headers in ({"x-api-key": "client-key"}, {"authorization": "Bearer client-key"}):
        resp = requests.post(
            relay.url + "/v1/messages?beta=true", json=GOOD, headers=headers, timeout=5
        )
        assert resp.status_code == 200
        assert resp.json()["content"][0]["text"] == "ok"
    # The client's key is never forwarded: the upstream gets the configured one.
    for rec in upstream.requests:
        assert rec.headers["x-api-key"] == "sk-test-upstream"
        assert "client-key" not in str(rec.headers)


def test_models_list_parses_in_both_sdks(start_relay, upstream):
    config = one_provider("anthropic", upstream.url, model="up-model", models=["extra-model"])
    relay = start_relay(config)
    a = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    ids = [m.id for m in a.models.list()]
    assert ids == ["up-model", "extra-model"]
    o = openai.OpenAI(base_url=relay.url + "/v1", api_key="k", max_retries=0)
    listed = list(o.models.list())
    assert [m.id for m in listed] == ["up-model", "extra-model"]
    assert listed[0].owned_by == "up"
    assert a.models.retrieve("extra-model").id == o.models.retrieve("extra-model").id
    # An unknown model: a 404 each SDK raises as its own not-found error, with the message.
    with pytest.raises(anthropic.NotFoundError, match="'nope' is not configured"):
        a.models.retrieve("nope")
    with pytest.raises(openai.NotFoundError, match="'nope' is not configured") as info:
        o.models.retrieve("nope")
    assert info.value.param == "model"
    g = genai.Client(api_key="k", http_options=genai_types.HttpOptions(
        base_url=relay.url, api_version="v1", retry_options=None))  # fmt: skip
    with pytest.raises(genai_errors.ClientError, match="is not configured") as gerr:
        g.models.get(model="nope")
    assert gerr.value.code == 404 and gerr.value.status == "NOT_FOUND"


def test_health_reports_providers_without_keys(start_relay, upstream):
    config = {
        "provider": {"name": "a", "fallback_providers": ["b"]},
        "providers": {
            "a": {"type": "anthropic", "base_url": upstream.url, "api_key": "sk-secret-value-123"},
            "b": {
                "type": "anthropic",
                "base_url": upstream.url,
                "api_key": "${CCRELAY_TEST_UNSET_KEY}",
            },
        },
    }
    relay = start_relay(config)
    resp = requests.get(relay.url + "/health", timeout=5)
    assert "sk-secret-value-123" not in resp.text
    health = resp.json()
    assert health["status"] == "ok"
    assert health["active_provider"] == "a"
    assert health["fallback_providers"] == ["b"]
    a = health["providers"]["a"]
    assert {k: a[k] for k in ("type", "configured", "model")} == {
        "type": "anthropic", "configured": True, "model": None,
    }  # fmt: skip
    assert a["breaker"] == {"state": "closed", "failures": 0}
    assert a["keys"] == [{"key": "...-123", "state": "ok"}]  # the last four characters only
    assert health["providers"]["b"]["configured"] is False
    assert "CCRELAY_TEST_UNSET_KEY" in health["providers"]["b"]["problem"]
    assert {"providers.anthropic"} <= {p["name"] for p in health["plugins"]}


def test_json_nested_deeper_than_can_be_forwarded_is_a_400(relay, upstream):
    deep: dict = {"type": "object"}
    for _ in range(300):
        deep = {"type": "object", "properties": {"x": deep}}
    body = {**GOOD, "tools": [{"name": "t", "input_schema": deep}]}
    resp = requests.post(relay.url + "/v1/messages", json=body, timeout=10)
    _assert_error(resp, 400, "invalid_request_error", "nests too deep")
    assert upstream.requests == []


def test_the_access_log_never_carries_a_query_key():
    from ccrelay.core.server import scrub_query_keys

    line = '127.0.0.1 - "POST /v1beta/models/m:generateContent?alt=sse&key=AIzaSyX HTTP/1.1" 200'
    assert scrub_query_keys(line) == (
        '127.0.0.1 - "POST /v1beta/models/m:generateContent?alt=sse&key=*** HTTP/1.1" 200'
    )
