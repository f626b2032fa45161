"""Soak test: mixed traffic for a long time, reporting requests, errors by kind and RSS.

    .venv/bin/python bench/soak.py --minutes 60 --concurrency 16

Starts ccrelay (``main.py``) in front of a healthy scripted upstream and a fault-injecting one
(``tests/fakes/faults.py``), then runs ``--concurrency`` workers sending every client
dialect's requests, streaming and not, some of them routed to faults, while the config is
edited every ``--edit-every`` seconds (the route to the faults switched on and off). Every
``--sample`` seconds it records the relay's RSS. At the end it prints counts per dialect and
outcome, and RSS after warm-up vs at the end: RSS must stay flat. Not part of CI.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
#: an error in any dialect's answer: an error object or message (Ollama), Anthropic's error
#: event, Responses' response.failed; not the "error": null every Responses object carries
_ERROR = re.compile(r'"error":\s*[{"]|event: error|"response\.failed"')
sys.path.insert(0, str(ROOT))

from tests.fakes.faults import FAULTS_AFTER, FAULTS_BEFORE, FaultServer  # noqa: E402
from tests.fakes.upstream import FakeUpstream  # noqa: E402
from tests.test_fuzz_anthropic import answer_in_kind  # noqa: E402


def _anthropic(model: str, stream: bool) -> tuple[str, dict]:
    return "/v1/messages", {"model": model, "max_tokens": 64, "stream": stream,
                            "messages": [{"role": "user", "content": "soak"}]}  # fmt: skip


def _openai_chat(model: str, stream: bool) -> tuple[str, dict]:
    return "/v1/chat/completions", {"model": model, "stream": stream,
                                    "messages": [{"role": "user", "content": "soak"}]}  # fmt: skip


def _responses(model: str, stream: bool) -> tuple[str, dict]:
    return "/v1/responses", {"model": model, "stream": stream, "input": "soak"}


def _gemini(model: str, stream: bool) -> tuple[str, dict]:
    method = "streamGenerateContent?alt=sse" if stream else "generateContent"
    return f"/v1beta/models/{model}:{method}", {
        "contents": [{"role": "user", "parts": [{"text": "soak"}]}]
    }


def _ollama(model: str, stream: bool) -> tuple[str, dict]:
    return "/api/chat", {"model": model, "stream": stream,
                         "messages": [{"role": "user", "content": "soak"}]}  # fmt: skip


CLIENTS = {"anthropic": _anthropic, "openai_chat": _openai_chat, "openai_responses": _responses,
           "gemini": _gemini, "ollama": _ollama}  # fmt: skip


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--edit-every", type=float, default=20)
    p.add_argument("--sample", type=float, default=10)
    p.add_argument("--fault-share", type=float, default=0.1, help="share of requests to faults")
    args = p.parse_args()

    upstream = FakeUpstream()
    upstream.responder = answer_in_kind
    faults = {f: FaultServer(f, stall=5) for f in FAULTS_BEFORE + FAULTS_AFTER}
    tmp = Path(tempfile.mkdtemp(prefix="ccrelay-soak-"))
    providers: dict = {
        "healthy": {"type": "anthropic", "base_url": upstream.url, "api_key": "k-soak-1"}
    }
    models = []
    for name, server in faults.items():
        providers[name] = {"type": "anthropic", "base_url": server.url, "api_key": "k-soak-2",
                           "timeout": 2, "connect_timeout": 2}  # fmt: skip
        models.append({"match": f"fault-{name}", "to": [name, "healthy"]})
    config = {"server": {"host": "127.0.0.1"}, "provider": {"name": "healthy"},
              "providers": providers, "models": models,
              "logging": {"level": "WARNING", "dir": str(tmp / "logs")},
              "resilience": {"breaker_failures": 1_000_000}}  # fmt: skip
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    port = 19000 + random.randint(0, 999)
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--config", str(path),
                             "--port", str(port)], stdout=(tmp / "relay.out").open("wb"),
                            stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            health = requests.get(url + "/health", timeout=1).json()
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    dialects = [d for d in CLIENTS if d in health.get("dialects", {})]
    print(f"soak: {args.minutes} min, {args.concurrency} workers, dialects {dialects}", flush=True)

    outcomes: Counter[tuple[str, str]] = Counter()
    lock = threading.Lock()
    stop = time.monotonic() + args.minutes * 60
    samples: list[tuple[float, int]] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        session = requests.Session()
        while time.monotonic() < stop:
            dialect = rng.choice(dialects)
            stream = rng.random() < 0.5
            model = "claude-soak"
            if rng.random() < args.fault_share:
                model = f"fault-{rng.choice(list(faults))}"
            route, body = CLIENTS[dialect](model, stream)
            try:
                resp = session.post(url + route, json=body, timeout=60)
                text = resp.text
                if resp.status_code >= 500:
                    kind = f"http_{resp.status_code}"
                elif resp.status_code >= 400:
                    kind = f"http_{resp.status_code}"
                elif _ERROR.search(text[-2000:]):
                    kind = "stream_error"
                else:
                    kind = "ok"
            except requests.RequestException as exc:
                kind = type(exc).__name__
            with lock:
                outcomes[(dialect, kind)] += 1

    def editor() -> None:
        on = True
        while time.monotonic() < stop:
            time.sleep(args.edit_every)
            on = not on
            config["models"] = models if on else []
            tmp_path = path.with_suffix(".tmp")
            tmp_path.write_text(yaml.safe_dump(config))
            tmp_path.replace(path)

    threads = [
        threading.Thread(target=worker, args=(i,), daemon=True) for i in range(args.concurrency)
    ]
    threads.append(threading.Thread(target=editor, daemon=True))
    for t in threads:
        t.start()
    start = time.monotonic()
    while time.monotonic() < stop:
        time.sleep(args.sample)
        samples.append((time.monotonic() - start, rss_kb(proc.pid)))
        with lock:
            total = sum(outcomes.values())
        print(
            f"{samples[-1][0]:7.0f} s  requests {total:8d}  RSS {samples[-1][1] / 1024:7.1f} MB",
            flush=True,
        )
    for t in threads:
        t.join(70)
    proc.terminate()
    proc.wait(30)
    upstream.close()
    for server in faults.values():
        server.close()

    print("\noutcomes (dialect, kind): count")
    for (dialect, kind), n in sorted(outcomes.items()):
        print(f"  {dialect:18s} {kind:22s} {n}")
    warm = [kb for t, kb in samples if t >= min(60, args.minutes * 60 / 4)]
    if warm:
        print(f"\nRSS after warm-up {warm[0] / 1024:.1f} MB, at the end {warm[-1] / 1024:.1f} MB, "
              f"max {max(warm) / 1024:.1f} MB")  # fmt: skip
    print(json.dumps({"outcomes": {f"{d}/{k}": n for (d, k), n in outcomes.items()},
                      "rss_kb": samples}))  # fmt: skip
    crashed = sum(n for (_, k), n in outcomes.items() if k == "http_500")
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
