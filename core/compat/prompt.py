"""The request side of compat mode: tools described in the system prompt, history as text.

``compat_request`` returns a new canonical request (the client's is not changed) for a
backend without function calling:

| field | becomes |
|---|---|
| ``tools`` | removed; each custom tool described in a system block as ``<tool name="..">description, JSON schema of its input</tool>`` (``$schema`` left out: metadata, not meaning) |
| ``tools[]`` with a server ``type`` (``web_search_...``, ``bash_...``) | rejected (400): they run on Anthropic's servers, no prompt can stand in |
| ``tool_choice`` auto / absent | removed |
| ``tool_choice`` any / tool | removed; an instruction to call some tool / that tool |
| ``tool_choice`` none | removed; tools not described (the model is not to call any) |
| ``disable_parallel_tool_use`` | an instruction to call at most one tool (the parser keeps only the first) |
| ``system`` | the client's system (string or blocks, ``cache_control`` kept) then one text block with the tools and the calling format |
| assistant ``tool_use`` | ``<tool_call>`` JSON text, merged with the text around it into one text block: what the model itself would have written |
| user ``tool_result`` | a text block ``<tool_result id=".." name="..">content</tool_result>`` (``error="true"`` when ``is_error``), ``cache_control`` kept; images and documents in the result follow it as blocks of their own |
| everything else | unchanged (thinking blocks, images, ``role: system`` messages, other fields) |

No message is added, removed or left empty, so turn order stays whatever the client sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ccrelay.core.errors import Unsupported
from ccrelay.core.jsonutil import dumps_str
from ccrelay.core.types import CanonicalRequest

from .parser import CLOSE, OPEN

_FORMAT = f"""\
# How to call a tool

To call a tool, write a {OPEN} block holding one JSON object with the tool's "name" and \
its "arguments" (an object that follows the tool's schema), exactly like this:

{OPEN}
{{"name": "TOOL_NAME", "arguments": {{"ARGUMENT": "VALUE"}}}}
{CLOSE}

