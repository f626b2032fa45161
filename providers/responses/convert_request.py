"""Canonical (Anthropic Messages) request to an OpenAI Responses request body.

What happens to every canonical field: C = converted, D = dropped (reason given),
R = rejected with a 400 that names the field. Wire reference: openai-responses.md §2-§4.

model                     C  ``ctx.model`` (the configured upstream model)
max_tokens                C  ``max_output_tokens``, clamped to the model's output cap (table or
                             option) and raised to 16, the API's minimum (Claude Code probes
                             with ``max_tokens: 1``)
stream                    C  ``stream``
(always)                  C  ``store: false``: ccrelay is stateless, every turn carries the
                             whole conversation, reasoning included by value
system (string / blocks)  C  ``instructions``, blocks joined by a blank line
system block starting     D  Anthropic billing metadata, not an instruction; it changes on
  x-anthropic-billing-header every request and would defeat the prefix cache
role system (mid-conv.)   C  an input message ``role: system`` at the same position
role user, text           C  message with ``input_text`` parts (empty text parts left out)
image (base64 / url)      C  ``input_image`` with a ``data:`` URL / the URL, ``detail: auto``
image (file id)           R  Files API ids exist only at Anthropic
document (base64 / url)   C  ``input_file`` with ``file_data`` (a ``data:`` URL) / ``file_url``
document (text / content) C  ``input_text`` (title first)
tool_use                  C  ``function_call`` item: ``call_id`` (sanitised like the OpenAI
                             strategy's ids, same on calls and outputs), ``name``, ``arguments``
                             as JSON text; **no item ``id``** (a foreign ``id`` is rejected, an
                             ``fc_`` id drags in its reasoning item: openai-responses.md §3)
tool_result               C  ``function_call_output`` item, before the rest of that user turn;
                             ``output`` is text, or ``input_text``/``input_image`` parts when
                             the result holds images
tool_result.is_error      C  output text prefixed ``Error: `` (no error flag upstream)
tool_result, no content   C  ``(no output)``
tool_result, no call      C  user text ``Result of tool call <id>: ...`` (an orphan output is
                             a 400 upstream)
tool_use, no result       C  synthesised output ``Error: tool call was not executed`` (a call
                             without output is a 400 upstream)
assistant text            C  assistant message with one ``output_text`` part per text block
thinking signed by this   C  a ``reasoning`` item (summary + ``encrypted_content``) at the same
  strategy and upstream      position (reasoning.py); one left last in a turn is dropped (it
                             would lack its required following item)
thinking, other origins   D  another backend's state; no Responses upstream can verify it
redacted_thinking         D  Anthropic-encrypted state
cache_control (anywhere)  D  Responses upstreams cache prefixes automatically
other block types         R  server_tool_use and the like have no equivalent
                             (``search_result`` inside a tool result becomes text)
tools[] (custom)          C  flat ``{type: function, name, description, parameters,
                             strict: false}`` (strict mode rejects most client schemas);
                             names OpenAI rejects renamed reversibly (openai/names.py);
                             ``tools: []`` omitted
tools[] server types      R  bash_..., web_search_... run at Anthropic
tool_choice               C  auto / ``required`` / ``{type: function, name}`` / none; dropped
                             without tools
disable_parallel_tool_use C  ``parallel_tool_calls: false``
temperature, top_p        C  passed; D for reasoning models (they reject sampling parameters;
                             option ``fixed_temperature``)
top_k                     D  the Responses API has no top_k
stop_sequences            R  the Responses API has no stop parameter (§2): a 400 says so
                             rather than ignoring the client's stops
metadata.user_id          C  ``safety_identifier`` = 32-hex hash (option ``send_user``)
metadata, other keys      D  no documented meaning
thinking enabled+budget   C  ``reasoning.effort`` (<4096 low, <16384 medium, else high), the
                             nearest the model takes; only for reasoning models
thinking disabled         C  the lowest effort the model takes
thinking adaptive         C  no effort (the model's default)
output_config.effort      C  ``reasoning.effort`` (``max`` -> ``xhigh``, then the nearest
                             accepted)
(reasoning models)        C  ``reasoning.summary`` (option ``reasoning_summary``, default
                             ``auto``) and ``include: ["reasoning.encrypted_content"]``
output_config.format      C  ``text.format`` ``{type: json_schema, name, schema, strict: false}``
context_management        D  Anthropic server-side context editing
service_tier, inference_  D  Anthropic-only knobs without a Responses meaning
  geo, top-level cache_control, unknown fields
container, mcp_servers    R  Anthropic-hosted features
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.canonical import (
    EMPTY_RESULT,
    NOT_EXECUTED,
    document_text,
    error_text,
    hashed_user,
    image_url,
    orphan_text,
    output_format,
    reject_hosted,
    system_text,
    text_only,
    tool_result_content,
)
from ccrelay.core.errors import InvalidRequest, Unsupported
from ccrelay.core.jsonutil import dumps_str
from ccrelay.core.types import CanonicalRequest
from ccrelay.providers.openai.capabilities import reasoning_effort
from ccrelay.providers.openai.names import tool_id_out, tool_name_out

from .options import Options
from .reasoning import replay_item

MIN_OUTPUT_TOKENS = 16  # the API rejects less ("Expected a value >= 16")
_TOOL_CHOICE = {"auto": "auto", "any": "required", "none": "none"}
_NOT_EXECUTED = f"Error: {NOT_EXECUTED}"


def build_body(req: CanonicalRequest, model: str, opts: Options, source: str) -> dict[str, Any]:
    """The upstream JSON body for ``req`` (see the module table for every field).

    :param source: this upstream's identity for reasoning replay (``reasoning.source_of``).
    """
    reject_hosted(req, "Responses upstreams lack it")
    if req.get("stop_sequences"):
        raise Unsupported(
            "stop_sequences: the OpenAI Responses API has no stop parameter; remove them or "
            "route this request to a provider of another type",
            param="stop_sequences",
        )
    stream = bool(req.get("stream"))
    body: dict[str, Any] = {"model": model}
    instructions = system_text(req.get("system"))
    if instructions:
        body["instructions"] = instructions
    body["input"] = _input(req, source)
    body["stream"] = stream
    body["store"] = False
    max_tokens = req.get("max_tokens")
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool):
        if opts.max_output is not None:
            max_tokens = min(max_tokens, opts.max_output)
        body["max_output_tokens"] = max(MIN_OUTPUT_TOKENS, max_tokens)
    if not opts.fixed_sampling:
        for key in ("temperature", "top_p"):
            if req.get(key) is not None:
                body[key] = req[key]  # type: ignore[literal-required]
    _tools(req, body)
    if opts.efforts:
        reasoning: dict[str, Any] = {}
        effort = reasoning_effort(req, opts.efforts, off_is_lowest=True)
        if effort:
            reasoning["effort"] = effort
        if opts.summary:
            reasoning["summary"] = opts.summary
        if reasoning:
            body["reasoning"] = reasoning
        body["include"] = ["reasoning.encrypted_content"]
    _output_format(req, body)
    user = hashed_user(req) if opts.send_user else None
    if user:
        body["safety_identifier"] = user
    if opts.extra_body:
        body.update(opts.extra_body)
    return body


# --- input items ---------------------------------------------------------------------------


def _input(req: CanonicalRequest, source: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    pending: dict[str, None] = {}  # calls of the last assistant turn not yet answered, in order
    for i, msg in enumerate(req.get("messages") or ()):
        role = msg.get("role")
        content = msg.get("content")
        where = f"messages[{i}]"
        if role == "user":
            _user(content, out, pending, where)
            pending = {}
        elif role == "assistant":
            _answer_missing(out, pending)
            pending = _assistant(content, out, source, where)
        elif role == "system":
            _answer_missing(out, pending)
            pending = {}
            text = text_only(content, where)
            if text:
                out.append(_message("system", [{"type": "input_text", "text": text}]))
        else:
            raise InvalidRequest(f"{where}.role: expected user, assistant or system")
    _answer_missing(out, pending)
    return out


def _message(role: str, parts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "message", "role": role, "content": parts}


def _answer_missing(out: list[dict[str, Any]], pending: dict[str, None]) -> None:
    for call_id in pending:
        out.append({"type": "function_call_output", "call_id": call_id, "output": _NOT_EXECUTED})
    pending.clear()


def _user(content: Any, out: list[dict[str, Any]], pending: dict[str, None], where: str) -> None:
    """Append the outputs of the calls this turn answers, then its message."""
    if isinstance(content, str):
        _answer_missing(out, pending)
        if content:
            out.append(_message("user", [{"type": "input_text", "text": content}]))
        return
    parts: list[dict[str, Any]] = []
    answered: set[str] = set()
    for j, block in enumerate(content or ()):
        kind = block.get("type")
        at = f"{where}.content[{j}]"
        if kind == "tool_result":
            call_id = tool_id_out(str(block.get("tool_use_id") or ""))
            output = _result_output(block, at)
            if call_id in pending and call_id not in answered:
                answered.add(call_id)
                out.append({"type": "function_call_output", "call_id": call_id, "output": output})
            else:  # an orphan output is a 400 upstream: keep what it says as text
                text = output if isinstance(output, str) else _parts_text(output)
                label = orphan_text(str(block.get("tool_use_id")), text)
                parts.append({"type": "input_text", "text": label})
        elif kind == "text":
            if block.get("text"):
                parts.append({"type": "input_text", "text": block["text"]})
        elif kind == "image":
            parts.append(_image(block, at))
        elif kind == "document":
            parts.append(_document(block, at))
        else:
            raise Unsupported(f"{at}: {kind!r} blocks cannot be sent to a Responses upstream")
    _answer_missing(out, {c: None for c in pending if c not in answered})
    if parts:
        out.append(_message("user", parts))


def _assistant(content: Any, out: list[dict[str, Any]], source: str, where: str) -> dict[str, None]:
    """Append one assistant turn's items in order; return its calls (to be answered)."""
    if isinstance(content, str):
        if content:
            out.append(_message("assistant", [_output_text(content)]))
        return {}
    calls: dict[str, None] = {}
    texts: list[dict[str, Any]] = []
    start = len(out)

    def flush() -> None:
        if texts:
            out.append(_message("assistant", list(texts)))
            texts.clear()

    for j, block in enumerate(content or ()):
        kind = block.get("type")
        if kind == "text":
            if block.get("text"):
                texts.append(_output_text(block["text"]))
        elif kind == "tool_use":
            flush()
            call_id = tool_id_out(str(block.get("id") or ""))
            calls[call_id] = None
            out.append({
                "type": "function_call",
                "call_id": call_id,
                "name": tool_name_out(str(block.get("name") or "")),
                "arguments": dumps_str(block.get("input") or {}),
            })  # fmt: skip
        elif kind == "thinking":
            item = replay_item(block.get("signature"), source)
            if item is not None:
                flush()
                out.append(item)
        elif kind == "redacted_thinking":
            continue
        else:
            raise Unsupported(
                f"{where}.content[{j}]: {kind!r} blocks cannot be sent to a Responses upstream"
            )
    flush()
    # A reasoning item must be followed by the item it produced; one left last (a turn cut
    # off after its reasoning) would be rejected.
    if len(out) > start and out[-1].get("type") == "reasoning":
        out.pop()
    return calls


