"""The Anthropic Messages dialect: Claude Code and the anthropic SDKs.

The canonical form *is* this protocol, so parsing is validation (the ``REQUEST`` spec below
types every field ccrelay reads) and rendering is encoding. Unknown top-level fields and
block types stay in the request: a same-protocol upstream receives them as sent, and other
strategies table what they do with each (``providers/*/``). Wire reference:
``shared/protocols/anthropic-messages.md``.

| route | what |
|---|---|
| ``POST /v1/messages`` | a Messages request, streaming or not (``?beta=true`` accepted) |
| ``POST /v1/messages/count_tokens`` | ``{"input_tokens": n}`` |
| ``POST /api/event_logging/batch`` | Claude Code's telemetry: accepted and discarded |

The client's key comes in ``x-api-key`` or ``Authorization: Bearer``; ``anthropic-version``
and ``anthropic-beta`` are forwarded to Anthropic-protocol upstreams.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from ccrelay.core.dialect import (
    ClientCall,
    Dialect,
    Inbound,
    ModelEntry,
    Rendered,
    Route,
    StreamRenderer,
)
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.schema import (
    ANY,
    BOOL,
    INT,
    NUM,
    OBJECT,
    STR,
    enum,
    int_range,
    list_of,
    non_empty_str,
    nullable,
    obj,
    one_of,
    tagged,
    validate,
)
from ccrelay.core.sse import encode_event
from ccrelay.core.types import CanonicalEvent, CanonicalResponse

#: client headers forwarded to Anthropic-protocol upstreams (never keys)
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")

# --- the request's shape (anthropic-messages.md §2-§6) -------------------------------------

_TEXT = obj({"text": STR, "cache_control": OBJECT, "citations": nullable(list_of(OBJECT))},
            required=("text",))  # fmt: skip
_IMAGE_SOURCE = tagged(
    "type",
    {
        "base64": obj({"media_type": STR, "data": STR}, required=("media_type", "data")),
        "url": obj({"url": STR}, required=("url",)),
        "file": obj({"file_id": STR}, required=("file_id",)),
    },
    desc="an image source",
)
_IMAGE = obj({"source": _IMAGE_SOURCE, "cache_control": OBJECT}, required=("source",))
_DOCUMENT = obj(
    {"source": tagged("type", {}, other=OBJECT, desc="a document source"),
     "title": nullable(STR), "context": nullable(STR), "cache_control": OBJECT},
    required=("source",),
)  # fmt: skip
_RESULT_BLOCK = tagged(
    "type", {"text": _TEXT, "image": _IMAGE, "document": _DOCUMENT}, other=OBJECT, desc="a block"
)
_TOOL_RESULT = obj(
    {
        "tool_use_id": STR,
        "content": one_of(STR, list_of(_RESULT_BLOCK), desc="a string or a list of blocks"),
        "is_error": BOOL,
        "cache_control": OBJECT,
    },
    required=("tool_use_id",),
)
_TOOL_USE = obj({"id": STR, "name": STR, "input": OBJECT, "cache_control": OBJECT},
                required=("id", "name"))  # fmt: skip
BLOCK = tagged(
    "type",
    {
        "text": _TEXT,
        "image": _IMAGE,
        "document": _DOCUMENT,
        "tool_use": _TOOL_USE,
        "tool_result": _TOOL_RESULT,
        "thinking": obj({"thinking": STR, "signature": STR}, required=("thinking",)),
        "redacted_thinking": obj({"data": STR}, required=("data",)),
    },
    # New block types appear regularly (server tools, search results): a same-protocol
    # upstream takes them; other strategies name them in a 400.
    other=OBJECT,
    desc="a content block",
)
MESSAGE = obj(
    {
        "role": enum("user", "assistant", "system", desc="'user' or 'assistant'"),
        "content": one_of(STR, list_of(BLOCK), desc="a string or a list of content blocks"),
    },
    required=("role", "content"),
    desc="an object with role and content",
)
TOOL = obj(
    {"name": STR, "description": STR, "input_schema": OBJECT, "type": STR,
     "cache_control": OBJECT},
    required=("name",),
)  # fmt: skip
_TOOL_CHOICE = tagged(
    "type",
    {
        "auto": obj({"disable_parallel_tool_use": BOOL}),
        "any": obj({"disable_parallel_tool_use": BOOL}),
        "none": obj(),
        "tool": obj({"name": STR, "disable_parallel_tool_use": BOOL}, required=("name",)),
    },
    desc="a tool choice",
)
_THINKING = tagged(
    "type",
    {
        "enabled": obj({"budget_tokens": int_range(0), "display": STR}),
        "disabled": obj(),
        "adaptive": obj({"display": STR}),
    },
    other=OBJECT,
    desc="a thinking setting",
)
_FIELDS = {
    "model": non_empty_str(),
    "max_tokens": int_range(0),
    "messages": list_of(MESSAGE, desc="a list of {role, content} objects"),
    "system": one_of(
        STR,
        list_of(
            obj(
                {"type": enum("text"), "text": STR, "cache_control": OBJECT},
                required=("type", "text"),
                desc="a text block {type: text, text}",
            )
        ),
        desc="a string or a list of text blocks",
    ),  # fmt: skip
    "stream": BOOL,
    "temperature": NUM,
    "top_p": NUM,
    "top_k": INT,
    "stop_sequences": list_of(STR),
    "tools": list_of(TOOL),
    "tool_choice": _TOOL_CHOICE,
    "thinking": _THINKING,
    "metadata": obj({"user_id": nullable(STR)}),
    "output_config": obj({"effort": STR, "format": nullable(OBJECT)}),
    "context_management": OBJECT,
    "cache_control": OBJECT,
    "service_tier": STR,
    "container": ANY,
    "mcp_servers": list_of(OBJECT),
}
REQUEST = obj(_FIELDS, required=("model", "max_tokens", "messages"), desc="a JSON object")
COUNT_REQUEST = obj(_FIELDS, required=("model", "messages"), desc="a JSON object")

# --- errors (anthropic-messages.md §11) ----------------------------------------------------

_ERROR_TYPES: dict[ErrorKind, str] = {
    ErrorKind.INVALID_REQUEST: "invalid_request_error",
    ErrorKind.AUTHENTICATION: "authentication_error",
    ErrorKind.BILLING: "billing_error",
    ErrorKind.PERMISSION: "permission_error",
    ErrorKind.NOT_FOUND: "not_found_error",
    ErrorKind.TOO_LARGE: "request_too_large",
    ErrorKind.RATE_LIMITED: "rate_limit_error",
    ErrorKind.CONTEXT_TOO_LONG: "invalid_request_error",
    ErrorKind.OVERLOADED: "overloaded_error",
    ErrorKind.TIMEOUT: "timeout_error",
    ErrorKind.UPSTREAM: "api_error",
    ErrorKind.NOT_CONFIGURED: "invalid_request_error",
}
#: Claude Code compacts the conversation when a 400 says this, instead of retrying
TOO_LONG = "prompt is too long"


def error_object(err: RelayError) -> dict[str, Any]:
    """``{"type": <error type>, "message": ...}`` in Anthropic's words for ``err``."""
    message = err.message
    if err.kind is ErrorKind.CONTEXT_TOO_LONG and TOO_LONG not in message.lower():
        message = f"{TOO_LONG}: {message}"
    return {"type": _ERROR_TYPES.get(err.kind, "api_error"), "message": message}


