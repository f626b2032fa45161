"""The ``ollama`` strategy: Ollama's native ``POST /api/chat`` (NDJSON streams).

Unlike Ollama's OpenAI layer (``/v1``), the native API takes ``num_ctx``: ccrelay sizes the
context for every request from the prompt and the model profile, so Claude Code's long
prompts are never cut to Ollama's small default window; a prompt that cannot fit is refused
before it is sent ("prompt is too long", Claude Code then compacts). It also takes
``think``, ``format`` (structured output), images and tool arguments as objects.

``base_url`` is the server root (``http://127.0.0.1:11434``; ``/api`` at its end is fine). No
key is needed locally (``api_key`` may be left out); with one (ollama.com) it is sent as a
Bearer token. Field by field: ``request.py`` (request), ``messages.py`` (messages, tool
calls and results), ``response.py`` (answers, streams, errors).

Options (``providers.<name>.options``):
  ``num_ctx`` (int): a fixed context size instead of the computed one (prompts larger than
  it are refused).
  ``min_num_ctx`` (int, default 8192): the smallest context ccrelay asks for.
  ``keep_alive`` (string or seconds): how long Ollama keeps the model loaded.
  ``extra_body`` (mapping): fields merged into every body (``options`` key by key).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from ccrelay.core.canonical import merge_extra
from ccrelay.core.config import ProviderConfig
from ccrelay.core.errors import RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.provider import Provider, RequestContext, SSEEvent, UpstreamRequest
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse

from .request import build_body, check_fits
from .response import convert_stream, error_from, to_canonical


@hookimpl
def ccrelay_register_providers(register: Any) -> None:
    register(OllamaProvider)


class OllamaProvider(Provider):
    name: ClassVar[str] = "ollama"
    protocol: ClassVar[str] = "ollama"
    description: ClassVar[str] = "Ollama native API (/api/chat, NDJSON streams, num_ctx)"
    base_url_suffixes: ClassVar[tuple[str, ...]] = (":11434", ":11434/api")
    stream_framing = "ndjson"
    needs_key: ClassVar[bool] = False
    option_keys: ClassVar[frozenset[str]] = frozenset(
        {"num_ctx", "min_num_ctx", "keep_alive", "extra_body"}
    )

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = []
        for key in ("num_ctx", "min_num_ctx"):
            value = options.get(key)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 256
            ):
                problems.append(f"{key}: got {value!r}; expected a whole number of tokens >= 256")
        keep = options.get("keep_alive")
        if keep is not None and (isinstance(keep, bool) or not isinstance(keep, (str, int))):
            problems.append(
                f'keep_alive: got {keep!r}; expected a duration such as "10m" or seconds'
            )
        extra = options.get("extra_body")
        if extra is not None and not isinstance(extra, Mapping):
            problems.append("extra_body: expected a mapping of Ollama request fields")
        return problems

    def convert_request(self, req: CanonicalRequest, ctx: RequestContext) -> UpstreamRequest:
        options = ctx.provider.options
        body, prompt = build_body(req, ctx.model, ctx.profile, options, ctx.provider.name)
        computed = body["options"]["num_ctx"]
        extra = options.get("extra_body")
        if extra:
            merge_extra(body, extra)
        side = ctx.side_for(self.protocol)
        if side:
            merge_extra(body, side)
        num_ctx = (body.get("options") or {}).get("num_ctx")
        if num_ctx != computed and isinstance(num_ctx, int):  # set by extra_body or the client
            check_fits(prompt, num_ctx, ctx.model, "options.num_ctx")
        path = "/chat" if ctx.provider.base_url.endswith("/api") else "/api/chat"
        return UpstreamRequest(path, body, bool(body.get("stream")))

    def auth_headers(self, provider: ProviderConfig) -> dict[str, str]:
        return {"authorization": f"Bearer {provider.api_key}"} if provider.api_key else {}

    def map_error(self, status: int, body: Any, headers: Mapping[str, str]) -> RelayError:
        return error_from(status, body, headers)

    def convert_response(self, body: Any, ctx: RequestContext) -> CanonicalResponse:
        return to_canonical(body, ctx.client_model, ctx.provider.name)

    def stream(self, events: Iterable[SSEEvent], ctx: RequestContext) -> Iterator[CanonicalEvent]:
        return convert_stream(events, ctx.client_model, ctx.provider.name)
