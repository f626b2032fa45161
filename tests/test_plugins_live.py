"""Plugins and live config together: the config's own plugin folders, blocking, code reloads.

Every test runs ccrelay as a real server, edits files the way a user would, and waits for
the event that shows the change (a log line, the next answer), never for a fixed time.
"""

from __future__ import annotations

import anthropic
import pytest
import requests

from ccrelay.core.plugins import Registry, blocked_names
from tests.conftest import ROOT, one_provider
from tests.fakes.upstream import Reply
from tests.helpers import MSGS, answer, client, tagged_plugin, wait_for, write_plugin


def ask(relay) -> str:
    return client(relay).messages.create(model="m", max_tokens=5, messages=MSGS).content[0].text


@pytest.fixture
def hello(upstream):
    """The upstream answers "hello" to every request."""
    upstream.default = Reply(json=answer("hello"))
    return upstream


def test_a_strategy_from_the_configs_own_plugin_folder_serves_from_start(
    start_relay, hello, tmp_path
):
    write_plugin(tmp_path / "plugins", "mine", tagged_plugin("mine"))
    config = one_provider("mine", hello.url)
    config["plugins"] = {"dirs": [str(tmp_path / "plugins")]}
    relay = start_relay(config)
    assert ask(relay) == "[mine] hello"
    assert relay.health()["providers"]["up"]["configured"] is True


def test_a_folder_added_to_plugins_dirs_is_scanned_and_then_watched(start_relay, hello, tmp_path):
    config = one_provider("anthropic", hello.url)
    relay = start_relay(config)
    assert ask(relay) == "hello"
    extra = tmp_path / "more-plugins"
    write_plugin(extra, "first", tagged_plugin("first"))
    config["plugins"] = {"dirs": [str(extra)]}
    config["providers"]["up"]["type"] = "first"
    relay.write_config(config)
    wait_for(lambda: relay.health()["providers"]["up"]["type"] == "first")
    assert ask(relay) == "[first] hello"
    # The new folder is watched: a plugin dropped into it is loaded without a config edit.
    write_plugin(extra, "second", tagged_plugin("second"))
    wait_for(lambda: "new provider strategies: second" in relay.log())
    config["providers"]["up"]["type"] = "second"
    relay.write_config(config)
    wait_for(lambda: relay.health()["providers"]["up"]["type"] == "second")
    assert ask(relay) == "[second] hello"


def test_a_plugin_blocked_while_running_stops_being_offered(start_relay, hello, tmp_path):
    write_plugin(tmp_path / "plugins", "mine", tagged_plugin("mine"))
    config = one_provider("mine", hello.url)
    config["plugins"] = {"dirs": [str(tmp_path / "plugins")]}
    relay = start_relay(config)
    assert ask(relay) == "[mine] hello"

    config["plugins"]["blocked"] = ["mine"]  # the folder's name; providers.mine works too
    relay.write_config(config)
    wait_for(lambda: not relay.health()["providers"]["up"]["configured"])
    health = relay.health()
    assert (
        "plugin providers.mine is blocked by plugins.blocked"
        in (health["providers"]["up"]["problem"])
    )
    assert {
        "plugin": "providers.mine",
        "reason": "blocked by plugins.blocked (it offers mine)",
    } in health["plugin_problems"]
    assert all(p["name"] != "providers.mine" for p in health["plugins"])
    with pytest.raises(anthropic.BadRequestError) as info:
        client(relay, max_retries=2).messages.create(model="m", max_tokens=5, messages=MSGS)
    assert info.value.body["error"]["type"] == "invalid_request_error"
    assert "strategy 'mine' is not loaded" in info.value.message
    assert len(hello.requests) == 1  # only the request before the block went upstream

    config["plugins"]["blocked"] = []
    relay.write_config(config)
    wait_for(lambda: relay.health()["providers"]["up"]["configured"])
    assert ask(relay) == "[mine] hello"


def test_a_built_in_strategy_can_be_blocked_and_its_providers_say_why(start_relay, hello):
    config = one_provider("anthropic", hello.url)
    config["plugins"] = {"blocked": ["providers.openai"]}
    config["providers"]["other"] = {"type": "openai", "base_url": hello.url, "api_key": "k"}
    relay = start_relay(config)
    other = relay.health()["providers"]["other"]
    assert other["configured"] is False
    assert "plugin providers.openai is blocked by plugins.blocked" in other["problem"]
    assert ask(relay) == "hello"  # the rest serves


