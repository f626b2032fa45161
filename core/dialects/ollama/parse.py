"""Ollama ``/api/chat`` and ``/api/generate`` bodies to a ``ClientCall``.

C = converted to the canonical (Anthropic Messages) form, S = carried in the side field (for
a strategy of protocol ``ollama`` only; see ``docs/ollama-dialect.md``), R = rejected with a
400 naming the field. Several fields are both: converted for every backend and carried so an
Ollama backend gets the client's exact value.

| field | | what happens |
|---|---|---|
| ``model`` | C | ``model``; a ``:latest`` tag is removed (``x`` and ``x:latest`` are one model) |
| ``messages`` | C | table below; none at all is Ollama's "load the model" request, answered locally |
| ``prompt``, ``system``, ``images`` (generate) | C | one user turn (images first), ``system``; an empty prompt loads |
| ``suffix``, ``template``, ``context``, ``raw: true`` (generate) | R | fill-in-the-middle, prompt templates and token memory need a local model; ccrelay's backends apply their own template |
| ``stream`` | C | ``stream``; absent means true, as in Ollama |
| ``tools`` | C | ``{name, description, input_schema}``; ``type`` other than ``function`` is R |
| ``think`` | C S | false -> ``thinking: disabled``; true / low / medium / high -> ``thinking: enabled`` with ``budget_tokens`` 4096 / 1024 / 8192 / 24576, below ``max_tokens``; always carried |
| ``format`` | C S | ``"json"`` -> ``output_config.format`` with the schema ``{type: object}``; a schema -> the same with it; always carried |
| ``options.num_predict`` | C | ``max_tokens`` when 1 or more; -1, -2 (no limit, fill the context) and 0: left out, the backend decides |
| ``options.temperature`` | C S | ``temperature`` capped at 1 (Anthropic's range); the exact value carried when capped |
| ``options.top_p`` | C | ``top_p`` (0 to 1) |
| ``options.top_k`` | C S | ``top_k`` when 1 or more; 0 or less (Ollama: off) carried |
| ``options.stop`` | C S | ``stop_sequences`` without empty or blank strings; carried when some were left out |
| other ``options`` (``seed``, ``num_ctx``, ``min_p``, ``repeat_penalty``, ...) | S | as sent: no canonical field holds them |
| ``keep_alive``, ``truncate``, ``shift``, ``top_logprobs``, ``logprobs: false``, unknown fields | S | as sent |
| ``logprobs: true`` | R | no backend answer through ccrelay carries log probabilities |

With thinking on, Anthropic's rules apply to the canonical request: ``temperature`` and
``top_k`` are left out and ``top_p`` below 0.95 too (each carried). Thinking is left out, with
a warning, when ``num_predict`` leaves less than 1024 tokens for it, or when the last
assistant turn made tool calls whose thinking ccrelay does not know (restarted, expired, or
another backend answered): Anthropic rejects a tool-loop turn without its signed thinking.

Messages are converted in ``messages.py`` (its own table).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any, cast

from ccrelay.core.dialect import ClientCall
from ccrelay.core.errors import InvalidRequest
from ccrelay.core.schema import validate
from ccrelay.core.types import CanonicalRequest

from .messages import Conversation, Kept, image
from .spec import CHAT, CHAT_FIELDS, GENERATE, GENERATE_FIELDS

#: thinking budget per ``think`` value (mapping.md §10; plain ``true`` stays below 8192, the
#: output limit the anthropic strategy assumes for models it does not know)
BUDGETS: dict[Any, int] = {True: 4096, "low": 1024, "medium": 8192, "high": 24576}
_MIN_BUDGET = 1024
_ZERO = re.compile(r"^0+(\.0*)?[a-z]*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def model_name(name: str) -> str:
    """The canonical model for an Ollama name: ``x:latest`` is ``x``."""
    return name[:-7] if name.endswith(":latest") and len(name) > 7 else name


def parse_chat(body: Any, kept: Kept) -> ClientCall:
    """An ``/api/chat`` body (see the module table)."""
    validate(CHAT, body)
    messages = body.get("messages") or []
    if not messages:
        return _load(body, "chat")
    conv = Conversation(kept)
    conv.convert(messages)
    req: dict[str, Any] = {"model": model_name(body["model"]), "messages": conv.out}
    if conv.system:
        req["system"] = conv.system[0]["text"] if len(conv.system) == 1 else conv.system
    call = _call(body, req, "chat", CHAT_FIELDS)
    call.warnings.extend(conv.warnings)
    tools = _tools(body.get("tools") or ())
    if tools:
        req["tools"] = tools
    _thinking(body, req, call, conv.replayable)
    call.state["ids"] = conv.used
    return _finish(call)


def parse_generate(body: Any) -> ClientCall:
    """An ``/api/generate`` body (see the module table)."""
    validate(GENERATE, body)
    if body.get("raw"):
        raise InvalidRequest(
            "raw: ccrelay's backends apply their own prompt template, so a raw (pre-templated) "
            "prompt cannot be honoured; send the plain prompt without raw, or use /api/chat",
            param="raw",
        )
    for key, why in (
        ("suffix", "fill-in-the-middle needs a local model"),
        ("template", "ccrelay's backends apply their own prompt template"),
        ("context", "token context is a local model's memory; send the history to /api/chat"),
    ):
        if body.get(key):
            raise InvalidRequest(f"{key}: not supported through ccrelay ({why})", param=key)
    prompt = body.get("prompt") or ""
    images = body.get("images") or []
    if not prompt and not images:
        return _load(body, "generate")
    content: Any = prompt
    if images:
        content = [image(data, f"images.{i}") for i, data in enumerate(images)]
        if prompt:
            content.append({"type": "text", "text": prompt})
    req: dict[str, Any] = {
        "model": model_name(body["model"]),
        "messages": [{"role": "user", "content": content}],
    }
    if body.get("system"):
        req["system"] = body["system"]
    call = _call(body, req, "generate", GENERATE_FIELDS)
    _thinking(body, req, call, replayable=True)
    call.state["ids"] = set()
    return _finish(call)


# --- everything but the conversation -----------------------------------------------------


def _call(
    body: Mapping[str, Any], req: dict[str, Any], endpoint: str, fields: frozenset[str]
) -> ClientCall:
    """The call around ``req``: stream, options, format and the side field."""
    stream = body.get("stream") is not False
    req["stream"] = stream
    side: dict[str, Any] = {}
    state = {"endpoint": endpoint, "model": body["model"], "t0": time.perf_counter_ns()}
    call = ClientCall(request=cast(CanonicalRequest, req), stream=stream, side=side, state=state)
    _options(body.get("options") or {}, req, side)
    _format(body.get("format"), req, side)
    if body.get("logprobs"):
        raise InvalidRequest(
            "logprobs: ccrelay cannot return log probabilities (no backend answer carries "
            "them through the canonical form); leave logprobs out",
            param="logprobs",
        )
    for key in ("think", "keep_alive", "logprobs", "top_logprobs", "truncate", "shift"):
        if body.get(key) is not None:
            side[key] = body[key]
    for key, value in body.items():
        if key not in fields:
            side[key] = value
    return call


def _options(opts: Mapping[str, Any], req: dict[str, Any], side: dict[str, Any]) -> None:
    carried: dict[str, Any] = {}
    for key, value in opts.items():
        if value is None:
            continue
        if key == "num_predict":
            if value >= 1:
                req["max_tokens"] = int(value)
        elif key == "temperature":
            if value < 0:
                raise InvalidRequest(
                    f"options.temperature: expected a number >= 0, got {value}",
                    param="options.temperature",
                )
            req["temperature"] = min(value, 1.0)
            if value > 1:
                carried[key] = value
        elif key == "top_p":
            if not 0 <= value <= 1:
                raise InvalidRequest(
                    f"options.top_p: expected a number from 0 to 1, got {value}",
                    param="options.top_p",
                )
            req["top_p"] = value
        elif key == "top_k":
            if value >= 1:
                req["top_k"] = int(value)
            else:
                carried[key] = value
        elif key == "stop":
            stops = [value] if isinstance(value, str) else list(value)
            kept = [s for s in stops if s.strip()]
            if kept:
                req["stop_sequences"] = kept
            if len(kept) != len(stops):
                carried[key] = stops  # Ollama takes a list
        else:
            carried[key] = value
    if carried:
        side["options"] = carried


def _format(fmt: Any, req: dict[str, Any], side: dict[str, Any]) -> None:
    if fmt is None or fmt == "":
        return
    if isinstance(fmt, str):
        if fmt != "json":
            raise InvalidRequest(
                f"format: expected 'json' or a JSON schema object, got {fmt[:40]!r}",
                param="format",
            )
        schema: dict[str, Any] = {"type": "object"}
    else:
        schema = fmt
    req["output_config"] = {"format": {"type": "json_schema", "schema": schema}}
    side["format"] = fmt


def _tools(tools: Any) -> list[dict[str, Any]]:
    out = []
    for i, tool in enumerate(tools):
        kind = tool.get("type") or "function"
        if kind != "function":
            raise InvalidRequest(
                f"tools.{i}.type: only function tools exist in Ollama's API, got {kind!r}",
                param=f"tools.{i}.type",
            )
        fn = tool["function"]
        canonical: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description"):
            canonical["description"] = fn["description"]
        canonical["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
        out.append(canonical)
    return out


def _thinking(
    body: Mapping[str, Any], req: dict[str, Any], call: ClientCall, replayable: bool
) -> None:
    think = body.get("think")
    if think is None:
        return
    if think is False:
        req["thinking"] = {"type": "disabled"}
        return
    budget = BUDGETS[think]
    limit = req.get("max_tokens")
    if limit is not None and budget >= limit:
        budget = limit - 1
        if budget < _MIN_BUDGET:
            call.warnings.append(
                f"think {think!r}: num_predict {limit} leaves no room for thinking (at least "
                f"{_MIN_BUDGET + 1} needed), so it is off for this request"
            )
            return
    if not replayable:
        call.warnings.append(
            f"think {think!r}: the thinking of the last tool-calling turn is not known to "
            "ccrelay (restarted, expired, or another backend answered it), so thinking is off "
            "for this request (Anthropic backends reject the turn otherwise)"
        )
        return
    req["thinking"] = {"type": "enabled", "budget_tokens": budget}
    # Anthropic's rules while thinking: default sampling. The exact values are carried.
    side = cast(dict[str, Any], call.side)
    opts = body.get("options") or {}
    for key in ("temperature", "top_k"):
        if key in req:
            del req[key]
            side.setdefault("options", {}).setdefault(key, opts[key])
    if req.get("top_p", 1) < 0.95:
        side.setdefault("options", {}).setdefault("top_p", opts["top_p"])
        del req["top_p"]


def _load(body: Mapping[str, Any], endpoint: str) -> ClientCall:
    """Ollama's load / unload request (no messages, or no prompt): answered locally through
    the count-only path, since ccrelay has no model to load."""
    keep = body.get("keep_alive")
    unload = keep is not None and _ZERO.match(str(keep).strip().lower()) is not None
    req = {"model": model_name(body["model"]), "messages": []}
    state = {"endpoint": endpoint, "model": body["model"], "load": "unload" if unload else "load"}
    return ClientCall(request=cast(CanonicalRequest, req), count_only=True, state=state)


def _finish(call: ClientCall) -> ClientCall:
    if call.warnings:
        text = _CONTROL.sub(" ", "; ".join(call.warnings))
        call.response_headers["x-ccrelay-warning"] = text.encode("ascii", "replace").decode()[:500]
    return call
