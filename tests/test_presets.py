"""Vendor presets: the built-in table, how a ``preset:`` section is filled and overridden,
presets from plugin folders, and a relay started from a preset."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import anthropic
import pytest
import yaml

from ccrelay.core.config import ConfigError, load_settings
from ccrelay.core.plugins import Registry
from tests.conftest import ROOT
from tests.fakes.upstream import Reply


@pytest.fixture(scope="module")
def registry() -> Registry:
    reg = Registry([ROOT / "providers"], entrypoints=False)
    reg.refresh()
    return reg


def load(tmp_path: Path, registry: Registry, providers: dict, env: dict | None = None):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": providers}))
    return load_settings(path, strategies=lambda: registry.classes,
                         dialects=lambda: registry.dialects, presets=lambda: registry.presets,
                         environ=env or {})  # fmt: skip


EXPECTED = {
    "openai", "anthropic", "gemini", "xai", "openrouter", "groq", "mistral", "moonshot",
    "dashscope", "zhipu", "minimax", "together", "fireworks", "cerebras", "vllm", "lmstudio",
    "ollama", "azure", "deepseek",
}  # fmt: skip


def test_every_named_vendor_has_a_preset(registry):
    assert EXPECTED <= set(registry.presets)
    assert registry.problems == ()
    assert "providers.presets" in {p.name for p in registry.plugins}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_preset_is_well_formed(registry, name, tmp_path):
    preset = registry.presets[name]
    assert preset.docs and all(d.startswith("https://") for d in preset.docs)
    assert preset.base_url.startswith(("https://", "http://localhost", "${"))
    assert preset.api_key == "" or re.fullmatch(r"\$\{[A-Z_]+(:-)?\}", preset.api_key)
    assert preset.model is None  # see vendors.py: no stale default models
    strategy = registry.classes[preset.type]  # every preset's strategy is built in
    assert set(preset.options) <= strategy.option_keys
    assert strategy.check_options(preset.options) == []
    # A loaded strategy takes the preset with nothing but the key set.
    var = re.findall(r"\$\{([A-Z_]+)\}", preset.api_key + preset.base_url)
    env = {v: "https://res.openai.azure.com" if "ENDPOINT" in v else "k-123" for v in var}
    settings = load(tmp_path, registry, {"p": {"preset": name}}, env)
    pcfg = settings.providers["p"]
    assert pcfg.type == preset.type and pcfg.configured


def test_preset_fills_and_the_section_overrides(tmp_path, registry):
    s = load(tmp_path, registry, {
        "ds": {"preset": "deepseek", "model": "deepseek-chat"},
        "ds2": {"preset": "deepseek", "base_url": "http://127.0.0.1:9/v1", "api_key": "${OTHER}",
                "options": {"structured_output": None, "top_k": True, "send_reasoning": False}},
        "ds3": {"preset": "deepseek", "type": "anthropic",
                "base_url": "https://api.deepseek.com/anthropic", "options": None},
    }, {"DEEPSEEK_API_KEY": "sk-ds", "OTHER": "sk-other"})  # fmt: skip
    ds, ds2, ds3 = (s.providers[n] for n in ("ds", "ds2", "ds3"))
    assert (ds.type, ds.base_url, ds.api_key, ds.model) == (
        "openai", "https://api.deepseek.com", "sk-ds", "deepseek-chat")  # fmt: skip
    assert dict(ds.options) == {"structured_output": "json_object",
                                "reasoning_field": "reasoning_content", "send_reasoning": True}  # fmt: skip
    assert (ds2.base_url, ds2.api_key) == ("http://127.0.0.1:9/v1", "sk-other")
    assert dict(ds2.options) == {"reasoning_field": "reasoning_content", "send_reasoning": False,
                                 "top_k": True}  # fmt: skip
    assert ds3.type == "anthropic" and dict(ds3.options) == {}


def test_unset_key_variable_is_reported_not_fatal(tmp_path, registry):
    s = load(tmp_path, registry, {"g": {"preset": "groq"}})
    assert not s.providers["g"].configured
    assert "GROQ_API_KEY is not set" in s.providers["g"].problem


def test_unknown_preset_lists_the_known_ones(tmp_path, registry):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, registry, {"x": {"preset": "deepsek"}})
    message = str(info.value)
    assert message.startswith("providers.x.preset: no preset named 'deepsek'")
    assert "deepseek" in message and "openrouter" in message


def test_preset_of_a_strategy_not_loaded_says_so(tmp_path, registry):
    """As when the gemini plugin is blocked (plugins.blocked): its preset stays, its strategy
    is gone."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": {"x": {"preset": "gemini"}}}))
    without = {k: v for k, v in registry.classes.items() if k != "gemini"}
    with pytest.raises(ConfigError, match="preset 'gemini' uses the"):
        load_settings(path, strategies=lambda: without, dialects=lambda: registry.dialects,
                      presets=lambda: registry.presets, environ={"GEMINI_API_KEY": "k"})  # fmt: skip


