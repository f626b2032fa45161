"""Routing as data: the pure plan for every rule, and the resilience state with a fake clock."""

from __future__ import annotations

from collections import Counter

import pytest

from ccrelay.core.resilience import Resilience, ResilienceSettings
from ccrelay.core.routing import Plan, RoutingError, Target, parse_routing, plan

PROVIDERS = {"deepseek": {}, "grok": {}, "gemini": {}, "openrouter": {}, "groq": {}, "cerebras": {}}
CHAIN = ("deepseek", "grok")
MODELS = [
    {"match": "claude-*haiku*", "to": ["deepseek/deepseek-chat"]},
    {"match": "gpt-5*", "to": ["grok/grok-4-1-fast-reasoning", "deepseek/deepseek-reasoner"]},
    {"match": "fast", "to": ["groq/llama-3.3-70b", "cerebras/llama-3.3-70b"],
     "balance": "round_robin"},
]  # fmt: skip
ROUTES = {
    "background": ["deepseek/deepseek-chat"],
    "think": ["deepseek/deepseek-reasoner"],
    "long_context": {"over_tokens": 1000, "to": ["gemini/gemini-2.5-pro"]},
    "web_search": ["openrouter/perplexity/sonar"],
    "image": ["gemini/gemini-2.5-flash"],
}
IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}


def req(model: str = "claude-sonnet-4-5", **extra) -> dict:
    return {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}


def routed(body: dict, models=MODELS, routes=ROUTES, tokens: int = 10) -> Plan:
    config = parse_routing(models, routes, PROVIDERS)
    return plan(config, CHAIN, PROVIDERS, body, estimate=lambda _: tokens)


@pytest.mark.parametrize(
    ("body", "tokens", "route", "targets"),
    [
        (req(), 10, "default", ["deepseek", "grok"]),
        (req("deepseek/deepseek-v4"), 10, "direct", ["deepseek/deepseek-v4"]),
        (req("openrouter,anthropic/claude-x"), 10, "direct", ["openrouter/anthropic/claude-x"]),
        (req("unknown/model-x"), 10, "default", ["deepseek", "grok"]),  # not a provider
        (req("claude-haiku-4-5"), 10, "background", ["deepseek/deepseek-chat"]),
        (req("claude-haiku-4-5", thinking={"type": "enabled", "budget_tokens": 2000}), 10,
         "background", ["deepseek/deepseek-chat"]),  # cheap calls stay cheap
        (req(thinking={"type": "enabled", "budget_tokens": 2000}), 10, "think",
         ["deepseek/deepseek-reasoner"]),
        (req(thinking={"type": "adaptive"}), 10, "default", ["deepseek", "grok"]),
        (req(), 5000, "long_context", ["gemini/gemini-2.5-pro"]),
        (req("claude-haiku-4-5"), 5000, "long_context", ["gemini/gemini-2.5-pro"]),
        (req(tools=[{"type": "web_search_20250305", "name": "web_search"}]), 10, "web_search",
         ["openrouter/perplexity/sonar"]),
        (req(messages=[{"role": "user", "content": [IMAGE]}]), 10, "image",
         ["gemini/gemini-2.5-flash"]),
        (req(messages=[{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [IMAGE]}]}]), 10, "image",
         ["gemini/gemini-2.5-flash"]),
        (req("gpt-5-codex"), 10, "model:gpt-5*",
         ["grok/grok-4-1-fast-reasoning", "deepseek/deepseek-reasoner"]),
        (req("GPT-5"), 10, "model:gpt-5*",
         ["grok/grok-4-1-fast-reasoning", "deepseek/deepseek-reasoner"]),
        (req("fast"), 10, "model:fast", ["groq/llama-3.3-70b", "cerebras/llama-3.3-70b"]),
    ],
)  # fmt: skip
def test_plan_for_every_rule(body, tokens, route, targets):
    got = routed(body, tokens=tokens)
    assert got.route == route
    assert [str(t) for t in got.targets] == targets


def test_scenarios_come_before_models_and_models_before_the_default():
    assert routed(req("claude-haiku-4-5"), routes={}).route == "model:claude-*haiku*"
    assert routed(req("claude-haiku-4-5"), models=[], routes={}).route == "default"


def test_estimate_is_called_only_when_long_context_is_configured():
    calls = []
    config = parse_routing(MODELS, {"think": ["deepseek"]}, PROVIDERS)
    plan(config, CHAIN, PROVIDERS, req(), estimate=lambda r: calls.append(r) or 0)
    assert calls == []


def test_background_match_is_configurable():
    routes = {"background": {"match": "*mini*", "to": ["grok"]}}
    assert routed(req("gpt-4o-mini"), routes=routes).route == "background"
    assert routed(req("claude-haiku-4-5"), models=[], routes=routes).route == "default"


