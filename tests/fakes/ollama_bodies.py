"""Hypothesis strategies for Ollama request bodies: realistic seeds, then mutations of them.

No real Ollama client captures exist, so the seeds are written from ``ollama.md``: a chat with
a system prompt, an image, a tool loop (thinking, a call, its result), tools, ``think``,
``format`` and options; a generate with system, images and options. A drawn body is a seed
with a few mutations: a value replaced by an interesting one or by arbitrary JSON, a key
removed or added, messages dropped, repeated or reordered. Used by the property test and by
``bench/fuzz_ollama.py``.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

from hypothesis import strategies as st

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(24))).decode()
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0" + bytes(24)).decode()

TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}  # fmt: skip
SEED_CHAT: dict[str, Any] = {
    "model": "qwen3:8b",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "What is in this picture, and the weather?", "images": [PNG]},
        {"role": "assistant", "content": "", "thinking": "Look it up.", "tool_calls": [
            {"type": "function", "function": {"index": 0, "name": "get_weather",
                                              "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "tool_name": "get_weather", "content": "-3 C, snow"},
        {"role": "user", "content": "Thanks. And tomorrow?"},
    ],
    "tools": [TOOL],
    "think": True,
    "format": "json",
    "stream": True,
    "keep_alive": "5m",
    "options": {"temperature": 0.7, "top_p": 0.9, "top_k": 40, "num_predict": 4096,
                "num_ctx": 8192, "stop": ["</answer>"], "seed": 42},
}  # fmt: skip
SEED_GENERATE: dict[str, Any] = {
    "model": "llama3.2",
    "prompt": "Describe this image in one sentence.",
    "system": "You are a poet.",
    "images": [JPEG],
    "think": "low",
    "stream": False,
    "keep_alive": 300,
    "options": {"temperature": 0.2, "num_predict": 2048, "repeat_penalty": 1.1},
}

#: values that mean something somewhere in an Ollama body
INTERESTING = [
    None, True, False, 0, 1, -1, -2, 2, 0.5, 1.5, 1e20, -1e-9, "", " ", "json", "low", "medium",
    "high", "max", "x:latest", "system", "user", "assistant", "tool", "Tool", "function", "0",
    "5m", PNG, JPEG, f"data:image/png;base64,{PNG}", "bm90IGFuIGltYWdl", "\u00e9\u4e2d\U0001f600",
    "{\"city\": \"Rome\"}", "[1]", "line\u2028break\x85next\u2029end", [], {}, [PNG], ["</s>", ""], {"type": "object"},
    {"city": "Rome"}, [TOOL], [{"function": {"name": "x"}}],
    {"name": "get_weather", "arguments": {}},
]  # fmt: skip

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip
# Copied: a mutation edits the body in place, and must never edit the pool.
_value = st.one_of(st.sampled_from(INTERESTING).map(copy.deepcopy), json_values)


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``node`` (the root excluded)."""
    out = []
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return out
    for key, child in items:
        out.append((*path, key))
        out += _paths(child, (*path, key))
    return out


def _get(body: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        body = body[key]
    return body


def _parent(body: Any, path: tuple[Any, ...]) -> Any:
    return _get(body, path[:-1])


@st.composite
def mutated(draw: st.DrawFn, seed: dict[str, Any]) -> dict[str, Any]:
    body = copy.deepcopy(seed)
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["replace", "replace", "delete", "add", "messages"]))
        # Deepest first: Hypothesis favours early choices, and breaking ``model`` (first in
        # document order) is the least interesting mutation.
        paths = _paths(body)[::-1]
        if op == "messages" and isinstance(body.get("messages"), list) and body["messages"]:
            msgs = body["messages"]
            how = draw(st.sampled_from(["drop", "repeat", "shuffle"]))
            i = draw(st.integers(0, len(msgs) - 1))
            if how == "drop":
                del msgs[i]
            elif how == "repeat":
                msgs.insert(i, copy.deepcopy(msgs[i]))
            else:
                body["messages"] = draw(st.permutations(msgs))
        elif op == "add" or not paths:
            target = body
            containers = [p for p in paths if isinstance(_get(body, p), dict)]
            if containers and draw(st.booleans()):
                target = _get(body, draw(st.sampled_from(containers)))
            key = draw(st.sampled_from(["role", "content", "images", "think", "raw", "suffix",
                                        "context", "tool_name", "tool_call_id", "id", "index",
                                        "logprobs", "extra"]))  # fmt: skip
            target[key] = draw(_value)
        else:
            path = draw(st.sampled_from(paths))
            parent = _parent(body, path)
            if op == "delete":
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(_value)
    return body


#: (route, body) pairs: a mutated seed of either route
bodies = st.one_of(
    st.tuples(st.just("/api/chat"), mutated(SEED_CHAT)),
    st.tuples(st.just("/api/generate"), mutated(SEED_GENERATE)),
)


def verdict(status: int, content_type: str, raw: bytes) -> str:
    """``"ok"``, or what is wrong with an answer from ccrelay's Ollama routes: never a 5xx,
    errors exactly ``{"error": "<message>"}``, streams NDJSON lines ending ``done: true``.

    Lines are cut as the ollama SDK cuts them (httpx's ``iter_lines`` is ``str.splitlines``,
    which also breaks at U+0085, U+2028 and U+2029).
    """
    text = raw.decode("utf-8", "replace")
    if status >= 500:
        return f"{status}: {text[:200]}"
    try:
        if status >= 400:
            body = json.loads(text)
            if not (isinstance(body, dict) and list(body) == ["error"]
                    and isinstance(body["error"], str) and body["error"]):  # fmt: skip
                return f"{status} not in Ollama's error shape: {text[:200]}"
            return "ok"
        if status != 200:
            return f"unexpected status {status}"
        if content_type.startswith("application/x-ndjson"):
            lines = [json.loads(line) for line in text.splitlines()]
        else:
            lines = [json.loads(text)]
    except ValueError:
        return f"{status} answer is not JSON: {text[:200]}"
    if not lines or not all(isinstance(x, dict) for x in lines):
        return f"answer lines are not JSON objects: {text[:200]}"
    if "error" in lines[-1]:
        return f"stream ended with an error line: {lines[-1]['error'][:200]}"
    if lines[-1].get("done") is not True or any(x.get("done") for x in lines[:-1]):
        return f"the last line, and only it, must be done: {text[-200:]}"
    return "ok"
