"""Plugin discovery: folders dropped in at run time and installed entry points."""

from __future__ import annotations

import sys

import pytest
import requests

from ccrelay.core.plugins import Registry
from tests.conftest import ROOT, one_provider
from tests.fakes.upstream import Reply
from tests.helpers import answer, client, tagged_plugin, wait_for, write_plugin

ANSWER = answer("hello")


def test_builtin_strategies_register_through_the_hook():
    registry = Registry([ROOT / "providers"], entrypoints=False)
    registry.refresh()
    assert {"openai", "anthropic"} <= set(registry.classes)
    assert {p.name for p in registry.plugins} >= {"providers.openai", "providers.anthropic"}
    assert registry.problems == ()


def test_builtin_dialects_are_the_modules_without_a_leading_underscore():
    # A module or package in core/dialects/ named _x is a helper the dialects share, not a
    # plugin: it is never registered (nor reported as a plugin without hooks).
    package = ROOT / "core" / "dialects"
    helpers = [p.stem for p in package.glob("_*.py") if p.stem != "__init__"]
    assert helpers, "core/dialects/ holds no _helper module: this test checks nothing"
    expected = {
        f"dialects.{p.stem}"
        for p in package.iterdir()
        if not p.name.startswith("_") and (p.suffix == ".py" or (p / "__init__.py").is_file())
    }
    registry = Registry([], entrypoints=False)
    registry.refresh()
    builtin = {p.name for p in registry.plugins if p.source.startswith("builtin:")}
    assert builtin == expected
    assert all(p.strategies for p in registry.plugins if p.name in expected)
    assert not any(name.endswith(tuple(helpers)) for name in builtin)
    assert registry.problems == ()


def test_broken_plugins_are_reported_and_the_rest_work(tmp_path):
    write_plugin(tmp_path, "good", tagged_plugin("good"))
    write_plugin(tmp_path, "importerror", "import no_such_module_anywhere\n")
    write_plugin(
        tmp_path, "abstract",
        "from ccrelay.core.hookspecs import hookimpl\nfrom ccrelay.core.provider import Provider\n"
        "class Half(Provider):\n    name = 'half'\n"
        "    def convert_request(self, req, ctx): pass\n"
        "@hookimpl\ndef ccrelay_register_providers(register):\n    register(Half)\n",
    )  # fmt: skip
    write_plugin(tmp_path, "dup", tagged_plugin("good"))
    write_plugin(
        tmp_path,
        "typo",
        "from ccrelay.core.hookspecs import hookimpl\n@hookimpl\ndef ccrelay_register_provider(register):\n    pass\n",
    )
    registry = Registry([tmp_path], entrypoints=False)
    registry.refresh()
    assert set(registry.classes) == {"good"}
    problems = {p.plugin: p.reason for p in registry.problems}
    assert "No module named 'no_such_module_anywhere'" in problems["providers.importerror"]
    assert "does not implement: convert_response, stream" in problems["providers.abstract"]
    assert (
        "'good' already registered by providers.dup" in problems["providers.good"]
        or "'good' already registered by providers.good" in problems["providers.dup"]
    )
    assert "ccrelay_register_provider" in problems["providers.typo"]


def test_folder_dropped_in_while_running_is_usable_without_restart(start_relay, upstream, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    config = one_provider("anthropic", upstream.url)
    relay = start_relay(config, "--providers-dir", str(plugins))
    write_plugin(plugins, "dropped", tagged_plugin("dropped"))
    wait_for(lambda: "new provider strategies: dropped" in relay.log())
    config["providers"]["up"]["type"] = "dropped"
    relay.write_config(config)
    wait_for(lambda: relay.health()["providers"]["up"]["type"] == "dropped")
    health = relay.health()
    up = health["providers"]["up"]
    assert (up["type"], up["configured"], up["model"]) == ("dropped", True, None)
    assert any(p["strategies"] == ["dropped"] for p in health["plugins"])
    upstream.reply(Reply(json=ANSWER))
    msg = client(relay).messages.create(
        model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert msg.content[0].text == "[dropped] hello"


def test_broken_folder_dropped_in_is_reported_and_serving_goes_on(start_relay, upstream, tmp_path):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    relay = start_relay(one_provider("anthropic", upstream.url), "--providers-dir", str(plugins))
    write_plugin(plugins, "broken", "raise RuntimeError('boom at import')\n")
    wait_for(lambda: relay.health()["plugin_problems"])
    assert relay.health()["plugin_problems"] == [
        {"plugin": "providers.broken", "reason": "RuntimeError: boom at import"}
    ]
    upstream.reply(Reply(json=ANSWER))
    resp = requests.post(relay.url + "/v1/messages", json={"model": "m", "max_tokens": 5,
                         "messages": [{"role": "user", "content": "hi"}]}, timeout=5)  # fmt: skip
    assert resp.status_code == 200 and resp.json()["content"][0]["text"] == "hello"


@pytest.fixture
def installed_dist(tmp_path):
    """A real installed distribution on sys.path whose metadata declares a ccrelay entry point."""
    site = tmp_path / "site"
    pkg = site / "ccrelay_tagged"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(tagged_plugin("tagged"))
    dist = site / "ccrelay_tagged-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ccrelay-tagged\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ccrelay]\ntagged = ccrelay_tagged\n")
    sys.path.insert(0, str(site))
    yield site
    sys.path.remove(str(site))
    sys.modules.pop("ccrelay_tagged", None)


def test_installed_entry_point_registers_in_process(installed_dist):
    registry = Registry([], entrypoints=True)
    registry.refresh()
    assert "tagged" in registry.classes
    (info,) = [p for p in registry.plugins if p.name == "tagged"]
    assert info.source == "entrypoint:ccrelay-tagged"


def test_installed_entry_point_serves_through_the_relay(start_relay, upstream, installed_dist):
    config = one_provider("tagged", upstream.url)
    relay = start_relay(config, env={"PYTHONPATH": str(installed_dist)})
    upstream.reply(Reply(json=ANSWER))
    msg = client(relay).messages.create(
        model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )
    assert msg.content[0].text == "[tagged] hello"
    assert upstream.requests[0].path == "/v1/messages"
