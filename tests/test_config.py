"""Config loading and validation, with plain data (no server)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from ccrelay.core.config import ConfigError, load_settings
from ccrelay.core.dialect import Dialect
from ccrelay.core.dotenv import dotenv_paths
from ccrelay.core.options import check_option
from ccrelay.core.provider import Provider
from ccrelay.providers.anthropic import AnthropicProvider
from ccrelay.providers.openai import OpenAIProvider

FIXTURES = Path(__file__).parent / "fixtures"


class _Openai(Provider):
    name = "openai"
    base_url_suffixes = ("/v1", "/openai")
    option_keys = frozenset({"max_output_tokens"})
    convert_request = convert_response = stream = None  # type: ignore[assignment]


class _Anthropic(_Openai):
    name = "anthropic"
    base_url_suffixes = ("/anthropic",)
    option_keys = frozenset()


STRATEGIES = {"openai": _Openai, "anthropic": _Anthropic}


def load(
    tmp_path: Path,
    config: object,
    env: dict[str, str] | None = None,
    dotenv: str = "",
    strategies: dict[str, type[Provider]] | None = None,
    **kw,
):
    path = tmp_path / "config.yaml"
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    kw.setdefault("env_files", (tmp_path / ".env",))  # never the .env of the test runner's cwd
    return load_settings(path, strategies=lambda: strategies or STRATEGIES, environ=env or {}, **kw)


BASE = {
    "provider": {"name": "deepseek", "fallback_providers": ["grok"]},
    "providers": {
        "deepseek": {"type": "anthropic", "base_url": "https://api.deepseek.com/anthropic",
                     "api_key": "${DEEPSEEK_API_KEY}", "model": "deepseek-chat", "timeout": 600},
        "grok": {"type": "openai", "base_url": "https://api.x.ai/v1", "api_key": "${GROK_API_KEY}",
                 "model": "grok-4"},
    },
}  # fmt: skip


def test_the_documented_config_loads(tmp_path):
    s = load(tmp_path, BASE, {"DEEPSEEK_API_KEY": "k1", "GROK_API_KEY": "k2"})
    assert s.active == "deepseek" and s.fallbacks == ("grok",) and s.chain == ("deepseek", "grok")
    assert s.providers["deepseek"].api_key == "k1"
    assert s.providers["deepseek"].timeout == 600.0
    assert s.providers["grok"].configured
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert "k1" not in repr(s)  # keys never show in a repr that might be logged


def test_unset_key_loads_but_is_unconfigured(tmp_path):
    s = load(tmp_path, BASE, {"GROK_API_KEY": "k2"})
    assert not s.providers["deepseek"].configured
    assert "DEEPSEEK_API_KEY is not set" in s.providers["deepseek"].problem
    assert s.providers["grok"].configured


def test_default_substitution_and_dotenv_with_environment_winning(tmp_path):
    config = {"providers": {"x": {"type": "openai", "base_url": "${URL:-http://h/v1}",
                                  "api_key": "${A}", "model": "${M:-m1}"}}}  # fmt: skip
    s = load(tmp_path, config, {"A": "from-env"}, dotenv="A=from-dotenv\nM='m2'\n# comment\n")
    x = s.providers["x"]
    assert (x.base_url, x.api_key, x.model) == ("http://h/v1", "from-env", "m2")
    assert s.active == "x"  # the only provider is active when provider.name is absent


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda c: c["providers"]["grok"].update(timeout="ten"),
            'providers.grok.timeout: expected a number, got "ten"',
        ),
        (
            lambda c: c["providers"]["grok"].update(colour="red"),
            "providers.grok.colour: unknown key",
        ),
        (lambda c: c.update(sever={"port": 1}), "sever: unknown key"),
        (lambda c: c.update(server={"port": "80"}), 'server.port: expected an integer, got "80"'),
        (lambda c: c["provider"].update(name="nope"), "provider.name: no provider named 'nope'"),
        (
            lambda c: c["provider"].update(fallback_providers="grok"),
            "provider.fallback_providers: expected a list",
        ),
        (
            lambda c: c["providers"]["grok"].update(type="smoke"),
            "providers.grok.type: no provider strategy named 'smoke'",
        ),
        (lambda c: c["providers"]["grok"].pop("base_url"), "providers.grok.base_url: missing"),
        (
            lambda c: c["providers"]["grok"].update(options={"bogus": 1}),
            "providers.grok.options.bogus: unknown key",
        ),
        (lambda c: c.update(logging={"level": "LOUD"}), "logging.level"),
    ],
)
def test_errors_name_their_path(tmp_path, mutate, message):
    config = yaml.safe_load(yaml.safe_dump(BASE))
    mutate(config)
    with pytest.raises(ConfigError) as info:
        load(tmp_path, config)
    assert message in str(info.value)


def test_not_yaml_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load(tmp_path, "provider: [unclosed")


@pytest.mark.parametrize(
    ("name", "base_url", "expected"),
    [
        ("openai", "https://example.com/whatever", "openai"),  # named like a strategy
        ("ds", "https://api.deepseek.com/anthropic", "anthropic"),
        ("grok", "https://api.x.ai/v1", "openai"),
        ("gem", "https://generativelanguage.googleapis.com/v1beta/openai/", "openai"),
    ],
)
def test_type_is_inferred(tmp_path, name, base_url, expected):
    s = load(tmp_path, {"providers": {name: {"base_url": base_url, "api_key": "k"}}})
    assert s.providers[name].type == expected


def test_type_that_cannot_be_inferred_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="providers.x.type: missing and cannot be inferred"):
        load(tmp_path, {"providers": {"x": {"base_url": "https://h/api", "api_key": "k"}}})


def test_legacy_layout_loads_unchanged(tmp_path):
    text = (FIXTURES / "legacy-config.yaml").read_text()
    s = load(tmp_path, text, {"DEEPSEEK_API_KEY": "d", "GEMINI_API_KEY": "g"})
    assert s.active == "deepseek" and s.fallbacks == ("gemini",)
    assert set(s.providers) == {"gemini", "grok", "deepseek"}
    assert s.providers["deepseek"].type == "anthropic"
    assert s.providers["gemini"].type == "openai"  # .../v1beta/openai
    assert s.providers["grok"].type == "openai"
    assert s.providers["deepseek"].model == "deepseek-reasoner"
    assert not s.providers["grok"].configured  # GROK_API_KEY unset: loads, reported
    assert (s.host, s.port) == ("0.0.0.0", 8080)


def test_snapshot_is_immutable(tmp_path):
    s = load(tmp_path, BASE, {"DEEPSEEK_API_KEY": "k"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.active = "grok"  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.providers["x"] = s.providers["grok"]  # type: ignore[index]


# --- .env files ---------------------------------------------------------------------------


def test_dotenv_order_is_environment_then_working_directory_then_config_folder(tmp_path):
    project, conf = tmp_path / "project", tmp_path / "project" / "config"
    conf.mkdir(parents=True)
    (project / ".env").write_text("A=from-cwd\nB=from-cwd\n")
    (conf / ".env").write_text("A=from-config\nB=from-config\nC=from-config\n")
    files = dotenv_paths(conf / "config.yaml", cwd=project)
    assert files == (project / ".env", conf / ".env")
    config = {"providers": {"x": {"type": "openai", "base_url": "http://${C}/v1",
                                  "api_key": "${A}", "model": "${B}"}}}  # fmt: skip
    s = load(conf, config, {"A": "from-env"}, env_files=files)
    x = s.providers["x"]
    assert (x.api_key, x.model, x.base_url) == ("from-env", "from-cwd", "http://from-config/v1")


def test_dotenv_files_are_read_once_when_the_config_sits_in_the_working_directory(tmp_path):
    assert dotenv_paths(tmp_path / "config.yaml", cwd=tmp_path) == (tmp_path / ".env",)


def test_a_missing_variable_is_named_with_the_fix(tmp_path):
    s = load(tmp_path, BASE, {"GROK_API_KEY": "k"})
    problem = s.providers["deepseek"].problem
    assert s.providers["deepseek"].missing_env == (("DEEPSEEK_API_KEY", "api_key"),)
    assert "environment variable DEEPSEEK_API_KEY is not set" in problem
    assert "export DEEPSEEK_API_KEY=<your key>" in problem
    assert f"DEEPSEEK_API_KEY=<your key> to {tmp_path / '.env'}" in problem


# --- option values ------------------------------------------------------------------------

REAL = {"openai": OpenAIProvider, "anthropic": AnthropicProvider}


@pytest.mark.parametrize(
    ("provider", "options", "message"),
    [
        ("grok", {"max_stop_sequences": "x"},
         'providers.grok.options.max_stop_sequences: expected an integer, got "x"'),
        ("grok", {"max_output_tokens": 0},
         "providers.grok.options.max_output_tokens: expected an integer >= 1, got 0"),
        ("grok", {"send_reasoning": "yes"},
         'providers.grok.options.send_reasoning: expected true or false, got "yes"'),
        ("grok", {"structured_output": "xml"},
         "providers.grok.options.structured_output: expected one of json_schema, json_object"),
        ("grok", {"extra_body": [1]}, "providers.grok.options.extra_body: expected a mapping"),
        ("deepseek", {"auth": "basic"},
         'providers.deepseek.options.auth: expected one of x-api-key, bearer, got "basic"'),
        ("deepseek", {"strip_betas": "all"},
         'providers.deepseek.options.strip_betas: expected a list of strings or *, got "all"'),
        ("deepseek", {"strip_fields": ["a", 1]},
         "providers.deepseek.options.strip_fields: expected a list of strings"),
        ("deepseek", {"system_messages": "drop"},
         "providers.deepseek.options.system_messages: expected one of keep, merge"),
    ],
)  # fmt: skip
def test_option_values_are_checked_by_their_strategy_when_the_config_loads(
    tmp_path, provider, options, message
):
    config = yaml.safe_load(yaml.safe_dump(BASE))
    config["providers"][provider]["options"] = options
    with pytest.raises(ConfigError) as info:
        load(tmp_path, config, strategies=REAL)
    assert message in str(info.value)


def test_good_option_values_load(tmp_path):
    config = yaml.safe_load(yaml.safe_dump(BASE))
    config["providers"]["grok"]["options"] = {"max_stop_sequences": 0, "extra_body": {"a": 1},
                                              "structured_output": "json_object"}  # fmt: skip
    config["providers"]["deepseek"]["options"] = {"strip_betas": "*", "auth": "bearer"}
    s = load(tmp_path, config, strategies=REAL)
    assert s.providers["grok"].options["max_stop_sequences"] == 0


class _Picky(Dialect):
    name = "picky"
    option_keys = frozenset({"level"})
    parse = render_response = stream_renderer = render_error = None  # type: ignore[assignment]

    @classmethod
    def check_options(cls, options):
        return check_option(options, "level", int, minimum=1)


def test_dialect_option_values_are_checked_by_their_dialect(tmp_path):
    config = {**BASE, "dialects": {"picky": {"level": "high"}}}
    with pytest.raises(ConfigError, match='dialects.picky.level: expected an integer, got "high"'):
        load(tmp_path, config, dialects=lambda: {"picky": _Picky()})
    config["dialects"]["picky"]["level"] = 2
    assert load(tmp_path, config, dialects=lambda: {"picky": _Picky()}).dialect_options == {
        "picky": {"level": 2}
    }


def test_a_check_options_that_raises_is_a_config_error_not_a_crash(tmp_path):
    class Broken(_Openai):
        @classmethod
        def check_options(cls, options):
            raise KeyError("oops")

    config = yaml.safe_load(yaml.safe_dump(BASE))
    with pytest.raises(ConfigError, match="providers.grok.options: Broken.check_options failed"):
        load(tmp_path, config, strategies={"openai": Broken, "anthropic": _Anthropic})


def test_a_strategy_of_a_blocked_plugin_is_accepted_and_unconfigured(tmp_path):
    config = yaml.safe_load(yaml.safe_dump(BASE))
    config["providers"]["grok"]["type"] = "gone"
    s = load(tmp_path, config, {"GROK_API_KEY": "k"},
             unavailable=lambda: {"gone": "plugin providers.gone is blocked by plugins.blocked"})  # fmt: skip
    assert not s.providers["grok"].configured
    assert (
        "providers.grok.type: strategy 'gone' is not loaded: plugin providers.gone is blocked"
        in (s.providers["grok"].problem)
    )


def test_plugin_folders_are_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    s = load(tmp_path, {**BASE, "plugins": {"dirs": ["plugins", "/abs/p"], "blocked": ["x"]}})
    assert s.plugin_dirs == (tmp_path / "plugins", Path("/abs/p"))
    assert s.blocked_plugins == ("x",)
