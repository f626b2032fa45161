"""Canonical request to an Ollama ``POST /api/chat`` body.

C = converted, D = dropped (reason), R = rejected with a 400 naming the field.

model                     C  ``model`` (the configured upstream model)
stream                    C  ``stream``, always explicit (Ollama streams when it is absent)
max_tokens                C  ``options.num_predict`` (core clamps it to the profile first),
                             at most what ``num_ctx`` leaves after the prompt: past it Ollama
                             shifts the context, dropping the prompt's start, to go on
(context size)            C  ``options.num_ctx``: option ``num_ctx``, else the prompt
                             estimate plus room for the answer, rounded up to a power of two
                             (few model reloads), at least ``min_num_ctx``, at most the
                             profile's context window; a prompt larger than the window (or
                             than a fixed ``num_ctx``) is a "prompt is too long" 400 before
                             anything is sent, never Ollama's silent truncation
temperature, top_p, top_k C  ``options.temperature`` / ``top_p`` / ``top_k``
stop_sequences            C  ``options.stop``
system (string / blocks)  C  a leading ``system`` message (billing header block D)
role system (mid-conv.)   C  ``<system-reminder>`` text in the user message before it (or a
                             new user message): many local chat templates render only a
                             leading system message
text blocks               C  ``content`` (one string: the native API takes no part lists)
image base64              C  ``images: [<base64>]`` on the message
image url / file          R  Ollama takes only inline bytes and ccrelay fetches nothing
document text / content   C  text in ``content``
document base64 / url     R  Ollama reads no PDFs
tool_use                  C  ``tool_calls: [{type: function, function: {index, name,
                             arguments}}]`` with ``arguments`` an object; no id (classic
                             Ollama has none)
tool_result               C  a ``tool`` message with ``tool_name`` (read from the call in the
                             history), in call order, before the turn's other content;
                             ``is_error`` -> text prefixed ``Error:``; images in a result go
                             to a ``user`` message after the tool messages
tool_result, no call      C  user text ``Result of tool call <id>: ...``
tool_use, no result       C  a ``tool`` message ``Error: tool call was not executed``
thinking (any origin)     C  ``thinking`` of the assistant message (no signatures exist here)
signature, redacted       D  other backends' opaque state
cache_control             D  Ollama keeps the prompt cache itself
tools[] (custom)          C  ``{type: function, function: {name, description, parameters}}``
tools[] server types      R  run at Anthropic
tool_choice none          C  no ``tools`` sent
tool_choice any / tool    C  tools sent (for ``tool``: only that tool) and a log line:
                             Ollama cannot force a call
thinking enabled/adaptive C  ``think: true``, or a level (``low``/``medium``/``high``) for
                             models whose profile says ``effort`` (gpt-oss)
thinking disabled         C  ``think: false`` (effort models: their lowest level)
thinking, unknown model   D  ``think`` to a model without thinking is a 400 at Ollama; set
                             the profile's ``thinking`` to ``toggle`` to send it
output_config.format      C  ``format: <schema>`` (structured output)
output_config.effort      C  the ``think`` level of effort models
metadata, context_mgmt,   D  no Ollama equivalent
  service_tier, unknown fields
container, mcp_servers    R  Anthropic-hosted features

Extra fields: the provider's ``options.keep_alive`` and ``options.extra_body``, then an Ollama
client's side fields, are merged in that order: a top-level key is set, and ``options`` is
merged key by key (``repeat_penalty``, ``num_ctx`` ...), the later value winning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError, Unsupported
from ccrelay.core.profiles import ModelProfile
from ccrelay.core.tokens import estimate_input_tokens
from ccrelay.core.types import CanonicalRequest

log = logging.getLogger("ccrelay.ollama")

_BILLING_PREFIX = "x-anthropic-billing-header:"
_NOT_EXECUTED = "Error: tool call was not executed (no result in the conversation)"
#: room left for the answer when sizing num_ctx, unless max_tokens asks for less
OUTPUT_ROOM = 8_192
DEFAULT_MIN_CTX = 8_192
_EFFORTS = ("low", "medium", "high")


def build_body(
    req: CanonicalRequest, model: str, profile: ModelProfile, options: Mapping[str, Any],
    provider: str,
) -> tuple[dict[str, Any], int]:  # fmt: skip
    """The ``/api/chat`` body for ``req`` (module table) and the prompt's estimated size."""
    for key in ("container", "mcp_servers"):
        if req.get(key):
            raise Unsupported(f"{key}: Anthropic-hosted feature; Ollama has no equivalent")
    body: dict[str, Any] = {
        "model": model,
        "messages": _messages(req),
        "stream": bool(req.get("stream")),
    }
    _tools(req, body, provider)
    think = _think(req, profile)
    if think is not None:
        body["think"] = think
    fmt = (req.get("output_config") or {}).get("format")
    if fmt:
        if fmt.get("type") != "json_schema" or not isinstance(fmt.get("schema"), dict):
            raise Unsupported("output_config.format: only {type: json_schema, schema} is supported")
        body["format"] = fmt["schema"]
    opts: dict[str, Any] = {}
    max_tokens = req.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        opts["num_predict"] = max(1, max_tokens)
    for key in ("temperature", "top_p", "top_k"):
        if req.get(key) is not None:
            opts[key] = req[key]  # type: ignore[literal-required]
    if req.get("stop_sequences"):
        opts["stop"] = list(req["stop_sequences"])
    prompt = estimate_input_tokens(req)
    opts["num_ctx"] = context_size(req, prompt, model, profile, options, provider)
    if "num_predict" in opts:
        opts["num_predict"] = max(1, min(opts["num_predict"], opts["num_ctx"] - prompt))
    body["options"] = opts
    if options.get("keep_alive") is not None:
        body["keep_alive"] = options["keep_alive"]
    return body, prompt


