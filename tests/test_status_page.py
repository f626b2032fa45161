"""The status page's data and document: the token log read as it grows, ``GET /status``, and
``GET /`` answering browsers with the page while Ollama and Claude Code probes stay as they were.

The page itself, in a real browser, is tested in ``test_status_page_browser.py``.
"""

from __future__ import annotations

import os
import re
import time

import anthropic
import pytest
import requests

from ccrelay.core.statuspage_log import TodayLog, parse_line
from ccrelay.core.tokenlog import TokenLog
from tests.conftest import one_provider
from tests.fakes.upstream import Reply
from tests.helpers import ANSWER, MSGS, answer, client, sse_events, wait_for

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def line(**over: object) -> dict:
    fields = {"request_id": "r1", "provider": "up", "model": "m", "client_model": "c",
              "stream": False, "input_tokens": 10, "output_tokens": 5, "cache_read_tokens": 2,
              "total_tokens": 17, "duration_ms": 120, "status": "success",
              "dialect": "anthropic", "route": "default", "group": "default",
              "access_key": "alice"}  # fmt: skip
    fields.update(over)
    return fields


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def noon(day: int = 3) -> float:
    return time.mktime((2026, 3, day, 12, 0, 0, 0, 0, -1))


# --- reading the token log ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (
            "2026-03-03 12:00:01 | INFO | REQUEST | request_id=a1 | provider=up | model=m | "
            "client_model=claude x=y | stream=true | input_tokens=3 | output_tokens=4 | "
            "cache_read_tokens=0 | total_tokens=7 | duration_ms=15 | status=success | "
            "dialect=openai_chat | route=default | group=team | access_key=bob",
            {"time": "2026-03-03 12:00:01", "request_id": "a1", "provider": "up", "model": "m",
             "client_model": "claude x=y", "stream": True, "input_tokens": 3, "output_tokens": 4,
             "cache_read_tokens": 0, "total_tokens": 7, "duration_ms": 15, "status": "success",
             "dialect": "openai_chat", "route": "default", "group": "team"},
        ),
        # a line of the first format: the fields after status are missing
        (
            "2026-03-03 12:00:01 | INFO | REQUEST | request_id=a1 | provider=up | model=m | "
            "client_model=c | stream=false | input_tokens=1 | output_tokens=2 | "
            "cache_read_tokens=0 | total_tokens=3 | duration_ms=9 | status=error | error=boom",
            {"time": "2026-03-03 12:00:01", "request_id": "a1", "provider": "up", "model": "m",
             "client_model": "c", "stream": False, "input_tokens": 1, "output_tokens": 2,
             "cache_read_tokens": 0, "total_tokens": 3, "duration_ms": 9, "status": "error",
             "dialect": "-", "route": "-", "group": "-"},
        ),
        ("2026-03-03 12:00:01 | INFO | something else", None),
        ("not a log line at all", None),
        ("2026-03-03 12:00:01 | INFO | REQUEST | provider=up | input_tokens=x | status=ok", None),
        ("2026-03-03 12:00:01 | INFO | REQUEST | provider=up", None),
    ],
)  # fmt: skip
def test_a_line_parses_by_field_name(text, expect):
    assert parse_line(text) == expect


def test_the_access_key_and_the_error_text_are_not_kept():
    entry = parse_line(
        "2026-03-03 12:00:01 | INFO | REQUEST | request_id=a1 | provider=up | model=m | "
        "client_model=c | stream=false | input_tokens=1 | output_tokens=2 | cache_read_tokens=0 "
        "| total_tokens=3 | duration_ms=9 | status=error | dialect=anthropic | route=default | "
        "group=default | access_key=alice | error=the client sent 'my secret plan'"
    )
    assert entry is not None
    assert "alice" not in str(entry) and "secret plan" not in str(entry)


