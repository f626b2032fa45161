"""The token log: file per local day, whole lines under concurrency, no secrets."""

from __future__ import annotations

import threading
import time

from ccrelay.core.tokenlog import FIELDS, TokenLog


def _fields(**kw):
    base = dict.fromkeys(FIELDS, 0)
    base.update(
        request_id="r",
        provider="p",
        model="m",
        client_model="c",
        stream=True,
        status="success",
        dialect="anthropic",
        route="default",
        group="default",
        access_key="-",
    )
    base.update(kw)
    return base


def test_line_format_matches_the_documented_example(tmp_path):
    log = TokenLog(clock=lambda: time.mktime((2026, 11, 22, 15, 30, 45, 0, 0, -1)))
    log.write(tmp_path, _fields(request_id="4f1c2a9e", provider="deepseek", model="deepseek-chat",
                                client_model="claude-opus-4-8", input_tokens=2310, output_tokens=412,
                                total_tokens=2722, duration_ms=5120))  # fmt: skip
    assert (tmp_path / "proxy_2026-11-22.log").read_text() == (
        "2026-11-22 15:30:45 | INFO | REQUEST | request_id=4f1c2a9e | provider=deepseek | "
        "model=deepseek-chat | client_model=claude-opus-4-8 | stream=true | input_tokens=2310 | "
        "output_tokens=412 | cache_read_tokens=0 | total_tokens=2722 | duration_ms=5120 | "
        "status=success | dialect=anthropic | route=default | group=default | access_key=-\n"
    )


def test_a_new_file_starts_at_local_midnight(tmp_path):
    now = [time.mktime((2026, 11, 22, 23, 59, 59, 0, 0, -1))]
    log = TokenLog(clock=lambda: now[0])
    log.write(tmp_path, _fields(request_id="before"))
    now[0] += 2
    log.write(tmp_path, _fields(request_id="after"))
    assert "request_id=before" in (tmp_path / "proxy_2026-11-22.log").read_text()
    assert "request_id=after" in (tmp_path / "proxy_2026-11-23.log").read_text()
    assert "after" not in (tmp_path / "proxy_2026-11-22.log").read_text()


def test_error_text_cannot_break_the_line(tmp_path):
    log = TokenLog()
    log.write(tmp_path, _fields(status="error", error="line one\nline | two"))
    (text,) = [p.read_text() for p in tmp_path.glob("proxy_*.log")]
    assert text.count("\n") == 1 and "error=line one line / two" in text


def test_concurrent_writers_never_interleave(tmp_path):
    log = TokenLog()
    long = "x" * 5000

    def worker(n: int) -> None:
        for i in range(200):
            log.write(tmp_path, _fields(request_id=f"{n}-{i}", error=long))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    (path,) = tmp_path.glob("proxy_*.log")
    lines = path.read_text().splitlines()
    assert len(lines) == 1600
    assert all(line.endswith(f"error={long}") and line.count("request_id=") == 1 for line in lines)
