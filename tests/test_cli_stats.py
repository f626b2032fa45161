"""``ccrelay stats`` through its real entry point, against token logs written by the real
``TokenLog`` with totals known in advance: JSON, CSV, the table, --by, --since, gzip and
rotated files, malformed lines, prices from the config."""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import time
from datetime import date, timedelta

import pytest

from ccrelay.core.cli.usage import parse_since
from ccrelay.core.tokenlog import TokenLog
from tests.cli_helpers import ccrelay, write_config

PRICING = {
    "deepseek-chat": {"input": 0.27, "output": 1.10, "cache_read": 0.07},
    "gpt-5*": {"input": 1.25, "output": 10.0, "cache_write": 2.5},
}


def entry(provider="deepseek", model="deepseek-chat", status="success", inp=100, out=10,
          cache=0, write=0, ms=1000, dialect="anthropic", group="default", key="-", **extra):  # fmt: skip
    return {"request_id": "r", "provider": provider, "model": model, "client_model": "claude-x",
            "stream": True, "input_tokens": inp, "output_tokens": out, "cache_read_tokens": cache,
            "total_tokens": inp + out + cache + write, "duration_ms": ms, "status": status,
            "dialect": dialect, "route": "default", "group": group, "access_key": key, **extra}  # fmt: skip


def write_logs(folder, entries):
    """(day, fields) pairs, each written by the real TokenLog into that day's file."""
    for day, fields in entries:
        y, m, d = map(int, day.split("-"))
        log = TokenLog(clock=lambda y=y, m=m, d=d: time.mktime((y, m, d, 12, 0, 0, 0, 0, -1)))
        log.write(folder, fields)
        log.close()


@pytest.fixture
def logs(tmp_path):
    """Three days of requests with known totals, in ./logs as the config names it."""
    write_logs(tmp_path / "logs", [
        ("2026-11-01", entry(inp=1_000_000, out=100_000, cache=2_000_000, ms=100)),
        ("2026-11-01", entry(provider="grok", model="gpt-5-mini", inp=1000, out=1000,
                             write=4000, ms=300, dialect="openai_chat", key="laptop")),
        ("2026-11-02", entry(status="fallback", inp=0, out=0, ms=50, error="boom")),
        ("2026-11-02", entry(status="error", inp=0, out=0, ms=70, error="timeout")),
        ("2026-11-03", entry(inp=200, out=20, ms=900, group="qwen")),
    ])  # fmt: skip
    write_config(tmp_path / "config.yaml", {
        "providers": {"deepseek": {"type": "openai", "base_url": "http://127.0.0.1:9/v1",
                                   "api_key": "k"}},
        "logging": {"dir": "./logs"},  # relative to where ccrelay runs, as the server reads it
        "pricing": PRICING,
    })  # fmt: skip
    return tmp_path


def stats(folder, *args):
    return ccrelay("stats", "--config", "config.yaml", *args, cwd=folder)


def test_json_totals_by_provider_with_costs(logs):
    proc = stats(logs, "--by", "provider", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["by"], report["files"], report["lines"], report["malformed"]) == (
        "provider", 3, 5, 0
    )  # fmt: skip
    rows = {r["provider"]: r for r in report["rows"]}
    ds, gk = rows["deepseek"], rows["grok"]
    assert (ds["requests"], ds["errors"], ds["fallbacks"]) == (3, 1, 1)
    assert (ds["input_tokens"], ds["output_tokens"], ds["cache_read_tokens"]) == (
        1_000_200, 100_020, 2_000_000
    )  # fmt: skip
    assert ds["cost"] == pytest.approx(0.27 + 0.11 + 0.14 + (200 * 0.27 + 20 * 1.10) / 1e6)
    # The cache write is what total_tokens holds beyond the other counts: priced on its own.
    assert (gk["cache_write_tokens"], gk["median_ms"]) == (4000, 300)
    assert gk["cost"] == pytest.approx((1000 * 1.25 + 1000 * 10.0 + 4000 * 2.5) / 1e6)
    total = report["total"]
    assert (total["requests"], total["errors"], total["fallbacks"]) == (4, 1, 1)
    assert total["cost"] == pytest.approx(ds["cost"] + gk["cost"])
    assert total["median_ms"] == 300 and total["p95_ms"] == 900


@pytest.mark.parametrize(
    "by, keys",
    [
        ("day", {"2026-11-01", "2026-11-02", "2026-11-03"}),
        ("model", {"deepseek-chat", "gpt-5-mini"}),
        ("client", {"anthropic", "openai_chat"}),
        ("group", {"default", "qwen"}),
        ("key", {"-", "laptop"}),
    ],
)
def test_by_each_key(logs, by, keys):
    report = json.loads(stats(logs, "--by", by, "--json").stdout)
    assert {r[by] for r in report["rows"]} == keys
    assert sum(r["input_tokens"] for r in report["rows"]) == 1_001_200


