"""The provider strategy contract: pure converters between the canonical form and one upstream.

A strategy never opens a socket. ``core/upstream.py`` sends what ``convert_request`` builds
and feeds the answer to ``convert_response`` (a decoded JSON body) or ``stream`` (parsed SSE
events). Everything here is data in, data out, so each strategy is testable without a server.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple

from ccrelay.core.errors import RelayError, context_length_error, kind_for_status
from ccrelay.core.profiles import ModelProfile, profile_for
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse

if TYPE_CHECKING:
    from ccrelay.core.config import ProviderConfig


class SSEEvent(NamedTuple):
    """One server-sent event from the upstream: its ``event:`` name (or "") and ``data:`` text."""

    event: str
    data: str


@dataclass(frozen=True)
class UpstreamRequest:
    """What to send upstream.

    :param path: appended to the provider's ``base_url``.
    :param body: the JSON body (None: no body, for a GET).
    :param stream: whether the answer is a stream (in the strategy's ``stream_framing``).
    :param headers: extra headers (protocol versions, never the key: see ``auth_headers``).
    :param method: the HTTP method.
    :param query: query-string parameters (``alt=sse``, ``api-version``); the values never
        appear in messages or logs, so a vendor's key may travel here.
    """

    path: str
    body: dict[str, Any] | None
    stream: bool
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    query: Mapping[str, str] = field(default_factory=dict)


_LOOKUP = ModelProfile()  # "look the profile up": the default of RequestContext.profile


@dataclass(frozen=True)
class RequestContext:
    """Per-request facts a strategy may need, fixed before the first attempt.

    :param provider: the validated config section of the provider being tried.
    :param model: the upstream model (config ``model``, else the client's).
    :param client_model: the model name the client asked for; answers report this one.
    :param client_headers: the client's protocol headers (``anthropic-version``,
        ``anthropic-beta``), lower-cased; never credentials.
    :param request_id: ccrelay's id for this request (log lines, message ids).
    :param state: per-request notes a strategy's ``convert_request`` leaves for its
        ``convert_response`` / ``stream`` of the same attempt (renamed tool names, say), so
        no strategy needs process-wide mutable state.
    :param client_protocol: the client's dialect (``anthropic``, ``openai_chat`` ...).
    :param side: what that client sent that the canonical form cannot hold; only for a
        strategy of the same protocol (read it through ``side_for``).
    :param profile: what the model can do (``core/profiles.py``); looked up from the
        provider's config and ``model`` when not given.
    """

    provider: ProviderConfig
    model: str
    client_model: str
    client_headers: Mapping[str, str]
    request_id: str
    state: dict[str, Any] = field(default_factory=dict)
    client_protocol: str = "anthropic"
    side: Mapping[str, Any] = field(default_factory=dict)
    profile: ModelProfile = field(default=_LOOKUP)

    def __post_init__(self) -> None:
        if self.profile is _LOOKUP:
            object.__setattr__(self, "profile", profile_for(self.provider, self.model))

    def side_for(self, protocol: str) -> Mapping[str, Any]:
        """The client's side fields when it speaks ``protocol``, else nothing: fields of one
        protocol are never sent to an upstream of another, which would reject them."""
        return self.side if protocol == self.client_protocol else {}


class Provider(abc.ABC):
    """A provider strategy. Subclasses set ``name`` and implement the three converters.

    Class attributes declare what the upstream protocol can do; core uses them for
    ``/health`` and type inference. ``base_url_suffixes`` lets a config without ``type`` be
    matched by the shape of its ``base_url``.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    #: the wire protocol of the upstream, named like the dialect that speaks it to clients
    #: (``anthropic``, ``openai_chat`` ...): that dialect's side fields reach this strategy
    protocol: ClassVar[str] = ""
    base_url_suffixes: ClassVar[tuple[str, ...]] = ()
    #: how the upstream frames a stream: ``sse`` (server-sent events), ``ndjson`` (one JSON
    #: object per line, Ollama) or ``json_array`` (one JSON array written as it grows,
    #: Gemini without ``alt=sse``); core parses each into ``SSEEvent``s whose ``data`` is
    #: one JSON text, so ``stream`` reads every framing the same way
    stream_framing: ClassVar[Literal["sse", "ndjson", "json_array"]] = "sse"
    supports_tools: ClassVar[bool] = True
    supports_vision: ClassVar[bool] = True
    supports_thinking: ClassVar[bool] = True
    #: whether ``providers.<x>.api_key`` is required (a local Ollama takes no key)
    needs_key: ClassVar[bool] = True
    #: provider-specific config keys this strategy reads from ``providers.<name>.options``
    option_keys: ClassVar[frozenset[str]] = frozenset()

    @abc.abstractmethod
    def convert_request(self, req: CanonicalRequest, ctx: RequestContext) -> UpstreamRequest:
        """Build the upstream request. Raise ``core.errors.InvalidRequest`` (or ``Unsupported``)
        for anything the upstream cannot take, rather than dropping it silently."""

    @abc.abstractmethod
    def convert_response(self, body: Any, ctx: RequestContext) -> CanonicalResponse:
        """Turn a decoded non-streaming upstream body into a canonical response."""

    @abc.abstractmethod
    def stream(self, events: Iterable[SSEEvent], ctx: RequestContext) -> Iterator[CanonicalEvent]:
        """Turn upstream stream events (see ``stream_framing``) into a valid canonical event
        sequence.

        Raise ``RelayError`` for an upstream error inside the stream or a stream that ends
        before it finished; core turns it into an ``error`` event for the client.
        """

    # --- optional behaviour with defaults ---------------------------------------------

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        """Problems with the *values* of ``providers.<x>.options`` (core checks the keys
        against ``option_keys``), each ``"<key>: what is wrong; what is expected"``. Called
        when the config loads, so a bad value is a config error, never a failing request."""
        return []

    def count_tokens_request(
        self, req: CanonicalRequest, ctx: RequestContext
    ) -> UpstreamRequest | None:
        """The upstream's own token-count request, or None when it has no such endpoint
        (then core estimates locally); ``count_tokens_answer`` reads the answer."""
        return None

    def count_tokens_answer(self, body: Any) -> int | None:
        """The token count in the answer to ``count_tokens_request`` (None: unreadable)."""
        count = body.get("input_tokens") if isinstance(body, dict) else None
        return count if isinstance(count, int) else None

    def auth_headers(self, provider: ProviderConfig) -> dict[str, str]:
        """Headers that carry the provider's key upstream (Bearer by default; a strategy
        whose vendor wants ``x-goog-api-key`` or ``api-key`` says so here)."""
        return {"authorization": f"Bearer {provider.api_key}"}

    def map_error(self, status: int, body: Any, headers: Mapping[str, str]) -> RelayError:
        """Turn a non-2xx upstream answer into the error the client should see: the kind for
        its status, ``retry-after`` kept, and a context-length rejection from any vendor
        reported as ``CONTEXT_TOO_LONG`` (Claude Code compacts on the 400 that becomes)."""
        message = _error_message(body) or f"upstream answered HTTP {status}"
        too_long = context_length_error(status, body, message)
        if too_long is not None:
            return too_long
        out_headers = {}
        if "retry-after" in headers:
            out_headers["retry-after"] = headers["retry-after"]
        return RelayError(
            status if 400 <= status < 600 else 502,
            message,
            kind=kind_for_status(status),
            headers=out_headers,
        )


def _error_message(body: Any) -> str:
    """The human message inside the usual error shapes, or a short text body."""
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            msg = err.get("message") or err.get("msg") or err.get("detail")
            if isinstance(msg, str):
                return msg
        elif isinstance(err, str):
            return err
        msg = body.get("message") or body.get("detail")
        if isinstance(msg, str):
            return msg
    if isinstance(body, str):
        return body.strip()[:500]
    return ""
