"""Fuzz a client dialect with mutated real bodies and report what came back.

    .venv/bin/python bench/fuzz.py anthropic -n 10000

Starts ccrelay (``main.py``) in front of a scripted upstream that answers every request the
way its protocol expects, posts ``-n`` bodies mutated from the dialect's real fixtures
(``tests/fuzzing.py``: wrong types anywhere, deleted keys, wrapped values, 1 MB strings), and
prints the count per status. Any 5xx is a bug: the first few are printed with their body.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.upstream import FakeUpstream, Reply  # noqa: E402
from tests.fuzzing import WRONG_VALUES, mutate, paths  # noqa: E402
from tests.test_fuzz_anthropic import answer_in_kind  # noqa: E402

CHUNK = {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m"}


def openai_in_kind(rec) -> Reply:
    """Answers an OpenAI Chat request the way its ``stream`` flag asks."""
    if isinstance(rec.body, dict) and rec.body.get("stream") is True:
        return Reply(sse=[
            {**CHUNK, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "ok"}}]},
            {**CHUNK, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {**CHUNK, "choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1}},
            "data: [DONE]\n\n",
        ])  # fmt: skip
    return Reply(json={"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                       "choices": [{"index": 0, "finish_reason": "stop",
                                    "message": {"role": "assistant", "content": "ok"}}],
                       "usage": {"prompt_tokens": 1, "completion_tokens": 1}})  # fmt: skip


BACKENDS = {"anthropic": ("", answer_in_kind), "openai": ("/v1", openai_in_kind)}

DIALECTS = {
    # name: (path, fixture glob)
    "anthropic": ("/v1/messages?beta=true", "tests/fixtures/claude_code/0[1-7]_*.json"),
}


def random_mutation(body: dict, rng: random.Random) -> dict:
    for _ in range(rng.randint(1, 3)):
        candidates = paths(body)
        if not candidates:
            break
        how = rng.choice(["replace", "replace", "replace", "delete", "wrap"])
        body = mutate(body, rng.choice(candidates), how, rng.choice(WRONG_VALUES))
    return body


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dialect", choices=sorted(DIALECTS))
    p.add_argument("-n", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--backend", choices=sorted(BACKENDS), default="anthropic",
                   help="the strategy the mutated requests go through")  # fmt: skip
    args = p.parse_args()
    path, pattern = DIALECTS[args.dialect]
    bodies = [json.loads(f.read_text())["body"] for f in sorted(ROOT.glob(pattern))]
    upstream = FakeUpstream()
    suffix, upstream.responder = BACKENDS[args.backend]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text(
            "provider: {name: up}\n"
            f"providers: {{up: {{type: {args.backend}, base_url: '{upstream.url}{suffix}', "
            "api_key: k-1234567}}\n"
            f"logging: {{level: ERROR, dir: '{tmp}/logs'}}\n"
        )
        port = 18000 + random.randint(0, 999)
        proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--config", str(config),
                                 "--port", str(port)], stdout=subprocess.DEVNULL)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    requests.get(url + "/health", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.05)
            rng = random.Random(args.seed)
            counts: Counter[int] = Counter()
            shown = 0
            session = requests.Session()
            for i in range(args.n):
                body = random_mutation(rng.choice(bodies), rng)
                resp = session.post(url + path, json=body, timeout=60)
                counts[resp.status_code] += 1
                if resp.status_code >= 500 and shown < 5:
                    shown += 1
                    print(f"#{i}: {resp.status_code} {resp.text[:300]}")
                if (i + 1) % 1000 == 0:
                    print(f"{i + 1} sent: {dict(sorted(counts.items()))}", flush=True)
        finally:
            proc.terminate()
            proc.wait(10)
            upstream.close()
    fives = sum(n for s, n in counts.items() if s >= 500)
    summary = dict(sorted(counts.items()))
    print(f"{args.dialect} -> {args.backend}: {args.n} bodies -> {summary}; 5xx: {fives}")
    return 1 if fives else 0


if __name__ == "__main__":
    sys.exit(main())
