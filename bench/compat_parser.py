"""What tool compat mode's stream transformer costs per upstream text delta.

    .venv/bin/python bench/compat_parser.py [--repeat 7]

Each scenario streams canonical text deltas through ``compat_events`` (the function the
relay wraps around a compat attempt's events) and through a bare pass-through generator;
the difference, divided by the number of deltas, is what compat mode adds per delta. The
best of ``--repeat`` runs is reported (the machine is shared; the minimum is the least
disturbed). For scale: the OpenAI strategy's own conversion of one chunk, SSE parse to
canonical event, is measured the same way; and so is the request side (``compat_request``,
once per attempt) beside the cost of one JSON round trip of the same body.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

from ccrelay.core.compat import compat_events, compat_request  # noqa: E402
from ccrelay.core.jsonutil import dumps, loads  # noqa: E402
from ccrelay.core.provider import SSEEvent  # noqa: E402
from ccrelay.providers.openai.stream import convert_stream  # noqa: E402

TOOLS = frozenset({"Write", "Bash", "Read", "Edit"})


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def events(deltas: list[str]) -> list[dict[str, Any]]:
    evs: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "m", "type": "message", "role": "assistant",
         "model": "m", "content": [], "stop_reason": None, "stop_sequence": None,
         "usage": {"input_tokens": 1, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]  # fmt: skip
    evs += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": d}}
        for d in deltas
    ]
    evs += [
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]  # fmt: skip
    return evs


def passthrough(evs: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from evs


def best(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


PROSE = (
    "The function reads the configuration once per request, so a reload never changes a "
    "request in flight; the watcher swaps the snapshot atomically. "
) * 40
CODE = (
    'if (a < b && c > d) { return <div className="x">{items.map(i => <Item key={i} />)}</div>; }\n'
) * 40
FILE = "".join(f'line {i}: print(\\"hello <world>\\")\\n\\t' for i in range(600))
CALL = (
    'I will write it.\n<tool_call>\n{"name": "Write", "arguments": {"file_path": "/tmp/x.py", '
    f'"content": "{FILE}"}}}}\n</tool_call>'
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rows = []
    for name, text, size in [
        ("prose, 4-char deltas", PROSE, 4),
        ("prose, 24-char deltas", PROSE, 24),
        ("code full of < and >, 4-char deltas", CODE, 4),
        ("a Write call with a 22 kB file, 3-char deltas", CALL, 3),
        ("the same call, 64-char deltas", CALL, 64),
    ]:
        evs = events(pieces(text, size))
        n = len(evs) - 5
        base = best(lambda evs=evs: list(passthrough(evs)), args.repeat)
        comp = best(lambda evs=evs: list(compat_events(evs, TOOLS, False, "bench")), args.repeat)
        out = list(compat_events(evs, TOOLS, False, "bench"))
        calls = sum(1 for e in out if e.get("content_block", {}).get("type") == "tool_use")
        rows.append((name, n, (comp - base) / n * 1e6, calls))

    # For scale: the OpenAI strategy turning one SSE chunk into a canonical event.
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
             "choices": [{"index": 0, "delta": {"content": "abcd"}, "finish_reason": None}]}  # fmt: skip
    sse = [SSEEvent("", json.dumps(chunk))] * 2000
    sse.append(SSEEvent("", json.dumps({**chunk, "choices": [{"index": 0, "delta": {},
                                                               "finish_reason": "stop"}]})))  # fmt: skip
    strat = best(lambda: list(convert_stream(sse, "m", "r", {})), args.repeat) / len(sse) * 1e6

    print(f"{'scenario':48} {'deltas':>7} {'us/delta added':>15} {'calls':>6}")
    for name, n, us, calls in rows:
        print(f"{name:48} {n:7d} {us:15.2f} {calls:6d}")
    print(f"{'(scale) openai strategy, us per chunk':48} {len(sse):7d} {strat:15.2f}")

    # Once per attempt: the request side, with Claude Code's 24 tools and a tool result.
    fixture = (
        ROOT / "tests" / "fixtures" / "claude_code" / "02_messages_turn2_tool_result_stream.json"
    )
    body = json.loads(fixture.read_text())["body"]
    per_req = best(lambda: [compat_request(body) for _ in range(50)], args.repeat) / 50 * 1e6
    parse = best(lambda: [loads(dumps(body)) for _ in range(50)], args.repeat) / 50 * 1e6
    print(f"\ncompat_request, Claude Code turn 2 (24 tools): {per_req:.0f} us per attempt")
    print(f"(scale) encoding and decoding that body's JSON once: {parse:.0f} us")


if __name__ == "__main__":
    main()
