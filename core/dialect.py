"""The client-side contract: a dialect is everything one client protocol sees of ccrelay.

A dialect parses the client's request into a canonical request (``core/types.py``), renders
canonical answers, streams and errors in its protocol, says where its clients put their key,
and lists models in its shape. Like provider strategies, dialects are pure: data in, data
out. Core reads the body, routes, talks to upstreams, accounts and writes bytes; a dialect
never touches a socket or Flask.

N dialects + M strategies meet only in the canonical form: nothing here knows a backend.

Anything a client sends that the canonical form cannot hold goes in ``ClientCall.side``: a
strategy speaking the same protocol as the client (``Provider.protocol == Dialect.name``)
merges it into its upstream body unchanged; every other strategy never sees it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from ccrelay.core.errors import RelayError
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse


@dataclass(frozen=True)
class Route:
    """One HTTP route a dialect serves.

    :param rule: a Flask rule (``/v1/chat/completions``, ``/v1beta/models/<path:target>``).
    :param methods: HTTP methods.
    :param endpoint: a name the dialect recognises in ``Inbound.endpoint``.
    :param kind: ``call`` routes are parsed into a ``ClientCall`` and relayed (or counted);
        ``info`` routes are answered by ``Dialect.info`` from the model catalog.
    """

    rule: str
    methods: tuple[str, ...]
    endpoint: str
    kind: Literal["call", "info"] = "call"


class Headers:
    """The client's request headers, read lazily from the WSGI environ (names case-blind)."""

    __slots__ = ("_environ",)

    def __init__(self, environ: Mapping[str, Any]) -> None:
        self._environ = environ

    def get(self, name: str, default: str | None = None) -> str | None:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        value = self._environ.get(key)
        return default if value is None else str(value)


