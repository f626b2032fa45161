"""Compat mode's stream transformer, fed realistic answers split at every point.

Each answer is streamed as canonical text deltas cut at every single position, one character
per delta, and at a few random multi-cuts. Whatever the cuts, the events (adjacent text
deltas merged) must be the same, form a valid Anthropic sequence, release the text before a
call before the call's opening tag is complete, and release a call the moment its closing
tag is. Byte-level cuts (inside a UTF-8 character) happen a layer below, in the SSE parser;
tests/test_compat_e2e.py sends those through the real server.
"""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest

from ccrelay.core.compat import CallParser, compat_events, compat_response

TOOLS = frozenset({"Write", "Bash", "Read"})
RID = "req0123abcd"


def call_text(name: str, args: dict[str, Any], pretty: bool = False) -> str:
    body = json.dumps({"name": name, "arguments": args}, ensure_ascii=False,
                      indent=2 if pretty else None)  # fmt: skip
    return f"<tool_call>\n{body}\n</tool_call>"


TRICKY = {
    "file_path": "/tmp/a <b> c.html",
    "content": '<tool_call>{"x": 1}</tool_call>\n</arguments> "quoted" \\ back\\slash\n'
    "naïve café 中文 🎉 </tool_call>",
}

# (name, model text, expected blocks, expected stop reason)
CASES: list[tuple[str, str, list[Any], str]] = [
    (
        "text then a call",
        "I'll create the file.\n\n" + call_text("Write", {"file_path": "hello.txt", "content": "hi"}),
        [("text", "I'll create the file."), ("tool_use", "Write", {"file_path": "hello.txt", "content": "hi"})],
        "tool_use",
    ),
    (
        "two calls, pretty JSON, whitespace between",
        "Checking both.\n" + call_text("Read", {"file_path": "/a"}, pretty=True) + "\n\n"
        + call_text("Bash", {"command": "ls -la | grep '<x>'", "timeout": 5000}) + "\n",
        [("text", "Checking both."), ("tool_use", "Read", {"file_path": "/a"}),
         ("tool_use", "Bash", {"command": "ls -la | grep '<x>'", "timeout": 5000})],
        "tool_use",
    ),
    (
        "tags, quotes, escapes, newlines and unicode inside a JSON string",
        "Écrivons ça: " + call_text("Write", TRICKY),
        [("text", "Écrivons ça:"), ("tool_use", "Write", TRICKY)],
        "tool_use",
    ),
    (
        "a call with nothing before it",
        call_text("Bash", {"command": "echo '{[<]}'"}),
        [("tool_use", "Bash", {"command": "echo '{[<]}'"})],
        "tool_use",
    ),
    (
        "text with angle brackets and a partial tag, no call",
        "If a < b then use <b>bold</b> or <tool_ but not <tool_call without the bracket.\n",
        [("text", "If a < b then use <b>bold</b> or <tool_ but not <tool_call without the bracket.\n")],
        "end_turn",
    ),
    (
        "after the calls the turn is over: an invented result and more calls are dropped",
        "Run it.\n" + call_text("Bash", {"command": "ls"})
        + '\n<tool_result name="Bash">a.txt</tool_result>\nDone.\n'
        + call_text("Read", {"file_path": "a.txt"}),
        [("text", "Run it."), ("tool_use", "Bash", {"command": "ls"})],
        "tool_use",
    ),
    (
        "malformed: bad JSON (trailing comma) stays text, a good call after it works",
        'Try: <tool_call>{"name": "Bash", "arguments": {"command": "ls",}}</tool_call> then\n'
        + call_text("Bash", {"command": "pwd"}),
        [("text", 'Try: <tool_call>{"name": "Bash", "arguments": {"command": "ls",}}</tool_call> then'),
         ("tool_use", "Bash", {"command": "pwd"})],
        "tool_use",
    ),
    (
        "malformed: unknown tool",
        "x " + call_text("Delete", {"path": "/"}) + " y",
        [("text", "x " + call_text("Delete", {"path": "/"}) + " y")],
        "end_turn",
    ),
    (
        "malformed: tags instead of JSON",
        "<tool_call><name>Write</name><arguments>{}</arguments></tool_call>",
        [("text", "<tool_call><name>Write</name><arguments>{}</arguments></tool_call>")],
        "end_turn",
    ),
    (
        "malformed: prose after the object instead of the closing tag",
        '<tool_call>{"name": "Bash", "arguments": {"command": "ls"}} and then more',
        [("text", '<tool_call>{"name": "Bash", "arguments": {"command": "ls"}} and then more')],
        "end_turn",
    ),
    (
        "malformed: arguments are a list",
        '<tool_call>{"name": "Bash", "arguments": ["ls"]}</tool_call>',
        [("text", '<tool_call>{"name": "Bash", "arguments": ["ls"]}</tool_call>')],
        "end_turn",
    ),
    (
        "arguments given as a JSON text are accepted",
        '<tool_call>{"name": "Bash", "arguments": "{\\"command\\": \\"ls\\"}"}</tool_call>',
        [("tool_use", "Bash", {"command": "ls"})],
        "tool_use",
    ),
    (
        "a call cut by max_tokens is text, the stop reason stays",
        'Writing now.\n<tool_call>\n{"name": "Write", "arguments": {"file_path": "a", "content": "line 1\\nli',
        [("text", 'Writing now.\n<tool_call>\n{"name": "Write", "arguments": {"file_path": "a", "content": "line 1\\nli')],
        "max_tokens",
    ),
]  # fmt: skip


