"""Canonical request to a Gemini ``generateContent`` body (contents are in ``contents.py``).

C = converted, D = dropped (reason), R = rejected with a 400 naming the field.

model                     C  the URL path ``models/{model}:generateContent`` (or
                             ``:streamGenerateContent?alt=sse``), never the body
system (string / blocks)  C  ``systemInstruction {parts: [{text}]}``; blocks joined
system block starting     D  Anthropic billing metadata, not an instruction
  x-anthropic-billing-header
messages                  C  ``contents`` (contents.py)
max_tokens                C  ``generationConfig.maxOutputTokens`` (core clamps it to the
                             model profile's output limit first)
temperature, top_p, top_k C  ``temperature``, ``topP``, ``topK``
stop_sequences            C  ``stopSequences``; R above Gemini's 5
tools[] (custom)          C  one ``functionDeclarations`` tool; ``parametersJsonSchema`` when
                             the profile says ``json_schema_tools``, else ``parameters`` in
                             Gemini's subset (schema.py; what is dropped is logged);
                             names Gemini rejects are renamed and renamed back in answers
tools[] server types      R  web_search_..., bash_... run at Anthropic
tool_choice               C  auto -> AUTO, any -> ANY, tool -> ANY + allowedFunctionNames,
                             none -> NONE (``toolConfig.functionCallingConfig``)
disable_parallel_tool_use D  Gemini has no switch for parallel calls
thinking enabled (budget) C  profile ``budget``: ``thinkingBudget`` clamped to the model's
                             range; profile ``level``: ``thinkingLevel`` (budget < 4096 LOW,
                             < 16384 MEDIUM, else HIGH, nearest level the model takes);
                             ``includeThoughts`` unless ``display: omitted``
thinking adaptive         C  budget -1 (dynamic) or the model's default level, thoughts
                             included; ``output_config.effort`` picks the budget or level
thinking disabled         C  budget 0 where the model can stop thinking, else its lowest
                             budget or level
thinking, unknown model   D  a model whose profile says nothing about thinking may reject
                             ``thinkingConfig``; it thinks by its own default
output_config.format      C  ``responseMimeType: application/json`` + ``responseJsonSchema``
                             (or a sanitised ``responseSchema``)
metadata, cache_control,  D  no Gemini equivalent (caches are implicit or ``cachedContent``)
  context_management, service_tier, unknown fields
container, mcp_servers    R  Anthropic-hosted features

Extra Gemini fields reach the body two ways, merged by ``merge_extra`` (``core/canonical.py``):
the provider's ``options.extra_body``, then the side fields of a Gemini client
(``safetySettings``, ``cachedContent``, ``generationConfig.seed``, ...). A top-level key is set; a mapping under a
key that is a mapping here too (``generationConfig``, ``toolConfig``) is merged key by key,
the extra value winning; anything else replaces ccrelay's value: a Gemini client whose tools
hold what canonical tools cannot (``googleSearch``, a function's ``behavior``) sends its whole
``tools`` list that way, declarations included.
"""

from __future__ import annotations

import logging
from typing import Any

from ccrelay.core.canonical import (
    budget_effort,
    nearest_effort,
    output_format,
    reject_hosted,
    system_text,
)
from ccrelay.core.errors import InvalidRequest, Unsupported
from ccrelay.core.jsonutil import dumps_str
from ccrelay.core.profiles import ModelProfile
from ccrelay.core.types import CanonicalRequest
from ccrelay.core.vault import Vault

from .contents import to_contents
from .names import KeyMap, name_out
from .schema import json_schema, sanitise

log = logging.getLogger("ccrelay.gemini")

_MAX_STOPS = 5
_TOOL_CHOICE = {"auto": "AUTO", "any": "ANY", "none": "NONE", "tool": "ANY"}
_EFFORT_BUDGET = {"minimal": 512, "low": 1_024, "medium": 8_192, "high": 24_576}
_LEVELS = ("minimal", "low", "medium", "high")
# What was dropped from which tool's schema is logged once an hour, not on every request
# (Claude Code sends the same two dozen tools each time).
_LOGGED: Vault[bool] = Vault(max_items=2_000, ttl=3_600)
_DECLARATIONS: Vault[tuple[list[dict[str, Any]], dict[str, KeyMap]]] = Vault(
    max_items=256, ttl=3_600
)


def build_body(
    req: CanonicalRequest, profile: ModelProfile, provider: str
) -> tuple[dict[str, Any], dict[str, KeyMap]]:
    """The ``generateContent`` body and the property renames per sent function name."""
    reject_hosted(req, "Gemini has no equivalent")
    body: dict[str, Any] = {}
    keymaps: dict[str, KeyMap] = {}
    tools = _tools(req, profile, provider, keymaps)
    body["contents"] = to_contents(req.get("messages") or [], keymaps)
    system = system_text(req.get("system"))
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    if tools:
        body["tools"] = [{"functionDeclarations": tools}]
        choice = _tool_choice(req.get("tool_choice"))
        if choice:
            body["toolConfig"] = {"functionCallingConfig": choice}
    config = _generation_config(req, profile)
    if config:
        body["generationConfig"] = config
    return body, keymaps


# --- tools --------------------------------------------------------------------------------


def _tools(
    req: CanonicalRequest, profile: ModelProfile, provider: str, keymaps: dict[str, KeyMap]
) -> list[dict[str, Any]]:
    tools = req.get("tools")
    if not tools:
        return []
    # Clients send the same tools on every request: the converted declarations are kept,
    # keyed by the tools' JSON (a fraction of the cost of converting two dozen schemas).
    key = ("J" if profile.json_schema_tools else "S") + dumps_str(tools)
    cached = _DECLARATIONS.get(key)
    if cached is None:
        cached = _declarations(tools, bool(profile.json_schema_tools), provider)
        _DECLARATIONS.put(key, cached)
    decls, maps = cached
    keymaps.update(maps)
    return decls