@dataclass(frozen=True)
class Inbound:
    """One client request as a dialect sees it.

    :param endpoint: the ``Route.endpoint`` that matched.
    :param path_params: the rule's variables (``{"target": "gemini-2.5-flash:generateContent"}``).
    :param query: the query string's values (first value per name).
    :param headers: the request headers.
    :param body: the decoded JSON body (None for GET, or when there was none).
    :param options: this dialect's ``dialects.<name>`` section of the config.
    """

    endpoint: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Headers
    body: Any
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class ClientCall:
    """A parsed client request, ready for routing.

    :param request: the canonical request; ``max_tokens`` may be absent when the client gave
        none (core then uses the backend model's output limit).
    :param stream: whether the client asked for a stream.
    :param count_only: the client asked for a token count (``render_count`` answers).
    :param forward_headers: protocol headers a same-protocol strategy may forward
        (``anthropic-beta``), never credentials.
    :param side: fields the canonical form cannot hold, for a same-protocol upstream only.
    :param state: the dialect's own notes for rendering this call's answer (a stream's
        options, id maps, the original body when it must be stored, ...).
    :param response_headers: headers the dialect wants on the answer (a warning header, say).
    :param warnings: one log line each (what was left out, and why).
    :param tool_mode: ``compat`` runs every attempt of this call in tool compat mode (a
        group's ``tool_mode``, the ``/{group}/compat_mode/...`` path); with ``native`` each
        provider's own ``tool_mode`` decides (``core/compat/``).
    :param needs_protocol: when set, only strategies whose ``protocol`` is this can serve the
        call (a Gemini client's Files-API URI or server-side cache); every other provider in
        the chain answers a 400 with ``needs_reason`` and the next one is tried.
    :param needs_reason: what in the request needs that protocol and how to do without it.
    """

    request: CanonicalRequest
    stream: bool = False
    count_only: bool = False
    forward_headers: Mapping[str, str] = field(default_factory=dict)
    side: Mapping[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    tool_mode: Literal["native", "compat"] = "native"
    needs_protocol: str = ""
    needs_reason: str = ""


@dataclass(frozen=True)
class Rendered:
    """An answer for the client: a JSON-able body (or raw bytes), status and headers."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True)
class ModelEntry:
    """One model ccrelay offers, as every dialect's model list describes it.

    :param id: the name clients use.
    :param provider: the provider that serves it.
    :param context_window: input limit in tokens, when known.
    :param max_output: output limit in tokens, when known.
    :param vision, tools, thinking: what the backend model can take, when known.
    :param created: unix time ccrelay started (models have no real date here).
    """

    id: str
    provider: str
    context_window: int | None = None
    max_output: int | None = None
    vision: bool | None = None
    tools: bool | None = None
    thinking: bool | None = None
    created: int = 0


class StreamRenderer(abc.ABC):
    """Turns one call's canonical stream into the client's bytes. One instance per stream.

    Core calls ``events`` with batches of canonical events as they arrive, ``keepalive``
    during upstream silences, then exactly one of ``end`` (the upstream finished) or
    ``error`` (it failed after the first byte; the HTTP status is already 200).
    """

    content_type: ClassVar[str] = "text/event-stream"

    @abc.abstractmethod
    def events(self, events: Sequence[CanonicalEvent]) -> bytes:
        """Bytes for a batch of canonical events (may be ``b""`` while buffering)."""

    @abc.abstractmethod
    def keepalive(self) -> bytes:
        """Bytes that keep an idle connection open and that clients ignore."""

    @abc.abstractmethod
    def error(self, err: RelayError) -> bytes:
        """The protocol's mid-stream error, ending the stream."""

    def end(self) -> bytes:
        """Bytes after the last event of a finished stream (``data: [DONE]``, say)."""
        return b""


class Dialect(abc.ABC):
    """A client protocol. Subclasses set ``name`` and ``routes`` and implement the renderers.

    :cvar name: the protocol's name (``anthropic``, ``openai_chat`` ...); a strategy whose
        ``protocol`` equals it receives this dialect's ``side`` fields.
    :cvar routes: the HTTP routes served (also under every group prefix).
    :cvar option_keys: keys allowed in the config's ``dialects.<name>`` section.
    :cvar json_only: reject bodies whose content type is not JSON (415); Ollama's clients
        do not always send one.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    routes: ClassVar[tuple[Route, ...]] = ()
    option_keys: ClassVar[frozenset[str]] = frozenset()
    json_only: ClassVar[bool] = True

    @abc.abstractmethod
    def parse(self, inbound: Inbound) -> ClientCall:
        """Check the body and build the canonical request.

        :raises core.errors.InvalidRequest: naming the field at fault and the fix, for any
            value of the wrong type or anything no backend could honour.
        """

    @abc.abstractmethod
    def render_response(self, resp: CanonicalResponse, call: ClientCall) -> Rendered:
        """The client's answer for a finished, non-streaming canonical response."""

    @abc.abstractmethod
    def stream_renderer(self, call: ClientCall) -> StreamRenderer:
        """A renderer for this call's stream."""

    @abc.abstractmethod
    def render_error(self, err: RelayError, request_id: str | None = None) -> Rendered:
        """The protocol's error body for ``err`` (status, kind, message, headers); core adds
        the ``request-id`` header itself."""

    # --- optional behaviour with defaults ---------------------------------------------

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with the values of ``dialects.<name>`` (keys are checked against
        ``option_keys``), each ``"<key>: what is wrong; what is expected"``; called when the
        config loads."""
        return []

    def render_count(self, input_tokens: int, call: ClientCall) -> Rendered:
        """The answer to a ``count_only`` call."""
        return Rendered({"input_tokens": input_tokens})

    def info(self, inbound: Inbound, models: Sequence[ModelEntry]) -> Rendered:
        """Answer an ``info`` route (model lists, version, ...) from the model catalog."""
        raise RelayError(404, f"{self.name}: no handler for {inbound.endpoint}")

    def client_key(self, inbound: Inbound) -> str | None:
        """The key the client sent to ccrelay (``x-api-key`` or a Bearer token by default)."""
        key = inbound.headers.get("x-api-key")
        if key:
            return key
        auth = inbound.headers.get("authorization") or ""
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip() or None
        return None

    def describe_model(self, entry: ModelEntry) -> dict[str, Any]:
        """This protocol's fields for one model in the shared ``GET /v1/models`` answers.

        Core merges every dialect's fields into one object per model, so that each SDK finds
        its own (Anthropic's ``display_name``, OpenAI's ``object``, Gemini's ``name``); no two
        dialects may use the same field name.
        """
        return {}

    def describe_model_list(self, entries: Sequence[ModelEntry]) -> dict[str, Any]:
        """This protocol's top-level fields for the shared ``GET /v1/models`` list."""
        return {}
