"""The ``responses`` provider: OpenAI Responses upstreams (``POST {base_url}/responses``).

``gpt-5-codex``-class models answer only on ``/v1/responses``; this strategy speaks it for
every client dialect. Field decisions are tabled in ``convert_request.py`` (request),
``convert_response.py`` (answer) and ``stream.py`` (events); reasoning state round-trips as
described in ``reasoning.py``; a Responses client's side fields merge as ``side.py`` says.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from ccrelay.core.errors import RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.provider import Provider, RequestContext, SSEEvent, UpstreamRequest
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse
from ccrelay.providers.openai.names import renames

from .convert_request import build_body
from .convert_response import to_canonical
from .options import OPTION_KEYS, check, resolve
from .reasoning import ORIGIN, source_for
from .side import merge_side
from .stream import convert_stream


@hookimpl
def ccrelay_register_providers(register: Any) -> None:
    register(ResponsesProvider)


class ResponsesProvider(Provider):
    """Converts canonical requests to OpenAI Responses requests and their answers back.

    ``base_url`` is the API root that ``/responses`` is appended to
    (``https://api.openai.com/v1``). ``providers.<name>.options``:

    - ``max_output_tokens`` (int ≥ 16): the model's output cap; ``max_tokens`` is clamped to
      it (the OpenAI strategy's table gives known models' caps).
    - ``reasoning`` (bool): whether the model reasons, so ``reasoning`` and
      ``include: ["reasoning.encrypted_content"]`` are sent (default: o-series, gpt-5,
      gpt-oss and codex models; other models reject both).
    - ``reasoning_summary`` (``auto`` | ``concise`` | ``detailed`` | ``none``, default
      ``auto``): the summary asked for; OpenAI answers 400 to organisations that are not
      verified for summaries, then set ``none``.
    - ``fixed_temperature`` (bool): drop ``temperature`` and ``top_p`` (default: on for
      reasoning models, which reject them).
    - ``send_user`` (bool, default on): a hash of ``metadata.user_id`` as
      ``safety_identifier``.
    - ``extra_body`` (mapping): merged into the top level of every body last.
    """

    name: ClassVar[str] = "responses"
    protocol: ClassVar[str] = ORIGIN
    description: ClassVar[str] = "OpenAI Responses API (gpt-5-codex class models)"
    option_keys: ClassVar[frozenset[str]] = OPTION_KEYS

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        return check(options)

    def convert_request(self, req: CanonicalRequest, ctx: RequestContext) -> UpstreamRequest:
        opts = resolve(ctx.model, ctx.provider.options, ctx.profile.max_output)
        source = ctx.state["source"] = source_for(ctx.provider)
        body = build_body(req, ctx.model, opts, source)
        side = ctx.side_for(self.protocol)
        if side:
            merge_side(body, side)
        # Tool names the API would reject were renamed; answers name them the client's way.
        ctx.state["tool_names"] = renames(t.get("name", "") for t in req.get("tools") or ())
        return UpstreamRequest(path="/responses", body=body, stream=bool(body["stream"]))

    def convert_response(self, body: Any, ctx: RequestContext) -> CanonicalResponse:
        return to_canonical(
            body,
            ctx.client_model,
            ctx.request_id,
            ctx.state.get("tool_names", {}),
            ctx.state.get("source") or source_for(ctx.provider),
        )

    def stream(self, events: Iterable[SSEEvent], ctx: RequestContext) -> Iterator[CanonicalEvent]:
        return convert_stream(
            events,
            ctx.client_model,
            ctx.request_id,
            ctx.state.get("tool_names", {}),
            ctx.state.get("source") or source_for(ctx.provider),
        )

    def map_error(self, status: int, body: Any, headers: Mapping[str, str]) -> RelayError:
        err = super().map_error(status, body, headers)
        lowered = err.message.lower()
        if status == 400 and "verif" in lowered and "summar" in lowered:
            return err.evolve(
                message=f"{err.message} (or set options.reasoning_summary: none for this provider)"
            )
        if "encrypted content" in lowered and "not supported" in lowered:
            return err.evolve(
                message=f"{err.message} (this model does not reason: set options.reasoning: "
                "false for this provider)"
            )
        return err
