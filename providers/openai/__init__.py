"""The ``openai`` provider: Chat Completions upstreams (OpenAI, DeepSeek, Grok, vLLM ...)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.provider import Provider, RequestContext, SSEEvent, UpstreamRequest
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse

from .capabilities import OPTION_KEYS, check_options, resolve
from .convert_request import build_body
from .convert_response import to_canonical
from .names import renames
from .stream import convert_stream


@hookimpl
def ccrelay_register_providers(register: Any) -> None:
    register(OpenAIProvider)


class OpenAIProvider(Provider):
    """Converts canonical (Anthropic Messages) requests to ``POST {base_url}/chat/completions``.

    Field-by-field decisions are tabled in ``convert_request.py`` (request) and
    ``convert_response.py`` (answer); streaming rules in ``stream.py``. Output caps come from
    the model profile (``RequestContext.profile``, ``core/profiles.py``), parameter rules from
    a small per-model table in ``capabilities.py``; these ``providers.<name>.options``
    override them or tune vendor quirks:

    - ``max_output_tokens`` (int): the upstream model's output cap; ``max_tokens`` is
      clamped to it (the profile's ``max_output`` for known models, else no clamp).
    - ``max_completion_tokens`` (bool): send ``max_completion_tokens`` instead of
      ``max_tokens`` (table: on for o-series and gpt-5).
    - ``fixed_temperature`` (bool): the model only accepts the default sampling, so drop
      ``temperature`` and ``top_p`` (table: on for o-series and gpt-5).
    - ``reasoning_effort`` (bool): the model accepts ``reasoning_effort``; thinking budgets
      and ``output_config.effort`` are mapped to it (table: o-series, gpt-5, gpt-oss,
      grok-3-mini).
    - ``send_reasoning`` (bool, default on; off for OpenAI's own models): send the thinking
      of tool-calling assistant turns back as reasoning (DeepSeek thinking mode requires it).
    - ``reasoning_field`` (str, default ``reasoning_content``): the message field used for
      that, e.g. ``reasoning`` for OpenRouter or Ollama.
    - ``top_k`` (bool, default off): pass ``top_k`` (vLLM, OpenRouter, DashScope take it;
      OpenAI rejects it).
    - ``max_stop_sequences`` (int, default 4): more stop sequences are a 400; 0 = no limit.
    - ``send_user`` (bool, default on): send a hash of ``metadata.user_id`` as ``user``.
    - ``structured_output`` (``json_schema`` | ``json_object``, default ``json_schema``):
      how ``output_config.format`` is sent; ``json_object`` (DeepSeek) puts the schema in
      the system message.
    - ``extra_body`` (mapping): merged into the top level of every request body last, for
      vendor switches such as DeepSeek's ``thinking: {type: enabled}``.
    """

    name: ClassVar[str] = "openai"
    protocol: ClassVar[str] = "openai_chat"
    description: ClassVar[str] = "OpenAI Chat Completions and compatible servers"
    base_url_suffixes: ClassVar[tuple[str, ...]] = (
        "/v1", "/openai", "/openai/v1", "/compatible-mode/v1", "/api/v1",
    )  # fmt: skip
    option_keys: ClassVar[frozenset[str]] = OPTION_KEYS

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        return check_options(options)

    def convert_request(self, req: CanonicalRequest, ctx: RequestContext) -> UpstreamRequest:
        opts = resolve(ctx.model, ctx.provider.options, ctx.profile.max_output)
        body = build_body(req, ctx.model, opts, ctx.provider.name, ctx.side_for(self.protocol))
        if ctx.profile.stream_usage is False:  # the profile says the server rejects it
            body.pop("stream_options", None)
        # Tool names OpenAI would reject were renamed; answers name them the client's way.
        ctx.state["tool_names"] = renames(t.get("name", "") for t in req.get("tools") or ())
        return UpstreamRequest(
            path="/chat/completions", body=body, stream=bool(req.get("stream", False))
        )

    def convert_response(self, body: Any, ctx: RequestContext) -> CanonicalResponse:
        return to_canonical(body, ctx.client_model, ctx.request_id, ctx.state.get("tool_names", {}))

    def stream(self, events: Iterable[SSEEvent], ctx: RequestContext) -> Iterator[CanonicalEvent]:
        names = ctx.state.get("tool_names", {})
        return convert_stream(events, ctx.client_model, ctx.request_id, names)