def _declarations(
    tools: list[Any], full_schema: bool, provider: str
) -> tuple[list[dict[str, Any]], dict[str, KeyMap]]:
    out = []
    keymaps: dict[str, KeyMap] = {}
    dropped: list[str] = []
    for i, tool in enumerate(tools):
        if tool.get("type") not in (None, "custom"):
            raise Unsupported(
                f"tools[{i}]: Anthropic server tool {tool.get('type')!r} has no Gemini equivalent"
            )
        client_name = str(tool.get("name") or "")
        name = name_out(client_name)
        decl: dict[str, Any] = {"name": name}
        if tool.get("description"):
            decl["description"] = tool["description"]
        schema = tool.get("input_schema")
        keymap: KeyMap | None
        if full_schema:
            decl["parametersJsonSchema"], keymap = json_schema(schema)
        else:
            params, keymap, lost = sanitise(schema)
            if params is not None:
                decl["parameters"] = params
            if lost:
                dropped.append(f"{client_name}: {', '.join(lost)}")
        if keymap is not None:
            keymaps[name] = keymap
        out.append(decl)
    if dropped:
        line = "; ".join(dropped)
        if _LOGGED.get(provider + line) is None:
            _LOGGED.put(provider + line, True)
            log.info(
                "provider %s: tool schema keywords outside Gemini's subset were dropped: %s",
                provider,
                line,
            )
    return out, keymaps


def _tool_choice(choice: Any) -> dict[str, Any] | None:
    if not choice:
        return None
    kind = choice.get("type")
    if kind not in _TOOL_CHOICE:
        raise InvalidRequest(f"tool_choice.type: expected auto, any, tool or none, got {kind!r}")
    out: dict[str, Any] = {"mode": _TOOL_CHOICE[kind]}
    if kind == "tool":
        out["allowedFunctionNames"] = [name_out(str(choice.get("name") or ""))]
    return out


# --- generation config --------------------------------------------------------------------


def _generation_config(req: CanonicalRequest, profile: ModelProfile) -> dict[str, Any]:
    config: dict[str, Any] = {}
    max_tokens = req.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        config["maxOutputTokens"] = max(1, max_tokens)
    for key, name in (("temperature", "temperature"), ("top_p", "topP"), ("top_k", "topK")):
        if req.get(key) is not None:
            config[name] = req[key]  # type: ignore[literal-required]
    stops = req.get("stop_sequences")
    if stops:
        if len(stops) > _MAX_STOPS:
            raise InvalidRequest(
                f"stop_sequences: {len(stops)} given but Gemini takes at most {_MAX_STOPS}; "
                "send fewer"
            )
        config["stopSequences"] = list(stops)
    thinking = _thinking(req, profile)
    if thinking:
        config["thinkingConfig"] = thinking
    fmt = output_format(req)
    if fmt is not None:
        config["responseMimeType"] = "application/json"
        if profile.json_schema_tools:
            config["responseJsonSchema"] = fmt["schema"]
        else:
            schema, _, _ = sanitise(fmt["schema"])
            if schema is not None:
                config["responseSchema"] = schema
    return config


def _thinking(req: CanonicalRequest, profile: ModelProfile) -> dict[str, Any] | None:
    thinking = req.get("thinking") or {}
    kind = thinking.get("type")
    effort = (req.get("output_config") or {}).get("effort")
    style = profile.thinking
    if style not in ("budget", "level") or kind is None:
        return None
    out: dict[str, Any] = {}
    if kind != "disabled" and thinking.get("display") != "omitted":
        out["includeThoughts"] = True
    budget = thinking.get("budget_tokens") if kind == "enabled" else None
    wanted = _level_for(budget, effort)
    if style == "budget":
        lo, hi = profile.thinking_budget or (0, 24_576)
        if kind == "disabled":
            out["thinkingBudget"] = lo
        elif isinstance(budget, int):
            out["thinkingBudget"] = min(max(budget, lo or 1), hi)
        elif wanted is not None:
            out["thinkingBudget"] = hi if effort in ("max", "xhigh") else _EFFORT_BUDGET[wanted]
        else:
            out["thinkingBudget"] = -1  # dynamic: the model decides
        return out
    levels = tuple(x.lower() for x in profile.thinking_levels) or ("low", "high")
    if kind == "disabled":
        out["thinkingLevel"] = levels[0].upper()
    elif wanted is not None:
        out["thinkingLevel"] = _nearest(wanted, levels).upper()
    return out


def _level_for(budget: Any, effort: Any) -> str | None:
    if isinstance(effort, str):
        effort = effort.lower()
        if effort in ("max", "xhigh"):
            return "high"
        if effort in _LEVELS:
            return str(effort)
        raise InvalidRequest(f"output_config.effort: unknown value {effort!r}")
    if isinstance(budget, int):
        return budget_effort(budget)
    return None


def _nearest(wanted: str, levels: tuple[str, ...]) -> str:
    """``wanted`` if the model takes it, else the nearest level it takes (on a tie the
    higher one: the client asked for more, not less)."""
    if wanted in levels:
        return wanted
    known = [lv for lv in levels if lv in _LEVELS]
    if not known:
        return levels[-1]
    return nearest_effort(wanted, known, _LEVELS)
