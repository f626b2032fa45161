"""ccrelay on every core: gunicorn's gevent worker, two workers, the core SDK cases, live
config edits reaching every worker, hang-ups, and a graceful stop.

gunicorn runs as a real process (``python -m gunicorn -k gevent -w 2`` on the factory
``ccrelay.core.wsgi:create``); which worker answers a request is the kernel's choice, so
tests that must reach both ask ``/health`` (it names the worker's pid) on fresh connections
until both have answered.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
import requests

from tests.conftest import RelayProcess, free_port
from tests.fakes.replies import openai_chunk as chunk
from tests.fakes.upstream import Reply
from tests.helpers import (
    MSGS,
    answer,
    client,
    fields,
    sse_events,
    stream_in_background,
    tagged_plugin,
    wait_for,
    write_plugin,
)

WORKERS = 2


class Gunicorn(RelayProcess):
    """``gunicorn -k gevent -w 2 'ccrelay.core.wsgi:create("<config>")'`` on a free port,
    with RelayProcess's helpers (config edits, log, token log, /health)."""

    name = "gunicorn"
    output_name = "gunicorn.out"
    start_timeout = 30.0

    def __init__(self, tmp: Path, config: dict[str, Any], env: dict[str, str], *args: str):
        super().__init__(tmp, config, list(args), env)

    def command(self, extra_args: list[str]) -> list[str]:
        factory = f"ccrelay.core.wsgi:create({str(self.config_path)!r})"
        return [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", str(WORKERS),
                "-b", f"127.0.0.1:{self.port}", "--graceful-timeout", "20", *extra_args,
                factory]  # fmt: skip

    def environment(self, env: dict[str, str]) -> dict[str, str]:
        return {**env, "HOME": str(self.dir)}  # gunicorn's control socket goes under $HOME

    def every_worker(self, check: Callable[[dict[str, Any]], bool], what: str) -> dict[int, Any]:
        """Ask /health on fresh connections until ``WORKERS`` different workers have
        answered with a health that passes ``check``; their healths by pid."""
        passed: dict[int, Any] = {}

        def done() -> bool:
            health = requests.get(self.url + "/health", timeout=5).json()  # a new connection
            if check(health):
                passed[health["pid"]] = health
            else:
                passed.pop(health["pid"], None)
            return len(passed) == WORKERS

        wait_for(done, timeout=30, what=what)
        return passed


@pytest.fixture
def start_gunicorn(tmp_path: Path, clean_env: dict[str, str]) -> Iterator[Any]:
    started: list[Gunicorn] = []

    def start(config: dict[str, Any], *args: str, env: dict[str, str] | None = None) -> Gunicorn:
        served = Gunicorn(tmp_path, config, {**clean_env, **(env or {})}, *args)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


def openai_config(upstream_url: str) -> dict[str, Any]:
    return {
        "provider": {"name": "up"},
        "providers": {"up": {"type": "openai", "base_url": upstream_url + "/v1",
                             "api_key": "sk-test-upstream", "model": "gpt-up"}},
    }  # fmt: skip


TOOLS = [{"name": "write_file", "description": "Write a file",
          "input_schema": {"type": "object", "properties": {"path": {"type": "string"}},
                           "required": ["path"]}}]  # fmt: skip


# --- the SDK's core cases against two workers -------------------------------------------------


