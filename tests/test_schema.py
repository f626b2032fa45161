"""The declarative body checks: paths, short excerpts, and no 500 for any wrong type."""

from __future__ import annotations

import pytest

from ccrelay.core.dialects.anthropic import REQUEST
from ccrelay.core.errors import InvalidRequest
from ccrelay.core.schema import INT, STR, list_of, obj, one_of, validate

GOOD = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}


def message_of(content):
    return {**GOOD, "messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                 {"role": "user", "content": "c"}, {"role": "user", "content": content}]}  # fmt: skip


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (message_of([{"type": "tool_result", "tool_use_id": "t", "content": True}]),
         "messages.3.content.0.content: expected a string or a list of blocks, got true"),
        (message_of([{"type": "tool_result", "tool_use_id": "t", "content": [5]}]),
         "messages.3.content.0.content.0: expected a block (an object with a 'type'), got 5"),
        (message_of([{"type": "text", "text": {"a": 1}}]),
         "messages.3.content.0.text: expected a string, got an object"),
        ({**GOOD, "messages": [{"role": ["user"], "content": "x"}]},
         "messages.0.role: expected 'user' or 'assistant', got a list"),
        ({**GOOD, "messages": [{"role": {"a": 1}, "content": "x"}]},
         "messages.0.role: expected 'user' or 'assistant', got an object"),
        ({**GOOD, "max_tokens": True}, "max_tokens: expected an integer >= 0, got true"),
        ({"max_tokens": 5, "messages": []}, "model: Field required"),
    ],
)  # fmt: skip
def test_wrong_types_name_their_path(body, message):
    with pytest.raises(InvalidRequest) as info:
        validate(REQUEST, body)
    assert info.value.message.startswith(message)
    assert info.value.status == 400


def test_a_huge_bad_value_is_quoted_as_an_excerpt():
    with pytest.raises(InvalidRequest) as info:
        validate(REQUEST, {**GOOD, "max_tokens": "9" * 1_000_000})
    assert len(info.value.message) < 200
    assert "(1000000 characters)" in info.value.message


def test_unknown_fields_and_block_types_pass():
    body = message_of([{"type": "server_tool_use", "id": "x", "whatever": [1]}])
    validate(REQUEST, {**body, "brand_new_field": {"x": 1}})


def test_one_of_reports_the_inner_failure_of_the_type_that_fit():
    spec = obj({"v": one_of(STR, list_of(obj({"n": INT})))})
    with pytest.raises(InvalidRequest, match=r"v\.1\.n: expected an integer, got \"x\""):
        validate(spec, {"v": [{"n": 1}, {"n": "x"}]})