def test_since_a_date_and_csv_for_scripts(logs):
    proc = stats(logs, "--since", "2026-11-02", "--by", "day", "--csv")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert list(rows[0]) == ["day", "requests", "errors", "fallbacks", "cancelled",
                             "input_tokens", "output_tokens", "cache_read_tokens",
                             "cache_write_tokens", "median_ms", "p95_ms", "cost"]  # fmt: skip
    assert [(r["day"], r["requests"], r["fallbacks"]) for r in rows] == [
        ("2026-11-02", "1", "1"), ("2026-11-03", "1", "0")
    ]  # fmt: skip
    assert float(rows[1]["cost"]) == pytest.approx((200 * 0.27 + 20 * 1.10) / 1e6)


def test_since_n_days_counts_today_as_one(tmp_path):
    today = date.today()
    write_logs(tmp_path / "logs", [((today - timedelta(days=n)).isoformat(), entry(inp=10 ** n))
                                   for n in range(10)])  # fmt: skip
    write_config(tmp_path / "config.yaml", {"logging": {"dir": "./logs"}, "providers": {
        "p": {"type": "openai", "base_url": "http://127.0.0.1:9/v1", "api_key": "k"}}})  # fmt: skip
    week = json.loads(stats(tmp_path, "--since", "7d", "--json").stdout)
    assert week["since"] == (today - timedelta(days=6)).isoformat()
    assert week["total"]["input_tokens"] == sum(10**n for n in range(7))
    assert json.loads(stats(tmp_path, "--since", "1w", "--json").stdout)["total"] == week["total"]
    assert json.loads(stats(tmp_path, "--since", "1d", "--json").stdout)["total"]["requests"] == 1


def test_parse_since():
    today = date(2026, 11, 30)
    assert parse_since("", today) == ""
    assert parse_since("7d", today) == "2026-11-24"
    assert parse_since("2w", today) == "2026-11-17"
    assert parse_since("2026-11-01", today) == "2026-11-01"


def test_rotated_and_gzip_files_count_and_malformed_lines_are_skipped(logs):
    folder = logs / "logs"
    day1 = folder / "proxy_2026-11-01.log"
    with open(day1, "rb") as src, gzip.open(folder / "proxy_2026-10-31.log.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)  # yesterday's file, gzip-rotated
    shutil.copy(day1, folder / "proxy_2026-10-30.log.1")  # logrotate's first rotation
    with open(folder / "proxy_2026-11-03.log", "a") as f:
        f.write("garbage\n\n2026-11-03 12:00:00 | INFO | REQUEST | request_id=x | truncated\n")
    with gzip.open(folder / "proxy_2026-10-29.log.gz", "wb") as f:
        f.write(b"\x00\xffnot a token log line\n")
    proc = stats(logs, "--by", "day")
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.splitlines()
    assert table[0].split()[:3] == ["day", "requests", "errors"]
    days = {line.split()[0]: line.split() for line in table[1:]}
    # A line's own date counts (the copies hold 2026-11-01's lines): 2 requests per copy.
    assert days["2026-11-01"][1:4] == ["6", "0", "0"]
    assert days["total"][1] == "8"
    assert table[-1] == "(3 malformed lines skipped)"
    report = json.loads(stats(logs, "--json").stdout)
    assert (report["malformed"], report["files"]) == (3, 6)


def test_the_table_for_people(logs):
    proc = stats(logs, "--by", "provider")
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["provider", "requests", "errors", "fallbacks", "input_tokens",
                                "output_tokens", "cache_read_tokens", "cache_write_tokens",
                                "median_ms", "p95_ms", "cost"]  # fmt: skip
    assert lines[1].split()[:5] == ["deepseek", "3", "1", "1", "1,000,200"]
    assert lines[-1].startswith("total")


def test_errors_exit_2(logs, tmp_path):
    assert stats(logs, "--since", "yesterday-ish").returncode == 2
    missing = stats(logs, "--log-dir", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no log folder" in missing.stderr
    assert stats(logs, "--json", "--csv").returncode == 2
    write_config(logs / "config.yaml", {"logging": {"dir": "./logs"},
                                        "pricing": {"gpt-5*": {"input": "cheap"}}})  # fmt: skip
    bad = stats(logs)
    assert bad.returncode == 2
    assert "bad config: pricing.gpt-5*.input: expected a price per million tokens" in bad.stderr


def test_no_requests_yet(tmp_path):
    (tmp_path / "logs").mkdir()
    proc = ccrelay("stats", "--log-dir", "logs", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("no requests in logs")


def test_check_shows_the_pricing_and_rejects_an_unknown_price(logs):
    proc = ccrelay("check", "--config", "config.yaml", cwd=logs)
    assert proc.returncode == 0, proc.stderr
    assert "gpt-5*:\n    input: 1.25" in proc.stdout
    write_config(logs / "config.yaml", {"providers": {"p": {"type": "openai",
        "base_url": "http://127.0.0.1:9/v1", "api_key": "k"}},
        "pricing": {"gpt-5": {"input": 1, "reasoning": 2}}})  # fmt: skip
    proc = ccrelay("check", "--config", "config.yaml", cwd=logs)
    assert proc.returncode == 2
    assert "pricing.gpt-5.reasoning: unknown key" in proc.stderr
