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
system, messages          C  ``messages`` (``messages.py`` tables every block)
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

from ccrelay.core.canonical import (
    budget_effort,
    nearest_effort,
    output_format,
    reject_hosted,
)
from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError, Unsupported
from ccrelay.core.profiles import ModelProfile
from ccrelay.core.tokens import estimate_input_tokens
from ccrelay.core.types import CanonicalRequest

from .messages import to_messages

log = logging.getLogger("ccrelay.ollama")

#: room left for the answer when sizing num_ctx, unless max_tokens asks for less
OUTPUT_ROOM = 8_192
DEFAULT_MIN_CTX = 8_192
_EFFORTS = ("low", "medium", "high")


def build_body(
    req: CanonicalRequest, model: str, profile: ModelProfile, options: Mapping[str, Any],
    provider: str,
) -> tuple[dict[str, Any], int]:  # fmt: skip
    """The ``/api/chat`` body for ``req`` (module table) and the prompt's estimated size."""
    reject_hosted(req, "Ollama has no equivalent")
    body: dict[str, Any] = {
        "model": model,
        "messages": to_messages(req),
        "stream": bool(req.get("stream")),
    }
    _tools(req, body, provider)
    think = _think(req, profile)
    if think is not None:
        body["think"] = think
    fmt = output_format(req)
    if fmt is not None:
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
        wanted = budget_effort(budget)
    else:
        wanted = "medium"
    return nearest_effort(wanted, levels, _EFFORTS)
