"""The OpenAI Chat Completions dialect: Qwen Code, Cline, Roo Code, Zed, the openai SDKs.

| route | what |
|---|---|
| ``POST /v1/chat/completions`` | a Chat Completions request, streaming or not |
| ``POST /chat/completions`` | the same, for clients whose base URL lacks ``/v1`` |

The client's key comes as ``Authorization: Bearer`` (or ``x-api-key``). What happens to each
request field is tabled in ``parse.py``, each answer field in ``render.py``, each stream event
in ``stream.py``; errors are tabled below (the rows both OpenAI dialects share:
``core/dialects/_openai_errors.py``). ``GET /v1/models`` (core's) gets OpenAI's
``object``, ``created`` and ``owned_by`` (the provider's name) on every model.

The side field (``ClientCall.side``, read only by ``openai_chat``-protocol strategies) holds:

| key | what | applied by the openai strategy to |
|---|---|---|
| ``fields`` | top-level fields as the client sent them | the body, over what it built |
| ``messages`` | ``{"<i>" or "system": {key: value}}``: ``name``, ``role: developer`` and unknown keys of a message | the Chat message made from canonical message ``i`` (``system``: the leading system message) |
| ``tool_results`` | ``{"<i>.<j>": {...}}``: extra keys of a ``tool`` message | the tool message made from block ``j`` of canonical message ``i`` |
| ``calls`` | ``{"<i>.<k>": {"arguments": str, ...}}``: the exact arguments string and extra keys of a tool call | the ``k``-th tool call of canonical message ``i`` |
| ``tools`` | ``{name: {...}}``: ``strict`` and other extra keys of a tool | that tool |
| ``images`` | ``{"<i>.<j>": {"detail": ...}}`` | the image part made from block ``j`` of message ``i`` |

Thinking signatures cannot travel through a Chat client, so the dialect keeps the signed
thinking blocks of an answer in a vault (``core/vault.py``, in memory, bounded, six hours)
under the id of the tool call that follows them, and puts them back first in that assistant
turn when the history returns: an Anthropic backend with thinking on then accepts the next
turn of a tool loop. Tool call ids over OpenAI's 40 characters are shortened the same way.
"""

from __future__ import annotations

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
from ccrelay.core.dialects._openai_errors import OpenAIErrors
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.types import CanonicalResponse
from ccrelay.core.vault import Vault

from .parse import parse_request
from .render import ToolIds, render_completion
from .stream import ChatStream

# ErrorKind -> (OpenAI error type, code) where Chat clients get other words than Responses
# clients (the shared rows: core/dialects/_openai_errors.py).
_ERRORS = OpenAIErrors(
    {
        ErrorKind.NOT_FOUND: ("invalid_request_error", "not_found"),
        ErrorKind.OVERLOADED: ("server_error", "overloaded"),
        ErrorKind.TIMEOUT: ("timeout_error", "timeout"),
        ErrorKind.UPSTREAM: ("server_error", None),
        ErrorKind.NOT_CONFIGURED: ("invalid_request_error", "not_configured"),
    },
    fallback=("server_error", None),
    context_param="messages",
    # Anthropic's 529 is not an HTTP status OpenAI clients know
    statuses={529: 503},
)


def error_object(err: RelayError) -> dict[str, Any]:
    """``{"error": {message, type, param, code}}`` for ``err`` (openai-chat.md §8)."""
    return {"error": _ERRORS.error(err)}


@hookimpl
def ccrelay_register_dialects(register: Any) -> None:
    register(OpenAIChatDialect)


class OpenAIChatDialect(Dialect):
    name = "openai_chat"
    description = "OpenAI Chat Completions (Qwen Code, Cline, Zed, openai SDKs)"
    routes = (
        Route("/v1/chat/completions", ("POST",), "chat_completions"),
        Route("/chat/completions", ("POST",), "chat_completions"),
    )

    def __init__(self) -> None:
        #: signed thinking blocks by the id of the tool call that follows them
        self.thinking: Vault[list[dict[str, Any]]] = Vault()
        self.ids = ToolIds(Vault())

    def parse(self, inbound: Inbound) -> ClientCall:
        return parse_request(inbound.body, self.thinking.get, self.ids.original)

    def render_response(self, resp: CanonicalResponse, call: ClientCall) -> Rendered:
        return Rendered(render_completion(resp, self.ids, self.thinking))

    def stream_renderer(self, call: ClientCall) -> StreamRenderer:
        return ChatStream(
            bool(call.state.get("include_usage")), self.ids, self.thinking, error_object
        )

    def render_error(self, err: RelayError, request_id: str | None = None) -> Rendered:
        return _ERRORS.render(err)

    def describe_model(self, entry: ModelEntry) -> dict[str, Any]:
        return {"id": entry.id, "object": "model", "created": entry.created,
                "owned_by": entry.provider}  # fmt: skip
