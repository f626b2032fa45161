"""Responses ``tools`` and ``tool_choice`` as canonical tools, custom tools included.

| Responses | canonical |
|---|---|
| ``{type: function, name, description, parameters, strict}`` | ``{name, description, input_schema: parameters}`` (an empty object schema when none); ``strict`` carried in the side field |
| ``{type: custom, name, description, format}`` | a tool taking one string: ``input_schema = {type: object, properties: {input: {type: string}}, required: [input]}``; the grammar (``format.definition``, Lark or regex) is appended to the description so the model can follow it; the backend's ``input.input`` string comes back as ``custom_tool_call.input`` |
| ``{type: namespace, name, tools}`` (at the top level, or in an ``additional_tools`` input item, where Codex 0.147+ declares its tools for its default models) | each inner tool as above, named ``<namespace>__<name>`` (just ``<name>`` in the default namespace ``functions``); its calls go back to the client with ``name`` and ``namespace`` as declared. A name declared twice keeps its first definition |
| hosted tools (``web_search``, ``file_search``, ``tool_search``, ``mcp`` ...) | left out, named in one warning line and the ``x-ccrelay-omitted-tools`` header (option ``hosted_tools: reject``: a 400); a Responses backend gets them from the side field |
| ``tool_choice`` ``auto`` / ``required`` / ``none`` | ``{type: auto}`` / ``{type: any}`` / ``{type: none}`` |
| ``tool_choice`` ``{type: function\\|custom, name}`` | ``{type: tool, name}`` |
| ``tool_choice`` ``{type: allowed_tools, mode, tools}`` | only the listed tools are offered; ``mode`` ``auto`` / ``required`` as above |
| ``tool_choice`` naming a hosted tool | ``auto`` while hosted tools are left out (a 400 under ``reject``) |
| ``parallel_tool_calls: false`` | ``disable_parallel_tool_use: true`` on the tool choice |
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ccrelay.core.errors import InvalidRequest
from ccrelay.core.types import Tool

_EMPTY_SCHEMA = {"type": "object", "properties": {}}
_CHOICES = {"auto": "auto", "required": "any", "none": "none"}


@dataclass
class ToolSet:
    """The canonical tools of one request and what the answer needs to know about them.

    :param tools: canonical tools, in the client's order.
    :param custom: names of custom tools (their calls come back as ``custom_tool_call``).
    :param hosted: types of the hosted tools left out, each once.
    :param choice: the canonical ``tool_choice`` (None: the backend's default).
    :param namespaces: ``{canonical name: (namespace, name)}`` of the tools declared in a
        namespace (their calls carry both back to the client).
    """

    tools: list[Tool] = field(default_factory=list)
    custom: frozenset[str] = frozenset()
    hosted: list[str] = field(default_factory=list)
    choice: dict[str, Any] | None = None
    namespaces: dict[str, tuple[str, str]] = field(default_factory=dict)


#: the namespace OpenAI puts function tools in when none is named
DEFAULT_NAMESPACE = "functions"


def canonical_name(name: str, namespace: Any = None) -> str:
    """The name a backend sees for tool ``name`` of ``namespace`` (a call item names both)."""
    if not namespace or namespace == DEFAULT_NAMESPACE:
        return name
    return f"{namespace}__{name}"


def client_name(name: str, namespaces: Mapping[str, tuple[str, str]]) -> dict[str, str]:
    """``name`` and, for a tool declared in a namespace, ``namespace``, as a call item
    carries them back to the client."""
    declared = namespaces.get(name)
    if declared is None:
        return {"name": name}
    return {"name": declared[1], "namespace": declared[0]}


def declared_tools(body: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``(path, tool)`` for ``tools`` and the tools of ``additional_tools`` input items."""
    out = [(f"tools.{i}", t) for i, t in enumerate(body.get("tools") or ())]
    items = body.get("input")
    if isinstance(items, list):
        for i, item in enumerate(items):
            if type(item) is dict and item.get("type") == "additional_tools":
                out += [(f"input.{i}.tools.{k}", t) for k, t in enumerate(item["tools"])]
    return out


def convert_tools(body: dict[str, Any], reject_hosted: bool) -> ToolSet:
    """Canonical tools and tool choice for ``body`` (validated by ``spec.REQUEST``)."""
    out = ToolSet()
    custom: set[str] = set()
    seen: set[str] = set()

    def add(where: str, tool: dict[str, Any], namespace: str | None) -> None:
        kind = tool["type"]
        if kind in ("function", "custom"):
            name = canonical_name(tool["name"], namespace)
            if name in seen:
                return
            seen.add(name)
            converted = _function(tool) if kind == "function" else custom_tool(tool)
            converted["name"] = name
            out.tools.append(converted)
            if kind == "custom":
                custom.add(name)
            if namespace:
                out.namespaces[name] = (namespace, tool["name"])
        elif kind == "namespace" and namespace is None:
            for k, inner in enumerate(tool["tools"]):
                add(f"{where}.tools.{k}", inner, tool["name"])
        else:
            if reject_hosted:
                raise InvalidRequest(
                    f"{where}: the hosted tool {kind!r} runs only at OpenAI and this "
                    "relay's backends cannot run it; remove it (or set "
                    "dialects.openai_responses.hosted_tools: drop to have it left out)",
                    param=where,
                )
            if kind not in out.hosted:
                out.hosted.append(kind)

    for where, tool in declared_tools(body):
        add(where, tool, None)
    out.custom = frozenset(custom)
    _choice(body, out, reject_hosted)
    return out


def custom_tool(tool: dict[str, Any]) -> Tool:
    """A custom (free-form string) tool as a canonical tool taking ``{"input": <string>}``."""
    fmt = tool.get("format") or {}
    description = tool.get("description") or ""
    if fmt.get("type") == "grammar":
        syntax = "Lark" if fmt["syntax"] == "lark" else "regular expression"
        rule = (
            f"The `input` string must be valid in this {syntax} grammar; it is passed to the "
            f"tool verbatim:\n{fmt['definition']}"
        )
        hint = f"The raw input for the tool, following the {syntax} grammar in the description."
    else:
        rule = "The tool takes free-form text: the `input` string is passed to it verbatim."
        hint = "The raw input for the tool (free-form text)."
    return {
        "name": tool["name"],
        "description": f"{description}\n\n{rule}" if description else rule,
        "input_schema": {
            "type": "object",
            "properties": {"input": {"type": "string", "description": hint}},
            "required": ["input"],
        },
    }


def _function(tool: dict[str, Any]) -> Tool:
    out: Tool = {"name": tool["name"], "input_schema": tool.get("parameters") or _EMPTY_SCHEMA}
    if tool.get("description"):
        out["description"] = tool["description"]
    return out


def _choice(body: dict[str, Any], out: ToolSet, reject_hosted: bool) -> None:
    choice = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls")
    canonical: dict[str, Any] | None = None
    if isinstance(choice, str):
        canonical = {"type": _CHOICES[choice]}
    elif isinstance(choice, dict):
        kind = choice["type"]
        if kind in ("function", "custom"):
            canonical = {
                "type": "tool",
                "name": canonical_name(choice["name"], choice.get("namespace")),
            }
        elif kind == "allowed_tools":
            allowed = {t.get("name") for t in choice["tools"] if isinstance(t.get("name"), str)}
            out.tools = [t for t in out.tools if t["name"] in allowed]
            canonical = {"type": "auto" if choice["mode"] == "auto" else "any"}
        elif reject_hosted:
            raise InvalidRequest(
                f"tool_choice: {kind!r} names a hosted tool that runs only at OpenAI; "
                "choose 'auto', 'required', 'none' or a function",
                param="tool_choice",
            )
        elif kind not in out.hosted:
            out.hosted.append(kind)  # left out with the tool; the backend's default applies
    if not out.tools:
        return  # a tool choice without tools is meaningless (and rejected upstream)
    if parallel is False:
        canonical = canonical or {"type": "auto"}
        if canonical["type"] != "none":
            canonical["disable_parallel_tool_use"] = True
    out.choice = canonical