def test_unknown_keys_are_still_rejected_after_the_preset(tmp_path, registry):
    with pytest.raises(ConfigError, match="providers.x.options.no_such_option: unknown key"):
        load(tmp_path, registry, {"x": {"preset": "openai", "options": {"no_such_option": 1}}},
             {"OPENAI_API_KEY": "k"})  # fmt: skip


PRESET_PLUGIN = """
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.presets import Preset


@hookimpl
def ccrelay_register_presets(register):
    register(Preset(name="{name}", type="openai", base_url="https://api.{name}.example/v1",
                    api_key="${{{var}}}", options={{"top_k": True}}))
"""


def test_plugin_folders_add_presets_and_duplicates_are_reported(tmp_path):
    for folder, name in (("acme", "acme"), ("clash", "deepseek")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "__init__.py").write_text(
            textwrap.dedent(PRESET_PLUGIN.format(name=name, var="ACME_KEY"))
        )
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "__init__.py").write_text(
        "from ccrelay.core.hookspecs import hookimpl\n"
        "@hookimpl\ndef ccrelay_register_presets(register):\n    register({'name': 'x'})\n"
    )
    reg = Registry([ROOT / "providers", tmp_path], entrypoints=False)
    reg.refresh()
    assert reg.presets["acme"].base_url == "https://api.acme.example/v1"
    assert reg.presets["deepseek"].base_url == "https://api.deepseek.com"  # the first stays
    problems = {p.plugin: p.reason for p in reg.problems}
    assert (
        "preset 'deepseek' already registered by providers.presets" in problems["providers.clash"]
    )
    assert "not a Preset" in problems["providers.bad"]
    s = load(tmp_path, reg, {"a": {"preset": "acme"}}, {"ACME_KEY": "k"})
    assert s.providers["a"].api_key == "k" and dict(s.providers["a"].options) == {"top_k": True}


def test_relay_serves_a_preset_provider(start_relay, upstream):
    """A section that is little more than ``preset: deepseek`` serves Claude Code's SDK."""
    relay = start_relay(
        {"provider": {"name": "ds"},
         "providers": {"ds": {"preset": "deepseek", "base_url": upstream.url,
                              "model": "deepseek-chat"}}},
        env={"DEEPSEEK_API_KEY": "sk-ds-from-env"},
    )  # fmt: skip
    upstream.reply(Reply(json={
        "id": "x", "object": "chat.completion", "model": "deepseek-chat",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "{\"ok\": true}"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2}}))  # fmt: skip
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="c", max_retries=0)
    msg = sdk.messages.create(
        model="claude-haiku-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}],
        extra_body={"output_config": {"format": {"type": "json_schema",
                                                 "schema": {"type": "object"}}}},
    )  # fmt: skip
    assert msg.content[0].text == '{"ok": true}'
    sent = upstream.requests[0]
    assert sent.path == "/chat/completions"
    assert sent.headers["authorization"] == "Bearer sk-ds-from-env"
    assert sent.body["model"] == "deepseek-chat"
    assert sent.body["response_format"] == {"type": "json_object"}  # the preset's quirk
    assert relay.health()["providers"]["ds"]["type"] == "openai"