Rules:
- The JSON must be valid: strings in double quotes; inside strings write a newline as \\n, \
a double quote as \\" and a backslash as \\\\.
- Only call the tools listed above, with their exact names. To answer without a tool, just \
write your answer.
- Text you write before a call is shown to the user.
{{several}}
- After your last {CLOSE}, stop writing and wait: the results come back in the next \
message, one <tool_result id="..." name="..."> block per call (with error="true" when the \
tool failed). Never write a <tool_result> yourself."""

_SEVERAL = "- To call several tools at once, write one block after the other."
_ONE = "- Call at most one tool per answer."


def compat_request(req: CanonicalRequest) -> CanonicalRequest:
    """``req`` for a backend without function calling (see the module docstring).

    :raises Unsupported: for a server tool (one with a ``type`` other than ``custom``).
    """
    out: dict[str, Any] = dict(req)
    tools = out.pop("tools", None) or []
    choice = out.pop("tool_choice", None) or {}
    kind = choice.get("type", "auto")
    for i, tool in enumerate(tools):
        if tool.get("type", "custom") != "custom":
            raise Unsupported(
                f"tools[{i}]: {tool.get('type')!r} is a tool Anthropic's servers run; compat "
                "mode can only describe custom tools (name, description, input_schema)"
            )
    if tools and kind != "none":
        single = bool(choice.get("disable_parallel_tool_use"))
        out["system"] = _with_block(req.get("system"), tools_prompt(tools, choice, single))
    out["messages"] = _history(req["messages"])
    return out  # type: ignore[return-value]


def tools_prompt(tools: list[Any], choice: dict[str, Any], single: bool) -> str:
    """The system text that describes ``tools`` and the calling format."""
    parts = [
        "# Tools\n\nYou can call the tools below. Each <tool> element gives a tool's name, "
        "what it does, and the JSON schema of its arguments."
    ]
    for tool in tools:
        schema = tool.get("input_schema") or {"type": "object"}
        if "$schema" in schema:
            schema = {k: v for k, v in schema.items() if k != "$schema"}
        desc = (tool.get("description") or "").strip()
        # A tag, not a heading: tool descriptions carry headings of their own.
        parts.append(
            f'<tool name="{_attr(tool["name"])}">\n{desc + chr(10) if desc else ""}'
            f"Arguments schema: {dumps_str(schema)}\n</tool>"
        )
    parts.append(_FORMAT.replace("{several}", _ONE if single else _SEVERAL))
    parts.append(_examples(tools, single))
    kind = choice.get("type")
    if kind == "any":
        parts.append("In this answer you must call at least one tool.")
    elif kind == "tool":
        parts.append(f"In this answer you must call the tool {choice.get('name')}.")
    return "\n\n".join(parts)


def render_call(name: str, args: Any) -> str:
    """A call as the model writes it (the history shows calls in the model's own format)."""
    return f'{OPEN}\n{{"name": {dumps_str(name)}, "arguments": {dumps_str(args)}}}\n{CLOSE}'


# --- helpers --------------------------------------------------------------------------------


def _examples(tools: list[Any], single: bool) -> str:
    picked = tools[:1] if single else tools[:2]
    calls = "\n".join(render_call(t["name"], _placeholder_args(t)) for t in picked)
    what = " and ".join(t["name"] for t in picked)
    return f"Example: calling {what}:\n\nI will do that now.\n{calls}"


def _placeholder_args(tool: dict[str, Any]) -> dict[str, Any]:
    """Up to three required arguments of ``tool`` with a placeholder value of their type."""
    schema = tool.get("input_schema") or {}
    props = schema.get("properties") or {}
    required = [r for r in schema.get("required") or () if isinstance(r, str)]
    out: dict[str, Any] = {}
    for name in (required or list(props))[:3]:
        prop = props.get(name) if isinstance(props, dict) else None
        kind = prop.get("type") if isinstance(prop, dict) else None
        out[name] = _PLACEHOLDERS.get(kind if isinstance(kind, str) else "string", "...")
    return out


_PLACEHOLDERS: dict[str, Any] = {
    "string": "...",
    "integer": 1,
    "number": 1,
    "boolean": True,
    "array": [],
    "object": {},
}


def _with_block(system: Any, text: str) -> list[dict[str, Any]]:
    if not system:
        return [{"type": "text", "text": text}]
    if isinstance(system, str):
        return [{"type": "text", "text": system}, {"type": "text", "text": text}]
    return [*system, {"type": "text", "text": text}]


def _history(messages: list[Any]) -> list[Any]:
    """Messages with tool_use / tool_result blocks rendered as text; others unchanged."""
    names: dict[str, str] = {}
    out: list[Any] = []
    for msg in messages:
        content = msg.get("content")
        if not isinstance(content, list) or not any(
            b.get("type") in ("tool_use", "tool_result") for b in content
        ):
            out.append(msg)
            continue
        if msg.get("role") == "assistant":
            blocks = _assistant(content, names)
        else:
            blocks = _user(content, names)
        out.append({**msg, "content": blocks})
    return out


def _assistant(content: list[Any], names: dict[str, str]) -> list[Any]:
    """Runs of text and tool_use blocks become one text block each."""
    out: list[Any] = []
    run: list[str] = []
    cache: Any = None

    def close() -> None:
        nonlocal cache
        if run:
            block: dict[str, Any] = {"type": "text", "text": "\n".join(run)}
            if cache is not None:
                block["cache_control"] = cache
            out.append(block)
            run.clear()
            cache = None

    for block in content:
        kind = block.get("type")
        if kind == "tool_use":
            names[block.get("id", "")] = block.get("name", "")
            run.append(render_call(block.get("name", ""), block.get("input") or {}))
        elif kind == "text":
            if block.get("text"):
                run.append(block["text"])
        else:
            close()
            out.append(block)
            continue
        cache = block.get("cache_control", cache)
    close()
    return out


def _user(content: list[Any], names: dict[str, str]) -> list[Any]:
    out: list[Any] = []
    for block in content:
        if block.get("type") != "tool_result":
            out.append(block)
            continue
        text, extra = _result_content(block.get("content"))
        call_id = str(block.get("tool_use_id", ""))
        attrs = f' id="{_attr(call_id)}"'
        name = names.get(call_id)
        if name:
            attrs += f' name="{_attr(name)}"'
        if block.get("is_error"):
            attrs += ' error="true"'
        rendered: dict[str, Any] = {
            "type": "text",
            "text": f"<tool_result{attrs}>\n{text}\n</tool_result>",
        }
        if "cache_control" in block:
            rendered["cache_control"] = block["cache_control"]
        out.append(rendered)
        out.extend(extra)
    return out


def _result_content(content: Any) -> tuple[str, list[Any]]:
    """The result's text, and its non-text blocks (images, documents) to send after it."""
    if content is None:
        return "(no output)", []
    if isinstance(content, str):
        return content or "(no output)", []
    texts: list[str] = []
    extra: list[Any] = []
    for block in _blocks(content):
        if block.get("type") == "text":
            texts.append(block.get("text", ""))
        else:
            extra.append({k: v for k, v in block.items() if k != "cache_control"})
    if extra:
        texts.append(f"({len(extra)} attachment(s) follow this result)")
    return "\n".join(texts) or "(no output)", extra


def _blocks(content: Iterable[Any]) -> Iterable[dict[str, Any]]:
    return (b for b in content if isinstance(b, dict))


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