@pytest.mark.parametrize(
    ("models", "routes", "message"),
    [
        ([{"match": "x", "to": ["nobody/m"]}], None, "models[0].to[0]: no provider named 'nobody'"),
        ([{"match": "x"}], None, "models[0].to: expected a list"),
        ([{"to": ["grok"]}], None, "models[0].match"),
        ([{"match": "x", "to": ["grok"], "balance": "random"}], None, "models[0].balance"),
        ([{"match": "x", "to": ["grok", "groq"], "balance": "weighted", "weights": [1]}], None,
         "models[0].weights: expected 2 positive numbers"),
        ([{"match": "x", "to": ["grok"], "speed": 1}], None, "models[0].speed: unknown key"),
        ("x", None, "models: expected a list"),
        (None, {"slow": ["grok"]}, "routes.slow: unknown scenario"),
        (None, {"long_context": ["grok"]}, "routes.long_context.over_tokens"),
        (None, {"think": {"to": ["grok"], "over_tokens": 5}}, "routes.think.over_tokens: unknown"),
        (None, {"image": ["grok/"]}, "routes.image.to[0]: empty model"),
    ],
)  # fmt: skip
def test_config_errors_name_their_path(models, routes, message):
    with pytest.raises(RoutingError) as info:
        parse_routing(models, routes, PROVIDERS)
    assert message in str(info.value)


# --- resilience ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


RS = ResilienceSettings(breaker_failures=3, breaker_cooloff=10, key_cooldown=5)
TWO = (Target("a"), Target("b"))


def test_round_robin_spreads_evenly():
    state = Resilience()
    firsts = Counter(state.order(Plan("r", TWO, "round_robin"))[0].provider for _ in range(100))
    assert firsts == {"a": 50, "b": 50}
    assert state.order(Plan("r", TWO, "round_robin")) == TWO  # the rest stays the fallback


def test_weighted_follows_the_weights_interleaved():
    state = Resilience()
    p = Plan("w", TWO, "weighted", (3.0, 1.0))
    firsts = [state.order(p)[0].provider for _ in range(100)]
    assert Counter(firsts) == {"a": 75, "b": 25}
    assert "bb" not in "".join(firsts)  # spread, not in blocks


def test_fallback_keeps_the_order():
    assert Resilience().order(Plan("f", TWO)) == TWO


def test_keys_rotate_cool_down_and_come_back():
    clock = Clock()
    state = Resilience(clock)
    keys = ("k1", "k2")
    assert state.keys("p", keys, "cfg")[0] == ["k1", "k2"]
    assert state.keys("p", keys, "cfg")[0] == ["k2", "k1"]
    state.cool_key("p", "k1", 2)
    assert state.keys("p", keys, "cfg")[0] == ["k2"]
    state.cool_key("p", "k2", 5)
    usable, back = state.keys("p", keys, "cfg")
    assert usable == [] and back == pytest.approx(2)
    clock.now += 2.01
    assert state.keys("p", keys, "cfg")[0] == ["k1"]


def test_rejected_keys_stay_out_until_the_config_changes():
    state = Resilience(Clock())
    state.reject_key("p", "k1", 401, "cfg-1")
    assert state.keys("p", ("k1", "k2"), "cfg-1")[0] == ["k2"]
    assert set(state.keys("p", ("k1", "k2"), "cfg-2")[0]) == {"k1", "k2"}


def test_breaker_opens_then_lets_one_trial_through():
    clock = Clock()
    state = Resilience(clock)
    for _ in range(3):
        assert state.allows("p", RS) == (True, 0.0)
        state.failed("p", "connection refused", RS)
    allowed, wait = state.allows("p", RS)
    assert not allowed and wait == pytest.approx(10)
    clock.now += 10
    assert state.allows("p", RS)[0]  # the trial
    assert not state.allows("p", RS)[0]  # only one at a time
    state.failed("p", "still down", RS)
    assert not state.allows("p", RS)[0]  # open again
    clock.now += 10
    assert state.allows("p", RS)[0]
    state.succeeded("p")
    assert state.allows("p", RS)[0] and state.allows("p", RS)[0]  # closed


def test_health_snapshot_shows_only_the_last_four_characters():
    class P:
        api_keys = ("sk-secret-one-aaaa", "sk-secret-two-bbbb")

    clock = Clock()
    state = Resilience(clock)
    state.cool_key("p", "sk-secret-two-bbbb", 3)
    snap = state.snapshot({"p": P()}, "cfg", RS)["p"]
    assert snap["keys"] == [
        {"key": "...aaaa", "state": "ok"},
        {"key": "...bbbb", "state": "cooling", "back_in": 3.0},
    ]
    assert "secret" not in str(snap)


def test_health_snapshot_names_short_keys_by_their_place():
    """Four characters of a key as short as ``none`` or ``k-12345`` would be most of it."""

    class P:
        api_keys = ("none", "k-12345", "sk-long-enough-cccc")

    snap = Resilience(Clock()).snapshot({"p": P()}, "cfg", RS)["p"]
    assert [k["key"] for k in snap["keys"]] == ["key 1", "key 2", "...cccc"]
    assert "none" not in str(snap) and "2345" not in str(snap)
