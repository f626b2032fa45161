"""What a client's model name means: from (settings, request) to the targets to try, in order.

Pure: ``plan`` reads the validated config and the canonical request and returns a ``Plan``
(the route taken, its ``provider/model`` targets in fallback order, and how to spread load
over them). Key rotation, cool-downs, circuit breakers and round-robin positions are state,
kept in ``core/resilience.py``; the relay walks what both decide.

Order of the rules, first match wins:

1. a client addressing a target directly: ``provider/model`` or ``provider,model`` in
   ``model``, where ``provider`` is a configured provider;
2. ``routes`` (scenarios), in this order: ``long_context`` (the local token estimate is
   over ``over_tokens``: it must fit), ``image`` (an image anywhere in the conversation: the
   model must see it), ``web_search`` (a web-search server tool: the backend must run it),
   ``background`` (a haiku-class model: cheap calls stay cheap even when they think), and
   ``think`` (thinking switched on with a budget; Claude Code's ``adaptive`` thinking, sent on
   every turn, does not count);
3. ``models``: the first glob (``fnmatch``, case-insensitive) matching the client's model;
4. the default: ``provider.name`` then ``provider.fallback_providers``, each with its
   configured ``model`` (or the client's when it has none).

Config::

    models:
      - match: "claude-*haiku*"
        to: [deepseek/deepseek-chat]
      - match: fast
        to: [groq/llama-3.3-70b, cerebras/llama-3.3-70b]
        balance: round_robin            # fallback (default) | round_robin | weighted
        weights: [3, 1]                 # weighted only
    routes:
      background: [deepseek/deepseek-chat]           # or {match: "*mini*", to: [...]}
      think: [deepseek/deepseek-reasoner]
      long_context: {over_tokens: 60000, to: [gemini/gemini-2.5-pro]}
      web_search: [openrouter/perplexity/sonar]
      image: [gemini/gemini-2.5-flash]

A target is ``provider`` (its configured model) or ``provider/model``; the model part may
itself contain slashes (``openrouter/perplexity/sonar``).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ccrelay.core.tokens import estimate_input_tokens

BALANCES = ("fallback", "round_robin", "weighted")
SCENARIOS = ("long_context", "image", "web_search", "background", "think")
DEFAULT_BACKGROUND = "*haiku*"


class RoutingError(ValueError):
    """A routing section of the config is invalid; the message names its path."""


@dataclass(frozen=True)
class Target:
    """One place to send a request: a provider and the model to ask it for (None: the
    provider's configured ``model``, else the client's)."""

    provider: str
    model: str | None = None

    def __str__(self) -> str:
        return self.provider if self.model is None else f"{self.provider}/{self.model}"


@dataclass(frozen=True)
class Rule:
    """A ``models`` entry or a scenario: its targets and how to spread load over them."""

    name: str
    targets: tuple[Target, ...]
    balance: str = "fallback"
    weights: tuple[float, ...] = ()
    match: str = ""  # models: the glob; background: the glob of haiku-class names
    over_tokens: int = 0  # long_context only
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, model: str) -> bool:
        return self._regex is not None and self._regex.match(model) is not None


@dataclass(frozen=True)
class RoutingConfig:
    models: tuple[Rule, ...] = ()
    scenarios: Mapping[str, Rule] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    """The outcome of routing one request.

    :param route: what decided (``default``, ``direct``, ``model:<glob>``, a scenario name);
        logged as the token log's ``route`` field.
    """

    route: str
    targets: tuple[Target, ...]
    balance: str = "fallback"
    weights: tuple[float, ...] = ()


def plan(
    routing: RoutingConfig,
    chain: tuple[str, ...],
    providers: Mapping[str, Any],
    req: Mapping[str, Any],
    estimate: Callable[[Mapping[str, Any]], int] = estimate_input_tokens,
) -> Plan:
    """The targets for ``req`` (see the module docstring for the order of the rules).

    :param chain: the default route (active provider, then fallbacks).
    :param providers: the configured providers by name (for direct addressing).
    :param estimate: the local token estimate, called only when ``long_context`` is set.
    """
    model = req.get("model") or ""
    direct = _direct(model, providers)
    if direct is not None:
        return Plan("direct", (direct,))
    scenarios = routing.scenarios
    if scenarios:
        for name in SCENARIOS:
            rule = scenarios.get(name)
            if rule is not None and _applies(name, rule, req, model, estimate):
                return Plan(name, rule.targets, rule.balance, rule.weights)
    for rule in routing.models:
        if rule.matches(model):
            return Plan(rule.name, rule.targets, rule.balance, rule.weights)
    return Plan("default", tuple(Target(p) for p in chain))


def _direct(model: str, providers: Mapping[str, Any]) -> Target | None:
    for sep in ("/", ","):
        head, found, rest = model.partition(sep)
        if found and rest and head in providers:
            return Target(head, rest)
    return None


def _applies(
    name: str,
    rule: Rule,
    req: Mapping[str, Any],
    model: str,
    estimate: Callable[[Mapping[str, Any]], int],
) -> bool:
    if name == "background":
        return rule.matches(model)
    if name == "think":
        thinking = req.get("thinking")
        return isinstance(thinking, dict) and thinking.get("type") == "enabled"
    if name == "web_search":
        return any(
            isinstance(t, dict) and str(t.get("type", "")).startswith("web_search")
            for t in req.get("tools") or ()
        )
    if name == "image":
        return _has_image(req.get("messages") or ())
    if name == "long_context":
        return estimate(req) > rule.over_tokens
    return False


def _has_image(messages: Any) -> bool:
    for msg in messages:
        content = msg.get("content") if isinstance(msg, dict) else None
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            btype = block.get("type")
            if btype == "image":
                return True
            if btype == "tool_result" and isinstance(block.get("content"), list):
                if any(isinstance(b, dict) and b.get("type") == "image" for b in block["content"]):
                    return True
    return False


# --- config ------------------------------------------------------------------------------


def parse_routing(models_raw: Any, routes_raw: Any, providers: Mapping[str, Any]) -> RoutingConfig:
    """Validate the ``models`` and ``routes`` sections against the configured providers.

    :raises RoutingError: naming the path of the first problem.
    """
    models: list[Rule] = []
    if models_raw is not None:
        if not isinstance(models_raw, list):
            raise RoutingError(f"models: expected a list of {{match, to}}, got {_show(models_raw)}")
        for i, entry in enumerate(models_raw):
            where = f"models[{i}]"
            if not isinstance(entry, dict):
                raise RoutingError(f"{where}: expected {{match, to}}, got {_show(entry)}")
            _no_unknown(entry, {"match", "to", "balance", "weights"}, where)
            match = entry.get("match")
            if not isinstance(match, str) or not match:
                raise RoutingError(f"{where}.match: expected a model name or glob")
            models.append(_rule(f"model:{match}", entry, where, providers, match=match))
    scenarios: dict[str, Rule] = {}
    if routes_raw is not None:
        if not isinstance(routes_raw, dict):
            raise RoutingError(f"routes: expected a mapping of scenarios, got {_show(routes_raw)}")
        for name, entry in routes_raw.items():
            where = f"routes.{name}"
            if name not in SCENARIOS:
                raise RoutingError(f"{where}: unknown scenario (known: {', '.join(SCENARIOS)})")
            if isinstance(entry, list):
                entry = {"to": entry}
            if not isinstance(entry, dict):
                raise RoutingError(f"{where}: expected a list of targets or {{to: [...]}}")
            allowed = {"to", "balance", "weights"}
            allowed |= {"over_tokens"} if name == "long_context" else set()
            allowed |= {"match"} if name == "background" else set()
            _no_unknown(entry, allowed, where)
            over = 0
            if name == "long_context":
                raw_over = entry.get("over_tokens")
                if type(raw_over) is not int or raw_over <= 0:
                    raise RoutingError(f"{where}.over_tokens: expected a positive integer")
                over = raw_over
            match = entry.get("match", DEFAULT_BACKGROUND) if name == "background" else ""
            if not isinstance(match, str) or (name == "background" and not match):
                raise RoutingError(f"{where}.match: expected a model glob")
            scenarios[name] = _rule(name, entry, where, providers, match=match, over_tokens=over)
    return RoutingConfig(tuple(models), scenarios)


def _rule(
    name: str,
    entry: Mapping[str, Any],
    where: str,
    providers: Mapping[str, Any],
    *,
    match: str = "",
    over_tokens: int = 0,
) -> Rule:
    raw_to = entry.get("to")
    if isinstance(raw_to, str):
        raw_to = [raw_to]
    if not isinstance(raw_to, list) or not raw_to:
        raise RoutingError(f"{where}.to: expected a list of provider/model targets")
    targets = tuple(parse_target(t, f"{where}.to[{j}]", providers) for j, t in enumerate(raw_to))
    balance = entry.get("balance", "fallback")
    if balance not in BALANCES:
        raise RoutingError(f"{where}.balance: expected one of {', '.join(BALANCES)}")
    weights: tuple[float, ...] = ()
    if balance == "weighted":
        raw_w = entry.get("weights")
        if (
            not isinstance(raw_w, list)
            or len(raw_w) != len(targets)
            or not all(type(w) in (int, float) and w > 0 for w in raw_w)
        ):
            raise RoutingError(
                f"{where}.weights: expected {len(targets)} positive numbers, one per target"
            )
        weights = tuple(float(w) for w in raw_w)
    elif "weights" in entry:
        raise RoutingError(f"{where}.weights: only used with balance: weighted")
    regex = re.compile(fnmatch.translate(match), re.IGNORECASE) if match else None
    return Rule(name, targets, balance, weights, match, over_tokens, regex)


def parse_target(raw: Any, where: str, providers: Mapping[str, Any]) -> Target:
    """``provider`` or ``provider/model`` (``provider,model`` too), checked against config."""
    if not isinstance(raw, str) or not raw:
        raise RoutingError(f"{where}: expected provider or provider/model, got {_show(raw)}")
    for sep in ("/", ","):
        head, found, rest = raw.partition(sep)
        if found:
            if head not in providers:
                raise RoutingError(f"{where}: no provider named {head!r} ({_known(providers)})")
            if not rest:
                raise RoutingError(f"{where}: empty model after {head!r}{sep}")
            return Target(head, rest)
    if raw not in providers:
        raise RoutingError(f"{where}: no provider named {raw!r} ({_known(providers)})")
    return Target(raw)


def _known(providers: Mapping[str, Any]) -> str:
    return "defined: " + (", ".join(sorted(providers)) or "none")


def _no_unknown(section: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in section:
        if key not in allowed:
            raise RoutingError(
                f"{where}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})"
            )


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)[:80]