def test_changed_plugin_code_is_imported_again_and_a_broken_change_keeps_the_last_good(
    start_relay, hello, tmp_path
):
    plugins = tmp_path / "plugins"
    files = {"__init__.py": tagged_plugin("mine", tag_from_module=True), "tag.py": "TAG = 'v1'\n"}
    write_plugin(plugins, "mine", files)
    config = one_provider("mine", hello.url)
    config["plugins"] = {"dirs": [str(plugins)]}
    relay = start_relay(config)
    assert ask(relay) == "[v1] hello"

    # Same size, same second: a bytecode cache trusting mtime and size would bring v1 back.
    write_plugin(plugins, "mine", {"tag.py": "TAG = 'v2'\n"})
    wait_for(lambda: ask(relay) == "[v2] hello", what="the new code answers")
    assert "reloaded (its code changed)" in relay.log()
    assert relay.health()["plugin_problems"] == []

    write_plugin(plugins, "mine", {"tag.py": "TAG = (\n"})  # a syntax error
    wait_for(lambda: relay.health()["plugin_problems"], what="the failure is reported")
    (problem,) = relay.health()["plugin_problems"]
    assert problem["plugin"] == "providers.mine"
    assert "SyntaxError" in problem["reason"]
    assert problem["reason"].endswith("the previous version is still serving")
    assert ask(relay) == "[v2] hello"

    write_plugin(plugins, "mine", {"tag.py": "TAG = 'v3'\n"})
    wait_for(lambda: ask(relay) == "[v3] hello")
    assert relay.health()["plugin_problems"] == []


def test_trace_hooks_logs_every_hook_call(start_relay, hello):
    relay = start_relay(one_provider("anthropic", hello.url), env={"CCRELAY_TRACE_HOOKS": "1"})
    log = relay.log()
    assert "hook ccrelay_register_providers -> ['providers.anthropic']" in log
    assert "hook ccrelay_register_dialects -> ['dialects.anthropic']" in log
    assert "-> []" not in log  # plugins without an implementation are not called


VERSION_DIALECT = """
from ccrelay.core.dialect import Dialect, Rendered, Route
from ccrelay.core.hookspecs import hookimpl


class Probe(Dialect):
    name = "probe"
    routes = (Route("/probe/version", ("GET",), "version", kind="info"),)

    def parse(self, inbound):
        raise NotImplementedError

    def render_response(self, resp, call):
        raise NotImplementedError

    def stream_renderer(self, call):
        raise NotImplementedError

    def render_error(self, err, request_id=None):
        return Rendered({"error": err.message}, err.status)

    def info(self, inbound, models):
        return Rendered({"version": VERSION})


@hookimpl
def ccrelay_register_dialects(register):
    register(Probe)
"""


def test_a_plugins_dialect_is_served_and_swapped_when_its_code_changes(
    start_relay, hello, tmp_path
):
    plugins = tmp_path / "plugins"
    write_plugin(plugins, "probe", "VERSION = 'one'\n" + VERSION_DIALECT)
    config = one_provider("anthropic", hello.url)
    config["plugins"] = {"dirs": [str(plugins)]}
    relay = start_relay(config)

    def version() -> str:
        return requests.get(relay.url + "/probe/version", timeout=10).json()["version"]

    assert version() == "one"
    assert {"name": "providers.probe", "source": f"folder:{plugins / 'probe'}",
            "strategies": ["probe"]} in relay.health()["plugins"]  # fmt: skip
    write_plugin(plugins, "probe", "VERSION = 'two'\n" + VERSION_DIALECT)
    wait_for(lambda: version() == "two")


# --- in process ------------------------------------------------------------------------


def test_a_scan_leaves_the_installed_state_alone_until_installed(tmp_path):
    write_plugin(tmp_path, "mine", tagged_plugin("mine"))
    registry = Registry([ROOT / "providers"], entrypoints=False)
    registry.refresh()
    before = registry.state
    state = registry.scan([tmp_path], ())
    assert "mine" in state.classes and "mine" not in registry.classes
    assert registry.state is before
    registry.install(state)
    assert registry.get("mine") is state.instances["mine"]
    assert set(registry.dialects) == set(before.dialects)  # strategies and dialects together


def test_unchanged_folders_keep_their_module_across_scans(tmp_path):
    write_plugin(tmp_path, "mine", tagged_plugin("mine"))
    registry = Registry([tmp_path], entrypoints=False)
    first = registry.refresh()
    second = registry.refresh()
    assert second.classes["mine"] is first.classes["mine"]
    write_plugin(tmp_path, "mine", tagged_plugin("mine", "changed"))
    third = registry.refresh()
    assert third.classes["mine"] is not first.classes["mine"]


def test_blocked_names_take_a_folder_name_or_a_plugin_name():
    assert blocked_names(["mine", "providers.other", "some_entry_point"]) == {
        "mine", "providers.mine", "providers.other", "some_entry_point", "providers.some_entry_point",
    }  # fmt: skip
