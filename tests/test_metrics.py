"""GET /metrics after known requests, parsed with Prometheus' own parser."""

from __future__ import annotations

import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes.upstream import Reply

BODY = {"model": "claude-x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
ANSWER = {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
          "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn",
          "stop_sequence": None, "usage": {"input_tokens": 7, "output_tokens": 3,
                                           "cache_read_input_tokens": 11}}  # fmt: skip


def config(first: str, second: str, **extra) -> dict:
    return {
        "provider": {"name": "first", "fallback_providers": ["second"]},
        "providers": {"first": {"type": "anthropic", "base_url": first, "api_key": "k-first-1"},
                      "second": {"type": "anthropic", "base_url": second, "api_key": "k-second-2",
                                 "model": "m2"}},
        **extra,
    }  # fmt: skip


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(metrics: dict, name: str, **labels) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_what_the_token_log_counts(start_relay, upstream, upstream2):
    upstream.default = Reply(503, json={"type": "error", "error": {"type": "overloaded_error",
                                                                    "message": "busy"}})  # fmt: skip
    upstream2.default = Reply(json=ANSWER)
    relay = start_relay(config(upstream.url, upstream2.url))
    for _ in range(2):
        assert requests.post(relay.url + "/v1/messages", json=BODY, timeout=10).status_code == 200
    resp = requests.get(relay.url + "/metrics", timeout=5)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    m = samples(resp.text)
    common = {"dialect": "anthropic", "group": "default"}
    assert value(m, "ccrelay_requests_total", provider="first", model="claude-x",
                 status="fallback", **common) == 2  # fmt: skip
    assert value(m, "ccrelay_requests_total", provider="second", model="m2",
                 status="success", **common) == 2  # fmt: skip
    assert value(m, "ccrelay_tokens_total", provider="second", model="m2", kind="input") == 14
    assert value(m, "ccrelay_tokens_total", provider="second", model="m2", kind="cache_read") == 22
    assert value(m, "ccrelay_upstream_ttfb_seconds_count", provider="second") == 2
    assert value(m, "ccrelay_overhead_seconds_count", stream="false") == 2
    assert value(m, "ccrelay_requests_in_flight") == 0
    assert value(m, "ccrelay_breaker_open", provider="first") == 0
    assert "k-first" not in resp.text and "k-second" not in resp.text


def test_metrics_can_be_switched_off_and_sit_behind_access_keys(start_relay, upstream, upstream2):
    cfg = config(upstream.url, upstream2.url,
                 access_keys=[{"name": "ops", "key": "ops-key-12345678"}])  # fmt: skip
    relay = start_relay(cfg)
    assert requests.get(relay.url + "/metrics", timeout=5).status_code == 401
    auth = {"authorization": "Bearer ops-key-12345678"}
    assert requests.get(relay.url + "/metrics", headers=auth, timeout=5).status_code == 200
    cfg["metrics"] = {"enabled": False}
    relay.write_config(cfg)
    for _ in range(200):
        if requests.get(relay.url + "/metrics", headers=auth, timeout=5).status_code == 404:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("metrics stayed on after metrics.enabled: false")