def test_totals_per_provider_and_the_last_requests_newest_first(tmp_path):
    clock = Clock(noon())
    log, today = TokenLog(clock), TodayLog(clock, keep=3)
    log.write(tmp_path, line(request_id="r1", provider="a", status="fallback", input_tokens=0,
                             output_tokens=0, cache_read_tokens=0, total_tokens=0))  # fmt: skip
    log.write(tmp_path, line(request_id="r1", provider="b"))
    log.write(tmp_path, line(request_id="r2", provider="b", status="error", total_tokens=0,
                             input_tokens=0, output_tokens=0, cache_read_tokens=0))  # fmt: skip
    log.write(tmp_path, line(request_id="r3", provider="b", duration_ms=80))
    day = today.read(tmp_path)
    assert day["day"] == "2026-03-03"
    assert day["file"] == os.path.join(str(tmp_path), "proxy_2026-03-03.log")
    assert day["providers"]["a"]["attempts"] == 1 and day["providers"]["a"]["fallback"] == 1
    b = day["providers"]["b"]
    assert (b["attempts"], b["success"], b["error"]) == (3, 2, 1)
    assert (b["input_tokens"], b["output_tokens"], b["cache_read_tokens"]) == (20, 10, 4)
    assert b["total_tokens"] == 34 and b["success_ms"] == 200
    assert day["requests"] == 3  # the fallback attempt is part of request r1
    assert [r["request_id"] for r in day["recent"]] == ["r3", "r2", "r1"]  # keep=3, newest first
    assert day["problem"] is None and day["malformed"] == 0


def test_only_what_was_added_is_read_and_a_half_written_line_waits(tmp_path):
    clock = Clock(noon())
    log, today = TokenLog(clock), TodayLog(clock)
    log.write(tmp_path, line(request_id="r1"))
    assert today.read(tmp_path)["requests"] == 1
    path = tmp_path / "proxy_2026-03-03.log"
    whole = path.read_bytes()
    with open(path, "ab") as f:  # another worker mid-write: half a line, no newline yet
        f.write(whole[:40])
    day = today.read(tmp_path)
    assert day["requests"] == 1 and day["malformed"] == 0
    with open(path, "ab") as f:
        f.write(whole[40:])
    day = today.read(tmp_path)
    assert day["requests"] == 2 and day["providers"]["up"]["input_tokens"] == 20
    assert today.read(tmp_path)["requests"] == 2  # nothing new: nothing counted twice


@pytest.mark.parametrize("chunk", [1000, 256])  # 256: some lines are longer than a chunk
def test_a_long_log_read_in_small_chunks_loses_no_line(tmp_path, chunk):
    clock = Clock(noon())
    log = TokenLog(clock)
    for i in range(500):
        log.write(tmp_path, line(request_id=f"r{i}", client_model="m" * (i % 300)))
    today = TodayLog(clock, keep=500, chunk=chunk)  # lines end anywhere in a chunk, some span two
    day = today.read(tmp_path)
    assert day["requests"] == 500 and day["malformed"] == 0
    assert [r["request_id"] for r in day["recent"]] == [f"r{i}" for i in reversed(range(500))]
    assert day["providers"]["up"]["input_tokens"] == 5000


def test_local_midnight_starts_a_new_day_and_the_last_requests_stay(tmp_path):
    clock = Clock(noon(3))
    log, today = TokenLog(clock), TodayLog(clock)
    log.write(tmp_path, line(request_id="yesterday"))
    assert today.read(tmp_path)["requests"] == 1
    clock.now = noon(4)
    day = today.read(tmp_path)
    assert day["day"] == "2026-03-04" and day["requests"] == 0 and day["providers"] == {}
    assert [r["request_id"] for r in day["recent"]] == ["yesterday"]
    log.write(tmp_path, line(request_id="today", provider="other"))
    day = today.read(tmp_path)
    assert list(day["providers"]) == ["other"] and day["recent"][0]["request_id"] == "today"


def test_a_replaced_log_is_read_again_and_a_new_folder_starts_over(tmp_path):
    clock = Clock(noon())
    log, today = TokenLog(clock), TodayLog(clock)
    log.write(tmp_path, line(request_id="r1"))
    log.write(tmp_path, line(request_id="r2"))
    assert today.read(tmp_path)["requests"] == 2
    path = tmp_path / "proxy_2026-03-03.log"
    kept = path.read_text().splitlines()[1] + "\n"
    tmp = tmp_path / "new"
    tmp.write_text(kept)
    os.replace(tmp, path)  # rotated or edited by hand
    day = today.read(tmp_path)
    assert day["requests"] == 1 and day["providers"]["up"]["attempts"] == 1
    other = tmp_path / "elsewhere"
    day = today.read(other)  # logging.dir changed on reload
    assert day["requests"] == 0 and day["recent"] == [] and day["problem"] is None


