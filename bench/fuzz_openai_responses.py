"""Fuzz the OpenAI Responses dialect: mutated Codex and SDK bodies against a running relay.

    .venv/bin/python bench/fuzz_openai_responses.py                 # 10,000 per backend kind
    .venv/bin/python bench/fuzz_openai_responses.py --examples 500 --backends anthropic

For each backend kind (an OpenAI-Chat-compatible and an Anthropic-compatible scripted upstream
that answer any request) one ccrelay process is started; hypothesis mutates the seed bodies
(``tests/responses_helpers.py``: wrong types at any depth, fields removed or added, huge
strings, made-up types and roles) and every answer is checked: a 2xx response (or a stream
that ends in one), or a 4xx in OpenAI's error shape, never a 5xx. Prints the counts by status,
the most frequent 400 messages (numbers in paths folded to ``N``), and every violation; exits 1
if there was one. Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.conftest import FIXTURES, RelayProcess  # noqa: E402
from tests.responses_helpers import (  # noqa: E402
    AnyRequestUpstream,
    answer_problem,
    mutations,
    relay_config,
    seed_bodies,
)

_NUMBER = re.compile(r"\.\d+(?=[.:])")


def run(backend: str, examples: int, upstream: AnyRequestUpstream) -> list[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix=f"ccrelay-fuzz-{backend}-"))
    relay = RelayProcess(tmp, relay_config(backend, upstream.url), [], env)
    statuses: collections.Counter[str] = collections.Counter()
    messages: collections.Counter[str] = collections.Counter()
    problems: list[str] = []
    session = requests.Session()
    started = time.monotonic()

    @settings(max_examples=examples, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(body=mutations(seed_bodies(FIXTURES)))
    def one(body: object) -> None:
        resp = session.post(relay.url + "/v1/responses", json=body, timeout=60)
        kind = resp.headers.get("content-type", "").split(";")[0]
        statuses[f"{resp.status_code} {kind}"] += 1
        if resp.status_code == 400:
            message = resp.json()["error"]["message"]
            messages[_NUMBER.sub(".N", message.split(";")[0])[:90]] += 1
        try:
            problem = answer_problem(resp.status_code, resp.headers, resp.text, body)
        except Exception as exc:  # noqa: BLE001 - an unreadable answer is a finding too
            problem = f"unreadable answer ({exc!r}): {resp.text[:300]}"
        if problem:
            problems.append(problem)

    try:
        one()
    finally:
        relay.stop()
    took = time.monotonic() - started
    print(f"\n== backend {backend}: {sum(statuses.values())} requests in {took:.0f} s")
    for status, n in sorted(statuses.items()):
        print(f"  {n:6d}  {status}")
    print("  most frequent 400s:")
    for message, n in messages.most_common(15):
        print(f"  {n:6d}  {message}")
    print(f"  violations: {len(problems)}")
    for problem in problems[:20]:
        print(f"    {problem}")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--examples", type=int, default=10_000, help="per backend kind")
    ap.add_argument("--backends", default="openai,anthropic")
    args = ap.parse_args()
    upstream = AnyRequestUpstream()
    try:
        problems = [p for b in args.backends.split(",") for p in run(b, args.examples, upstream)]
    finally:
        upstream.close()
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