def upstream_events(pieces: list[str], stop: str, thinking: bool = True) -> list[dict[str, Any]]:
    """An upstream answer: a thinking block (index 0), then the text in ``pieces``."""
    evs: list[dict[str, Any]] = [{"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 1}}}]  # fmt: skip
    idx = 0
    if thinking:
        evs += [
            {"type": "content_block_start", "index": 0,
             "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "thinking_delta", "thinking": "<tool_call> in thoughts"}},
            {"type": "content_block_delta", "index": 0,
             "delta": {"type": "signature_delta", "signature": "c2ln"}},
            {"type": "content_block_stop", "index": 0},
        ]  # fmt: skip
        idx = 1
    evs.append({"type": "content_block_start", "index": idx,
                "content_block": {"type": "text", "text": ""}})  # fmt: skip
    evs += [
        {"type": "content_block_delta", "index": idx, "delta": {"type": "text_delta", "text": p}}
        for p in pieces
    ]
    evs += [
        {"type": "content_block_stop", "index": idx},
        {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
         "usage": {"output_tokens": 42}},
        {"type": "message_stop"},
    ]  # fmt: skip
    return evs


def splits(text: str) -> list[list[str]]:
    """Every single cut, one character per piece, and a few random multi-cuts."""
    out = [[text[:i], text[i:]] for i in range(len(text) + 1)]
    out.append(list(text))
    rng = random.Random(len(text))
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(text)), min(len(text) - 1, rng.randint(2, 12))))
        out.append([text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)])
    return out


