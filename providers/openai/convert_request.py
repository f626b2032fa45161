"""Canonical (Anthropic Messages) request to an OpenAI Chat Completions request body.

What happens to every canonical field: C = converted, D = dropped (reason given),
R = rejected with a 400 that names the field.

model                     C  ``ctx.model`` (the configured upstream model)
max_tokens                C  ``max_tokens``, or ``max_completion_tokens`` (o-series, gpt-5);
                             clamped to the model's output cap (table or option), at least 1
stream                    C  ``stream`` + ``stream_options.include_usage`` (the only way to
                             get usage in a stream)
system (string / blocks)  C  one leading ``system`` message, blocks joined by a blank line
system block starting     D  Anthropic billing metadata, not an instruction; it changes on
  x-anthropic-billing-header every request and would defeat OpenAI's prefix cache
role system (mid-conv.)   C  a ``system`` message at the same position
role user / assistant     C  same roles; tool results become ``tool`` messages
text block                C  text; text-only parts are joined into one string (every vendor
                             takes a string, not all take part lists)
empty text block          D  carries nothing; some servers reject empty parts
image (base64 / url)      C  ``image_url`` part with a ``data:`` URL / the URL
image (file id)           R  Files API ids exist only at Anthropic
document (base64/text/    C  ``file`` part with a ``data:`` URL / a text part
  content)
document (url)            R  nothing upstream would fetch it
tool_use                  C  ``tool_calls[]``; ids > 40 chars or with illegal characters are
                             shortened (prefix + hash, same on calls and results), illegal
                             names renamed reversibly (names.py)
tool_result               C  one ``tool`` message per result, in call order, before anything
                             else of that user turn
tool_result.is_error      C  text prefixed ``Error: `` (OpenAI has no error flag)
tool_result block list    C  text parts joined by newlines; images go to one ``user`` message
                             after all tool messages of the turn, labelled with the call id
tool_result, no content   C  ``(no output)``: some vendors reject empty tool content
tool_result, no call      C  user text ``Result of tool call <id>: ...`` (orphan tool
                             messages are rejected)
tool_use, no result       C  synthesised ``tool`` message ``Error: tool call was not
                             executed`` (unanswered calls are rejected)
thinking                  C  ``reasoning_content`` (option ``reasoning_field``) on assistant
                             turns that made tool calls, if option ``send_reasoning``
                             (DeepSeek/Qwen/GLM/Kimi need it back)
thinking, other turns     D  vendors ignore reasoning of finished turns
signature,                D  Anthropic-encrypted state, meaningless elsewhere
  redacted_thinking
cache_control (anywhere)  D  OpenAI-compatible upstreams cache prefixes automatically
other block types         R  server_tool_use and the like have no equivalent
                             (``search_result`` inside a tool result becomes text)
tools[] (custom)          C  ``{type: function, function: {name, description, parameters}}``;
                             schemas pass unchanged (non-strict mode takes any keyword);
                             ``tools: []`` is omitted (OpenAI rejects it)
tools[] server types      R  bash_..., web_search_... run at Anthropic
tool_choice               C  auto / ``required`` / ``{type: function, ...}`` / none; dropped
                             without tools (OpenAI rejects it alone)
disable_parallel_tool_use C  ``parallel_tool_calls: false``
temperature, top_p        C  passed (0-1 fits OpenAI's 0-2); D for models that only take the
                             default (o-series, gpt-5, option ``fixed_temperature``)
top_k                     D  OpenAI has no top_k and rejects it; C with option ``top_k``
stop_sequences            C  ``stop``; R above ``max_stop_sequences`` (default 4, OpenAI's
                             limit) or for models without stop: no silent truncation
metadata.user_id          C  ``user`` = 32-hex hash: stable per user, raw ids never leave the
                             relay (option ``send_user``)
metadata, other keys      D  no documented meaning
thinking enabled+budget   C  ``reasoning_effort`` (<4096 low, <16384 medium, else high) where
                             the model takes it; D otherwise
thinking adaptive/disab.  D  no portable switch; model default (vendor toggles: extra_body)
output_config.effort      C  ``reasoning_effort`` (``max`` -> highest accepted); D for models
                             without it (it is a hint, the model's default applies)
output_config.format      C  ``response_format`` json_schema (strict false), or json_object
                             plus the schema in the system message (option)
context_management        D  Anthropic server-side context editing
service_tier, inference_  D  Anthropic-only knobs without an OpenAI meaning
  geo, top-level cache_control, unknown fields
container, mcp_servers    R  Anthropic-hosted features

The side field of a Chat Completions client (``ctx.side_for("openai_chat")``, laid out in
``core/dialects/openai_chat/__init__.py``) is applied last, so a same-protocol client loses
nothing on the way:

side fields               C  set on the body as the client sent them (presence_penalty,
                             seed, logprobs, vendor switches ...), over what was built above;
                             ``options.extra_body`` still comes last
side messages             C  ``name``, ``role: developer`` and unknown keys set back on the
                             message made from that canonical message
side tool_results         C  extra keys set back on that tool message
side calls                C  the client's exact ``arguments`` string (no re-serialised
                             bytes, so the upstream's prompt cache still matches) and
                             extra keys of that tool call
side tools, images        C  ``strict`` and extra keys of a tool; ``detail`` of an image
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccrelay.core.canonical import (
    NOT_EXECUTED,
    hashed_user,
    orphan_text,
    output_format,
    reject_hosted,
    system_text,
    text_only,
)
from ccrelay.core.errors import InvalidRequest, Unsupported
from ccrelay.core.jsonutil import dumps_str
from ccrelay.core.types import CanonicalRequest

from .capabilities import Options, reasoning_effort
from .content import document_part, image_part, result_content
from .names import tool_id_out, tool_name_out

_TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none"}
_NOT_EXECUTED = f"Error: {NOT_EXECUTED}"
_NO_SIDE: Mapping[str, Any] = {}


def build_body(
    req: CanonicalRequest,
    model: str,
    opts: Options,
    provider: str,
    side: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The upstream JSON body for ``req`` (see the module table for every field).

    :param side: the side field of an ``openai_chat`` client (empty for any other).
    """
    side = side or _NO_SIDE
    reject_hosted(req, "OpenAI-compatible upstreams lack it")
    caps = opts.caps
    stream = bool(req.get("stream"))
    body: dict[str, Any] = {
        "model": model, "messages": _messages(req, opts, side), "stream": stream,
    }  # fmt: skip
    if stream:
        body["stream_options"] = {"include_usage": True}
    max_tokens = req.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        n = max(1, max_tokens if caps.max_output is None else min(max_tokens, caps.max_output))
        body["max_completion_tokens" if caps.completion_tokens_param else "max_tokens"] = n
    if not caps.fixed_sampling:
        for key in ("temperature", "top_p"):
            if req.get(key) is not None:
                body[key] = req[key]  # type: ignore[literal-required]
    if opts.top_k and req.get("top_k") is not None:
        body["top_k"] = req["top_k"]
    stops = req.get("stop_sequences")
    if stops:
        if not caps.stop:
            raise Unsupported(f"stop_sequences: model {model} does not accept stop sequences")
        if opts.max_stop_sequences and len(stops) > opts.max_stop_sequences:
            raise InvalidRequest(
                f"stop_sequences: {len(stops)} given but the upstream takes at most "
                f"{opts.max_stop_sequences}; send fewer, or raise "
                f"providers.{provider}.options.max_stop_sequences"
            )
        body["stop"] = list(stops)
    _tools(req, body, side.get("tools") or _NO_SIDE)
    user = hashed_user(req) if opts.send_user else None
    if user:
        body["user"] = user
    effort = reasoning_effort(req, caps.efforts)
    if effort:
        body["reasoning_effort"] = effort
    _output_format(req, body, opts)
    if side.get("fields"):
        body.update(side["fields"])
    if opts.extra_body:
        body.update(opts.extra_body)
    return body


