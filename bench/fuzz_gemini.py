"""Fuzz the Gemini dialect: mutated real Gemini CLI requests against a running relay.

    .venv/bin/python bench/fuzz_gemini.py                 # 10,000 per backend kind
    .venv/bin/python bench/fuzz_gemini.py -n 500 --backend anthropic

Starts a scripted upstream (OpenAI Chat and/or Anthropic Messages) and one ccrelay process per
backend kind on loopback, sends ``-n`` mutated requests to each (the same mutations as
``tests/test_gemini_dialect_fuzz.py``: ``tests/fakes/gemini_fuzz.py``) and prints how many
were answered 2xx, 4xx (Gemini's error shape) and anything else, with the first failures in
full. Exit status 1 when any answer broke the promise.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from tests.conftest import RelayProcess, one_provider  # noqa: E402
from tests.fakes.gemini_fuzz import answer_in_kind, check_answer, requests_from_fixtures  # noqa: E402
from tests.fakes.upstream import FakeUpstream  # noqa: E402


def fuzz(kind: str, count: int, failures: list[str]) -> collections.Counter[str]:
    counts: collections.Counter[str] = collections.Counter()
    upstream = FakeUpstream()
    upstream.responder = answer_in_kind
    upstream.server.handle_error = lambda *a: None  # the relay closing idle keep-alives
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    relay = RelayProcess(Path(tempfile.mkdtemp(prefix=f"fuzz-{kind}-")),
                         one_provider(kind, upstream.url), [], env)  # fmt: skip
    session = requests.Session()

    @settings(max_examples=count, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=requests_from_fixtures())
    def one(case: tuple[str, str | None, dict]) -> None:
        method, alt, body = case
        query = "?alt=sse" if alt else ""
        resp = session.post(f"{relay.url}/v1beta/models/gemini-2.5-flash:{method}{query}",
                            json=body, headers={"x-goog-api-key": "k"}, timeout=60)  # fmt: skip
        try:
            counts[check_answer(method, alt, resp.status_code, resp.content)] += 1
        except (AssertionError, ValueError, KeyError, TypeError) as exc:
            counts["broken"] += 1
            if len(failures) < 5:
                failures.append(f"[{kind}] {method} alt={alt}: {exc}\n  body: {str(body)[:800]}")

    started = time.monotonic()
    try:
        one()
    finally:
        relay.stop()
        upstream.close()
    counts["seconds"] = round(time.monotonic() - started)
    return counts


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=10_000, help="requests per backend kind")
    ap.add_argument("--backend", choices=["openai", "anthropic", "both"], default="both")
    args = ap.parse_args()
    kinds = ["openai", "anthropic"] if args.backend == "both" else [args.backend]
    failures: list[str] = []
    broken = 0
    for kind in kinds:
        counts = fuzz(kind, args.n, failures)
        broken += counts["broken"]
        print(f"{kind:9} requests={args.n} 2xx={counts['2xx']} 4xx={counts['4xx']} "
              f"broken={counts['broken']} ({counts['seconds']} s)")  # fmt: skip
    for failure in failures:
        print("\n" + failure)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
