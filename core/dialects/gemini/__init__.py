"""The Gemini dialect: Gemini CLI and the google-genai SDKs talk to ccrelay in the Gemini API.

| route | what |
|---|---|
| ``POST /v1beta/models/{model}:generateContent`` | one answer |
| ``POST /v1beta/models/{model}:streamGenerateContent`` | ``?alt=sse``: data-only SSE; without it one JSON array that grows (``stream.py``) |
| ``POST /v1beta/models/{model}:countTokens`` | ``{"totalTokens": n}``; body ``{contents}`` or ``{generateContentRequest}`` |
| ``GET /v1beta/models``, ``GET /v1beta/models/{model}`` | the configured models in Gemini's shape |
| ``POST /v1/models/{model}:...`` | the same three methods (google-genai 3.x calls ``/v1`` by default) |

``GET /v1/models`` and ``GET /v1/models/{id}`` are core's, shared by every SDK: this dialect
adds Gemini's fields to them (``describe_model``). An unknown ``:method`` is a 404 in Gemini's
error shape ``{"error": {"code", "message", "status"}}``.

The client's key comes in ``x-goog-api-key`` or ``?key=``; it is never forwarded. Request
bodies are read in camelCase and snake_case alike (``spec.py``); answers are camelCase.
Field-by-field decisions: ``parse.py`` (request), ``contents.py`` (turns and parts),
``render.py`` (answers), ``thoughts.py`` (thought signatures), ``stream.py`` (streams).
"""

from __future__ import annotations

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
from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.schema import validate
from ccrelay.core.types import CanonicalResponse

from .contents import Notes
from .parse import to_canonical
from .render import error_object, response_body
from .spec import COUNT_REQUEST, REQUEST, get
from .stream import ArrayStream, SSEStream

METHODS = ("generateContent", "streamGenerateContent", "countTokens")
GENERATION_METHODS = [*METHODS]


@hookimpl
def ccrelay_register_dialects(register: Any) -> None:
    register(GeminiDialect)


class GeminiDialect(Dialect):
    name = "gemini"
    description = "Gemini API (Gemini CLI, google-genai SDKs)"
    routes = (
        Route("/v1beta/models/<path:target>", ("POST",), "call"),
        Route("/v1/models/<path:target>", ("POST",), "call"),
        Route("/v1beta/models", ("GET",), "list", kind="info"),
        Route("/v1beta/models/<path:target>", ("GET",), "get", kind="info"),
    )

    def parse(self, inbound: Inbound) -> ClientCall:
        model, method = _target(inbound.path_params.get("target", ""))
        count = method == "countTokens"
        stream = method == "streamGenerateContent"
        alt = inbound.query.get("alt")
        if alt not in (None, "", "sse", "json"):
            raise InvalidRequest(f"alt: {alt[:20]!r} is not supported; use alt=sse or leave it out")
        body = inbound.body
        notes = Notes()
        if count:
            validate(COUNT_REQUEST, body)
            body = _count_body(body)
        else:
            validate(REQUEST, body)
        req, include_thoughts = to_canonical(body, model, notes, count=count)
        if stream:
            req["stream"] = True
        headers = {}
        if notes.warnings:
            headers["x-ccrelay-warning"] = _header_safe("; ".join(notes.warnings))
        return ClientCall(
            request=req,  # type: ignore[arg-type]
            stream=stream,
            count_only=count,
            side=notes.side,
            state={"model": model, "include_thoughts": include_thoughts, "sse": alt == "sse"},
            response_headers=headers,
            warnings=notes.warnings,
            needs_protocol="gemini" if notes.needs_gemini else "",
            needs_reason="; ".join(notes.needs_gemini),
        )

    def render_response(self, resp: CanonicalResponse, call: ClientCall) -> Rendered:
        state = call.state
        return Rendered(response_body(resp, state["include_thoughts"], state["model"]))

    def stream_renderer(self, call: ClientCall) -> StreamRenderer:
        state = call.state
        cls = SSEStream if state["sse"] else ArrayStream
        return cls(state["model"], state["include_thoughts"])

    def render_error(self, err: RelayError, request_id: str | None = None) -> Rendered:
        return Rendered({"error": error_object(err)}, err.status, err.headers)

    def render_count(self, input_tokens: int, call: ClientCall) -> Rendered:
        return Rendered({"totalTokens": input_tokens})

    def client_key(self, inbound: Inbound) -> str | None:
        return (
            inbound.headers.get("x-goog-api-key")
            or inbound.query.get("key")
            or super().client_key(inbound)
        )

    # --- models -----------------------------------------------------------------------------

    def info(self, inbound: Inbound, models: Sequence[ModelEntry]) -> Rendered:
        if inbound.endpoint == "get":
            wanted = inbound.path_params.get("target", "").removeprefix("models/")
            for entry in models:
                if entry.id == wanted:
                    return Rendered(self.describe_model(entry))
            raise RelayError(
                404,
                f"models/{wanted[:100]} is not found: ccrelay serves the models its config "
                "names; GET /v1beta/models lists them",
                kind=ErrorKind.NOT_FOUND,
            )
        return Rendered(_page(inbound, [self.describe_model(e) for e in models]))

    def describe_model(self, entry: ModelEntry) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": f"models/{entry.id}",
            "baseModelId": entry.id,
            "displayName": entry.id,
            "description": f"{entry.id}, served by ccrelay provider {entry.provider}",
            "supportedGenerationMethods": GENERATION_METHODS,
        }
        if entry.context_window:
            out["inputTokenLimit"] = entry.context_window
        if entry.max_output:
            out["outputTokenLimit"] = entry.max_output
        if entry.thinking is not None:
            out["thinking"] = entry.thinking
        return out

    def describe_model_list(self, entries: Sequence[ModelEntry]) -> dict[str, Any]:
        return {"models": [self.describe_model(e) for e in entries]}


def _target(target: str) -> tuple[str, str]:
    """(model, method) of ``gemini-2.5-flash:generateContent``; a 404 for other methods."""
    model, sep, method = target.rpartition(":")
    if not sep or not model or method not in METHODS:
        raise RelayError(
            404,
            f"models/{target[:120]} is not a method ccrelay serves; use "
            "models/{model}:generateContent, :streamGenerateContent or :countTokens",
            kind=ErrorKind.NOT_FOUND,
        )
    return model.removeprefix("models/"), method


def _count_body(body: dict[str, Any]) -> dict[str, Any]:
    """The generateContent-shaped body of either countTokens form."""
    inner = get(body, "generateContentRequest")
    if inner is not None:
        if "contents" in body:
            raise InvalidRequest(
                "countTokens takes contents or generateContentRequest, not both",
                param="generateContentRequest",
            )
        return dict(inner)
    if "contents" not in body:
        raise InvalidRequest(
            "contents: Field required (or send generateContentRequest)", param="contents"
        )
    return {"contents": body["contents"]}


def _page(inbound: Inbound, models: list[dict[str, Any]]) -> dict[str, Any]:
    """``{"models": [...], "nextPageToken"?}`` honouring ``pageSize`` / ``pageToken``."""
    size_text = inbound.query.get("pageSize") or ""
    token = inbound.query.get("pageToken") or "0"
    start = int(token) if token.isdigit() else 0
    size = int(size_text) if size_text.isdigit() and int(size_text) > 0 else len(models) or 1
    out: dict[str, Any] = {"models": models[start : start + size]}
    if start + size < len(models):
        out["nextPageToken"] = str(start + size)
    return out


def _header_safe(text: str) -> str:
    cleaned = "".join(c if " " <= c < "\x7f" else "?" for c in text)
    return cleaned[:500]