# --- messages ------------------------------------------------------------------------------


def _messages(
    req: CanonicalRequest, opts: Options, side: Mapping[str, Any]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    extras = side.get("messages") or _NO_SIDE
    system = system_text(req.get("system"))
    if system:
        out.append({"role": "system", "content": system, **extras.get("system", _NO_SIDE)})
    pending: dict[str, None] = {}  # calls of the last assistant turn not yet answered, in order
    for i, msg in enumerate(req.get("messages") or ()):
        role = msg.get("role")
        content = msg.get("content")
        start = len(out)
        if role == "user":
            pending = _user(content, out, pending, f"messages[{i}]", side, i)
        elif role == "assistant":
            _answer_missing(out, pending)
            converted = _assistant(content, opts, f"messages[{i}]", side, i)
            pending = {}
            if converted is not None:
                out.append(converted)
                pending = {c["id"]: None for c in converted.get("tool_calls", ())}
        elif role == "system":
            _answer_missing(out, pending)
            pending = {}
            text = text_only(content, f"messages[{i}]")
            if text:
                out.append({"role": "system", "content": text})
        else:
            raise InvalidRequest(f"messages[{i}].role: expected user, assistant or system")
        extra = extras.get(str(i))
        if extra:
            made = [m for m in out[start:] if m["role"] != "tool"]
            if made:
                made[-1].update(extra)
    _answer_missing(out, pending)
    return out


def _answer_missing(out: list[dict[str, Any]], pending: dict[str, None]) -> None:
    for tool_id in pending:
        out.append({"role": "tool", "tool_call_id": tool_id, "content": _NOT_EXECUTED})
    pending.clear()


def _user(
    content: Any,
    out: list[dict[str, Any]],
    pending: dict[str, None],
    where: str,
    side: Mapping[str, Any] = _NO_SIDE,
    i: int = 0,
) -> dict[str, None]:
    """Append the tool messages, then the user message, of one user turn."""
    if isinstance(content, str):
        _answer_missing(out, pending)
        if content:
            out.append({"role": "user", "content": content})
        return pending
    parts: list[dict[str, Any]] = []
    results: list[tuple[int, dict[str, Any]]] = []
    for j, block in enumerate(content or ()):
        kind = block.get("type")
        if kind == "tool_result":
            results.append((j, block))
        elif kind == "text":
            if block.get("text"):
                parts.append({"type": "text", "text": block["text"]})
        elif kind == "image":
            parts.append(image_part(block, f"{where}.content[{j}]"))
            detail = (side.get("images") or _NO_SIDE).get(f"{i}.{j}")
            if detail:
                parts[-1]["image_url"].update(detail)
        elif kind == "document":
            parts.append(document_part(block, f"{where}.content[{j}]"))
        elif kind not in ("thinking", "redacted_thinking"):
            raise Unsupported(f"{where}.content[{j}]: block type {kind!r} has no OpenAI equivalent")
    follow: list[dict[str, Any]] = []
    if results:
        rank = {tool_id: n for n, tool_id in enumerate(pending)}
        ids = [tool_id_out(str(b.get("tool_use_id") or "")) for _, b in results]
        order = sorted(range(len(results)), key=lambda k: rank.get(ids[k], len(rank)))
        for k in order:
            j, block = results[k]
            text, images = result_content(block, f"{where}.content[{j}]")
            if ids[k] in pending:
                del pending[ids[k]]
                out.append({"role": "tool", "tool_call_id": ids[k], "content": text})
                extra = (side.get("tool_results") or _NO_SIDE).get(f"{i}.{j}")
                if extra:
                    out[-1].update(extra)
            else:
                follow.append({"type": "text", "text": orphan_text(ids[k], text)})
            if images:
                follow.append({"type": "text", "text": f"Images returned by tool call {ids[k]}:"})
                follow.extend(images)
    _answer_missing(out, pending)
    parts = follow + parts
    if parts:
        out.append({"role": "user", "content": _collapse(parts)})
    return pending


def _collapse(parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if all(p["type"] == "text" for p in parts):
        return "\n\n".join(p["text"] for p in parts)
    return parts


def _assistant(
    content: Any, opts: Options, where: str, side: Mapping[str, Any] = _NO_SIDE, i: int = 0
) -> dict[str, Any] | None:
    if isinstance(content, str):
        return {"role": "assistant", "content": content} if content else None
    sent = side.get("calls") or _NO_SIDE
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    thinking: list[str] = []
    for j, block in enumerate(content or ()):
        kind = block.get("type")
        if kind == "text":
            if block.get("text"):
                texts.append(block["text"])
        elif kind == "tool_use":
            args = block.get("input")
            calls.append({
                "id": tool_id_out(str(block.get("id") or "")),
                "type": "function",
                "function": {
                    "name": tool_name_out(str(block.get("name") or "")),
                    "arguments": args if isinstance(args, str) else dumps_str(args or {}),
                },
            })  # fmt: skip
            exact = sent.get(f"{i}.{len(calls) - 1}")
            if exact:
                _restore_call(calls[-1], exact)
        elif kind == "thinking":
            if block.get("thinking"):
                thinking.append(block["thinking"])
        elif kind != "redacted_thinking":
            raise Unsupported(f"{where}.content[{j}]: block type {kind!r} has no OpenAI equivalent")
    if not texts and not calls:
        return None
    msg: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts) or None}
    if calls:
        msg["tool_calls"] = calls
        if thinking and opts.send_reasoning:
            msg[opts.reasoning_field] = "\n\n".join(thinking)
    return msg