def test_the_core_sdk_cases_under_two_workers(start_gunicorn, upstream):
    relay = start_gunicorn(openai_config(upstream.url))
    pids = relay.every_worker(lambda h: h["status"] == "ok", "both workers answering")
    assert relay.proc.pid not in pids  # the workers, not the master, serve
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="client-key", max_retries=0)

    # text, several times over fresh connections so both workers serve some
    for i in range(6):
        upstream.reply(Reply(json={
            "id": "c", "object": "chat.completion", "created": 1, "model": "gpt-up",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": f"text {i}"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}))  # fmt: skip
        msg = client(relay).messages.create(model="claude-x", max_tokens=9, system="Be brief.",
                                            messages=MSGS)  # fmt: skip
        assert msg.content[0].text == f"text {i}" and msg.usage.input_tokens == 12
    sent = upstream.requests[0]
    assert sent.path == "/v1/chat/completions" and sent.body["model"] == "gpt-up"
    assert sent.body["messages"][0] == {"role": "system", "content": "Be brief."}

    # a stream
    upstream.reply(Reply(sse=[
        chunk({"role": "assistant", "content": ""}), chunk({"content": "Hel"}),
        chunk({"content": "lo wörld"}), chunk({}, finish="stop"),
        chunk(None, usage={"prompt_tokens": 20, "completion_tokens": 4, "total_tokens": 24}),
        "data: [DONE]\n\n"]))  # fmt: skip
    with sdk.messages.stream(model="claude-x", max_tokens=50, messages=MSGS) as s:
        assert "".join(s.text_stream) == "Hello wörld"
        assert s.get_final_message().usage.output_tokens == 4
    assert upstream.requests[-1].body["stream"] is True

    # a two-turn tool loop with streamed arguments
    args = json.dumps({"path": "hello.txt"})
    upstream.reply(Reply(sse=[
        chunk({"role": "assistant", "content": None}),
        chunk({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function",
                               "function": {"name": "write_file", "arguments": ""}}]}),
        *[chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[i:i + 4]}}]})
          for i in range(0, len(args), 4)],
        chunk({}, finish="tool_calls"), "data: [DONE]\n\n"]))  # fmt: skip
    messages: list[Any] = [{"role": "user", "content": "Create hello.txt"}]
    with sdk.messages.stream(model="claude-x", max_tokens=99, tools=TOOLS, messages=messages) as s:
        first = s.get_final_message()
    (call,) = first.content
    assert first.stop_reason == "tool_use" and call.input == {"path": "hello.txt"}
    messages += [
        {"role": "assistant", "content": [c.model_dump(exclude_none=True) for c in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id,
                                      "content": "written"}]},
    ]  # fmt: skip
    upstream.reply(Reply(sse=[chunk({"content": "Done."}), chunk({}, finish="stop"),
                              "data: [DONE]\n\n"]))  # fmt: skip
    with sdk.messages.stream(model="claude-x", max_tokens=99, tools=TOOLS, messages=messages) as s:
        assert s.get_final_message().content[0].text == "Done."
    sent = upstream.requests[-1].body["messages"]
    assert sent[1]["tool_calls"][0]["id"] == "call_abc"
    assert sent[2] == {"role": "tool", "tool_call_id": "call_abc", "content": "written"}

    # the OpenAI SDK, Chat Completions streamed
    upstream.reply(Reply(sse=[chunk({"role": "assistant", "content": "chat "}),
                              chunk({"content": "stream"}), chunk({}, finish="stop"),
                              chunk(None, usage={"prompt_tokens": 5, "completion_tokens": 2,
                                                 "total_tokens": 7}),
                              "data: [DONE]\n\n"]))  # fmt: skip
    chat = openai.OpenAI(base_url=relay.url + "/v1", api_key="client-key", max_retries=0)
    stream = chat.chat.completions.create(
        model="gpt-x", messages=[{"role": "user", "content": "hi"}], stream=True,
        stream_options={"include_usage": True},
    )  # fmt: skip
    parts = list(stream)
    assert "".join(p.choices[0].delta.content or "" for p in parts if p.choices) == "chat stream"
    assert parts[-1].usage.completion_tokens == 2

    # every worker appends to the one token log, and every worker's /status shows all of it
    lines = [fields(line) for line in relay.token_lines(expect=10)]
    assert len(lines) == 10 and {f["status"] for f in lines} == {"success"}
    statuses: dict[int, Any] = {}

    def both_status() -> bool:
        status = requests.get(relay.url + "/status", timeout=5).json()
        statuses[status["pid"]] = status
        return len(statuses) == WORKERS

    wait_for(both_status, what="/status from both workers")
    for status in statuses.values():
        assert status["requests"] == 10 and status["providers"]["up"]["success"] == 10
        assert [r["request_id"] for r in status["recent"]] == [
            f["request_id"] for f in reversed(lines)
        ]


