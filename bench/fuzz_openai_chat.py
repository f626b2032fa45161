"""Fuzz the Chat Completions dialect: ten thousand broken bodies, answers counted by status.

    .venv/bin/python bench/fuzz_openai_chat.py            # 10,000 bodies to each backend kind
    .venv/bin/python bench/fuzz_openai_chat.py -n 500     # fewer

Each body is a Qwen Code fixture or a small request using most of the dialect, broken by
``tests/fakes/mutations.py`` (wrong types anywhere, missing and unknown fields, huge strings).
It goes to one ccrelay process per backend kind (an OpenAI-compatible and an
Anthropic-compatible scripted upstream that always answer correctly), so every 5xx is
ccrelay's own. Prints the counts per status and writes any 5xx or malformed answer to
``bench/results/fuzz_failures.jsonl``. Everything runs on 127.0.0.1 and stops by itself.
Needs the test extra (hypothesis).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.conftest import RelayProcess, one_provider  # noqa: E402
from tests.fakes.mutations import SMALL, mutated, respond  # noqa: E402
from tests.fakes.upstream import FakeUpstream  # noqa: E402


def _base(name: str) -> dict:
    path = ROOT / "tests" / "fixtures" / "qwen" / name
    body = json.loads(path.read_text())["body"]
    for msg in body["messages"]:
        for call in msg.get("tool_calls") or ():
            call["function"]["arguments"] = '{"file_path": "hello.txt", "content": "hi"}'
    return body


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--examples", type=int, default=10_000)
    args = parser.parse_args()
    bases = [SMALL, _base("01_turn1_tool_call.json"), _base("02_turn2_after_tool_result.json")]
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    counts: dict[str, collections.Counter[str]] = {}
    failures_path = ROOT / "bench" / "results" / "fuzz_failures.jsonl"
    failures_path.parent.mkdir(exist_ok=True)
    failures = 0
    fakes: list[FakeUpstream] = []
    relays: list[tuple[str, RelayProcess]] = []
    tmp = Path(tempfile.mkdtemp(prefix="ccrelay-fuzz-"))
    try:
        for kind in ("openai", "anthropic"):
            fake = FakeUpstream()
            fake.responder = respond
            fakes.append(fake)
            config = one_provider(kind, fake.url)
            config["limits"] = {"max_body_bytes": 2_000_000}
            config["logging"] = {"level": "ERROR", "dir": str(tmp / kind / "logs")}
            (tmp / kind).mkdir()
            relays.append((kind, RelayProcess(tmp / kind, config, [], env)))
            counts[kind] = collections.Counter()
        session = requests.Session()
        started = time.monotonic()

        @settings(max_examples=args.examples, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(body=st.sampled_from(bases).flatmap(mutated))
        def run(body: object) -> None:
            nonlocal failures
            for kind, relay in relays:
                # The fake upstream records every request; keep its memory flat.
                fakes[0].requests.clear()
                fakes[1].requests.clear()
                try:
                    resp = session.post(relay.url + "/v1/chat/completions", json=body, timeout=30)
                except requests.RequestException as exc:
                    counts[kind][f"no answer ({type(exc).__name__})"] += 1
                    failures += 1
                    continue
                status = resp.status_code
                ok = status < 500
                if 400 <= status < 500:
                    try:
                        err = resp.json()["error"]
                        ok = set(err) == {"message", "type", "param", "code"}
                    except (ValueError, KeyError, TypeError):
                        ok = False
                counts[kind][str(status) if ok else f"{status} (bad)"] += 1
                if not ok:
                    failures += 1
                    with failures_path.open("a") as f:
                        f.write(json.dumps({"backend": kind, "status": status,
                                            "answer": resp.text[:2000],
                                            "body": body})[:100_000] + "\n")  # fmt: skip

        run()
        elapsed = time.monotonic() - started
    finally:
        for _, relay in relays:
            relay.stop()
        for fake in fakes:
            fake.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{args.examples} bodies to each backend kind in {elapsed:.0f} s")
    for kind, counter in counts.items():
        print(f"  {kind:9s} " + ", ".join(f"{k}: {v}" for k, v in sorted(counter.items())))
    print(f"5xx or malformed answers: {failures}"
          + (f" (see {failures_path})" if failures else ""))  # fmt: skip
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