def _restore_call(call: dict[str, Any], exact: Mapping[str, Any]) -> None:
    """The client's own arguments string and extra keys on a call it sent (side field)."""
    for key, value in exact.items():
        if key == "arguments":
            if value.strip():
                call["function"]["arguments"] = value
        elif key == "function" and isinstance(value, dict):
            call["function"].update(value)
        else:
            call[key] = value


# --- tools, effort, output format ----------------------------------------------------------


def _tools(req: CanonicalRequest, body: dict[str, Any], side: Mapping[str, Any]) -> None:
    tools = req.get("tools")
    if not tools:
        return  # tool_choice without tools is meaningless and rejected upstream
    out = []
    for i, tool in enumerate(tools):
        if tool.get("type") not in (None, "custom"):
            raise Unsupported(
                f"tools[{i}]: Anthropic server tool {tool.get('type')!r} has no OpenAI equivalent"
            )
        fn: dict[str, Any] = {"name": tool_name_out(str(tool.get("name") or ""))}
        if tool.get("description"):
            fn["description"] = tool["description"]
        fn["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
        entry = {"type": "function", "function": fn}
        extra = side.get(tool.get("name"))
        if extra:
            fn.update(extra.get("function") or _NO_SIDE)
            entry.update({k: v for k, v in extra.items() if k != "function"})
        out.append(entry)
    body["tools"] = out
    choice = req.get("tool_choice")
    if not choice:
        return
    kind = choice.get("type")
    if kind == "tool":
        name = tool_name_out(str(choice.get("name") or ""))
        body["tool_choice"] = {"type": "function", "function": {"name": name}}
    elif kind in _TOOL_CHOICE:
        body["tool_choice"] = _TOOL_CHOICE[kind]
    else:
        raise InvalidRequest(f"tool_choice.type: expected auto, any, tool or none, got {kind!r}")
    if choice.get("disable_parallel_tool_use") and kind != "none":
        body["parallel_tool_calls"] = False


def _output_format(req: CanonicalRequest, body: dict[str, Any], opts: Options) -> None:
    fmt = output_format(req)
    if fmt is None:
        return
    if opts.structured_output == "json_schema":
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": fmt.get("name") or "response", "schema": fmt["schema"],
                            "strict": False},
        }  # fmt: skip
        return
    # json_object mode needs the schema (and the word JSON) in the prompt.
    body["response_format"] = {"type": "json_object"}
    note = f"Reply with one JSON object matching this JSON Schema:\n{dumps_str(fmt['schema'])}"
    messages = body["messages"]
    if messages and messages[0]["role"] == "system":
        messages[0] = {"role": "system", "content": f"{messages[0]['content']}\n\n{note}"}
    else:
        messages.insert(0, {"role": "system", "content": note})