# --- live config --------------------------------------------------------------------------


def test_a_config_edit_reaches_every_worker(start_gunicorn, upstream, upstream2):
    config = {
        "provider": {"name": "first"},
        "providers": {
            "first": {"type": "anthropic", "base_url": upstream.url, "api_key": "k1"},
            "second": {"type": "anthropic", "base_url": upstream2.url, "api_key": "k2"},
        },
    }
    relay = start_gunicorn(config)
    relay.every_worker(lambda h: h["active_provider"] == "first", "both workers on first")
    config["provider"] = {"name": "second"}
    relay.write_config(config)  # temp file + rename, as editors save
    healths = relay.every_worker(lambda h: h["active_provider"] == "second", "both on second")
    assert all(h["config"]["last_reload_at"] for h in healths.values())
    for pid in healths:
        wait_for(lambda pid=pid: f"pid {pid} | config reloaded" in relay.log())
    upstream2.default = Reply(json=answer("from second"))
    for _ in range(4):
        assert ask(relay) == "from second"
    assert upstream.requests == []

    # an invalid edit is rejected by every worker, which keep the last good config
    config["providers"]["second"]["timeout"] = "ten"
    relay.write_config(config)
    relay.every_worker(lambda h: h["config"]["last_reload_error"] is not None, "both rejected")
    assert ask(relay) == "from second"


