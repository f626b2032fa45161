"""A Responses request body as a canonical request, its side field and the call's notes.

What happens to every field: C = converted, S = carried in the side field only (a Responses
backend receives it unchanged; no other backend sees it), R = rejected with a 400 naming it.

model                        C  ``model``
input (string)               C  one user message
input (items)                C  ``convert_input.py`` (messages, tool calls and results,
                                reasoning); hosted-tool items left out with a warning
instructions                 C  the first ``system`` block; not inherited by a response that
                                continues this one (as at OpenAI)
previous_response_id         C  the stored conversation goes before ``input`` (``store.py``); an
                                unknown or expired id is a 400 saying so
stream                       C  ``stream``
max_output_tokens            C  ``max_tokens`` (both count reasoning tokens); absent: the
                                backend decides
temperature                  C  ``temperature`` as sent (0-2; strategies clamp to their range)
top_p                        C  ``top_p``
tools, tool_choice,          C  ``tools.py`` (custom tools take one string; hosted tools left
  parallel_tool_calls           out with a warning and a header, or a 400)
reasoning.effort             C  ``output_config.effort``: minimal and low -> low, medium, high,
                                xhigh -> max; none -> no effort. Option ``thinking`` also turns
                                canonical ``thinking`` on (see ``docs/openai-responses.md``)
reasoning.summary            S  the backend's thinking text is always returned as the summary
text.format json_schema      C  ``output_config.format`` ``{type: json_schema, schema}``
text.format json_object      C  a last system block asking for one JSON object
text.verbosity               S  no canonical equivalent
store                        C  false: the answer is not kept for ``previous_response_id``
include                      S  ``encrypted_content`` is returned whenever there is state to
                                carry, asked or not (the client is the only place it is kept)
safety_identifier, user      C  ``metadata.user_id`` (safety_identifier first)
metadata                     S  Anthropic's metadata takes only ``user_id``
prompt_cache_key, truncation S  OpenAI-only; other backends cache and truncate as they do
service_tier, top_logprobs,  S  OpenAI-only
  max_tool_calls, stream_options, client_metadata, unknown fields
background: true             R  ccrelay answers while the request is open
conversation                 R  ccrelay has no Conversations API (use previous_response_id)
prompt                       R  stored prompt templates live at OpenAI

The side field (``ClientCall.side``), for a strategy whose ``protocol`` is ``openai_responses``:

- ``side["fields"]``: every top-level field of the body except ``model``, ``input``,
  ``stream`` and ``previous_response_id``, exactly as sent (tools with hosted ones and
  ``strict``, ``tool_choice``, ``instructions``, ``reasoning``, ``text``, ``include``, ...).
- ``side["input"]``: the whole conversation as Responses items: the stored items of
  ``previous_response_id`` (already expanded), then this request's ``input`` (a string as one
  user message), as sent except that ids ccrelay minted are removed and reasoning items
  carrying another backend's state (``ccrelay.v1:``) are left out.

Such a strategy sends ``{**side["fields"], "model": ctx.model, "input": side["input"],
"stream": req["stream"]}``: nothing the client sent is lost, and it never receives a
``previous_response_id`` it cannot resolve.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ccrelay.core.dialect import ClientCall
from ccrelay.core.errors import InvalidRequest
from ccrelay.core.types import CanonicalRequest, TextBlock

from .convert_input import Conversation
from .ids import new_id, side_item
from .store import ConversationStore, Stored
from .tools import convert_tools

_NOT_SIDE = frozenset({"model", "input", "stream", "previous_response_id"})
_EFFORT = {"minimal": "low", "low": "low", "medium": "medium", "high": "high", "xhigh": "max"}
_BUDGET = {"minimal": 1024, "low": 1024, "medium": 8192, "high": 24576, "xhigh": 32768}
#: room for the answer above the thinking budget when the client set no output limit
_ANSWER_ROOM = 8192
_JSON_NOTE = "Respond with a single JSON object and nothing else."
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")
OMITTED_TOOLS = "x-ccrelay-omitted-tools"
OMITTED_ITEMS = "x-ccrelay-omitted-items"


@dataclass(frozen=True)
class Options:
    """The ``dialects.openai_responses`` options of one request (see ``__init__.py``)."""

    reject_hosted: bool = False
    thinking: str = "off"


def build_call(
    body: dict[str, Any], opts: Options, store: ConversationStore, *, count: bool = False
) -> ClientCall:
    """The ``ClientCall`` for a body validated by ``spec.REQUEST`` (or ``COUNT_REQUEST``)."""
    _reject(body)
    prior = _prior(body, store)
    conv = Conversation(
        prior.system if prior else (),
        prior.messages if prior else (),
        reject_hosted=opts.reject_hosted,
    )
    raw = body.get("input")
    items: list[Any] = (
        [{"type": "message", "role": "user", "content": raw}] if isinstance(raw, str) else raw or []
    )
    conv.add(items)
    if not conv.messages and not count:
        raise InvalidRequest(
            "input: no user, assistant or tool item to answer; send at least one message",
            param="input",
        )
    toolset = convert_tools(body, opts.reject_hosted)
    req: CanonicalRequest = {"model": body.get("model") or "", "messages": conv.messages}  # type: ignore[typeddict-item]
    system = _system(body, conv.system)
    if system:
        req["system"] = system
    stream = bool(body.get("stream")) and not count
    if stream:
        req["stream"] = True
    call = ClientCall(request=req, stream=stream, count_only=count)
    _sampling(body, req)
    if toolset.tools:
        req["tools"] = toolset.tools
        if toolset.choice:
            req["tool_choice"] = toolset.choice
    _reasoning(body, req, opts, call)
    user = body.get("safety_identifier") or body.get("user")
    if user:
        req["metadata"] = {"user_id": user}
    side_items = [s for s in map(side_item, items) if s is not None]
    if prior:
        side_items = [*prior.items, *side_items]
    call.side = {
        "fields": {k: v for k, v in body.items() if k not in _NOT_SIDE},
        "input": side_items,
    }
    _omissions(call, toolset.hosted, conv.omitted)
    if count:
        return call
    rid = new_id("resp")
    keep = body.get("store") is not False and store.max_responses > 0
    call.state.update(
        rid=rid,
        custom=toolset.custom,
        namespaces=toolset.namespaces,
        envelope=_envelope(body, rid),
        keep=(tuple(conv.system), tuple(conv.messages), tuple(side_items)) if keep else None,
    )
    return call


def remember(store: ConversationStore, call: ClientCall, answer: list[Any],
             output: list[Any]) -> None:  # fmt: skip
    """Keep the conversation ``call`` answered with ``answer`` (canonical blocks) and
    ``output`` (its items), unless the client said ``store: false``."""
    keep = call.state.get("keep")
    if keep is None:
        return
    system, messages, items = keep
    if answer:
        messages = (*messages, {"role": "assistant", "content": answer})
    kept = [s for s in map(side_item, output) if s is not None]
    store.put(call.state["rid"], Stored(system, messages, (*items, *kept)))


# --- pieces ---------------------------------------------------------------------------------


def _reject(body: dict[str, Any]) -> None:
    if body.get("background"):
        raise InvalidRequest(
            "background: ccrelay answers while the request is open and keeps no background "
            "jobs; leave background out (or false) and use stream: true for long answers",
            param="background",
        )
    if body.get("conversation") is not None:
        raise InvalidRequest(
            "conversation: ccrelay has no Conversations API; continue with "
            "previous_response_id, or send the whole conversation in input",
            param="conversation",
        )
    if body.get("prompt") is not None:
        raise InvalidRequest(
            "prompt: stored prompt templates live at OpenAI and cannot reach this relay's "
            "backends; send the prompt's text as instructions and input",
            param="prompt",
        )


def _prior(body: dict[str, Any], store: ConversationStore) -> Stored | None:
    pid = body.get("previous_response_id")
    if not pid:
        return None
    prior = store.get(pid)
    if prior is None:
        raise InvalidRequest(
            f"previous_response_id: response {pid[:80]!r} is not kept by this relay: it is "
            "unknown, was answered with store: false, or expired (ccrelay keeps up to "
            f"{store.max_responses} responses for {store.max_age:g} s, see "
            "dialects.openai_responses.store_max_responses and store_max_age); send the whole "
            "conversation in input instead",
            param="previous_response_id",
        )
    return prior


def _system(body: dict[str, Any], from_input: list[TextBlock]) -> list[TextBlock]:
    blocks: list[TextBlock] = []
    if body.get("instructions"):
        blocks.append({"type": "text", "text": body["instructions"]})
    blocks.extend(from_input)
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_object":
        blocks.append({"type": "text", "text": _JSON_NOTE})
    return blocks


def _sampling(body: dict[str, Any], req: CanonicalRequest) -> None:
    limit = body.get("max_output_tokens")
    if limit is not None:
        req["max_tokens"] = limit
    if body.get("temperature") is not None:
        req["temperature"] = body["temperature"]  # 0-2; the anthropic strategy clamps to 1
    if body.get("top_p") is not None:
        req["top_p"] = body["top_p"]
    fmt = (body.get("text") or {}).get("format") or {}
    if fmt.get("type") == "json_schema":
        req["output_config"] = {"format": {"type": "json_schema", "schema": fmt["schema"]}}


def _reasoning(
    body: dict[str, Any], req: CanonicalRequest, opts: Options, call: ClientCall
) -> None:
    effort = (body.get("reasoning") or {}).get("effort")
    if not effort:
        return
    if effort != "none":
        req["output_config"] = {**req.get("output_config", {}), "effort": _EFFORT[effort]}
    if opts.thinking == "off":
        return
    conflict = _thinking_conflict(req)
    if conflict:
        call.warnings.append(f"reasoning.effort {effort!r}: thinking left off because {conflict}")
        return
    if effort == "none":
        req["thinking"] = {"type": "disabled"}
    elif opts.thinking == "adaptive":
        req["thinking"] = {"type": "adaptive"}
    else:
        budget = _BUDGET[effort]
        limit = req.get("max_tokens")
        if limit is None:
            req["max_tokens"] = budget + _ANSWER_ROOM
        elif limit <= budget:
            budget = limit - 1
        if budget >= 1024:
            req["thinking"] = {"type": "enabled", "budget_tokens": budget}
        else:
            call.warnings.append(
                f"reasoning.effort {effort!r}: thinking left off because max_output_tokens "
                f"({limit}) leaves no room for the minimum budget of 1024 tokens"
            )


def _thinking_conflict(req: CanonicalRequest) -> str:
    temperature = req.get("temperature")
    if temperature is not None and temperature != 1:
        return "temperature is set (thinking models take only the default)"
    top_p = req.get("top_p")
    if top_p is not None and top_p < 0.95:
        return "top_p is below 0.95"
    choice = req.get("tool_choice") or {}
    if choice.get("type") in ("any", "tool"):
        return "tool_choice forces a tool call"
    return ""


def _omissions(call: ClientCall, hosted: list[str], items: list[str]) -> None:
    parts = []
    if hosted:
        names = _names(hosted)
        call.response_headers[OMITTED_TOOLS] = names
        parts.append("hosted tools " + names)
    if items:
        names = _names(items)
        call.response_headers[OMITTED_ITEMS] = names
        parts.append("input items of type " + names)
    if parts:
        call.warnings.append(
            " and ".join(parts) + " left out: only an OpenAI Responses backend can take them "
            "(dialects.openai_responses.hosted_tools: reject makes this a 400)"
        )


def _names(kinds: list[str], most: int = 8) -> str:
    """Type names a client sent, safe for a header and a log line: at most ``most`` of them,
    each cut to 40 characters of ``[A-Za-z0-9_.:-]``."""
    names = [_UNSAFE.sub("?", k[:40]) or "?" for k in kinds[:most]]
    if len(kinds) > most:
        names.append(f"and {len(kinds) - most} more")
    return ", ".join(names)


def _envelope(body: Mapping[str, Any], rid: str) -> dict[str, Any]:
    """The request's echo in every ``response`` object, in OpenAI's field order."""
    reasoning = body.get("reasoning") or {}
    return {
        "id": rid,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "model": body["model"],
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls") is not False,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "store": body.get("store") is not False,
        "temperature": body.get("temperature"),
        "text": body.get("text") or {"format": {"type": "text"}},
        "tool_choice": body.get("tool_choice") or "auto",
        "tools": body.get("tools") or [],
        "top_p": body.get("top_p"),
        "truncation": body.get("truncation") or "disabled",
        "usage": None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
    }