def _output_text(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": []}


def _result_output(block: dict[str, Any], where: str) -> str | list[dict[str, Any]]:
    """A tool result as the output text, or as parts when it holds images or files."""
    text, media = tool_result_content(block, where, _result_part)
    if block.get("is_error"):
        text = error_text(text)
    if not media:
        return text or EMPTY_RESULT
    return ([{"type": "input_text", "text": text}] if text else []) + media


def _result_part(block: dict[str, Any], where: str) -> str | dict[str, Any]:
    if block.get("type") == "image":
        return _image(block, where)
    doc = _document(block, where)
    return doc["text"] if doc["type"] == "input_text" else doc


def _parts_text(parts: list[dict[str, Any]]) -> str:
    texts = [p.get("text", "") for p in parts if p.get("type") == "input_text"]
    return "\n".join(texts) + (" (images not shown)" if len(texts) < len(parts) else "")


def _image(block: dict[str, Any], where: str) -> dict[str, Any]:
    return {"type": "input_image", "image_url": image_url(block, where), "detail": "auto"}


def _document(block: dict[str, Any], where: str) -> dict[str, Any]:
    source = block.get("source") or {}
    kind = source.get("type")
    title = block.get("title")
    if kind == "base64":
        media_type = source.get("media_type", "application/pdf")
        return {
            "type": "input_file",
            "filename": title or "document.pdf",
            "file_data": f"data:{media_type};base64,{source.get('data', '')}",
        }
    if kind == "url" and source.get("url"):
        return {"type": "input_file", "file_url": source["url"]}
    text = document_text(block)
    if text is None:
        raise Unsupported(f"{where}.source.type {kind!r}: only base64, url, text and content")
    return {"type": "input_text", "text": text}


# --- tools, effort, output format ----------------------------------------------------------


def _tools(req: CanonicalRequest, body: dict[str, Any]) -> None:
    tools = req.get("tools")
    if not tools:
        return  # tool_choice without tools is meaningless and rejected upstream
    out = []
    for i, tool in enumerate(tools):
        if tool.get("type") not in (None, "custom"):
            raise Unsupported(
                f"tools[{i}]: Anthropic server tool {tool.get('type')!r} has no Responses "
                "equivalent"
            )
        fn: dict[str, Any] = {
            "type": "function",
            "name": tool_name_out(str(tool.get("name") or "")),
        }
        if tool.get("description"):
            fn["description"] = tool["description"]
        fn["parameters"] = tool.get("input_schema") or {"type": "object", "properties": {}}
        fn["strict"] = False
        out.append(fn)
    body["tools"] = out
    choice = req.get("tool_choice")
    if not choice:
        return
    kind = choice.get("type")
    if kind == "tool":
        body["tool_choice"] = {"type": "function", "name": tool_name_out(str(choice.get("name")))}
    elif kind in _TOOL_CHOICE:
        body["tool_choice"] = _TOOL_CHOICE[kind]
    else:
        raise InvalidRequest(f"tool_choice.type: expected auto, any, tool or none, got {kind!r}")
    if choice.get("disable_parallel_tool_use") and kind != "none":
        body["parallel_tool_calls"] = False


def _output_format(req: CanonicalRequest, body: dict[str, Any]) -> None:
    fmt = output_format(req)
    if fmt is None:
        return
    body["text"] = {
        "format": {
            "type": "json_schema",
            "name": fmt.get("name") or "response",
            "schema": fmt["schema"],
            "strict": False,
        }
    }