def test_a_plugin_dropped_in_reaches_every_worker(start_gunicorn, upstream, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    config = {
        "provider": {"name": "up"},
        "providers": {"up": {"type": "anthropic", "base_url": upstream.url, "api_key": "k"}},
        "plugins": {"dirs": [str(plugins)]},
    }
    relay = start_gunicorn(config)

    def has_plugin(h: dict[str, Any]) -> bool:
        return "providers.dropped" in {p["name"] for p in h["plugins"]}

    relay.every_worker(lambda h: not has_plugin(h), "both workers without the plugin")
    write_plugin(plugins, "dropped", tagged_plugin("dropped"))
    relay.every_worker(has_plugin, "both workers with the dropped plugin")
    config["providers"]["up"]["type"] = "dropped"
    relay.write_config(config)
    relay.every_worker(lambda h: h["providers"]["up"]["type"] == "dropped", "both switched")
    upstream.default = Reply(json=answer("hello"))
    assert ask(relay) == "[dropped] hello"


def ask(relay: Any) -> str:
    return client(relay).messages.create(model="m", max_tokens=5, messages=MSGS).content[0].text


# --- hang-ups and stopping ------------------------------------------------------------------


def test_a_client_hang_up_closes_the_upstream(start_gunicorn, upstream):
    import http.client

    relay = start_gunicorn({
        "limits": {"ping_interval": 60},  # no ping write to find the hang-up instead
        "provider": {"name": "up"},
        "providers": {"up": {"type": "anthropic", "base_url": upstream.url, "api_key": "k"}},
    })  # fmt: skip
    upstream.reply(Reply(sse=sse_events("x")[:2], event_names=True, hang=20))
    conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=30)
    body = {"model": "c", "max_tokens": 5, "messages": MSGS, "stream": True}
    conn.request("POST", "/v1/messages", json.dumps(body), {"content-type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    resp.read1(100)  # the stream has started
    resp.close()
    conn.close()
    # the upstream would stay silent for 20 s: its connection closing well before shows that
    # the worker noticed the hang-up through gunicorn's socket
    assert upstream.requests[0].closed.wait(15), "upstream connection was not closed"
    assert "status=cancelled" in relay.token_lines(timeout=15)[0]

    # the same before a non-streaming answer exists
    upstream.reply(Reply(sse=sse_events("x")[:2], event_names=True, hang=20))
    conn = http.client.HTTPConnection("127.0.0.1", relay.port, timeout=30)
    body["stream"] = False
    conn.request("POST", "/v1/messages", json.dumps(body), {"content-type": "application/json"})
    wait_for(lambda: len(upstream.requests) == 2)
    time.sleep(0.3)  # let the worker start waiting for the answer
    conn.close()
    assert upstream.requests[1].closed.wait(15), "upstream connection was not closed"
    wait_for(lambda: [ln for ln in relay.token_lines(expect=2) if "status=cancelled" in ln][1:])


def test_sigterm_lets_a_stream_in_flight_finish(start_gunicorn, upstream):
    relay = start_gunicorn({"provider": {"name": "up"}, "providers": {
        "up": {"type": "anthropic", "base_url": upstream.url, "api_key": "k"}}})  # fmt: skip
    hold = threading.Event()  # the upstream sends two events, then waits for the test
    upstream.reply(Reply(sse=sse_events("finished cleanly"), event_names=True, hold=hold,
                         hold_after=2))  # fmt: skip
    t, result = stream_in_background(relay)
    wait_for(lambda: len(upstream.requests) == 1)
    relay.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "stopping: waiting for requests in flight" in relay.log())
    assert t.is_alive()
    hold.set()
    t.join(30)
    assert result["text"] == "finished cleanly"
    assert relay.proc.wait(20) == 0
    assert "status=success" in relay.token_lines()[0]


def test_streams_running_at_the_shutdown_deadline_end_with_an_error_event(start_gunicorn, upstream):
    relay = start_gunicorn({
        "server": {"shutdown_timeout": 1},
        "provider": {"name": "up"},
        "providers": {"up": {"type": "anthropic", "base_url": upstream.url, "api_key": "k"}},
    })  # fmt: skip
    upstream.reply(Reply(sse=sse_events("never finishes")[:3], event_names=True, hang=30))
    t, result = stream_in_background(relay)
    wait_for(lambda: len(upstream.requests) == 1)
    time.sleep(0.3)
    relay.proc.send_signal(signal.SIGTERM)
    t.join(15)
    assert "text" not in result
    assert "shutting down" in str(result["error"])  # an error event, not a cut connection
    assert relay.proc.wait(20) == 0
    line = relay.token_lines()[0]
    assert "status=error" in line and "shutting down" in line
    assert upstream.requests[0].closed.wait(3)


def test_the_factory_refuses_to_run_without_gevent(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", "from ccrelay.core.wsgi import create; create('x.yaml')"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "needs gunicorn's gevent worker: run gunicorn -k gevent" in proc.stderr


def test_a_bad_config_stops_gunicorn_naming_the_problem(tmp_path, clean_env):
    path = tmp_path / "config.yaml"
    path.write_text("providers: {up: {type: anthropic, base_url: 'http://h', timeout: ten}}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-k", "gevent", "-w", "1", "-b",
         f"127.0.0.1:{free_port()}", f"ccrelay.core.wsgi:create({str(path)!r})"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={**clean_env, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert proc.returncode != 0
    assert 'bad config: providers.up.timeout: expected a number, got "ten"' in proc.stderr


def test_metrics_are_summed_over_the_workers_with_a_multiprocess_dir(
    start_gunicorn, upstream, tmp_path
):
    prom = tmp_path / "prometheus"
    prom.mkdir()
    config = {
        "provider": {"name": "up"},
        "providers": {"up": {"type": "anthropic", "base_url": upstream.url, "api_key": "k"}},
        "metrics": {"enabled": True},
    }
    relay = start_gunicorn(config, env={"PROMETHEUS_MULTIPROC_DIR": str(prom)})
    relay.every_worker(lambda h: h["status"] == "ok", "both workers answering")
    upstream.default = Reply(json=answer("counted"))
    sent = 0

    def both_counted() -> bool:  # each worker writes its counters to a file named by its pid
        nonlocal sent
        assert ask(relay) == "counted"
        sent += 1
        return len(list(prom.glob("counter_*.db"))) == WORKERS

    wait_for(both_counted, what="requests served by both workers")
    relay.token_lines(expect=sent)
    pattern = re.compile(r'^ccrelay_requests_total\{[^}]*status="success"[^}]*\} (\S+)$', re.M)
    for _ in range(4):  # whichever worker answers the scrape, it reports every request
        text = requests.get(relay.url + "/metrics", timeout=5).text
        assert sum(float(v) for v in pattern.findall(text)) == sent