def merge_extra(body: dict[str, Any], extra: Mapping[str, Any]) -> None:
    """Merge ``extra`` into ``body``: keys set, ``options`` (any mapping) merged key by key."""
    for key, value in extra.items():
        current = body.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            body[key] = {**current, **value}
        else:
            body[key] = value


# --- context size -------------------------------------------------------------------------


def context_size(
    req: CanonicalRequest, prompt: int, model: str, profile: ModelProfile,
    options: Mapping[str, Any], provider: str,
) -> int:  # fmt: skip
    """``num_ctx`` for ``req``, whose prompt is about ``prompt`` tokens (module table).

    :raises RelayError: ``CONTEXT_TOO_LONG`` when the prompt cannot fit.
    """
    window = profile.context_window
    fixed = options.get("num_ctx")
    if isinstance(fixed, int):
        check_fits(prompt, fixed, model, f"providers.{provider}.options.num_ctx")
    elif window:
        check_fits(prompt, window, model, f"providers.{provider}.profile.context_window")
    if isinstance(fixed, int):
        return fixed
    max_tokens = req.get("max_tokens")
    room = min(max_tokens, OUTPUT_ROOM) if isinstance(max_tokens, int) else OUTPUT_ROOM
    size = options.get("min_num_ctx", DEFAULT_MIN_CTX)
    while size < prompt + room:
        size *= 2
    return min(size, window) if window else size


def check_fits(prompt: int, limit: int, model: str, setting: str) -> None:
    """Refuse, before sending, a prompt of ``prompt`` tokens that a context of ``limit``
    cannot hold (Ollama would silently cut it).

    :raises RelayError: ``CONTEXT_TOO_LONG``; retryable, so a fallback with a larger window
        may answer.
    """
    if prompt > limit:
        raise RelayError(
            400,
            f"prompt is too long: about {prompt} tokens (ccrelay's estimate) but model "
            f"{model} is given a context of {limit}; shorten the conversation (Claude Code: "
            f"/compact), or raise {setting} if the model takes more",
            kind=ErrorKind.CONTEXT_TOO_LONG,
            retryable=True,
        )


# --- messages -----------------------------------------------------------------------------


