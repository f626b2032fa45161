"""Model profiles: the shipped table, config overrides, and what core does with a profile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anthropic
import pytest
import requests
import yaml

from ccrelay.core.config import ConfigError, ProviderConfig, load_settings
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.profiles import ModelProfile, fit_request, lookup, profile_for
from ccrelay.core.provider import Provider, RequestContext
from tests.conftest import one_provider
from tests.fakes.upstream import Reply

# --- the shipped table --------------------------------------------------------------------

TABLE = [
    ("claude-sonnet-4-5-20250929", {"context_window": 200_000, "max_output": 64_000,
                                    "thinking": "budget"}),
    ("claude-opus-4-1", {"max_output": 32_000}),
    ("claude-3-5-haiku-latest", {"max_output": 8_192, "thinking": "none"}),
    ("gpt-4o-mini", {"context_window": 128_000, "max_output": 16_384, "vision": True}),
    ("gpt-4.1", {"context_window": 1_047_576, "max_output": 32_768}),
    ("openai/gpt-5", {"context_window": 400_000, "max_output": 128_000, "thinking": "effort"}),
    ("gpt-5-chat-latest", {"max_output": 16_384, "thinking": "none"}),
    ("o3", {"context_window": 200_000, "max_output": 100_000}),
    ("o1-mini", {"tools": False}),
    ("gemini-2.5-flash", {"context_window": 1_048_576, "max_output": 65_536,
                          "thinking_budget": (0, 24_576), "json_schema_tools": True}),
    ("models/gemini-2.5-pro", {"thinking_budget": (128, 32_768)}),
    ("gemini-3-pro-preview", {"thinking": "level", "thinking_levels": ("low", "high")}),
    ("gemini-3-flash-preview", {"thinking_levels": ("minimal", "low", "medium", "high")}),
    ("gemini-2.0-flash", {"max_output": 8_192, "json_schema_tools": False, "thinking": "none"}),
    ("deepseek-chat", {"context_window": 128_000, "max_output": 8_192}),
    ("deepseek-reasoner", {"max_output": 65_536, "thinking": "always"}),
    ("qwen3:8b", {"context_window": 40_960, "thinking": "toggle", "tools": True}),
    ("qwen3-coder:30b", {"context_window": 262_144}),
    ("Qwen/Qwen2.5-Coder-32B-Instruct", {"context_window": 32_768}),
    ("llama3.1:8b", {"context_window": 131_072, "tools": True}),
    ("llama3:latest", {"context_window": 8_192, "tools": False}),
    ("llama3.2-vision", {"vision": True, "tools": False}),
    ("gemma3:4b", {"tools": False, "vision": True}),
    ("mistral:7b", {"context_window": 32_768}),
    ("grok-3-mini", {"thinking": "effort", "thinking_levels": ("low", "high")}),
    ("grok-4-0709", {"context_window": 256_000}),
    ("kimi-k2-0905-preview", {"context_window": 262_144}),
    ("glm-4.6", {"context_window": 200_000, "max_output": 128_000}),
    ("gpt-oss:20b", {"thinking": "effort"}),
]  # fmt: skip


@pytest.mark.parametrize("model, expected", TABLE, ids=[t[0] for t in TABLE])
def test_shipped_profiles(model: str, expected: dict[str, Any]) -> None:
    profile = lookup(model)
    for key, value in expected.items():
        assert getattr(profile, key) == value, (model, key)


def test_unknown_models_have_an_unknown_profile() -> None:
    assert lookup("my-finetune:latest") == ModelProfile()
    assert ModelProfile().can_think is None and lookup("gpt-4o").can_think is False


# --- config overrides ---------------------------------------------------------------------


class _Stub(Provider):
    name = "openai"
    convert_request = convert_response = stream = None  # type: ignore[assignment]


class _Keyless(_Stub):
    name = "ollama"
    needs_key = False


def load(tmp_path: Path, provider: dict[str, Any]):
    path = tmp_path / "config.yaml"
    section = {"type": "openai", "base_url": "http://x/v1", "api_key": "k", **provider}
    path.write_text(yaml.safe_dump({"providers": {"up": section}}, sort_keys=False))
    settings = load_settings(path, strategies=lambda: {"openai": _Stub, "ollama": _Keyless},
                             environ={})  # fmt: skip
    return settings.providers["up"]


def test_provider_and_per_model_overrides(tmp_path: Path) -> None:
    pcfg = load(tmp_path, {
        "profile": {"context_window": 32_768, "vision": False},
        "profiles": {"qwen3*": {"thinking": "none", "max_output": 4096},
                     "*": {"max_output": 1000}},
    })  # fmt: skip
    qwen = profile_for(pcfg, "qwen3:8b")
    assert (qwen.context_window, qwen.vision, qwen.thinking, qwen.max_output, qwen.tools) == (
        32_768, False, "none", 4096, True)  # fmt: skip
    other = profile_for(pcfg, "Org/Other-Model")
    assert (other.context_window, other.max_output) == (32_768, 1000), "first glob that matches"
    levels = load(tmp_path, {"profile": {"thinking": "level", "thinking_levels": ["low"],
                                         "thinking_budget": [0, 100]}})  # fmt: skip
    got = profile_for(levels, "x")
    assert (got.thinking_levels, got.thinking_budget) == (("low",), (0, 100))


@pytest.mark.parametrize(
    "provider, message",
    [
        ({"profile": {"context_windw": 5}}, "providers.up.profile.context_windw: unknown profile"),
        ({"profile": {"max_output": "lots"}},
         'providers.up.profile.max_output: expected a positive integer, got "lots"'),
        ({"profile": {"vision": "yes"}}, "providers.up.profile.vision: expected true or false"),
        ({"profile": {"thinking": "sometimes"}},
         "providers.up.profile.thinking: expected one of budget, effort, level, toggle"),
        ({"profile": {"thinking_budget": [10, 1]}},
         "providers.up.profile.thinking_budget: expected [lowest, highest]"),
        ({"profiles": {"qwen*": {"tools": 1}}},
         "providers.up.profiles.qwen*.tools: expected true or false"),
        ({"profiles": ["qwen"]}, "providers.up.profiles: expected a mapping"),
        ({"profile": 7}, "providers.up.profile: expected a mapping of profile fields"),
    ],
)  # fmt: skip
def test_bad_overrides_name_their_path(tmp_path: Path, provider: dict[str, Any],
                                       message: str) -> None:  # fmt: skip
    with pytest.raises(ConfigError) as info:
        load(tmp_path, provider)
    assert message in str(info.value)


def test_a_strategy_may_need_no_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": {
        "local": {"type": "ollama", "base_url": "http://h:11434"},
        "cloud": {"type": "openai", "base_url": "http://x/v1"}}}))  # fmt: skip
    settings = load_settings(path, strategies=lambda: {"openai": _Stub, "ollama": _Keyless},
                             environ={})  # fmt: skip
    assert settings.providers["local"].configured
    assert settings.providers["cloud"].problem.startswith("providers.cloud.api_key: missing")


# --- fit_request --------------------------------------------------------------------------

IMG = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}


def ctx(profile: ModelProfile) -> RequestContext:
    cfg = ProviderConfig(name="up", type="openai", base_url="http://x", api_key="k")
    return RequestContext(cfg, "the-model", "c", {}, "r", profile=profile)


def test_max_tokens_and_thinking_budget_are_clamped() -> None:
    req = {"model": "c", "max_tokens": 64_000, "messages": [],
           "thinking": {"type": "enabled", "budget_tokens": 31_999}}  # fmt: skip
    out = fit_request(req, ctx(ModelProfile(max_output=16_384)))
    assert out["max_tokens"] == 16_384 and out["thinking"]["budget_tokens"] == 16_383
    assert req["max_tokens"] == 64_000, "the request is never mutated"
    same = {"model": "c", "max_tokens": 100, "messages": []}
    assert fit_request(same, ctx(ModelProfile(max_output=16_384))) is same
    assert fit_request(same, ctx(ModelProfile())) is same


def test_tools_to_a_model_without_tools_are_refused() -> None:
    req = {"model": "c", "max_tokens": 5, "messages": [], "tools": [{"name": "t"}]}
    with pytest.raises(RelayError) as info:
        fit_request(req, ctx(ModelProfile(tools=False)))
    err = info.value
    assert (err.status, err.kind, err.param) == (400, ErrorKind.INVALID_REQUEST, "tools")
    assert err.retryable and "providers.up.profile.tools: true" in err.message


def test_images_to_a_text_only_model() -> None:
    history = [
        {"role": "user", "content": [{"type": "text", "text": "see"}, IMG]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read",
                                           "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": [IMG, {"type": "text", "text": "a png"}]}]},
    ]  # fmt: skip
    text_only = ctx(ModelProfile(vision=False))
    out = fit_request({"model": "c", "max_tokens": 5, "messages": history}, text_only)
    note = {"type": "text", "text": "[image omitted: this model does not take images]"}
    assert out["messages"][0]["content"] == [{"type": "text", "text": "see"}, note]
    assert out["messages"][2]["content"][0]["content"] == [note, {"type": "text",
                                                                  "text": "a png"}]  # fmt: skip
    assert history[0]["content"][1] is IMG, "the client's request is untouched"
    fresh = history + [{"role": "assistant", "content": "ok"},
                       {"role": "user", "content": [IMG]}]  # fmt: skip
    with pytest.raises(RelayError, match=r"messages\[4\].content\[0\]: model the-model"):
        fit_request({"model": "c", "max_tokens": 5, "messages": fresh}, text_only)


def test_thinking_is_dropped_for_a_model_that_cannot_think() -> None:
    req = {"model": "c", "max_tokens": 5, "messages": [], "thinking": {"type": "adaptive"}}
    assert "thinking" not in fit_request(req, ctx(ModelProfile(thinking="none")))
    assert fit_request(req, ctx(ModelProfile(thinking="toggle"))) is req


# --- through the running server -----------------------------------------------------------

COMPLETION = {"id": "c1", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                           "finish_reason": "stop"}],
              "usage": {"prompt_tokens": 5, "completion_tokens": 1}}  # fmt: skip


def test_the_clamp_is_what_the_upstream_receives(start_relay, upstream):
    config = one_provider("openai", upstream.url, model="my-local-model",
                          profile={"max_output": 2048})  # fmt: skip
    relay = start_relay(config)
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    upstream.reply(Reply(json=COMPLETION))
    sdk.messages.create(model="c", max_tokens=20_000, messages=[{"role": "user", "content": "x"}])
    assert upstream.requests[0].body["max_tokens"] == 2048


def test_catalog_shows_the_profiles(start_relay, upstream):
    config = one_provider("openai", upstream.url, model="gpt-4o",
                          models=["qwen3:8b", "local-thing"],
                          profiles={"local-*": {"context_window": 4096, "tools": False}})  # fmt: skip
    relay = start_relay(config)
    data = {m["id"]: m for m in requests.get(relay.url + "/v1/models", timeout=5).json()["data"]}
    assert (data["gpt-4o"]["max_input_tokens"], data["gpt-4o"]["max_tokens"]) == (128_000, 16_384)
    assert data["qwen3:8b"]["max_input_tokens"] == 40_960 and "max_tokens" not in data["qwen3:8b"]
    assert data["local-thing"]["max_input_tokens"] == 4096


def test_a_refusal_by_profile_falls_back_to_a_capable_provider(start_relay, upstream, upstream2):
    config = one_provider("openai", upstream.url, model="gemma3:4b")
    config["provider"]["fallback_providers"] = ["big"]
    config["providers"]["big"] = {"type": "openai", "base_url": upstream2.url + "/v1",
                                  "api_key": "k2", "model": "gpt-4o"}  # fmt: skip
    relay = start_relay(config)
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    upstream2.reply(Reply(json=COMPLETION))
    msg = sdk.messages.create(model="c", max_tokens=50, messages=[{"role": "user", "content": "x"}],
                              tools=[{"name": "t", "input_schema": {"type": "object"}}])  # fmt: skip
    assert msg.content[0].text == "ok"
    assert upstream.requests == [] and upstream2.requests[0].body["model"] == "gpt-4o"
    assert "fallback" in relay.token_lines(expect=2)[0]


def test_a_model_without_tools_takes_them_in_compat_mode(start_relay, upstream):
    relay = start_relay(one_provider("openai", upstream.url, model="gemma3:4b",
                                     tool_mode="compat"))  # fmt: skip
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="k", max_retries=0)
    upstream.reply(Reply(json=COMPLETION))
    msg = sdk.messages.create(model="c", max_tokens=50, messages=[{"role": "user", "content": "x"}],
                              tools=[{"name": "t", "input_schema": {"type": "object"}}])  # fmt: skip
    assert msg.content[0].text == "ok"
    body = upstream.requests[0].body
    assert "tools" not in body and "<tool_call>" in body["messages"][0]["content"]
