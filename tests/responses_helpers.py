"""Canned upstream answers for the Responses dialect's tests: one script, two backend protocols.

``Answer`` describes what a model says (thinking, text, tool calls, stop reason); ``chat_json``
/ ``chat_sse`` and ``anthropic_json`` / ``anthropic_sse`` render it as an OpenAI Chat
Completions or an Anthropic Messages upstream would, so a test can run the same conversation
against both backend kinds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import one_provider
from tests.fakes import server
from tests.fakes.upstream import Reply

BACKENDS = ("openai", "anthropic")


@dataclass
class Call:
    id: str
    name: str
    args: dict[str, Any]


@dataclass
class Answer:
    text: str = ""
    thinking: str = ""
    signature: str = ""
    calls: list[Call] = field(default_factory=list)
    stop: str = ""  # end_turn | tool_use | max_tokens (derived when empty)
    input_tokens: int = 21
    output_tokens: int = 7
    cached: int = 0

    @property
    def stop_reason(self) -> str:
        return self.stop or ("tool_use" if self.calls else "end_turn")


_FINISH = {"end_turn": "stop", "tool_use": "tool_calls", "max_tokens": "length"}


def relay_config(kind: str, url: str, **extra: Any) -> dict[str, Any]:
    """One provider of strategy ``kind`` (openai or anthropic) at ``url``; the OpenAI one
    takes ``reasoning_effort`` (its model name is not in the capability table)."""
    if kind == "openai":
        extra.setdefault("options", {"reasoning_effort": True})
    return one_provider(kind, url, model=f"{kind}-up", **extra)


def reply(kind: str, answer: Answer, stream: bool) -> Reply:
    if kind == "openai":
        return Reply(sse=chat_sse(answer)) if stream else Reply(json=chat_json(answer))
    if stream:
        return Reply(sse=anthropic_sse(answer), event_names=True)
    return Reply(json=anthropic_json(answer))


# --- OpenAI Chat Completions --------------------------------------------------------------


def _chat_usage(a: Answer) -> dict[str, Any]:
    return {"prompt_tokens": a.input_tokens + a.cached, "completion_tokens": a.output_tokens,
            "total_tokens": a.input_tokens + a.cached + a.output_tokens,
            "prompt_tokens_details": {"cached_tokens": a.cached}}  # fmt: skip


def chat_json(a: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": a.text or None}
    if a.thinking:
        message["reasoning_content"] = a.thinking
    if a.calls:
        message["tool_calls"] = [
            {"id": c.id, "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.args)}}
            for c in a.calls
        ]  # fmt: skip
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "up",
            "choices": [{"index": 0, "message": message, "finish_reason": _FINISH[a.stop_reason]}],
            "usage": _chat_usage(a)}  # fmt: skip


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: Any = None) -> dict:
    out: dict[str, Any] = {
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up",
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }  # fmt: skip
    if usage is not None:
        out["usage"] = usage
    return out


def chat_sse(a: Answer) -> list[Any]:
    events: list[Any] = [_chunk({"role": "assistant", "content": ""})]
    for i in range(0, len(a.thinking), 5):
        events.append(_chunk({"reasoning_content": a.thinking[i : i + 5]}))
    for i in range(0, len(a.text), 4):
        events.append(_chunk({"content": a.text[i : i + 4]}))
    for n, c in enumerate(a.calls):
        events.append(_chunk({"tool_calls": [{"index": n, "id": c.id, "type": "function",
                                              "function": {"name": c.name, "arguments": ""}}]}))  # fmt: skip
        args = json.dumps(c.args)
        for i in range(0, len(args), 3):  # split mid-string and mid-escape
            events.append(_chunk({"tool_calls": [{"index": n, "function": {"arguments": args[i : i + 3]}}]}))  # fmt: skip
    events.append(_chunk({}, _FINISH[a.stop_reason]))
    events.append(_chunk(None, usage=_chat_usage(a)))
    events.append("data: [DONE]\n\n")
    return events


# --- Anthropic Messages ---------------------------------------------------------------------


def _blocks(a: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if a.thinking:
        blocks.append({"type": "thinking", "thinking": a.thinking, "signature": a.signature})
    if a.text:
        blocks.append({"type": "text", "text": a.text})
    for c in a.calls:
        blocks.append({"type": "tool_use", "id": c.id, "name": c.name, "input": c.args})
    return blocks


def anthropic_json(a: Answer) -> dict[str, Any]:
    return {"id": "msg_up", "type": "message", "role": "assistant", "model": "up",
            "content": _blocks(a), "stop_reason": a.stop_reason, "stop_sequence": None,
            "usage": {"input_tokens": a.input_tokens, "output_tokens": a.output_tokens,
                      "cache_read_input_tokens": a.cached, "cache_creation_input_tokens": 0}}  # fmt: skip


def anthropic_sse(a: Answer) -> list[Any]:
    events: list[Any] = [{"type": "message_start", "message": {
        "id": "msg_up", "type": "message", "role": "assistant", "model": "up", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": a.input_tokens, "output_tokens": 1,
                  "cache_read_input_tokens": a.cached, "cache_creation_input_tokens": 0}}}]  # fmt: skip
    for i, block in enumerate(_blocks(a)):
        kind = block["type"]
        if kind == "thinking":
            events.append({"type": "content_block_start", "index": i,
                           "content_block": {"type": "thinking", "thinking": "", "signature": ""}})  # fmt: skip
            for j in range(0, len(a.thinking), 6):
                events.append({"type": "content_block_delta", "index": i, "delta": {
                    "type": "thinking_delta", "thinking": a.thinking[j : j + 6]}})  # fmt: skip
            if a.signature:
                events.append({"type": "content_block_delta", "index": i, "delta": {
                    "type": "signature_delta", "signature": a.signature}})  # fmt: skip
        elif kind == "text":
            events.append({"type": "content_block_start", "index": i,
                           "content_block": {"type": "text", "text": ""}})  # fmt: skip
            for j in range(0, len(a.text), 4):
                events.append({"type": "content_block_delta", "index": i, "delta": {
                    "type": "text_delta", "text": a.text[j : j + 4]}})  # fmt: skip
        else:
            events.append({"type": "content_block_start", "index": i, "content_block": {
                "type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}})  # fmt: skip
            args = json.dumps(block["input"])
            for j in range(0, len(args), 3):
                events.append({"type": "content_block_delta", "index": i, "delta": {
                    "type": "input_json_delta", "partial_json": args[j : j + 3]}})  # fmt: skip
        events.append({"type": "content_block_stop", "index": i})
    events.append({"type": "message_delta", "delta": {"stop_reason": a.stop_reason,
                   "stop_sequence": None}, "usage": {"output_tokens": a.output_tokens}})  # fmt: skip
    events.append({"type": "message_stop"})
    return events


# --- a scripted upstream that answers any request in its protocol -------------------------


class AnyRequestUpstream(server.ServerThread):
    """A real HTTP server on 127.0.0.1 answering every request with a short valid answer, as
    JSON or as a stream (whatever the request asked), in the protocol its path names: Chat
    Completions (``.../chat/completions``) or Anthropic Messages (``.../messages``). For tests
    that send many requests whose shape is not known in advance (property-based ones)."""

    def __init__(self) -> None:
        class Handler(server.Handler):
            def do_POST(self) -> None:
                raw = self.body_bytes()
                try:
                    stream = bool(json.loads(raw).get("stream"))
                except (ValueError, AttributeError):
                    stream = False
                kind = "openai" if self.path.endswith("/chat/completions") else "anthropic"
                answer = reply(kind, Answer(text="ok"), stream)
                if answer.sse is None:
                    self.send_json(200, answer.json)
                else:
                    data = b"".join(map(_sse_bytes, answer.sse))
                    self.send_body(200, data, "text/event-stream")

        super().__init__(Handler)


def _sse_bytes(ev: Any) -> bytes:
    if isinstance(ev, str):
        return ev.encode()
    name = f"event: {ev['type']}\n" if "type" in ev else ""
    return f"{name}data: {json.dumps(ev)}\n\n".encode()


# --- mutated Codex bodies (property-based tests and bench/fuzz_openai_responses.py) -------


def seed_bodies(fixtures: Any) -> list[dict[str, Any]]:
    """Bodies to mutate: every Codex fixture (code mode's additional_tools included) plus small
    SDK-style ones (``fixtures`` is the tests/fixtures folder)."""
    paths = sorted(fixtures.glob("codex*/*.json"))
    seeds = [json.loads(p.read_text())["body"] for p in paths]
    seeds += [
        {"model": "m", "input": "hi", "instructions": "Be brief.", "max_output_tokens": 50},
        {"model": "m", "stream": True, "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "look"},
                                         {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo="}]},
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "t"}],
             "encrypted_content": "ccrelay.v1:eyJ0eXBlIjoidGhpbmtpbmciLCJ0aGlua2luZyI6InQifQ=="},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\": 1}"},
            {"type": "function_call_output", "call_id": "c1", "output": "r"}],
         "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}},
                   {"type": "custom", "name": "apply_patch",
                    "format": {"type": "grammar", "syntax": "lark", "definition": "start: x"}}],
         "tool_choice": {"type": "function", "name": "f"}, "parallel_tool_calls": False,
         "reasoning": {"effort": "low"}, "text": {"format": {"type": "json_schema", "name": "x",
                                                            "schema": {"type": "object"}}}},
    ]  # fmt: skip
    return seeds


def mutations(seeds: list[dict[str, Any]]) -> Any:
    """A hypothesis strategy: a seed body with 1-3 mutations at random depths (a value of the
    wrong type, a field removed or added, a huge string, a made-up ``type`` or ``role``)."""
    import copy

    from hypothesis import strategies as st

    scalars = (st.none() | st.booleans() | st.integers(-(2**63), 2**63)
               | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))  # fmt: skip
    values = st.recursive(
        scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=6,
    )  # fmt: skip
    huge = st.sampled_from([10_000, 300_000, 2_000_000]).map(lambda n: "x" * n)
    words = st.sampled_from(["message", "function_call", "reasoning", "custom", "input_text",
                             "assistant", "developer", "web_search", "", "💥", "text"])  # fmt: skip

    @st.composite
    def mutate(draw: Any) -> dict[str, Any]:
        # The walk uses a plain random generator: hypothesis's own choices favour the first
        # keys of an object, and the interesting places are spread over the whole body.
        rnd = draw(st.randoms(use_true_random=True))
        body = copy.deepcopy(rnd.choice(seeds))
        for _ in range(rnd.randint(1, 3)):
            parent: Any = None
            key: Any = None
            node: Any = body
            while isinstance(node, (dict, list)) and node:
                if parent is not None and rnd.random() < 0.25:
                    break
                keys = list(node) if isinstance(node, dict) else list(range(len(node)))
                if parent is None:  # favour the parts with depth: the items and tools
                    keys += [k for k in ("input", "input", "input", "tools") if k in node]
                key = rnd.choice(keys)
                parent, node = node, node[key]
            if parent is None:
                continue
            action = rnd.choice(["replace", "replace", "delete", "huge", "word", "add"])
            if action == "delete":
                del parent[key]
            elif action == "huge":
                parent[key] = draw(huge)
            elif action == "word":
                parent[key] = draw(words)
            elif action == "add" and isinstance(node, dict):
                node[draw(st.text(max_size=8))] = draw(values)
            else:
                parent[key] = draw(values)
        return body

    return mutate()


def answer_problem(status: int, headers: Any, text: str, body: Any) -> str:
    """What is wrong with the relay's answer to ``body``, or "" when it is right: a 2xx that
    is a response (or a stream ending in one), or a 4xx in OpenAI's error shape; never a 5xx."""
    if status >= 500:
        return f"HTTP {status}: {text[:300]}"
    if status >= 400:
        try:
            err = json.loads(text)["error"]
        except (ValueError, KeyError, TypeError):
            return f"HTTP {status} without an OpenAI error body: {text[:300]}"
        if set(err) != {"message", "type", "param", "code"} or not isinstance(err["message"], str):
            return f"HTTP {status} with a malformed error: {err}"
        if len(err["message"]) > 2000:
            return f"HTTP {status}: the error message quotes too much ({len(err['message'])} chars)"
        return ""
    if headers.get("content-type", "").startswith("text/event-stream"):
        events = [json.loads(line[6:]) for line in text.split("\n") if line.startswith("data: ")]
        last = events[-1]["type"] if events else "nothing"
        if last not in ("response.completed", "response.incomplete"):
            return f"stream ended with {last}: {text[-300:]}"
        return ""
    if json.loads(text).get("object") != "response":
        return f"HTTP {status} that is not a response: {text[:300]}"
    return ""
