"""The OpenAI Responses dialect: Codex CLI and the openai SDKs' ``client.responses``.

| route | what |
|---|---|
| ``POST /v1/responses`` | a Responses request, streaming or not |
| ``POST /v1/responses/input_tokens`` | ``{"object": "response.input_tokens", "input_tokens": n}`` |

The modules, in the order a request meets them: ``spec.py`` (the body's shape),
``request.py`` (top-level fields, side field, options), ``convert_input.py`` (input items),
``tools.py`` (tools and tool choice), ``reasoning.py`` (reasoning state through the client),
``store.py`` (``previous_response_id``), then ``output.py`` / ``stream.py`` (answers) and
``errors.py`` (OpenAI's error shapes). User documentation: ``docs/openai-responses.md``.

Options (``dialects.openai_responses`` in the config):

- ``hosted_tools``: ``drop`` (default) leaves hosted tools (``web_search``, ``file_search``,
  ``tool_search`` ...) and their input items out, with one warning line per request and the
  ``x-ccrelay-omitted-tools`` / ``x-ccrelay-omitted-items`` headers; ``reject`` makes them a 400.
- ``store_max_responses`` (int, default 500; 0 keeps nothing) and ``store_max_age`` (seconds,
  default 3600): the bounds of the conversations kept for ``previous_response_id``.
- ``thinking``: ``off`` (default) sends ``reasoning.effort`` as ``output_config.effort`` only;
  ``adaptive`` also turns on ``thinking: {type: adaptive}`` (Claude 4.6 and later); ``budget``
  turns on ``thinking: {type: enabled, budget_tokens}`` sized by the effort.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ccrelay.core.dialect import ClientCall, Dialect, Inbound, Rendered, Route, StreamRenderer
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.schema import validate
from ccrelay.core.types import CanonicalResponse

from . import errors
from .output import (
    items_from_blocks,
    mark_incomplete,
    response_object,
    status_of,
    thinking_text,
    usage_of,
)
from .request import Options, build_call, remember
from .spec import COUNT_REQUEST, REQUEST
from .store import DEFAULT_MAX_AGE, DEFAULT_MAX_RESPONSES, ConversationStore
from .stream import ResponsesStream

_HOSTED = ("drop", "reject")
_THINKING = ("off", "adaptive", "budget")


@hookimpl
def ccrelay_register_dialects(register: Any) -> None:
    register(OpenAIResponsesDialect)


class OpenAIResponsesDialect(Dialect):
    name = "openai_responses"
    description = "OpenAI Responses (Codex CLI, openai SDKs)"
    routes = (
        Route("/v1/responses", ("POST",), "responses"),
        Route("/v1/responses/input_tokens", ("POST",), "input_tokens"),
    )
    option_keys = frozenset({"hosted_tools", "store_max_responses", "store_max_age", "thinking"})

    def __init__(self) -> None:
        self.store = ConversationStore()
        self._options: tuple[Mapping[str, Any], Options] | None = None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = []
        hosted = options.get("hosted_tools", "drop")
        if hosted not in _HOSTED:
            problems.append(f"hosted_tools: expected drop or reject, got {hosted!r}")
        count = options.get("store_max_responses", DEFAULT_MAX_RESPONSES)
        if type(count) is not int or count < 0:
            problems.append(
                f"store_max_responses: expected a whole number >= 0 (0 keeps nothing), got {count!r}"
            )
        age = options.get("store_max_age", DEFAULT_MAX_AGE)
        if type(age) not in (int, float) or age <= 0:
            problems.append(f"store_max_age: expected seconds (a number > 0), got {age!r}")
        thinking = options.get("thinking", "off")
        if thinking not in _THINKING:
            problems.append(f"thinking: expected off, adaptive or budget, got {thinking!r}")
        return problems

    def parse(self, inbound: Inbound) -> ClientCall:
        count = inbound.endpoint == "input_tokens"
        body = inbound.body
        validate(COUNT_REQUEST if count else REQUEST, body)
        return build_call(body, self._configure(inbound.options), self.store, count=count)

    def render_response(self, resp: CanonicalResponse, call: ClientCall) -> Rendered:
        blocks: list[Any] = list(resp.get("content") or ())
        output = items_from_blocks(blocks, call.state["custom"], call.state["namespaces"])
        status, incomplete = status_of(resp.get("stop_reason"))
        if incomplete:
            mark_incomplete(output)
        usage = usage_of(resp.get("usage"), thinking_text(blocks))
        body = response_object(call.state["envelope"], status, output, usage, incomplete)
        answer = [b for b in blocks if b.get("type") != "text" or b.get("text")]
        remember(self.store, call, answer, output)
        return Rendered(body)

    def stream_renderer(self, call: ClientCall) -> StreamRenderer:
        return ResponsesStream(
            call, lambda answer, output: remember(self.store, call, answer, output)
        )

    def render_error(self, err: RelayError, request_id: str | None = None) -> Rendered:
        return errors.render(err)

    def render_count(self, input_tokens: int, call: ClientCall) -> Rendered:
        return Rendered({"object": "response.input_tokens", "input_tokens": input_tokens})

    def _configure(self, options: Mapping[str, Any]) -> Options:
        """This request's options; the store's bounds follow the config."""
        cached = self._options
        if cached is not None and cached[0] is options:
            return cached[1]
        problems = self.check_options(options)
        if problems:
            raise RelayError(
                400,
                "; ".join(f"dialects.openai_responses.{p}" for p in problems),
                kind=ErrorKind.NOT_CONFIGURED,
            )
        opts = Options(
            reject_hosted=options.get("hosted_tools") == "reject",
            thinking=options.get("thinking", "off"),
        )
        self.store.configure(
            options.get("store_max_responses", DEFAULT_MAX_RESPONSES),
            float(options.get("store_max_age", DEFAULT_MAX_AGE)),
        )
        self._options = (options, opts)
        return opts
