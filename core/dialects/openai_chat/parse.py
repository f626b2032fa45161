"""A Chat Completions request body to a ``ClientCall``: canonical request plus side fields.

C = converted to the canonical (Anthropic Messages) form, S = carried in the side field
(reaches an ``openai_chat``-protocol upstream as sent, never another), R = rejected with a
400 naming the field. Several fields are both: converted for every backend, and carried so a
same-protocol upstream gets the client's exact value.

| field | | what happens |
|---|---|---|
| ``model`` | C | ``model`` (core maps it to the provider's model) |
| ``messages`` | C | table below |
| ``stream`` | C | ``stream`` |
| ``stream_options.include_usage`` | C | the usage chunk is sent only when true |
| ``stream_options.include_obfuscation`` | C | accepted; ccrelay adds no padding anyway |
| ``max_completion_tokens``, ``max_tokens`` | C | ``max_tokens`` (the first one given, in this order); absent: left out, the backend uses its model's output limit |
| ``temperature`` | C | ``temperature`` (0-2; the anthropic strategy clamps it to 1, and drops it while thinking) |
| ``top_p`` | C | ``top_p`` |
| ``top_k`` (vLLM, DashScope) | C S | ``top_k``; carried (the openai strategy drops it by default) |
| ``stop`` (string or list) | C | ``stop_sequences`` (a list) |
| ``n`` | R | above 1: no backend here returns several choices |
| ``tools`` (function) | C | ``{name, description, input_schema}``; ``strict`` and other extra keys carried per tool |
| ``tools`` (custom) | R | free-text tools exist only in OpenAI's API |
| ``tool_choice`` | C | none / auto / required -> ``{type: none / auto / any}``, a function -> ``{type: tool, name}``; ``allowed_tools`` -> only those tools, with its mode; carried when changed |
| ``parallel_tool_calls: false`` | C | ``tool_choice.disable_parallel_tool_use`` |
| ``response_format`` | C S | ``json_schema`` -> ``output_config.format {type: json_schema, schema}``; ``json_object`` -> the same with the schema ``{type: object}`` (any JSON object); ``text`` -> nothing; always carried (name, strict) |
| ``reasoning_effort`` | C S | ``thinking {type: enabled, budget_tokens}``: minimal/low 1024, medium 8192, high 24576, xhigh/max 32768, below ``max_tokens``; ``none`` -> no thinking; always carried |
| ``user`` | C S | ``metadata.user_id``; carried (the openai strategy would send a hash) |
| ``modalities`` | R | with ``audio``; ``["text"]`` is accepted |
| ``audio`` | R | audio output: no backend here produces it |
| ``functions``, ``function_call`` | R | deprecated; use ``tools`` and ``tool_choice`` |
| anything else (``presence_penalty``, ``frequency_penalty``, ``seed``, ``logit_bias``, ``logprobs``, ``top_logprobs``, ``service_tier``, ``store``, ``metadata``, ``prediction``, ``web_search_options``, ``prompt_cache_key``, ``safety_identifier``, ``verbosity``, vendor switches such as ``thinking`` or ``enable_thinking``) | S | as sent |

Messages:

| message | | what happens |
|---|---|---|
| ``system`` / ``developer`` before the first other message | C | ``system`` (one text block per part or message) |
| ``system`` / ``developer`` later | C | a ``role: system`` message at its place (each strategy decides) |
| ``user`` text / ``image_url`` | C | text blocks (empty ones skipped) / image blocks: ``data:`` URLs -> base64, http(s) URLs -> url; ``detail`` carried |
| ``user`` ``file`` with ``file_data`` | C | a ``document`` block (base64, its media type), ``filename`` as title |
| ``user`` ``file`` with ``file_id``, ``input_audio`` | R | Files API ids and audio exist only at OpenAI |
| ``assistant`` content / ``refusal`` | C | text blocks |
| ``assistant`` ``tool_calls`` | C | ``tool_use`` blocks; ``arguments`` must be a JSON object (else a 400 naming the message); the exact string is carried |
| ``assistant`` ``reasoning_content`` / ``reasoning`` | C | a leading unsigned ``thinking`` block |
| thinking ccrelay kept for the message's tool calls | C | the original signed blocks, first (``vault``) |
| consecutive ``tool`` messages | C | one user turn of ``tool_result`` blocks in call order; a user message right after joins that turn |
| a ``tool`` message answering no call of the assistant turn before it | R | as OpenAI does |
| calls without a ``tool`` answer before the next message | R | as OpenAI does |
| ``function`` role | R | deprecated; use ``tool`` |
| ``name``, ``developer`` role, other keys on a message | S | per message, set again by the openai strategy |

Why per-message keys are carried and not dropped: a same-protocol upstream must get what the
client sent. The canonical form has no place for them, so the side field holds them by the
canonical position of the message they belong to (``side_keys`` below), and only the openai
strategy reads them. Other backends have no such fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ccrelay.core.dialect import ClientCall
from ccrelay.core.errors import InvalidRequest
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.schema import validate

from .spec import REQUEST

#: thinking budgets for ``reasoning_effort`` (mapping.md §10)
BUDGETS = {"minimal": 1024, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768,
           "max": 32768}  # fmt: skip
_MIN_BUDGET = 1024
#: top-level fields the dialect converts (everything else is carried as sent)
CONVERTED = frozenset(
    {
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
        "temperature", "top_p", "top_k", "n", "stop", "tools", "tool_choice",
        "parallel_tool_calls", "response_format", "reasoning_effort", "user", "modalities",
        "audio", "functions", "function_call",
    }
)  # fmt: skip
_MESSAGE_KEYS = frozenset(
    {"role", "content", "tool_calls", "reasoning_content", "reasoning", "refusal", "tool_call_id"}
)
_DATA_URL = re.compile(r"^data:([\w.+-]+/[\w.+-]+)(?:;[\w=.+-]+)*;base64,", re.ASCII)
_INDEX = re.compile(r"\.(\d+)(?=\.|$)")
_CHOICES = {"none": {"type": "none"}, "auto": {"type": "auto"}, "required": {"type": "any"}}

#: thinking blocks kept for a tool call id (``core/vault.py``), or None
ThinkingLookup = Callable[[str], "list[dict[str, Any]] | None"]
#: the original tool call id for one ccrelay shortened, or None
IdLookup = Callable[[str], "str | None"]


def parse_request(body: Any, thinking_for: ThinkingLookup, original_id: IdLookup) -> ClientCall:
    """Validate ``body`` and build the canonical request, side fields and render state.

    :raises InvalidRequest: naming the field at fault and the fix.
    """
    try:
        validate(REQUEST, body)
    except InvalidRequest as err:  # OpenAI names paths messages[2].content, not messages.2
        param = _INDEX.sub(r"[\1]", err.param or "") or None
        where = err.param or ""
        message = (
            param + err.message[len(where) :]
            if param and err.message.startswith(where)
            else err.message
        )
        raise InvalidRequest(message, param=param) from None
    side = _Side()
    _reject(body)
    req: dict[str, Any] = {"model": body["model"]}
    system, messages = _Messages(side, thinking_for, original_id).convert(body["messages"])
    if system:
        req["system"] = system
    req["messages"] = messages
    stream = bool(body.get("stream"))
    if stream:
        req["stream"] = True
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None:
        req["max_tokens"] = limit
    for key, value in body.items():
        if key not in CONVERTED:
            side.fields[key] = value
    call = ClientCall(request=req, stream=stream)  # type: ignore[arg-type]
    _sampling(body, req, side)
    _tools(body, req, side)
    _output(body, req, side)
    _thinking(body, req, side, call.warnings)
    call.side = side.export()
    options = body.get("stream_options") or {}
    call.state["include_usage"] = bool(options.get("include_usage"))
    return call


class _Side:
    """The side field as it is built (see ``side_keys`` in the module docs)."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.messages: dict[str, dict[str, Any]] = {}
        self.tool_results: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}
        self.tools: dict[str, dict[str, Any]] = {}
        self.images: dict[str, dict[str, Any]] = {}

    def export(self) -> dict[str, Any]:
        out = {
            "fields": self.fields,
            "messages": self.messages,
            "tool_results": self.tool_results,
            "calls": self.calls,
            "tools": self.tools,
            "images": self.images,
        }
        return {k: v for k, v in out.items() if v}


