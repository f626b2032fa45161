"""Start-up and shutdown of ``python main.py``."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import requests
import yaml

from tests.conftest import ROOT, free_port, one_provider
from tests.fakes.upstream import Reply
from tests.helpers import sse_events, stream_in_background, wait_for


def run_main(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd,
                          capture_output=True, text=True, timeout=30)  # fmt: skip


def test_bad_config_prints_one_line_and_exits_2(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": {"grok": {"type": "openai", "base_url": "http://h/v1",
                                                           "api_key": "k", "timeout": "ten"}}}))  # fmt: skip
    proc = run_main("--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        'ccrelay: bad config: providers.grok.timeout: expected a number, got "ten"'
    )


def test_missing_config_exits_2(tmp_path):
    proc = run_main("--config", str(tmp_path / "nope.yaml"), cwd=tmp_path)
    assert proc.returncode == 2 and "file not found" in proc.stderr


def test_config_from_environment_variable(tmp_path, upstream, clean_env):
    path = tmp_path / "elsewhere.yaml"
    path.write_text(yaml.safe_dump(one_provider("anthropic", upstream.url)))
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--port", str(port)],
                            env={**clean_env, "CCRELAY_CONFIG": str(path)}, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:

        def health():
            try:
                return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).json()
            except requests.ConnectionError:
                return None

        wait_for(lambda: health() is not None, timeout=15)
        assert health()["config"]["path"] == str(path)
    finally:
        proc.terminate()
        proc.wait(10)


def test_help(tmp_path):
    proc = run_main("--help", cwd=tmp_path)
    assert proc.returncode == 0
    for flag in ("--config", "--host", "--port"):
        assert flag in proc.stdout


def test_sigterm_lets_the_stream_in_flight_finish(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url))
    hold = threading.Event()  # the upstream sends two events, then waits for the test
    upstream.reply(Reply(sse=sse_events("finished cleanly"), event_names=True, hold=hold,
                         hold_after=2))  # fmt: skip
    t, result = stream_in_background(relay)
    wait_for(lambda: len(upstream.requests) == 1)
    relay.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "stopping: no new connections" in relay.log())
    assert t.is_alive()
    hold.set()
    t.join(30)
    assert result["text"] == "finished cleanly"
    assert relay.proc.wait(10) == 0
    assert "status=success" in relay.token_lines()[0]


def test_streams_still_running_at_the_shutdown_deadline_end_with_an_error_event(
    start_relay, upstream
):
    config = one_provider("anthropic", upstream.url)
    config["server"] = {"shutdown_timeout": 1}
    relay = start_relay(config)
    upstream.reply(Reply(sse=sse_events("never finishes")[:3], event_names=True, hang=30))
    t, result = stream_in_background(relay)
    wait_for(lambda: len(upstream.requests) == 1)
    time.sleep(0.3)
    relay.proc.send_signal(signal.SIGTERM)
    t.join(10)
    assert "text" not in result
    assert "shutting down" in str(result["error"])  # the SDK raised on the error event
    assert relay.proc.wait(10) == 0
    line = relay.token_lines()[0]
    assert "status=error" in line and "shutting down" in line
    assert upstream.requests[0].closed.wait(3)


def test_a_bad_option_value_stops_start_up_naming_its_path(tmp_path):
    config = one_provider("openai", "http://127.0.0.1:9", options={"max_stop_sequences": "x"})
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = run_main("--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == (
        'ccrelay: bad config: providers.up.options.max_stop_sequences: expected an integer, got "x"'
    )


def test_a_strategy_missing_from_every_plugin_folder_is_still_a_config_error(tmp_path):
    path = tmp_path / "config.yaml"
    config = one_provider("nowhere", "http://127.0.0.1:9")
    config["plugins"] = {"dirs": [str(tmp_path / "plugins")]}
    path.write_text(yaml.safe_dump(config))
    proc = run_main("--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert "providers.up.type: no provider strategy named 'nowhere'" in proc.stderr
