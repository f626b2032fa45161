"""The status page in a real headless Chromium: it loads with no console error, fetches only
from ccrelay, shows what the requests just made did, refreshes itself, and fits a phone.

Chromium comes from the system packages; ``tests/browser.py`` installs it when missing (as
root with apt) or the test is skipped saying why. Set ``CCRELAY_SCREENSHOTS=<folder>`` to
keep the desktop and phone screenshots for a look.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from tests.browser import Browser, find_chromium
from tests.fakes.upstream import Reply
from tests.helpers import ANSWER, MSGS, fields, sse_events, wait_for

#: a client model name that would run script if the page put it in as HTML
HOSTILE = '<img src=x onerror="window.pwned=1">'

ROWS_JS = """Array.from(document.querySelectorAll('#recent tbody tr')).map(tr => Object.assign(
  {id: tr.dataset.requestId},
  Object.fromEntries(Array.from(tr.querySelectorAll('[data-field]'),
                                td => [td.dataset.field, td.dataset.value ?? td.textContent]))))"""
USAGE_JS = """Object.fromEntries(Array.from(document.querySelectorAll('#usage tbody tr'), tr =>
  [tr.dataset.provider, Object.fromEntries(Array.from(tr.querySelectorAll('[data-field]'),
                                                      td => [td.dataset.field, td.dataset.value ?? td.textContent]))]))"""


@pytest.fixture(scope="module")
def chromium() -> str:
    path, reason = find_chromium()
    if path is None:
        pytest.skip(reason)
    return path


@pytest.fixture
def browser(chromium: str) -> Iterator[Browser]:
    b = Browser(chromium)
    yield b
    b.close()


def chat_completion(text: str, prompt: int, completion: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-up",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion},
    }  # fmt: skip


def loaded(browser: Browser) -> int:
    return int(browser.evaluate("Number(document.body.dataset.loaded || 0)"))


def n(x: str) -> int:
    return int(x.replace(",", ""))


@pytest.mark.timeout(900)  # the first run may install Chromium
def test_the_page_shows_the_requests_just_made(start_relay, upstream, upstream2, browser, tmp_path):
    config = {
        "provider": {"name": "main", "fallback_providers": ["backup", "spare"]},
        "providers": {
            "main": {"type": "anthropic", "base_url": upstream.url, "api_key": "sk-main-key-7a1b",
                     "model": "claude-up"},
            "backup": {"type": "openai", "base_url": upstream2.url + "/v1",
                       "api_key": "sk-backup-9c2d", "model": "gpt-up"},
            "spare": {"type": "anthropic", "base_url": upstream.url,
                      "api_key": "${CCRELAY_TEST_UNSET_SPARE_KEY}"},
        },
        "access_keys": [{"name": "alice", "key": "client-key-alice-1"}],
    }  # fmt: skip
    relay = start_relay(config)
    upstream.reply(
        # as big as Claude Code's: the numbers must still fit a phone's width
        Reply(json={**ANSWER, "usage": {"input_tokens": 31_245, "output_tokens": 1_207}}),
        Reply(sse=sse_events("streamed"), event_names=True),
        Reply(500, json={"type": "error", "error": {"type": "api_error", "message": "down"}}),
    )
    upstream2.reply(Reply(json=chat_completion("from backup", 20, 6)))
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="client-key-alice-1", max_retries=0)
    sdk.messages.create(model="claude-sonnet-4-5", max_tokens=5, messages=MSGS)
    with sdk.messages.stream(model="claude-haiku", max_tokens=5, messages=MSGS) as s:
        s.get_final_message()
    chat = openai.OpenAI(base_url=relay.url + "/v1", api_key="client-key-alice-1", max_retries=0)
    reply = chat.chat.completions.create(
        model=HOSTILE, messages=[{"role": "user", "content": "hi"}]
    )
    assert reply.choices[0].message.content == "from backup"
    logged = [fields(line) for line in relay.token_lines(expect=4)]
    assert [f["status"] for f in logged] == ["success", "success", "fallback", "success"]

    browser.goto(relay.url + "/")
    wait_for(lambda: loaded(browser) >= 1, what="the page's first refresh")
    rows = browser.evaluate(ROWS_JS)
    # Newest first, one row per token-log line, with the same facts.
    assert [r["id"] for r in rows] == [f["request_id"] for f in reversed(logged)]
    for row, line in zip(rows, reversed(logged), strict=True):
        assert (row["provider"], row["model"], row["client_model"], row["status"]) == (
            line["provider"], line["model"], line["client_model"], line["status"]
        )  # fmt: skip
        assert (n(row["input"]), n(row["output"])) == (
            int(line["input_tokens"]), int(line["output_tokens"])
        )  # fmt: skip
    assert [(r["provider"], n(r["input"]), n(r["output"])) for r in rows] == [
        ("backup", 20, 6), ("main", 0, 0), ("main", 11, 4), ("main", 31_245, 1_207)
    ]  # fmt: skip
    assert rows[0]["model"] == "gpt-up" and rows[0]["client_model"] == HOSTILE  # shown as text
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    assert browser.evaluate("window.pwned === undefined")

    usage = browser.evaluate(USAGE_JS)
    assert {k: (n(v["input"]), n(v["output"]), n(v["attempts"])) for k, v in usage.items()} == {
        "main": (31_256, 1_211, 3), "backup": (20, 6, 1)
    }  # fmt: skip
    bars = browser.evaluate("document.querySelectorAll('#chart svg rect.s-input').length")
    assert bars == 2  # one input bar per provider with input tokens
    text = browser.evaluate("document.body.innerText")
    assert "CCRELAY_TEST_UNSET_SPARE_KEY" in text  # spare's problem, from /health
    assert "closed (1 failures)" in text and "...7a1b ok" in text  # main's breaker and key
    assert "main \u2192 backup \u2192 spare" in text
    assert "31,245" in text and "31.2k" not in text  # exact counts on a wide screen
    assert "sk-main-key" not in text and "alice" not in text
    # spare cannot serve (its key is unset): one of three in the chain down is "degraded"
    assert browser.evaluate("document.getElementById('state').textContent") == "degraded"

    # It refreshes itself: a request made now appears without a reload.
    shown = loaded(browser)
    upstream.reply(Reply(json={**ANSWER, "usage": {"input_tokens": 5, "output_tokens": 2}}))
    sdk.messages.create(model="claude-later", max_tokens=5, messages=MSGS)
    wait_for(lambda: loaded(browser) > shown and browser.evaluate(ROWS_JS)[0]["client_model"]
             == "claude-later", what="the page showing the new request")  # fmt: skip
    # A rejected config edit shows as the last reload's result.
    config["providers"]["main"]["timeout"] = "ten"
    relay.write_config(config)
    reload_js = "document.querySelector('[data-field=reload]').textContent"
    wait_for(lambda: "expected a number" in browser.evaluate(reload_js), what="reload shown")
    assert browser.evaluate(reload_js).startswith("rejected at ")

    # Every request the page made went to ccrelay itself, and nothing went wrong on it.
    urls = browser.requested_urls()
    assert urls and all(u.startswith(relay.url + "/") for u in urls), urls
    assert {u.removeprefix(relay.url) for u in urls} == {"/", "/health", "/status"}
    assert browser.problems() == []
    _screenshots(browser, tmp_path)


def _screenshots(browser: Browser, tmp_path: Path) -> None:
    """A desktop and a phone screenshot; the phone layout must not scroll sideways."""
    shots = [browser.screenshot(tmp_path / "status-desktop.png")]
    browser.viewport(390, 844, mobile=True, scale=2)
    browser.evaluate("refresh()")
    time.sleep(0.2)  # one layout pass after the metrics change
    width = browser.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the page is wider than a phone: {width}"
    wide = browser.evaluate(
        "Array.from(document.querySelectorAll('.card, .scroll'), c => [c.id, c.scrollWidth, c.clientWidth])"
        ".filter(([, s, c]) => s > c)"
    )
    assert wide == [], f"parts that scroll sideways on a phone: {wide}"
    text = browser.evaluate("document.body.innerText")
    assert "31.2k" in text and "31,245" not in text  # short counts on a phone
    shots.append(browser.screenshot(tmp_path / "status-phone.png"))
    keep = os.environ.get("CCRELAY_SCREENSHOTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        for shot in shots:
            shutil.copy(shot, keep)
    assert all(shot.stat().st_size > 10_000 for shot in shots)  # a page, not a blank image
