"""Mutated Gemini requests for property-based tests and ``bench/fuzz_gemini.py``.

``requests_from_fixtures`` draws a real Gemini CLI body (``tests/fixtures/gemini/``) and
applies one to four random edits anywhere in it: the shared ones of ``tests/fuzzing.py``
(a value of the wrong type, a 1 MB string, a deleted key, a value wrapped in a list), random
JSON, a field Gemini knows inserted (either spelling), a key re-spelled in snake_case, an
emptied container. ``answer_in_kind`` scripts the upstream for either backend kind;
``check_answer`` says whether ccrelay's answer keeps the promise: 2xx, or a 4xx in Gemini's
error shape; never a 5xx, never a broken stream.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from hypothesis import strategies as st

from tests.fakes.gemini_support import (
    GEMINI_FIXTURES,
    anthropic_events,
    anthropic_message,
    chat_completion,
    chat_text_stream,
    load_fixture,
)
from tests.fakes.upstream import Recorded, Reply
from tests.fuzzing import WRONG_VALUES, mutate, paths

BODIES = [load_fixture(p)["body"] for p in GEMINI_FIXTURES]
METHODS = ("generateContent", "streamGenerateContent", "countTokens")
STATUSES = {"INVALID_ARGUMENT", "FAILED_PRECONDITION", "NOT_FOUND", "UNAUTHENTICATED",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED"}  # fmt: skip
FIELDS = (
    "text thought thoughtSignature functionCall functionResponse inlineData fileData role parts "
    "name args id response mimeType data fileUri type properties items nullable anyOf enum "
    "required description parameters parametersJsonSchema functionDeclarations googleSearch "
    "thinkingConfig thinkingBudget thinkingLevel includeThoughts responseMimeType "
    "responseSchema responseJsonSchema maxOutputTokens candidateCount temperature topK "
    "stopSequences mode allowedFunctionNames functionCallingConfig toolConfig cachedContent "
    "safetySettings executableCode codeExecutionResult generateContentRequest contents "
    "systemInstruction generationConfig tools"
).split()
_ANSWER = [
    {"type": "thinking", "thinking": "hm", "signature": "c2ln"},
    {"type": "text", "text": "ok"},
    {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"file_path": "a"}},
]
_REPLIES = {
    ("openai", False): Reply(json=chat_completion({"content": "ok", "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "read_file", "arguments": '{"file_path": "a"}'}}]},
        finish="tool_calls")),
    ("openai", True): Reply(sse=chat_text_stream("ok then")),
    ("anthropic", False): Reply(json=anthropic_message(_ANSWER, stop="tool_use")),
    ("anthropic", True): Reply(sse=anthropic_events(_ANSWER, stop="tool_use"), event_names=True),
}  # fmt: skip


def answer_in_kind(rec: Recorded) -> Reply:
    """The upstream's answer for an OpenAI or Anthropic request, streamed when it asks:
    text, thinking and one tool call."""
    kind = "anthropic" if rec.path.endswith("/messages") else "openai"
    stream = isinstance(rec.body, dict) and rec.body.get("stream") is True
    return _REPLIES[(kind, stream)]


_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["OBJECT", "STRING", "model", "user", "ANY", "image/png", "AUTO", ""]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def _snake(name: str) -> str:
    return _HUMP.sub(r"_\1", name).lower()


def _nodes(value: Any, out: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key) pair in ``value``, containers included."""
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((value, k))
            _nodes(v, out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((value, i))
            _nodes(v, out)
    return out


@st.composite
def requests_from_fixtures(draw: Any) -> tuple[str, str | None, dict[str, Any]]:
    """(method, alt, body) of a mutated real request."""
    body = copy.deepcopy(draw(st.sampled_from(BODIES)))
    method = draw(st.sampled_from(METHODS))
    alt = draw(st.sampled_from(["sse", None]))
    for _ in range(draw(st.integers(1, 4))):
        nodes = _nodes(body, [])
        if not nodes:
            break
        parent, key = draw(st.sampled_from(nodes))
        op = draw(st.sampled_from(["shared", "shared", "replace", "delete", "insert", "respell",
                                   "empty"]))  # fmt: skip
        if op == "shared":  # the mutations every dialect's fuzz test makes
            candidates = paths(body)
            how = draw(st.sampled_from(["replace", "replace", "delete", "wrap"]))
            # Values are copied: later edits change containers in place, and the shared
            # values must stay as they are for the next example.
            body = mutate(body, draw(st.sampled_from(candidates)), how,
                          copy.deepcopy(draw(st.sampled_from(WRONG_VALUES))))  # fmt: skip
        elif op == "replace":
            parent[key] = draw(JSON)
        elif op == "delete":
            del parent[key]
        elif op == "insert":
            target = parent[key] if isinstance(parent[key], dict) else parent
            if isinstance(target, dict):
                name = draw(st.sampled_from(FIELDS))
                target[_snake(name) if draw(st.booleans()) else name] = draw(JSON)
            else:
                target.append(draw(JSON))
        elif op == "respell" and isinstance(parent, dict) and _snake(key) != key:
            parent[_snake(key)] = parent.pop(key)
        elif op == "empty" and isinstance(parent[key], (dict, list)):
            parent[key] = type(parent[key])()
    return method, alt, body


def check_answer(method: str, alt: str | None, status: int, content: bytes) -> str:
    """ "2xx" or "4xx" for an answer that keeps the promise; AssertionError otherwise."""
    assert status < 500, f"HTTP {status}: {content[:500]!r}"
    if status >= 400:
        err = json.loads(content)["error"]
        assert err["code"] == status and isinstance(err["message"], str), err
        assert err["status"] in STATUSES, err
        return "4xx"
    assert status == 200, status
    if method == "countTokens":
        assert isinstance(json.loads(content)["totalTokens"], int)
    elif method == "generateContent":
        assert isinstance(json.loads(content)["candidates"], list)
    else:
        if alt == "sse":
            events = [e.strip() for e in content.split(b"\n\n") if e.strip()]
            assert all(e.startswith(b"data: ") for e in events), content[:300]
            chunks = [json.loads(e[6:]) for e in events]
        else:
            chunks = json.loads(content)
        assert chunks, content[:300]
        for chunk in chunks:
            assert "candidates" in chunk or chunk["error"]["code"] < 500, chunk
    return "2xx"