def _messages(req: CanonicalRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = _system_text(req.get("system"))
    if system:
        out.append({"role": "system", "content": system})
    names: dict[str, str] = {}  # tool_use id -> tool name
    pending: list[str] = []  # calls of the last assistant turn not answered yet
    for i, msg in enumerate(req.get("messages") or ()):
        role = msg.get("role")
        where = f"messages[{i}]"
        content = msg.get("content")
        if role == "user":
            _user(content, out, names, pending, where)
            pending = []
        elif role == "assistant":
            _answer_missing(out, pending, names)
            converted, pending = _assistant(content, names, where)
            if converted is not None:
                out.append(converted)
        elif role == "system":
            _answer_missing(out, pending, names)
            pending = []
            text = _text(content, where, system_only=True)[0]
            if text:
                note = f"<system-reminder>\n{text}\n</system-reminder>"
                last = out[-1] if out else None
                if last is not None and last["role"] == "user":
                    last["content"] = f"{last['content']}\n\n{note}" if last["content"] else note
                else:
                    out.append({"role": "user", "content": note})
        else:
            raise InvalidRequest(f"{where}.role: expected user, assistant or system")
    _answer_missing(out, pending, names)
    return out


def _system_text(system: Any) -> str:
    if isinstance(system, str):
        return system
    texts = []
    for i, block in enumerate(system or ()):
        if block.get("type") != "text":
            raise InvalidRequest(f"system[{i}]: only text blocks are allowed in system")
        text = block.get("text") or ""
        if text and not text.startswith(_BILLING_PREFIX):
            texts.append(text)
    return "\n\n".join(texts)


def _answer_missing(out: list[dict[str, Any]], pending: list[str], names: dict[str, str]) -> None:
    for tool_id in pending:
        out.append({"role": "tool", "tool_name": names.get(tool_id, ""), "content": _NOT_EXECUTED})


def _user(
    content: Any,
    out: list[dict[str, Any]],
    names: dict[str, str],
    pending: list[str],
    where: str,
) -> None:
    """Append one user turn: its tool messages in call order, then the user message."""
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
    results: dict[str, tuple[str, list[str]]] = {}
    others: list[Any] = []
    orphans: list[str] = []
    for j, block in enumerate(blocks):
        if block.get("type") == "tool_result":
            tool_id = str(block.get("tool_use_id") or "")
            text, images = _result(block, f"{where}.content[{j}]")
            if tool_id in pending and tool_id not in results:
                results[tool_id] = (text, images)
            else:
                orphans.append(f"Result of tool call {tool_id}: {text}")
        else:
            others.append(block)
    follow_images: list[str] = []
    labels: list[str] = []
    for tool_id in pending:
        text, images = results.get(tool_id, (_NOT_EXECUTED, []))
        out.append({"role": "tool", "tool_name": names.get(tool_id, ""), "content": text})
        if images:
            labels.append(f"Images returned by tool call {tool_id}.")
            follow_images.extend(images)
    text, images = _text(others, where)
    texts = [t for t in (*labels, *orphans, text) if t]
    if texts or images or follow_images:
        msg: dict[str, Any] = {"role": "user", "content": "\n\n".join(texts)}
        if follow_images or images:
            msg["images"] = follow_images + images
        out.append(msg)


def _text(blocks: Any, where: str, system_only: bool = False) -> tuple[str, list[str]]:
    """(joined text, base64 images) of a content value."""
    if isinstance(blocks, str):
        return blocks, []
    texts: list[str] = []
    images: list[str] = []
    for j, block in enumerate(blocks or ()):
        kind = block.get("type")
        at = f"{where}.content[{j}]"
        if kind == "text":
            if block.get("text"):
                texts.append(block["text"])
        elif system_only:
            raise Unsupported(f"{at}: a system message can only hold text")
        elif kind == "image":
            images.append(_image(block, at))
        elif kind == "document":
            texts.append(_document(block, at))
        elif kind not in ("thinking", "redacted_thinking"):
            raise Unsupported(f"{at}: block type {kind!r} has no Ollama equivalent")
    return "\n\n".join(texts), images


def _image(block: dict[str, Any], where: str) -> str:
    source = block.get("source") or {}
    if source.get("type") == "base64" and source.get("data"):
        return str(source["data"])
    raise Unsupported(
        f"{where}.source: Ollama takes images only as inline base64 data "
        f"(got a {source.get('type')!r} source); send the image inline"
    )


def _document(block: dict[str, Any], where: str) -> str:
    source = block.get("source") or {}
    kind = source.get("type")
    if kind == "text":
        text = str(source.get("data") or "")
    elif kind == "content":
        inner = source.get("content")
        text = (
            inner
            if isinstance(inner, str)
            else "\n".join(p.get("text", "") for p in inner or () if p.get("type") == "text")
        )
    else:
        raise Unsupported(f"{where}: Ollama reads no {kind!r} documents (PDFs); send text")
    title = block.get("title")
    return f"{title}\n\n{text}" if title else text


def _result(block: dict[str, Any], where: str) -> tuple[str, list[str]]:
    content = block.get("content")
    if isinstance(content, list):
        parts = []
        for j, part in enumerate(content):
            if part.get("type") == "search_result":
                inner = "\n".join(p.get("text", "") for p in part.get("content") or ())
                part = {"type": "text", "text": f"{part.get('title', '')}\n{inner}"}
            elif part.get("type") not in ("text", "image", "document"):
                raise Unsupported(
                    f"{where}.content[{j}]: {part.get('type')!r} cannot go in a tool result"
                )
            parts.append(part)
        text, images = _text(parts, where)
    else:
        text, images = (content if isinstance(content, str) else ""), []
    if block.get("is_error") and not text.lower().startswith("error"):
        text = f"Error: {text}" if text else "Error: the tool failed without output"
    return text, images


def _assistant(
    content: Any, names: dict[str, str], where: str
) -> tuple[dict[str, Any] | None, list[str]]:
    """The assistant message (None when it holds nothing) and the ids of its calls."""
    if isinstance(content, str):
        return ({"role": "assistant", "content": content} if content else None), []
    texts: list[str] = []
    thinking: list[str] = []
    calls: list[dict[str, Any]] = []
    ids: list[str] = []
    for j, block in enumerate(content or ()):
        kind = block.get("type")
        if kind == "text":
            if block.get("text"):
                texts.append(block["text"])
        elif kind == "thinking":
            if block.get("thinking"):
                thinking.append(block["thinking"])
        elif kind == "tool_use":
            tool_id = str(block.get("id") or "")
            name = str(block.get("name") or "")
            names[tool_id] = name
            ids.append(tool_id)
            args = block.get("input")
            calls.append({"type": "function", "function": {
                "index": len(calls), "name": name,
                "arguments": args if isinstance(args, dict) else {},
            }})  # fmt: skip
        elif kind != "redacted_thinking":
            raise Unsupported(f"{where}.content[{j}]: block type {kind!r} has no Ollama equivalent")
    if not texts and not calls:
        return None, []
    msg: dict[str, Any] = {"role": "assistant", "content": "\n\n".join(texts)}
    if thinking:
        msg["thinking"] = "\n\n".join(thinking)
    if calls:
        msg["tool_calls"] = calls
    return msg, ids


# --- tools and thinking -------------------------------------------------------------------


def _tools(req: CanonicalRequest, body: dict[str, Any], provider: str) -> None:
    tools = req.get("tools") or []
    choice = req.get("tool_choice") or {}
    kind = choice.get("type")
    if not tools or kind == "none":
        return
    if kind == "tool":
        wanted = choice.get("name")
        tools = [t for t in tools if t.get("name") == wanted]
        if not tools:
            raise InvalidRequest(f"tool_choice.name: no tool named {wanted!r} in tools")
    if kind in ("any", "tool"):
        log.info("provider %s: Ollama cannot force a tool call (tool_choice %s)", provider, kind)
    out = []
    for i, tool in enumerate(tools):
        if tool.get("type") not in (None, "custom"):
            raise Unsupported(
                f"tools[{i}]: Anthropic server tool {tool.get('type')!r} has no Ollama equivalent"
            )
        fn: dict[str, Any] = {"name": tool.get("name") or ""}
        if tool.get("description"):
            fn["description"] = tool["description"]
        fn["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
        out.append({"type": "function", "function": fn})
    body["tools"] = out


def _think(req: CanonicalRequest, profile: ModelProfile) -> bool | str | None:
    thinking = req.get("thinking") or {}
    kind = thinking.get("type")
    effort = (req.get("output_config") or {}).get("effort")
    style = profile.thinking
    if style not in ("toggle", "effort") or kind is None:
        return None
    if style == "toggle":
        return kind != "disabled"
    levels = tuple(x for x in profile.thinking_levels if x in _EFFORTS) or _EFFORTS
    if kind == "disabled":
        return levels[0]
    budget = thinking.get("budget_tokens")
    if isinstance(effort, str) and effort in ("max", "xhigh"):
        wanted = "high"
    elif isinstance(effort, str) and effort in _EFFORTS:
        wanted = effort
    elif effort == "minimal":
        wanted = "low"
    elif isinstance(budget, int):
        wanted = "low" if budget < 4_096 else "medium" if budget < 16_384 else "high"
    else:
        wanted = "medium"
    if wanted in levels:
        return wanted
    rank = _EFFORTS.index(wanted)
    return min(levels, key=lambda lv: (abs(_EFFORTS.index(lv) - rank), -_EFFORTS.index(lv)))