def _reject(body: Mapping[str, Any]) -> None:
    n = body.get("n")
    if n is not None and n > 1:
        raise InvalidRequest(
            f"n: {n} choices asked; ccrelay returns one choice (no backend here can return "
            "several), send n: 1 or leave it out",
            param="n",
        )
    if body.get("audio") is not None or "audio" in (body.get("modalities") or ()):
        param = "audio" if body.get("audio") is not None else "modalities"
        raise InvalidRequest(
            f"{param}: audio output is not supported through ccrelay; ask for text only",
            param=param,
        )
    for key, use in (("functions", "tools"), ("function_call", "tool_choice")):
        if body.get(key) is not None:
            raise InvalidRequest(
                f"{key}: the deprecated functions API is not supported; send {use} instead",
                param=key,
            )


# --- messages ------------------------------------------------------------------------------


class _Messages:
    """Chat messages to canonical ``system`` and ``messages``, one pass."""

    def __init__(self, side: _Side, thinking_for: ThinkingLookup, original_id: IdLookup) -> None:
        self.side = side
        self.thinking_for = thinking_for
        self.original_id = original_id
        self.system: list[dict[str, Any]] = []
        self.out: list[dict[str, Any]] = []
        self.pending: dict[str, str] = {}  # client id -> canonical id of unanswered calls
        self.pending_at = -1  # index of the assistant message that made them
        self.results: dict[str, dict[str, Any]] = {}  # answered in the current tool turn
        self.result_extras: dict[str, dict[str, Any]] = {}  # their extra keys, by canonical id
        self.tool_turn: dict[str, Any] | None = None  # the user turn of tool results

    def convert(self, messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[Any]]:
        for i, msg in enumerate(messages):
            role = msg["role"]
            if role != "tool":
                self._close_tool_turn(i)
                if role != "user":
                    self.tool_turn = None
            if role in ("system", "developer"):
                self._system(msg, i)
            elif role == "user":
                self._user(msg, i)
            elif role == "assistant":
                self._assistant(msg, i)
            elif role == "tool":
                self._tool(msg, i)
            else:
                raise InvalidRequest(
                    f"messages[{i}].role: the deprecated 'function' role is not supported; "
                    "answer tool calls with role 'tool' and tool_call_id",
                    param=f"messages[{i}].role",
                )
        self._close_tool_turn(len(messages))
        return self.system, self.out

    def _extras(self, msg: Mapping[str, Any], key: str) -> None:
        extra = {k: v for k, v in msg.items() if k not in _MESSAGE_KEYS}
        if msg["role"] == "developer":
            extra["role"] = "developer"
        if extra:
            self.side.messages[key] = extra

    def _system(self, msg: dict[str, Any], i: int) -> None:
        blocks = _text_blocks(msg.get("content"))
        if not self.out:
            if not self.system:
                self._extras(msg, "system")
            self.system.extend(blocks)
            return
        if blocks:
            self._extras(msg, str(len(self.out)))
            self.out.append({"role": "system", "content": blocks})

    def _user(self, msg: dict[str, Any], i: int) -> None:
        content = msg["content"]
        turn = self.tool_turn
        if turn is not None:  # a user message right after tool results joins their turn
            self.tool_turn = None
            index = len(self.out) - 1
            blocks = self._user_blocks(content, i, index, len(turn["content"]))
            turn["content"].extend(blocks)
        else:
            index = len(self.out)
            if isinstance(content, list):
                content = self._user_blocks(content, i, index, 0)
            elif content is None:
                content = ""
            self.out.append({"role": "user", "content": content})
        self._extras(msg, str(index))

    def _user_blocks(self, content: Any, i: int, index: int, offset: int) -> list[dict[str, Any]]:
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content else []
        blocks: list[dict[str, Any]] = []
        for j, part in enumerate(content or ()):
            where = f"messages[{i}].content[{j}]"
            kind = part["type"]
            if kind == "text":
                if part["text"]:
                    blocks.append(_text_block(part))
            elif kind == "image_url":
                image = part["image_url"]
                url = image if isinstance(image, str) else image["url"]
                blocks.append({"type": "image", "source": _image_source(url, where)})
                if isinstance(image, dict) and image.get("detail") is not None:
                    self.side.images[f"{index}.{offset + len(blocks) - 1}"] = {
                        "detail": image["detail"]
                    }
            elif kind == "file":
                blocks.append(_document(part["file"], where))
            else:  # input_audio
                raise InvalidRequest(
                    f"{where}: audio input is not supported (no backend here takes audio); "
                    "send a transcript as text",
                    param=where,
                )
        return blocks

    def _assistant(self, msg: dict[str, Any], i: int) -> None:
        blocks: list[dict[str, Any]] = []
        calls = msg.get("tool_calls") or []
        kept = self.thinking_for(calls[0]["id"]) if calls else None
        if kept:
            blocks.extend(dict(b) for b in kept)
        else:
            reasoning = msg.get("reasoning_content") or msg.get("reasoning")
            if reasoning:
                blocks.append({"type": "thinking", "thinking": reasoning})
        content = msg.get("content")
        if isinstance(content, str):
            if content:
                blocks.append({"type": "text", "text": content})
        else:
            for part in content or ():
                text = part.get("text") if part["type"] == "text" else part.get("refusal")
                if text:
                    blocks.append({"type": "text", "text": text})
        if msg.get("refusal"):
            blocks.append({"type": "text", "text": msg["refusal"]})
        pending: dict[str, str] = {}
        index = len(self.out)
        for k, call in enumerate(calls):
            where = f"messages[{i}].tool_calls[{k}]"
            if call["id"] in pending:
                raise InvalidRequest(
                    f"{where}.id: tool call id {call['id']!r} is used twice in this message",
                    param=f"{where}.id",
                )
            blocks.append(self._tool_use(call, where, f"{index}.{k}"))
            pending[call["id"]] = blocks[-1]["id"]
        if not any(b["type"] != "thinking" for b in blocks):
            return  # nothing said and nothing called: no turn to send
        self._extras(msg, str(index))
        self.out.append({"role": "assistant", "content": blocks})
        self.pending, self.pending_at = pending, i

    def _tool_use(self, call: dict[str, Any], where: str, key: str) -> dict[str, Any]:
        kind = call.get("type", "function")
        fn = call.get("function")
        if kind != "function" or fn is None:
            raise InvalidRequest(
                f"{where}.type: only function tool calls can be sent (got {kind!r})",
                param=f"{where}.type",
            )
        raw = fn.get("arguments") or ""
        args = _arguments(raw, f"{where}.function.arguments")
        canonical_id = self.original_id(call["id"]) or call["id"]
        if not canonical_id:
            raise InvalidRequest(
                f"{where}.id: a tool call id must not be empty", param=f"{where}.id"
            )
        extra = {k: v for k, v in call.items() if k not in ("id", "type", "function")}
        fn_extra = {k: v for k, v in fn.items() if k not in ("name", "arguments")}
        if fn_extra:
            extra["function"] = fn_extra
        self.side.calls[key] = {"arguments": raw, **extra}
        return {"type": "tool_use", "id": canonical_id, "name": fn["name"], "input": args}

    def _tool(self, msg: dict[str, Any], i: int) -> None:
        call_id = msg["tool_call_id"]
        where = f"messages[{i}].tool_call_id"
        if call_id not in self.pending:
            answered = call_id in self.results
            raise InvalidRequest(
                f"{where}: {'a second answer to' if answered else 'no'} tool call "
                f"{call_id!r} {'' if answered else 'in the assistant message before it'}; "
                "each tool message must answer one call of the assistant turn just before it",
                param=where,
            )
        canonical_id = self.pending.pop(call_id)
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": canonical_id}
        content = msg.get("content")
        if isinstance(content, list):
            result["content"] = [_text_block(p) for p in content if p["text"]]
        else:
            result["content"] = content or ""
        self.results[call_id] = result
        extra = {k: v for k, v in msg.items() if k not in _MESSAGE_KEYS}
        if extra:
            self.result_extras[canonical_id] = extra
        if not self.pending:
            self._close_tool_turn(i + 1)

    def _close_tool_turn(self, i: int) -> None:
        """After the last tool message of a turn: check every call got its answer and add
        the results as one user turn, in call order."""
        if not self.pending and not self.results:
            return
        if self.pending:
            missing = ", ".join(self.pending)
            raise InvalidRequest(
                f"messages[{self.pending_at}]: an assistant message with 'tool_calls' must be "
                "followed by tool messages responding to each 'tool_call_id'. The following "
                f"tool_call_ids did not have response messages: {missing}",
                param=f"messages[{self.pending_at}].tool_calls",
            )
        last = self.out[-1]
        order = [b["id"] for b in last["content"] if b["type"] == "tool_use"]
        by_id = {r["tool_use_id"]: r for r in self.results.values()}
        self.tool_turn = {"role": "user", "content": [by_id[c] for c in order]}
        for j, call_id in enumerate(order):
            if call_id in self.result_extras:
                self.side.tool_results[f"{len(self.out)}.{j}"] = self.result_extras[call_id]
        self.out.append(self.tool_turn)
        self.results, self.result_extras = {}, {}


