"""Usage statistics from generated token logs with known totals."""

from __future__ import annotations

import gzip
import random
import time

import pytest

from ccrelay.core.stats import log_files, read_lines, summarize, table
from ccrelay.core.tokenlog import TokenLog

PRICING = {"deepseek-chat": {"input": 0.27, "output": 1.10, "cache_read": 0.07},
           "gpt-5*": {"input": 1.25, "output": 10.0}}  # fmt: skip


def write_logs(directory, entries):
    """entries: (day, fields) written through the real TokenLog (one file per day)."""
    for day, fields in entries:
        y, m, d = map(int, day.split("-"))
        log = TokenLog(clock=lambda y=y, m=m, d=d: time.mktime((y, m, d, 12, 0, 0, 0, 0, -1)))
        log.write(directory, fields)
        log.close()


def line(
    provider="deepseek",
    model="deepseek-chat",
    status="success",
    inp=100,
    out=10,
    cache=0,
    ms=1000,
    dialect="anthropic",
    group="default",
    key="-",
    error=None,
) -> dict:
    f = {"request_id": "r", "provider": provider, "model": model, "client_model": "claude-x",
         "stream": True, "input_tokens": inp, "output_tokens": out, "cache_read_tokens": cache,
         "total_tokens": inp + out + cache, "duration_ms": ms, "status": status,
         "dialect": dialect, "route": "default", "group": group, "access_key": key}  # fmt: skip
    if error:
        f["error"] = error
    return f


def test_totals_by_provider_with_costs(tmp_path):
    write_logs(tmp_path, [
        ("2026-11-01", line(inp=1_000_000, out=100_000, cache=2_000_000, ms=100)),
        ("2026-11-01", line(provider="grok", model="gpt-5-mini", inp=1000, out=1000, ms=300)),
        ("2026-11-02", line(status="fallback", ms=50, error="provider deepseek: boom | x")),
        ("2026-11-02", line(status="error", ms=70, error="timeout")),
        ("2026-10-01", line(inp=999)),  # before --since
    ])  # fmt: skip
    report = summarize(read_lines(log_files(tmp_path, "2026-11-01")), by="provider",
                       since="2026-11-01", pricing=PRICING)  # fmt: skip
    ds = report.rows["deepseek"].as_dict()
    assert (ds["requests"], ds["errors"], ds["fallbacks"]) == (2, 1, 1)
    assert ds["input_tokens"] == 1_000_200 and ds["cache_read_tokens"] == 2_000_000
    assert ds["cost"] == pytest.approx(0.27 + 0.11 + 0.14 + 2 * (100 * 0.27 + 10 * 1.10) / 1e6)
    gk = report.rows["grok"].as_dict()
    assert gk["cost"] == pytest.approx((1000 * 1.25 + 1000 * 10.0) / 1e6)
    assert report.total.as_dict()["requests"] == 3 and report.malformed == 0
    text = table(report)
    assert "deepseek" in text and "grok" in text and "total" in text and "cost" in text


def test_by_day_client_and_key_and_percentiles(tmp_path):
    entries = [("2026-11-03", line(ms=ms, dialect="openai_chat", key="cc")) for ms in range(1, 101)]
    entries += [("2026-11-04", line(dialect="gemini", group="qwen"))]
    write_logs(tmp_path, entries)
    lines = list(read_lines(log_files(tmp_path, "")))
    day = summarize(lines, by="day").rows["2026-11-03"].as_dict()
    assert (day["median_ms"], day["p95_ms"]) == (51, 96)
    assert set(summarize(lines, by="client").rows) == {"openai_chat", "gemini"}
    assert set(summarize(lines, by="key").rows) == {"cc", "-"}
    assert set(summarize(lines, by="group").rows) == {"default", "qwen"}


def test_old_format_gzip_and_malformed_lines(tmp_path):
    old = ("2026-11-05 10:00:00 | INFO | REQUEST | request_id=a | provider=p | model=m | "
           "client_model=c | stream=false | input_tokens=5 | output_tokens=6 | "
           "cache_read_tokens=0 | total_tokens=11 | duration_ms=9 | status=success\n")  # fmt: skip
    with gzip.open(tmp_path / "proxy_2026-11-05.log.gz", "wt") as f:
        f.write(old + "garbage line\n\n" + old.replace("input_tokens=5", "input_tokens=x"))
    report = summarize(read_lines(log_files(tmp_path, "")), by="client")
    assert report.rows["-"].as_dict()["input_tokens"] == 5
    assert report.malformed == 2
    assert "2 malformed lines skipped" in table(report)


def test_a_million_lines_parse_fast_enough_to_be_useful(tmp_path):
    """Not a timing assertion: it checks the totals of a large generated log are exact."""
    rng = random.Random(7)
    sample = [line(inp=rng.randint(1, 1000), out=rng.randint(1, 100)) for _ in range(50)]
    log = TokenLog(clock=lambda: time.mktime((2026, 11, 6, 12, 0, 0, 0, 0, -1)))
    for i in range(20_000):
        log.write(tmp_path, sample[i % 50])
    log.close()
    report = summarize(read_lines(log_files(tmp_path, "")), by="day")
    assert report.total.requests == 20_000
    assert report.total.input_tokens == 400 * sum(s["input_tokens"] for s in sample)
