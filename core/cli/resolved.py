"""The resolved config as ``ccrelay check`` prints it: every value the server uses, after
``${VAR}`` substitution, presets and defaults, with every key masked.

A key shows at most its last four characters (``...a1b2``), as ``GET /health`` shows keys, and
only when it is long enough that four characters say little (12 or more); header values are
masked the same way (a header may carry a key). As a last guard, any configured key found
anywhere in the output (a key pasted into a URL or an option) is masked too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ccrelay.core.config import ProviderConfig, Settings
from ccrelay.core.groups import Group
from ccrelay.core.routing import RoutingConfig, Rule

#: a key shorter than this shows no character at all
_SHOWN_FROM = 12


def mask(secret: str) -> str:
    """``...`` and the last four characters of ``secret`` (``***`` when short, ``(not set)``
    when empty)."""
    if not secret:
        return "(not set)"
    if len(secret) < _SHOWN_FROM:
        return "***"
    return "..." + secret[-4:]


def secrets(settings: Settings) -> list[str]:
    """Every key the config holds: upstream keys, header values, access keys."""
    out = [k for p in settings.providers.values() for k in p.api_keys]
    out += [v for p in settings.providers.values() for v in p.headers.values()]
    out += [a.key for a in settings.access_keys]
    return [s for s in out if s]


def scrub(text: str, settings: Settings) -> str:
    """``text`` with any configured key (8 characters or more) masked wherever it appears."""
    for secret in sorted(secrets(settings), key=len, reverse=True):
        if len(secret) >= 8 and secret in text:
            text = text.replace(secret, mask(secret))
    return text


def describe(settings: Settings) -> dict[str, Any]:
    """The whole resolved config as plain data (keys masked)."""
    out: dict[str, Any] = {
        "server": {
            "host": settings.host,
            "port": settings.port,
            "shutdown_timeout": settings.shutdown_timeout,
        },
        "provider": {"name": settings.active, "fallback_providers": list(settings.fallbacks)},
        "providers": {name: _provider(p) for name, p in settings.providers.items()},
    }
    out.update(_routing(settings.routing))
    if settings.groups:
        out["groups"] = {name: _group(g) for name, g in settings.groups.items()}
    if settings.access_keys:
        out["access_keys"] = [
            _drop_none(
                {
                    "name": k.name,
                    "key": mask(k.key),
                    "groups": sorted(k.groups) if k.groups is not None else None,
                    "rpm": k.rpm,
                    "tokens_per_day": k.tokens_per_day,
                }
            )
            for k in settings.access_keys
        ]
    out["logging"] = {
        "level": settings.log_level,
        "dir": str(settings.log_dir),
        "bodies": {"enabled": settings.bodies_enabled, "max_bytes": settings.bodies_max_bytes},
        "keep_days": settings.keep_days,
    }
    out["limits"] = {
        "max_body_bytes": settings.max_body_bytes,
        "ping_interval": settings.ping_interval,
        "max_response_bytes": settings.max_response_bytes,
        "max_concurrent": settings.max_concurrent,
    }
    out["metrics"] = {"enabled": settings.metrics_enabled, "public": settings.metrics_public}
    res = settings.resilience
    out["resilience"] = {
        "breaker_failures": res.breaker_failures,
        "breaker_cooloff": res.breaker_cooloff,
        "key_cooldown": res.key_cooldown,
    }
    if settings.dialect_options:
        out["dialects"] = plain(settings.dialect_options)
    out["plugins"] = {
        "dirs": [str(d) for d in settings.plugin_dirs],
        "blocked": list(settings.blocked_plugins),
    }
    if settings.pricing:
        out["pricing"] = plain(settings.pricing)
    return out


def _provider(p: ProviderConfig) -> dict[str, Any]:
    keys = [mask(k) for k in p.api_keys]
    out: dict[str, Any] = {"type": p.type, "base_url": p.base_url}
    if p.auth == "oauth":
        out["auth"] = "oauth"
        if p.oauth is not None:
            out["oauth"] = {"preset": p.oauth.preset} if p.oauth.preset else "custom"
    else:
        out["api_key"] = keys if len(keys) > 1 else (keys[0] if keys else "(not set)")
    out["model"] = p.model
    if p.models:
        out["models"] = list(p.models)
    out["timeout"] = p.timeout
    out["connect_timeout"] = p.connect_timeout
    out["tool_mode"] = p.tool_mode
    if p.headers:
        out["headers"] = {k: mask(v) for k, v in p.headers.items()}
    if p.options:
        out["options"] = plain(p.options)
    if p.profile:
        out["profile"] = plain(p.profile)
    if p.profiles:
        out["profiles"] = {glob: plain(fields) for glob, fields in p.profiles}
    out["configured"] = p.configured
    if p.problem:
        out["problem"] = p.problem
    return out


def _routing(routing: RoutingConfig) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if routing.models:
        out["models"] = [_rule(r, match=True) for r in routing.models]
    if routing.scenarios:
        out["routes"] = {name: _rule(r) for name, r in routing.scenarios.items()}
    return out


def _rule(rule: Rule, *, match: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if match or rule.name == "background":
        out["match"] = rule.match
    out["to"] = [str(t) for t in rule.targets]
    if rule.balance != "fallback":
        out["balance"] = rule.balance
    if rule.weights:
        out["weights"] = list(rule.weights)
    if rule.over_tokens:
        out["over_tokens"] = rule.over_tokens
    return out


def _group(g: Group) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if g.chain is not None:
        out["provider"] = {"name": g.chain[0], "fallback_providers": list(g.chain[1:])}
    if g.routing is not None:
        out.update(_routing(g.routing))
    if g.system_mode:
        out["system_prompt"] = {"mode": g.system_mode, "text": g.system_text}
    if g.tools_allow is not None:
        out["tools"] = {"allow": sorted(g.tools_allow)}
    elif g.tools_deny:
        out["tools"] = {"deny": sorted(g.tools_deny)}
    if g.temperature_ratio is not None:
        out["temperature_ratio"] = g.temperature_ratio
    if g.max_tokens is not None:
        out["max_tokens"] = g.max_tokens
    out["tool_mode"] = g.tool_mode
    return out


def plain(value: Any) -> Any:
    """``value`` as YAML/JSON-ready data (mappings, tuples and paths made plain)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, frozenset, set)):
        return [plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
