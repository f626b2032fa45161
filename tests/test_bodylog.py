"""The body log: what each request carried, switchable live, keys never written; old logs pruned."""

from __future__ import annotations

import json
import time

import anthropic
import requests

from tests.fakes.upstream import Reply

ANSWER = {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
          "content": [{"type": "text", "text": "the answer"}], "stop_reason": "end_turn",
          "stop_sequence": None, "usage": {"input_tokens": 7, "output_tokens": 3}}  # fmt: skip
KEY = "sk-upstream-secret-99"


def config(url: str) -> dict:
    return {"provider": {"name": "up"},
            "providers": {"up": {"type": "anthropic", "base_url": url, "api_key": KEY,
                                 "model": "up-model"}}}  # fmt: skip


def records(relay, expect: int) -> list[dict]:
    deadline = time.monotonic() + 5
    while True:
        found = [json.loads(line) for f in sorted(relay.log_dir.glob("bodies_*.jsonl"))
                 for line in f.read_text().splitlines()]  # fmt: skip
        if len(found) >= expect or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_bodies_are_recorded_when_switched_on_live(start_relay, upstream):
    cfg = config(upstream.url)
    relay = start_relay(cfg)
    cfg["logging"]["bodies"] = {"enabled": True, "max_bytes": 100_000}
    upstream.default = Reply(json=ANSWER)
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="client-key-1", max_retries=0)
    sdk.messages.create(model="c", max_tokens=5, messages=[{"role": "user", "content": "off"}])
    relay.write_config(cfg)
    deadline = time.monotonic() + 10
    while not records(relay, 0):
        sdk.messages.create(model="c", max_tokens=5,
                            messages=[{"role": "user", "content": f"on, and my key is {KEY}"}])  # fmt: skip
        assert time.monotonic() < deadline, "logging.bodies.enabled did not apply live"
        time.sleep(0.1)
    rec = records(relay, 1)[0]
    assert rec["dialect"] == "anthropic" and rec["path"] == "/v1/messages"
    assert "on, and my key is ***" in rec["received"]
    (attempt,) = rec["attempts"]
    assert attempt["provider"] == "up" and attempt["model"] == "up-model"
    assert json.loads(attempt["sent"])["model"] == "up-model"
    assert "the answer" in attempt["answer"] and "the answer" in rec["sent_back"]
    assert rec["request_id"] in relay.token_lines(2)[-1]
    everything = "".join(f.read_text() for f in relay.log_dir.glob("*"))
    assert KEY not in everything and "client-key-1" not in everything


def test_a_stream_is_recorded_whole(start_relay, upstream):
    cfg = config(upstream.url)
    cfg["logging"] = {"dir": "logs", "bodies": {"enabled": True}}
    relay = start_relay(cfg)
    msg = {**ANSWER, "content": [], "stop_reason": None}
    upstream.reply(Reply(event_names=True, sse=[
        {"type": "message_start", "message": msg},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "stre"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "amed"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ]))  # fmt: skip
    body = {
        "model": "c",
        "max_tokens": 5,
        "stream": True,
        "messages": [{"role": "user", "content": "x"}],
    }
    text = requests.post(relay.url + "/v1/messages", json=body, timeout=10).text
    relay.log_dir = relay.dir / "logs"
    (rec,) = records(relay, 1)
    assert '"text":"stre"' in rec["attempts"][0]["answer"].replace(" ", "")
    assert rec["sent_back"] == text


def test_old_logs_are_deleted_after_keep_days(start_relay, upstream, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for name in ("proxy_2020-01-01.log", "proxy_2020-01-02.log.gz", "bodies_2020-01-01.jsonl"):
        (logs / name).write_text("old\n")
    today = time.strftime("%Y-%m-%d")
    (logs / f"proxy_{today}.log").write_text("")
    cfg = config(upstream.url)
    cfg["logging"] = {"dir": str(logs), "keep_days": 30}
    relay = start_relay(cfg)
    upstream.default = Reply(json=ANSWER)
    requests.post(relay.url + "/v1/messages",
                  json={"model": "c", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]},
                  timeout=10)  # fmt: skip
    relay.token_lines(1)
    assert sorted(p.name for p in logs.iterdir()) == [f"proxy_{today}.log"]