def test_an_unreadable_log_is_a_problem_not_an_error(tmp_path):
    clock = Clock(noon())
    (tmp_path / "proxy_2026-03-03.log").mkdir()  # a folder where the file should be
    day = TodayLog(clock).read(tmp_path)
    assert day["problem"].startswith("cannot read the token log")
    assert day["requests"] == 0


# --- the routes, through a real relay -------------------------------------------------------


@pytest.fixture
def relay(start_relay, upstream):
    config = one_provider("anthropic", upstream.url, model="up-model")
    config["access_keys"] = [{"name": "alice", "key": "client-key-alice-1"}]
    return start_relay(config)


def test_status_lists_the_requests_just_made_and_is_open_like_health(relay, upstream):
    upstream.reply(Reply(json={**ANSWER, "usage": {"input_tokens": 31, "output_tokens": 7}}))
    upstream.reply(Reply(sse=sse_events("streamed"), event_names=True))
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="client-key-alice-1", max_retries=0)
    sdk.messages.create(model="claude-one", max_tokens=5, messages=MSGS)
    with sdk.messages.stream(model="claude-two", max_tokens=5, messages=MSGS) as s:
        assert s.get_final_message().content[0].text == "streamed"
    relay.token_lines(expect=2)
    resp = requests.get(relay.url + "/status", timeout=5)  # no access key
    assert resp.status_code == 200 and resp.headers["cache-control"] == "no-store"
    status = resp.json()
    assert status["pid"] == relay.proc.pid
    first, second = status["recent"][1], status["recent"][0]
    assert (first["provider"], first["model"], first["client_model"]) == (
        "up", "up-model", "claude-one"
    )  # fmt: skip
    assert (first["input_tokens"], first["output_tokens"], first["stream"]) == (31, 7, False)
    assert (second["client_model"], second["input_tokens"], second["output_tokens"]) == (
        "claude-two", 11, 4
    )  # fmt: skip
    assert second["stream"] is True and second["status"] == "success"
    assert status["providers"]["up"]["input_tokens"] == 42
    assert status["providers"]["up"]["success"] == 2 and status["requests"] == 2
    assert "alice" not in resp.text and "client-key" not in resp.text
    assert requests.get(relay.url + "/team/status", timeout=5).status_code == 404  # no such group


def test_a_browser_gets_the_page_and_every_other_probe_what_it_got_before(relay):
    page = requests.get(relay.url + "/", headers={"accept": BROWSER_ACCEPT}, timeout=5)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.text.startswith("<!doctype html>")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "'unsafe-inline'" not in csp and csp.count("'sha256-") == 2  # one script, one style
    assert page.headers["cache-control"] == "no-store"
    # Nothing is loaded from elsewhere: no URL but the SVG namespace, no src= or href= but
    # the inline icon that keeps browsers from asking for /favicon.ico.
    assert re.findall(r"https?://[^\s\"']+", page.text) == ["http://www.w3.org/2000/svg"]
    assert re.findall(r"(?:src|href)=\"([^\"]*)\"", page.text) == ["data:,"]
    head = requests.head(relay.url + "/", headers={"accept": BROWSER_ACCEPT}, timeout=5)
    assert head.status_code == 200 and head.text == ""
    # Ollama apps and Claude Code's preflight: plain text, as before
    for accept in (None, "*/*", "text/plain"):
        headers = {"accept": accept} if accept else {}
        plain = requests.get(relay.url + "/", headers=headers, timeout=5)
        assert plain.text == "Ollama is running", accept
        assert requests.head(relay.url + "/", headers=headers, timeout=5).status_code == 200
    as_json = requests.get(relay.url + "/", headers={"accept": "application/json"}, timeout=5)
    assert as_json.json() == {"name": "ccrelay", "status": "ok"}


def test_health_names_the_worker_and_the_last_reload(start_relay, upstream):
    config = one_provider("anthropic", upstream.url, model="up-model")
    relay = start_relay(config)
    health = relay.health()
    assert health["pid"] == relay.proc.pid and health["started"] <= time.time()
    assert health["config"]["last_reload_at"] is None
    before = time.time()
    config["providers"]["up"]["model"] = "other-model"
    relay.write_config(config)
    wait_for(lambda: relay.health()["config"]["last_reload_at"])
    assert relay.health()["config"]["last_reload_at"] >= before - 1
    upstream.reply(Reply(json=answer("after the edit")))
    assert client(relay).messages.create(model="c", max_tokens=5, messages=MSGS).content
    assert upstream.requests[0].body["model"] == "other-model"
