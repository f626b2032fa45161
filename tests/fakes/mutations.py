"""Hypothesis strategies that break real request bodies: wrong types anywhere, missing fields,
unknown fields and huge strings, starting from captured client requests.

Used by ``tests/test_openai_chat_fuzz.py`` (a bounded run in CI) and
``bench/fuzz_openai_chat.py`` (ten thousand bodies, counted by answer).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from hypothesis import strategies as st

from tests.fakes.replies import DONE, anthropic_events, anthropic_message, openai_chunk
from tests.fakes.replies import openai_completion as _completion
from tests.fakes.upstream import Recorded, Reply

Path = tuple[Any, ...]

WRONG = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["", "x" * 300_000, "data:image/png;base64,", "{", "[]", "tool", "user",
                     "assistant", "function", "json_object", "high", "none"]),
    st.lists(st.one_of(st.integers(), st.text(max_size=3), st.just({})), max_size=3),
    st.dictionaries(st.sampled_from(["type", "text", "role", "id", "x"]),
                    st.one_of(st.text(max_size=5), st.integers(), st.none()), max_size=3),
)  # fmt: skip


def paths(value: Any, prefix: Path = ()) -> Iterator[Path]:
    """Every path into ``value`` (dict keys and list indices), the value itself included."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths(v, (*prefix, i))


def apply(base: dict[str, Any], edits: list[tuple[Path, str, Any]]) -> Any:
    """``base`` with each edit ``(path, op, value)`` applied where the path still exists."""
    body: Any = copy.deepcopy(base)
    for path, op, value in edits:
        if not path:
            body = value if op == "replace" else body
            continue
        parent = body
        try:
            for key in path[:-1]:
                parent = parent[key]
            last = path[-1]
            if op == "replace":
                parent[last] = value
            elif op == "delete":
                del parent[last]
            elif isinstance(parent[last], dict):  # insert an unknown field
                parent[last]["ccrelay_fuzz"] = value
            elif isinstance(parent[last], list):
                parent[last].append(value)
        except (KeyError, IndexError, TypeError):
            continue
    return body


def mutated(base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Bodies made from ``base`` by one to three edits; paths outside the tool schemas (where
    the dialect reads most) are drawn more often."""
    every = list(paths(base))
    near = [p for p in every if not (len(p) > 3 and p[0] == "tools")]
    edit = st.tuples(
        st.one_of(st.sampled_from(near), st.sampled_from(every)),
        st.sampled_from(["replace", "replace", "delete", "insert"]),
        WRONG,
    )
    return st.builds(apply, st.just(base), st.lists(edit, min_size=1, max_size=3))


def respond(rec: Recorded) -> Reply:
    """A valid answer in the protocol of the request (Messages or Chat), streamed if asked."""
    body = rec.body if isinstance(rec.body, dict) else {}
    text = [{"type": "text", "text": "ok"}]
    if rec.path.endswith("/messages"):
        if body.get("stream"):
            return Reply(sse=anthropic_events(text), event_names=True)
        return Reply(json=anthropic_message(text))
    if body.get("stream"):
        return Reply(sse=[openai_chunk({"role": "assistant", "content": "ok"}),
                          openai_chunk({}, "stop"),
                          openai_chunk(None, usage={"prompt_tokens": 1, "completion_tokens": 1}),
                          DONE])  # fmt: skip
    return Reply(json=_completion({"content": "ok"}))


#: a small request that uses most of the dialect: system, images, a tool loop with
#: reasoning, tools, choice, format, effort, stop, side fields
SMALL: dict[str, Any] = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [
            {"type": "text", "text": "Look"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0K",
                                                "detail": "low"}}]},
        {"role": "assistant", "content": "Writing.", "reasoning_content": "plan",
         "tool_calls": [{"id": "call_1", "type": "function",
                         "function": {"name": "write_file", "arguments": "{\"path\": \"a\"}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
        {"role": "user", "content": "Thanks", "name": "al"},
    ],
    "tools": [{"type": "function", "function": {
        "name": "write_file", "description": "Write",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
        "strict": False}}],
    "tool_choice": "auto",
    "parallel_tool_calls": True,
    "response_format": {"type": "json_object"},
    "reasoning_effort": "low",
    "max_tokens": 3000,
    "stop": ["END"],
    "temperature": 0.5,
    "presence_penalty": 0.1,
    "stream": False,
    "stream_options": {"include_usage": True},
}  # fmt: skip