_PING = encode_event({"type": "ping"})


@hookimpl
def ccrelay_register_dialects(register: Any) -> None:
    register(AnthropicDialect)


class AnthropicDialect(Dialect):
    name = "anthropic"
    description = "Anthropic Messages (Claude Code, anthropic SDKs)"
    routes = (
        Route("/v1/messages", ("POST",), "messages"),
        Route("/v1/messages/count_tokens", ("POST",), "count_tokens"),
        Route("/api/event_logging/batch", ("POST",), "event_logging", kind="info"),
    )

    def parse(self, inbound: Inbound) -> ClientCall:
        body = inbound.body
        count = inbound.endpoint == "count_tokens"
        validate(COUNT_REQUEST if count else REQUEST, body)
        headers = inbound.headers
        forward = {h: v for h in FORWARDED_HEADERS if (v := headers.get(h)) is not None}
        return ClientCall(
            request=body,
            stream=bool(body.get("stream")) and not count,
            count_only=count,
            forward_headers=forward,
        )

    def render_response(self, resp: CanonicalResponse, call: ClientCall) -> Rendered:
        return Rendered(resp)

    def stream_renderer(self, call: ClientCall) -> StreamRenderer:
        return _Renderer()

    def render_error(self, err: RelayError, request_id: str | None = None) -> Rendered:
        body: dict[str, Any] = {"type": "error", "error": error_object(err)}
        if request_id:
            body["request_id"] = request_id
        return Rendered(body, err.status, err.headers)

    def info(self, inbound: Inbound, models: Sequence[ModelEntry]) -> Rendered:
        # Claude Code's telemetry batch: accepted so it never shows up as an error.
        return Rendered({})

    def describe_model(self, entry: ModelEntry) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "model",
            "id": entry.id,
            "display_name": entry.id,
            "created_at": _iso(entry.created),
        }
        if entry.context_window:
            out["max_input_tokens"] = entry.context_window
        if entry.max_output:
            out["max_tokens"] = entry.max_output
        return out

    def describe_model_list(self, entries: Sequence[ModelEntry]) -> dict[str, Any]:
        return {
            "has_more": False,
            "first_id": entries[0].id if entries else None,
            "last_id": entries[-1].id if entries else None,
        }


class _Renderer(StreamRenderer):
    """Canonical events are Anthropic events: encode each; pings and errors are events too."""

    def events(self, events: Sequence[CanonicalEvent]) -> bytes:
        if len(events) == 1:
            return encode_event(events[0])
        return b"".join(map(encode_event, events))

    def keepalive(self) -> bytes:
        return _PING

    def error(self, err: RelayError) -> bytes:
        return encode_event({"type": "error", "error": error_object(err)})


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
