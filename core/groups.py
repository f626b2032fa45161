"""Groups: several named setups served at once under URL prefixes, each shaping its requests.

Every route of every dialect is also served under ``/{group}/`` (``/qwen/v1/messages``,
``/qwen/api/chat``); the unprefixed routes are the ``default`` group. A group may bring its
own routing (``provider`` and/or ``models`` / ``routes``, as at the top level; what it leaves
out comes from the top level) and shapes the canonical request once, whatever the client's
protocol::

    groups:
      qwen:
        provider: {name: dashscope, fallback_providers: [openrouter]}
        system_prompt: {mode: append, text: "Answer in English."}   # append | prepend | replace
        tools: {deny: [WebSearch, WebFetch]}                         # or allow: [...]
        temperature_ratio: 0.7        # the client's temperature times this
        max_tokens: 16384             # a cap (also the value when the client gave none)
        tool_mode: native             # native | compat (core/compat)

A removed tool also leaves ``tool_choice`` (a choice naming it becomes ``auto``; with no
tools left there is no choice); the conversation's earlier calls of it stay as they are, so
the history stays valid. A group named like a route's first segment (``v1``, ``api``,
``health`` ...) is a config error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ccrelay.core.routing import RoutingConfig, RoutingError, parse_routing
from ccrelay.core.types import CanonicalRequest

DEFAULT = "default"
#: the path segment that turns tool compat mode on for one request (``/{group}/compat_mode/...``)
COMPAT_SEGMENT = "compat_mode"
_KEYS = {
    "provider", "models", "routes", "system_prompt", "tools", "temperature_ratio", "max_tokens",
    "tool_mode",
}  # fmt: skip


class GroupError(ValueError):
    """A ``groups`` section is invalid; the message names its path."""


@dataclass(frozen=True)
class Group:
    """One group: its routing (None: the top level's) and how it shapes requests."""

    name: str
    chain: tuple[str, ...] | None = None
    routing: RoutingConfig | None = None
    system_mode: str = ""
    system_text: str = ""
    tools_allow: frozenset[str] | None = None
    tools_deny: frozenset[str] = frozenset()
    temperature_ratio: float | None = None
    max_tokens: int | None = None
    tool_mode: str = "native"

    @property
    def shapes(self) -> bool:
        """Whether this group changes requests at all (so the default costs nothing)."""
        return bool(
            self.system_mode
            or self.tools_allow is not None
            or self.tools_deny
            or self.temperature_ratio is not None
            or self.max_tokens is not None
        )


def shape(req: CanonicalRequest, group: Group) -> CanonicalRequest:
    """``req`` as the group wants it (a shallow copy; the client's body is not modified)."""
    if not group.shapes:
        return req
    out: dict[str, Any] = dict(req)
    if group.system_mode:
        out["system"] = _system(req.get("system"), group.system_mode, group.system_text)
    if group.tools_allow is not None or group.tools_deny:
        _filter_tools(out, group)
    if group.temperature_ratio is not None and isinstance(req.get("temperature"), (int, float)):
        # 0-2 is the widest range any protocol takes; strategies clamp to their backend's.
        out["temperature"] = max(0.0, min(2.0, req["temperature"] * group.temperature_ratio))
    if group.max_tokens is not None:
        asked = req.get("max_tokens")
        out["max_tokens"] = group.max_tokens if asked is None else min(asked, group.max_tokens)
    return out  # type: ignore[return-value]


def _system(system: Any, mode: str, text: str) -> Any:
    if mode == "replace" or not system:
        return text
    if isinstance(system, str):
        return f"{system}\n\n{text}" if mode == "append" else f"{text}\n\n{system}"
    block = {"type": "text", "text": text}
    return [*system, block] if mode == "append" else [block, *system]


def _filter_tools(out: dict[str, Any], group: Group) -> None:
    tools = out.get("tools")
    if not tools:
        return

    def kept(tool: Mapping[str, Any]) -> bool:
        name = tool.get("name", "")
        if name in group.tools_deny:
            return False
        return group.tools_allow is None or name in group.tools_allow

    remaining = [t for t in tools if kept(t)]
    out["tools"] = remaining
    choice = out.get("tool_choice")
    if not remaining:
        del out["tools"]
        out.pop("tool_choice", None)
    elif isinstance(choice, dict) and choice.get("type") == "tool":
        if choice.get("name") not in {t.get("name") for t in remaining}:
            out["tool_choice"] = {"type": "auto"}


# --- config ------------------------------------------------------------------------------


def parse_groups(
    raw: Any, providers: Mapping[str, Any], reserved: Iterable[str]
) -> dict[str, Group]:
    """Validate the ``groups`` section.

    :param reserved: first path segments of served routes, which no group may be named.
    :raises GroupError: naming the path of the first problem.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise GroupError(f"groups: expected a mapping of group names, got {raw!r}"[:120])
    taken = set(reserved) | {COMPAT_SEGMENT}
    groups: dict[str, Group] = {}
    for name, section in raw.items():
        where = f"groups.{name}"
        if not isinstance(name, str) or not name or "/" in name:
            raise GroupError(f"{where}: a group name is one path segment")
        if name in taken:
            raise GroupError(
                f"{where}: the name collides with the route /{name}/...; choose another name"
            )
        if section is None:
            section = {}
        if not isinstance(section, dict):
            raise GroupError(f"{where}: expected a mapping")
        for key in section:
            if key not in _KEYS:
                raise GroupError(
                    f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_KEYS))})"
                )
        groups[name] = _group(name, section, where, providers)
    return groups


def _group(name: str, s: Mapping[str, Any], where: str, providers: Mapping[str, Any]) -> Group:
    chain = None
    if "provider" in s:
        sel = s["provider"]
        if not isinstance(sel, dict) or not isinstance(sel.get("name"), str):
            raise GroupError(f"{where}.provider: expected {{name, fallback_providers}}")
        fallbacks = sel.get("fallback_providers") or []
        if not isinstance(fallbacks, list):
            raise GroupError(f"{where}.provider.fallback_providers: expected a list")
        names = [sel["name"], *fallbacks]
        for i, p in enumerate(names):
            if p not in providers:
                path = (
                    f"{where}.provider.name"
                    if i == 0
                    else f"{where}.provider.fallback_providers[{i - 1}]"
                )
                raise GroupError(f"{path}: no provider named {p!r}")
        chain = tuple(dict.fromkeys(names))
    routing = None
    if "models" in s or "routes" in s:
        try:
            routing = parse_routing(s.get("models"), s.get("routes"), providers)
        except RoutingError as exc:
            raise GroupError(f"{where}.{exc}") from None
    mode, text = "", ""
    if "system_prompt" in s:
        sp = s["system_prompt"]
        if isinstance(sp, str):
            sp = {"mode": "append", "text": sp}
        if not isinstance(sp, dict) or not isinstance(sp.get("text"), str):
            raise GroupError(f"{where}.system_prompt: expected {{mode, text}}")
        mode = sp.get("mode", "append")
        if mode not in ("append", "prepend", "replace"):
            raise GroupError(f"{where}.system_prompt.mode: expected append, prepend or replace")
        text = sp["text"]
    allow: frozenset[str] | None = None
    deny: frozenset[str] = frozenset()
    if "tools" in s:
        tools = s["tools"]
        if not isinstance(tools, dict) or set(tools) - {"allow", "deny"} or not tools:
            raise GroupError(f"{where}.tools: expected {{allow: [...]}} or {{deny: [...]}}")
        for key in ("allow", "deny"):
            value = tools.get(key)
            if value is not None and (
                not isinstance(value, list) or not all(isinstance(v, str) for v in value)
            ):
                raise GroupError(f"{where}.tools.{key}: expected a list of tool names")
        allow = frozenset(tools["allow"]) if "allow" in tools else None
        deny = frozenset(tools.get("deny") or ())
    ratio = s.get("temperature_ratio")
    if ratio is not None and (type(ratio) not in (int, float) or ratio < 0):
        raise GroupError(f"{where}.temperature_ratio: expected a number >= 0")
    cap = s.get("max_tokens")
    if cap is not None and (type(cap) is not int or cap < 1):
        raise GroupError(f"{where}.max_tokens: expected a positive integer")
    tool_mode = s.get("tool_mode", "native")
    if tool_mode not in ("native", "compat"):
        raise GroupError(f"{where}.tool_mode: expected native or compat")
    return Group(
        name, chain, routing, mode, text, allow, deny,
        float(ratio) if ratio is not None else None, cap, tool_mode,
    )  # fmt: skip