def merged(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events with adjacent text deltas of one block merged (the cuts decide those)."""
    out: list[dict[str, Any]] = []
    for ev in events:
        prev = out[-1] if out else None
        if (
            prev is not None
            and ev["type"] == prev["type"] == "content_block_delta"
            and ev["delta"]["type"] == prev["delta"]["type"] == "text_delta"
            and ev["index"] == prev["index"]
        ):
            prev["delta"] = {
                "type": "text_delta",
                "text": prev["delta"]["text"] + ev["delta"]["text"],
            }
        else:
            out.append(json.loads(json.dumps(ev)))
    return out


def assert_valid_sequence(events: list[dict[str, Any]]) -> None:
    """The rules a client's Anthropic stream parser relies on."""
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert events[-2]["type"] == "message_delta"
    expected_index = 0
    open_block: dict[str, Any] | None = None
    delta_types = {"text": {"text_delta", "citations_delta"}, "tool_use": {"input_json_delta"},
                   "thinking": {"thinking_delta", "signature_delta"}}  # fmt: skip
    for ev in events[1:-2]:
        t = ev["type"]
        if t == "content_block_start":
            assert open_block is None, "a block opened before the last one closed"
            assert ev["index"] == expected_index
            open_block = ev["content_block"]
        elif t == "content_block_delta":
            assert open_block is not None and ev["index"] == expected_index
            assert ev["delta"]["type"] in delta_types[open_block["type"]]
        elif t == "content_block_stop":
            assert open_block is not None and ev["index"] == expected_index
            open_block = None
            expected_index += 1
        else:
            raise AssertionError(f"unexpected {t} between blocks")
    assert open_block is None


def blocks_of(events: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for ev in merged(events):
        if ev["type"] == "content_block_start":
            block = ev["content_block"]
            out.append([block["type"], "", block.get("name")])
        elif ev["type"] == "content_block_delta":
            d = ev["delta"]
            out[-1][1] += d.get("text") or d.get("partial_json") or d.get("thinking") or ""
    result: list[Any] = []
    for kind, text, name in out:
        if kind == "tool_use":
            result.append(("tool_use", name, json.loads(text)))
        elif kind == "text":
            result.append(("text", text))
    return result


def run(pieces: list[str], stop: str) -> list[dict[str, Any]]:
    return list(compat_events(upstream_events(pieces, stop), TOOLS, False, RID))


@pytest.mark.parametrize("name,text,expected,stop", CASES, ids=[c[0] for c in CASES])
def test_every_split_gives_the_same_events(name, text, expected, stop):
    reference = merged(run([text], stop))
    assert blocks_of(reference) == expected
    assert_valid_sequence(reference)
    assert reference[1]["content_block"]["type"] == "thinking"  # thinking passes untouched
    assert reference[2]["delta"]["thinking"] == "<tool_call> in thoughts"
    want_stop = "tool_use" if any(b[0] == "tool_use" for b in expected) else stop
    assert reference[-2]["delta"]["stop_reason"] == want_stop
    assert reference[-2]["usage"] == {"output_tokens": 42}
    for pieces in splits(text):
        events = run(pieces, stop)
        assert merged(events) == reference, pieces
        assert_valid_sequence(events)


@pytest.mark.parametrize("name,text,expected,stop", CASES[:4], ids=[c[0] for c in CASES[:4]])
def test_text_goes_out_before_the_call_and_the_call_when_it_closes(name, text, expected, stop):
    """Fed one character at a time: note how much input had arrived when each event left."""
    parser = CallParser(TOOLS, request_id=RID)
    released: list[tuple[int, Any]] = []
    for n, ch in enumerate(text, start=1):
        released += [(n, seg) for seg in parser.feed(ch)]
    released += [(len(text), seg) for seg in parser.flush()]
    first_open = text.index("<tool_call>")
    before = text[:first_open].rstrip()
    sent = "".join(seg for n, seg in released if isinstance(seg, str) and n <= first_open + 1)
    assert sent == before  # all of it, at the latest once "<" arrived... and nothing more
    closes = [
        i + len("</tool_call>") for i in range(len(text)) if text.startswith("</tool_call>", i)
    ]
    call_times = [n for n, seg in released if not isinstance(seg, str)]
    # each call leaves with the last character of a closing tag (tags inside strings are content)
    assert call_times and all(t in closes for t in call_times)
    assert call_times[-1] == closes[-1]


def test_ids_are_stable_and_unique_and_input_is_one_delta():
    text = call_text("Bash", {"command": "a"}) + call_text("Bash", {"command": "b"})
    events = run(list(text), "end_turn")
    starts = [e for e in events if e["type"] == "content_block_start"
              and e["content_block"]["type"] == "tool_use"]  # fmt: skip
    ids = [e["content_block"]["id"] for e in starts]
    assert ids == [f"toolu_{RID}_1", f"toolu_{RID}_2"]
    deltas = [e for e in events if e["type"] == "content_block_delta"
              and e["delta"]["type"] == "input_json_delta"]  # fmt: skip
    assert [json.loads(d["delta"]["partial_json"]) for d in deltas] == [
        {"command": "a"},
        {"command": "b"},
    ]


def test_single_call_keeps_only_the_first():
    text = call_text("Bash", {"command": "a"}) + "\n" + call_text("Bash", {"command": "b"})
    events = list(compat_events(upstream_events([text], "end_turn"), TOOLS, True, RID))
    assert blocks_of(events) == [("tool_use", "Bash", {"command": "a"})]


def test_whitespace_only_text_opens_no_block():
    events = run(["\n\n  ", "\n"], "end_turn")
    assert [e["type"] for e in events] == [
        "message_start", "content_block_start", "content_block_delta", "content_block_delta",
        "content_block_stop", "message_delta", "message_stop",
    ]  # fmt: skip


def test_malformed_call_is_logged_naming_the_request(caplog):
    with caplog.at_level(logging.WARNING, logger="ccrelay.compat"):
        run(['<tool_call>{"name": "Nope"}</tool_call>'], "end_turn")
    assert any(RID in r.getMessage() and "unknown tool 'Nope'" in r.getMessage()
               for r in caplog.records)  # fmt: skip


def test_dropped_text_after_calls_is_logged(caplog):
    with caplog.at_level(logging.INFO, logger="ccrelay.compat"):
        run([call_text("Bash", {"command": "ls"}) + "\nThe output is: a.txt"], "end_turn")
    assert any("characters after the tool calls dropped" in r.getMessage() for r in caplog.records)


def test_blocks_after_the_turn_ended_are_dropped_and_indexes_stay_dense():
    evs = upstream_events([call_text("Bash", {"command": "ls"}) + " and more"], "end_turn")
    # an upstream thinking block after the text (index 2) must not follow the calls
    evs[-3:-3] = [
        {"type": "content_block_start", "index": 2, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "thinking_delta", "thinking": "x"}},
        {"type": "content_block_stop", "index": 2},
    ]  # fmt: skip
    out = list(compat_events(evs, TOOLS, False, RID))
    assert_valid_sequence(out)
    assert [e["content_block"]["type"] for e in out if e["type"] == "content_block_start"] == [
        "thinking", "tool_use"]  # fmt: skip


def test_upstream_indexes_are_renumbered():
    evs = upstream_events(["Hi"], "end_turn")
    for ev in evs:  # an upstream that counts from 5
        if "index" in ev:
            ev["index"] += 5
    out = list(compat_events(evs, TOOLS, False, RID))
    assert_valid_sequence(out)


@pytest.mark.parametrize("name,text,expected,stop", CASES, ids=[c[0] for c in CASES])
def test_non_streaming_response_matches_the_stream(name, text, expected, stop):
    resp = {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [{"type": "thinking", "thinking": "t", "signature": "s"},
                    {"type": "text", "text": text}],
        "stop_reason": stop, "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 2},
    }  # fmt: skip
    out = compat_response(resp, TOOLS, False, RID)
    got: list[Any] = []
    for block in out["content"]:
        if block["type"] == "text":
            got.append(("text", block["text"]))
        elif block["type"] == "tool_use":
            assert block["id"].startswith(f"toolu_{RID}_")
            got.append(("tool_use", block["name"], block["input"]))
    assert out["content"][0]["type"] == "thinking"
    assert got == expected
    want_stop = "tool_use" if any(b[0] == "tool_use" for b in expected) else stop
    assert out["stop_reason"] == want_stop
    assert resp["content"][1]["text"] == text  # the backend's response is not edited