def _text_blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return [_text_block(p) for p in content or () if p["text"]]


def _text_block(part: Mapping[str, Any]) -> dict[str, Any]:
    block = {"type": "text", "text": part["text"]}
    if part.get("cache_control") is not None:
        block["cache_control"] = part["cache_control"]
    return block


def _arguments(raw: str, where: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = loads(raw)
    except JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        excerpt = raw[:80] + ("..." if len(raw) > 80 else "")
        raise InvalidRequest(
            f"{where}: must be a JSON object encoded as a string, got {excerpt!r}; send the "
            "arguments exactly as the model produced them",
            param=where,
        )
    return value


def _image_source(url: str, where: str) -> dict[str, Any]:
    match = _DATA_URL.match(url)
    if match:
        return {"type": "base64", "media_type": match.group(1), "data": url[match.end() :]}
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    raise InvalidRequest(
        f"{where}.image_url.url: expected a data:<type>;base64, URL or an http(s) URL, "
        f"got {url[:40]!r}",
        param=f"{where}.image_url.url",
    )


def _document(file: Mapping[str, Any], where: str) -> dict[str, Any]:
    data = file.get("file_data")
    match = _DATA_URL.match(data) if isinstance(data, str) else None
    if data is None or match is None:
        raise InvalidRequest(
            f"{where}.file: send the file inline as file_data (a data:<type>;base64, URL); "
            "file_id refers to OpenAI's Files API, which other backends cannot read",
            param=f"{where}.file",
        )
    block: dict[str, Any] = {
        "type": "document",
        "source": {"type": "base64", "media_type": match.group(1), "data": data[match.end() :]},
    }
    if file.get("filename"):
        block["title"] = file["filename"]
    return block


# --- sampling, tools, output, thinking -----------------------------------------------------


def _sampling(body: Mapping[str, Any], req: dict[str, Any], side: _Side) -> None:
    if body.get("temperature") is not None:
        req["temperature"] = body["temperature"]  # 0-2; the anthropic strategy clamps to 1
    if body.get("top_p") is not None:
        req["top_p"] = body["top_p"]
    if body.get("top_k") is not None:
        req["top_k"] = side.fields["top_k"] = body["top_k"]
    stop = body.get("stop")
    if stop:
        req["stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if body.get("user"):
        req["metadata"] = {"user_id": body["user"]}
        side.fields["user"] = body["user"]


def _tools(body: Mapping[str, Any], req: dict[str, Any], side: _Side) -> None:
    tools = body.get("tools") or []
    out = []
    for i, tool in enumerate(tools):
        if tool["type"] != "function":
            raise InvalidRequest(
                f"tools[{i}].type: {tool['type']!r} tools exist only in OpenAI's API; declare "
                "a function tool",
                param=f"tools[{i}].type",
            )
        fn = tool["function"]
        canonical: dict[str, Any] = {"name": fn["name"]}
        if fn.get("description"):
            canonical["description"] = fn["description"]
        canonical["input_schema"] = fn.get("parameters") or {"type": "object", "properties": {}}
        out.append(canonical)
        extra = {k: v for k, v in tool.items() if k not in ("type", "function")}
        fn_extra = {k: v for k, v in fn.items() if k not in ("name", "description", "parameters")}
        if fn_extra:
            extra["function"] = fn_extra
        if extra:
            side.tools[fn["name"]] = extra
    choice = body.get("tool_choice")
    parallel = body.get("parallel_tool_calls")
    if isinstance(choice, dict) and choice["type"] == "custom":
        raise InvalidRequest(
            "tool_choice: custom tools exist only in OpenAI's API", param="tool_choice"
        )
    if isinstance(choice, dict) and choice["type"] == "allowed_tools":
        allowed = choice["allowed_tools"]
        names = {(t.get("function") or {}).get("name") or t.get("name") for t in allowed["tools"]}
        out = [t for t in out if t["name"] in names]
        side.fields["tool_choice"] = choice
        choice = allowed["mode"]
    if not out:
        return  # tool_choice without tools means nothing (and backends reject it)
    req["tools"] = out
    if isinstance(choice, str):
        canonical_choice: dict[str, Any] = dict(_CHOICES[choice])
    elif isinstance(choice, dict):
        canonical_choice = {"type": "tool", "name": choice["function"]["name"]}
    else:
        canonical_choice = {"type": "auto"}
    if parallel is False and canonical_choice["type"] != "none":
        canonical_choice["disable_parallel_tool_use"] = True
    if choice is not None or parallel is False:
        req["tool_choice"] = canonical_choice


def _output(body: Mapping[str, Any], req: dict[str, Any], side: _Side) -> None:
    fmt = body.get("response_format")
    if not fmt or fmt["type"] == "text":
        return
    side.fields["response_format"] = fmt
    if fmt["type"] == "json_object":
        schema: dict[str, Any] = {"type": "object"}
    else:
        schema = fmt["json_schema"].get("schema") or {"type": "object"}
    req["output_config"] = {"format": {"type": "json_schema", "schema": schema}}


def _thinking(body: Mapping[str, Any], req: dict[str, Any], side: _Side, warn: list[str]) -> None:
    effort = body.get("reasoning_effort")
    if effort is None:
        return
    side.fields["reasoning_effort"] = effort
    if effort == "none":
        return
    if effort not in BUDGETS:
        raise InvalidRequest(
            f"reasoning_effort: unknown value {effort!r}; expected none, " + ", ".join(BUDGETS),
            param="reasoning_effort",
        )
    budget = BUDGETS[effort]
    limit = req.get("max_tokens")
    if limit is not None and budget >= limit:
        budget = limit - 1
        if budget < _MIN_BUDGET:
            warn.append(
                f"reasoning_effort {effort!r}: max_tokens {limit} leaves no room for thinking "
                f"(at least {_MIN_BUDGET + 1} needed); thinking is off for Anthropic backends"
            )
            return
    if not _thinking_replayable(req["messages"]):
        warn.append(
            "reasoning_effort: the thinking of the last tool-calling turn is not known "
            "(ccrelay restarted, or another backend answered it), so Anthropic backends get "
            "this request without thinking"
        )
        return
    # Anthropic's rules while thinking (no temperature, no forced tool...) are the anthropic
    # strategy's: other backends get the client's sampling as sent.
    req["thinking"] = {"type": "enabled", "budget_tokens": budget}


def _thinking_replayable(messages: list[dict[str, Any]]) -> bool:
    """False when the last assistant turn made tool calls but its signed thinking is gone:
    Anthropic rejects such a turn while thinking is on."""
    for msg in reversed(messages):
        if msg["role"] != "assistant":
            continue
        blocks = msg["content"]
        if not any(b["type"] == "tool_use" for b in blocks):
            return True
        return any(
            (b["type"] == "thinking" and b.get("signature")) or b["type"] == "redacted_thinking"
            for b in blocks
        )
    return True
