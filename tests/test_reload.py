"""Live config: edits switch providers, bad edits are rejected, streams survive.

How fast an edit applies is not measured here (a busy CI machine would make that flaky):
each test waits, with a generous deadline, for the event that shows the edit took effect.
"""

from __future__ import annotations

import os
import signal
import threading

import anthropic
import requests

from tests.fakes.upstream import Reply
from tests.helpers import ANSWER, MSGS, client, sse_events, stream_in_background, two, wait_for


def test_editing_the_config_switches_provider(start_relay, upstream, upstream2):
    config = two(upstream.url, upstream2.url)
    relay = start_relay(config)
    config["provider"] = {"name": "second"}
    relay.write_config(config)  # temp file + rename, as editors save
    wait_for(lambda: "active provider first -> second" in relay.log())
    assert relay.health()["active_provider"] == "second"
    upstream2.reply(Reply(json=ANSWER))
    msg = client(relay).messages.create(model="c", max_tokens=5, messages=MSGS)
    assert msg.content[0].text == "from second"
    assert upstream.requests == []
    assert "active provider first -> second" in relay.log()


def test_in_place_write_is_picked_up_too(start_relay, upstream, upstream2):
    config = two(upstream.url, upstream2.url)
    relay = start_relay(config)
    text = relay.config_path.read_text().replace("name: first", "name: second")
    with open(relay.config_path, "w") as f:  # truncate and write, as some editors do
        f.write(text)
    wait_for(lambda: relay.health()["active_provider"] == "second")


def test_invalid_edit_is_rejected_and_the_last_good_config_stays(start_relay, upstream, upstream2):
    config = two(upstream.url, upstream2.url)
    relay = start_relay(config)
    config["providers"]["first"]["timeout"] = "ten"
    relay.write_config(config)
    wait_for(lambda: relay.health()["config"]["last_reload_error"] is not None)
    health = relay.health()
    assert (
        health["config"]["last_reload_error"]
        == 'providers.first.timeout: expected a number, got "ten"'
    )
    assert "config reload rejected" in relay.log()
    upstream.reply(Reply(json=ANSWER))
    assert client(relay).messages.create(model="c", max_tokens=5, messages=MSGS).content[0].text
    assert len(upstream.requests) == 1  # still served by the old config's active provider


def test_edit_during_a_stream_keeps_the_stream_and_serves_the_next_request(
    start_relay, upstream, upstream2
):
    config = two(upstream.url, upstream2.url)
    relay = start_relay(config)
    # The stream's upstream sends two events, then waits until the test lets it finish.
    hold = threading.Event()
    upstream.reply(Reply(sse=sse_events("slow stream"), event_names=True, hold=hold, hold_after=2))
    upstream2.reply(Reply(json=ANSWER))
    t, result = stream_in_background(relay)
    wait_for(lambda: len(upstream.requests) == 1)
    config["provider"] = {"name": "second"}
    relay.write_config(config)
    wait_for(lambda: relay.health()["active_provider"] == "second")
    # A request made after the edit is served by the new provider while the stream that
    # started before the edit is still running on its old snapshot.
    msg = client(relay).messages.create(model="c", max_tokens=5, messages=MSGS)
    assert msg.content[0].text == "from second"
    assert t.is_alive() and "text" not in result
    hold.set()
    t.join(30)
    assert result["text"] == "slow stream"


def test_sighup_reloads(start_relay, upstream, upstream2):
    config = two(upstream.url, upstream2.url)
    relay = start_relay(config)
    relay.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "config reloaded" in relay.log())


def test_dotenv_change_is_picked_up(start_relay, upstream, upstream2):
    config = two(upstream.url, upstream2.url)
    config["providers"]["first"]["api_key"] = "${CCRELAY_TEST_DOTENV_KEY}"
    relay = start_relay(config)
    assert relay.health()["providers"]["first"]["configured"] is False
    (relay.dir / ".env").write_text("CCRELAY_TEST_DOTENV_KEY=sk-from-dotenv\n")
    wait_for(lambda: relay.health()["providers"]["first"]["configured"])
    upstream.reply(Reply(json=ANSWER))
    requests.post(
        relay.url + "/v1/messages",
        json={"model": "c", "max_tokens": 5, "messages": MSGS},
        timeout=5,
    )
    assert upstream.requests[0].headers["x-api-key"] == "sk-from-dotenv"
    assert "sk-from-dotenv" not in relay.log()
    assert os.environ.get("CCRELAY_TEST_DOTENV_KEY") is None


def test_sdk_stream_error_type_is_anthropic(start_relay, upstream, upstream2):
    # Both providers overloaded: a streaming client gets the error as a status before any byte.
    relay = start_relay(two(upstream.url, upstream2.url))
    upstream.reply(
        Reply(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    )
    upstream2.reply(
        Reply(529, json={"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    )
    try:
        with client(relay).messages.stream(model="c", max_tokens=5, messages=MSGS) as s:
            s.get_final_message()
    except anthropic.APIStatusError as exc:
        assert exc.status_code == 529
        assert exc.body["error"]["type"] == "overloaded_error"
    else:
        raise AssertionError("expected an error")


def test_a_bad_option_value_edit_is_rejected_and_the_last_good_config_stays(
    start_relay, upstream, upstream2
):
    config = two(upstream.url, upstream2.url)
    relay = start_relay(config)
    config["providers"]["first"]["options"] = {"auth": "basic"}
    relay.write_config(config)
    wait_for(lambda: relay.health()["config"]["last_reload_error"])
    assert relay.health()["config"]["last_reload_error"] == (
        'providers.first.options.auth: expected one of x-api-key, bearer, got "basic"'
    )
    upstream.reply(Reply(json=ANSWER))
    assert client(relay).messages.create(model="c", max_tokens=5, messages=MSGS).content[0].text
    assert upstream.requests[0].headers["x-api-key"] == "k1"  # the old options, not a 500


def test_the_working_directorys_env_is_read_after_the_environment_and_before_the_configs(
    start_relay, upstream, upstream2, tmp_path
):
    project = tmp_path / "project"  # where ccrelay is started; the config is elsewhere
    project.mkdir()
    (project / ".env").write_text("CCRELAY_T_KEY=from-cwd\nCCRELAY_T_MODEL=from-cwd\n")
    (tmp_path / ".env").write_text(
        "CCRELAY_T_KEY=from-config\nCCRELAY_T_MODEL=from-config\nCCRELAY_T_HDR=from-config\n"
    )
    config = two(upstream.url, upstream2.url)
    config["providers"]["first"].update(
        api_key="${CCRELAY_T_KEY}", model="${CCRELAY_T_MODEL}",
        headers={"x-from": "${CCRELAY_T_HDR}"},
    )  # fmt: skip
    relay = start_relay(config, cwd=project, env={"CCRELAY_T_MODEL": "from-env"})
    upstream.reply(Reply(json=ANSWER))
    client(relay).messages.create(model="c", max_tokens=5, messages=MSGS)
    sent = upstream.requests[0]
    assert sent.headers["x-api-key"] == "from-cwd"
    assert sent.body["model"] == "from-env"
    assert sent.headers["x-from"] == "from-config"
    # The working directory's .env is watched like the config's.
    (project / ".env").write_text("CCRELAY_T_KEY=changed-in-cwd\n")
    wait_for(lambda: "provider first changed (api_key" in relay.log())
    upstream.reply(Reply(json=ANSWER))
    client(relay).messages.create(model="c", max_tokens=5, messages=MSGS)
    assert upstream.requests[1].headers["x-api-key"] == "changed-in-cwd"
