"""Fuzz ccrelay's Ollama routes: mutated realistic bodies against the running server, counted.

    .venv/bin/python bench/fuzz_ollama.py              # 10000 bodies per backend kind
    .venv/bin/python bench/fuzz_ollama.py -n 500 --kind anthropic

Starts one ccrelay process per backend kind (OpenAI-Chat-compatible, Anthropic-compatible)
in front of an upstream that answers everything well (``tests/fakes/answering.py``), posts
bodies drawn from ``tests/fakes/ollama_bodies.py`` and checks each answer as the property test
does (never a 5xx, errors in Ollama's shape, well-formed NDJSON). Unlike the test it does not
stop at the first problem: it prints the counts per route and status, and each kind of problem
with one body that caused it. Exit status 1 when any answer had a problem.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from tests.conftest import RelayProcess, one_provider  # noqa: E402
from tests.fakes.answering import AnsweringUpstream  # noqa: E402
from tests.fakes.ollama_bodies import bodies, verdict  # noqa: E402


def run(kind: str, n: int, upstream: AnsweringUpstream, workdir: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    config = one_provider(kind, upstream.url, model="up-model")
    config["logging"] = {"level": "ERROR", "dir": str(workdir / f"logs-{kind}")}
    (workdir / kind).mkdir()
    relay = RelayProcess(workdir / kind, config, [], env)
    counts: collections.Counter[tuple[str, int]] = collections.Counter()
    problems: dict[str, tuple[int, str, Any]] = {}
    session = requests.Session()
    started = time.monotonic()

    @settings(max_examples=n, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=bodies)
    def fuzz(case: tuple[str, dict[str, Any]]) -> None:
        route, body = case
        resp = session.post(relay.url + route, json=body, timeout=60)
        counts[(route, resp.status_code)] += 1
        problem = verdict(resp.status_code, resp.headers.get("content-type", ""), resp.content)
        if problem != "ok":
            key = problem.split(":", 1)[0]
            entry = problems.get(key)
            problems[key] = (entry[0] + 1 if entry else 1, problem, entry[2] if entry else body)

    try:
        fuzz()
    finally:
        relay.stop()
    return {"kind": kind, "seconds": round(time.monotonic() - started, 1),
            "counts": counts, "problems": problems}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="bodies per backend kind")
    parser.add_argument("--kind", choices=["openai", "anthropic"], action="append")
    args = parser.parse_args()
    upstream = AnsweringUpstream()
    bad = 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for kind in args.kind or ["openai", "anthropic"]:
                result = run(kind, args.n, upstream, Path(tmp))
                total = sum(result["counts"].values())
                print(f"\n== {kind} backend: {total} requests in {result['seconds']} s")
                for (route, status), count in sorted(result["counts"].items()):
                    print(f"   {route:14} {status}  {count}")
                for count, problem, body in result["problems"].values():
                    bad += count
                    print(f"   PROBLEM x{count}: {problem}\n     body: {json.dumps(body)[:500]}")
                if not result["problems"]:
                    print("   no problems: every answer 2xx or an Ollama-shaped 4xx")
    finally:
        upstream.close()
    print(f"\nupstream requests served: {upstream.count}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
