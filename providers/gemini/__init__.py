"""The ``gemini`` strategy: Google's Gemini API (``generativelanguage``, v1beta) natively.

| what | how |
|---|---|
| one-shot | ``POST {base_url}/models/{model}:generateContent`` |
| stream | ``POST {base_url}/models/{model}:streamGenerateContent?alt=sse`` (SSE framing) |
| count_tokens | ``POST {base_url}/models/{model}:countTokens`` with a ``generateContentRequest`` |
| key | ``x-goog-api-key`` (option ``auth``: ``query`` for ``?key=``, ``bearer`` for OAuth) |

``base_url`` is the API root with its version (``https://generativelanguage.googleapis.com/v1beta``);
without a version segment ``/v1beta`` is added. Field by field: ``request.py`` (top level),
``contents.py`` (messages, tool calls and results, thought signatures), ``schema.py`` (tool
schemas), ``response.py`` and ``stream.py`` (answers), ``errors.py`` (error bodies).

What the model can do comes from its profile (``RequestContext.profile``): the thinking
switch (budget for 2.5, level for 3), ``parametersJsonSchema`` or the sanitised schema
subset, and the output limit (core clamps ``max_tokens``).

Thought signatures round-trip through clients that cannot hold them: each one travels in the
canonical answer as a thinking block tagged ``ccrelay:gemini:`` right before the block it
belongs to; Claude Code (and any Anthropic client) keeps thinking blocks verbatim, so the next
request carries it back and it returns to the same part. Where a client lost them, the first
call of each unsigned call turn of the current turn gets Gemini's documented bypass value.

Options (``providers.<name>.options``):
  ``auth``: ``header`` (default, ``x-goog-api-key``), ``query`` (``?key=``) or ``bearer``.
  ``extra_body``: Gemini fields merged into every request body (``safetySettings``,
  ``generationConfig`` extras ...), merged like a Gemini client's side fields
  (``core/canonical.py``, ``merge_extra``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from ccrelay.core.canonical import merge_extra
from ccrelay.core.config import ProviderConfig
from ccrelay.core.errors import RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.provider import Provider, RequestContext, SSEEvent, UpstreamRequest
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse

from .errors import error_from, stream_error
from .names import renames
from .request import build_body
from .response import Names, to_canonical
from .stream import convert_stream

_AUTH = ("header", "query", "bearer")
_VERSIONED = re.compile(r"/v\d+(alpha|beta)?\d*$")
_COUNTED = ("contents", "systemInstruction", "tools", "toolConfig")


@hookimpl
def ccrelay_register_providers(register: Any) -> None:
    register(GeminiProvider)


class GeminiProvider(Provider):
    name: ClassVar[str] = "gemini"
    protocol: ClassVar[str] = "gemini"
    description: ClassVar[str] = "Google Gemini API (generateContent, native)"
    base_url_suffixes: ClassVar[tuple[str, ...]] = (
        "generativelanguage.googleapis.com", "generativelanguage.googleapis.com/v1beta", "/v1beta",
    )  # fmt: skip
    stream_framing = "sse"
    option_keys: ClassVar[frozenset[str]] = frozenset({"auth", "extra_body"})

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = []
        auth = options.get("auth", "header")
        if auth not in _AUTH:
            problems.append(f"auth: got {auth!r}; expected one of {', '.join(_AUTH)}")
        extra = options.get("extra_body", {})
        if not isinstance(extra, Mapping):
            problems.append("extra_body: expected a mapping of Gemini request fields")
        elif "contents" in extra:
            problems.append("extra_body: must not set contents (ccrelay builds them)")
        return problems

    def convert_request(self, req: CanonicalRequest, ctx: RequestContext) -> UpstreamRequest:
        body = self._body(req, ctx)
        stream = bool(req.get("stream"))
        method = "streamGenerateContent" if stream else "generateContent"
        query = {"alt": "sse"} if stream else {}
        return UpstreamRequest(self._path(ctx, method), body, stream,
                               query=self._query(ctx, query))  # fmt: skip

    def count_tokens_request(
        self, req: CanonicalRequest, ctx: RequestContext
    ) -> UpstreamRequest | None:
        body = self._body(req, ctx)
        inner = {k: body[k] for k in _COUNTED if k in body}
        inner["model"] = f"models/{_bare(ctx.model)}"
        return UpstreamRequest(self._path(ctx, "countTokens"), {"generateContentRequest": inner},
                               False, query=self._query(ctx, {}))  # fmt: skip

    def count_tokens_answer(self, body: Any) -> int | None:
        count = body.get("totalTokens") if isinstance(body, dict) else None
        return count if isinstance(count, int) else None

    def auth_headers(self, provider: ProviderConfig) -> dict[str, str]:
        auth = provider.options.get("auth", "header")
        if auth == "query":
            return {}
        if auth == "bearer":
            return {"authorization": f"Bearer {provider.api_key}"}
        return {"x-goog-api-key": provider.api_key}

    def map_error(self, status: int, body: Any, headers: Mapping[str, str]) -> RelayError:
        return error_from(status, body, headers)

    def convert_response(self, body: Any, ctx: RequestContext) -> CanonicalResponse:
        if isinstance(body, (dict, list)) and _has_error(body):
            raise stream_error(body, ctx.provider.name)
        return to_canonical(body, ctx.client_model, ctx.request_id, _names(ctx),
                            ctx.provider.name)  # fmt: skip

    def stream(self, events: Iterable[SSEEvent], ctx: RequestContext) -> Iterator[CanonicalEvent]:
        return convert_stream(events, ctx.client_model, ctx.request_id, _names(ctx),
                              ctx.provider.name)  # fmt: skip

    # --- helpers --------------------------------------------------------------------------

    def _body(self, req: CanonicalRequest, ctx: RequestContext) -> dict[str, Any]:
        body, keymaps = build_body(req, ctx.profile, ctx.provider.name)
        extra = ctx.provider.options.get("extra_body")
        if extra:
            merge_extra(body, extra)
        side = ctx.side_for(self.protocol)
        if side:
            merge_extra(body, side)
        tools = renames(t.get("name", "") for t in req.get("tools") or ())
        ctx.state["gemini"] = Names(tools, keymaps)
        return body

    def _path(self, ctx: RequestContext, method: str) -> str:
        prefix = "" if _VERSIONED.search(ctx.provider.base_url) else "/v1beta"
        return f"{prefix}/models/{_bare(ctx.model)}:{method}"

    def _query(self, ctx: RequestContext, query: dict[str, str]) -> dict[str, str]:
        if ctx.provider.options.get("auth") == "query":
            query["key"] = ctx.provider.api_key
        return query


def _bare(model: str) -> str:
    return model[len("models/") :] if model.startswith("models/") else model


def _names(ctx: RequestContext) -> Names:
    names = ctx.state.get("gemini")
    return names if isinstance(names, Names) else Names()


def _has_error(body: Any) -> bool:
    if isinstance(body, list):
        return bool(body) and isinstance(body[0], dict) and "error" in body[0]
    return "error" in body and "candidates" not in body
