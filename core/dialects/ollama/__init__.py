"""The Ollama dialect: Ollama apps, editors that list local models, and the ollama SDKs.

Wire reference: ``shared/protocols/ollama.md``; user documentation: ``docs/ollama-dialect.md``.

| route | what |
|---|---|
| ``POST /api/chat`` | a chat, NDJSON stream by default (``stream: false`` for one object) |
| ``POST /api/generate`` | a one-prompt completion (``response`` instead of ``message``) |
| ``GET /api/tags`` | the configured models in Ollama's list shape |
| ``POST /api/show`` | one model's details and capabilities (``{"model"}`` or the older ``{"name"}``) |
| ``GET /api/ps`` | the configured models as "running" |
| ``GET /api/version`` | ``{"version"}``: ``dialects.ollama.version``, else a recent Ollama's |
| ``/api/pull``, ``push``, ``create``, ``copy``, ``delete``, ``blobs``, ``embed``, ``embeddings`` | a 404 saying what ccrelay offers instead |

``GET /`` and ``HEAD /`` (the "Ollama is running" probe) are core's (``core/app.py``).

Modules: ``spec.py`` (request shapes), ``parse.py`` (bodies to canonical, field table),
``messages.py`` (chat messages, their table), ``ids.py`` (tool call ids), ``render.py`` (answers and NDJSON streams), ``models.py`` (the
catalog in Ollama's shapes).

Errors are ``{"error": "<message>"}`` with the HTTP status (529 becomes 503: Ollama clients
know no 529); after a stream started, an ``{"error": ...}`` line ends it. The client's key is
a Bearer token, as the ollama SDKs send ``OLLAMA_API_KEY``. Thinking signatures, which Ollama
messages cannot carry, are kept in a bounded vault on this dialect, keyed by each turn's first
tool call id, and put back when that turn returns in the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
from ccrelay.core.errors import RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.schema import validate
from ccrelay.core.types import CanonicalResponse
from ccrelay.core.vault import Vault

from . import models
from .parse import parse_chat, parse_generate
from .render import NDJSONRenderer, ThinkingVault, render_load, render_response
from .spec import SHOW

#: what ``/api/version`` reports unless ``dialects.ollama.version`` says otherwise: a release
#: with every feature this dialect speaks (think levels, streamed tool calls with ids)
DEFAULT_VERSION = "0.12.6"


@hookimpl
def ccrelay_register_dialects(register: Any) -> None:
    register(OllamaDialect)


class OllamaDialect(Dialect):
    name = "ollama"
    description = "Ollama native API (Ollama apps, Open WebUI, Continue, Zed, ollama SDKs)"
    routes = (
        Route("/api/chat", ("POST",), "chat"),
        Route("/api/generate", ("POST",), "generate"),
        Route("/api/tags", ("GET",), "tags", kind="info"),
        Route("/api/show", ("POST",), "show", kind="info"),
        Route("/api/ps", ("GET",), "ps", kind="info"),
        Route("/api/version", ("GET",), "version", kind="info"),
        # Model management and embeddings: answered with what ccrelay offers instead.
        *(
            Route(f"/api/{name}", ("POST",), "manage", kind="info")
            for name in ("pull", "push", "create", "copy")
        ),
        Route("/api/delete", ("DELETE",), "manage", kind="info"),
        Route("/api/blobs/<digest>", ("HEAD", "POST"), "manage", kind="info"),
        Route("/api/embed", ("POST",), "embed", kind="info"),
        Route("/api/embeddings", ("POST",), "embed", kind="info"),
    )
    option_keys = frozenset({"version"})
    # Ollama's clients do not always send a JSON content type (curl -d, some apps).
    json_only = False

    def __init__(self) -> None:
        self.vault: ThinkingVault = Vault()

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        version = options.get("version")
        if version is not None and (not isinstance(version, str) or not version):
            return ["version: expected a version string such as '0.12.6'"]
        return []

    def parse(self, inbound: Inbound) -> ClientCall:
        if inbound.endpoint == "generate":
            return parse_generate(inbound.body)
        return parse_chat(inbound.body, self.vault.get)

    def render_response(self, resp: CanonicalResponse, call: ClientCall) -> Rendered:
        return render_response(resp, call, self.vault)

    def render_count(self, input_tokens: int, call: ClientCall) -> Rendered:
        # The only count-only calls are Ollama's load / unload requests (parse.py).
        return render_load(call)

    def stream_renderer(self, call: ClientCall) -> StreamRenderer:
        return NDJSONRenderer(call, self.vault)

    def render_error(self, err: RelayError, request_id: str | None = None) -> Rendered:
        status = err.status if 400 <= err.status < 600 else 500
        if status == 529:
            status = 503
        return Rendered({"error": err.message}, status, err.headers)

    def client_key(self, inbound: Inbound) -> str | None:
        auth = inbound.headers.get("authorization") or ""
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip() or None
        return None

    def info(self, inbound: Inbound, entries: Sequence[ModelEntry]) -> Rendered:
        endpoint = inbound.endpoint
        if endpoint == "tags":
            return Rendered(models.tags(entries))
        if endpoint == "ps":
            return Rendered(models.ps(entries))
        if endpoint == "version":
            return Rendered({"version": inbound.options.get("version") or DEFAULT_VERSION})
        if endpoint == "manage":
            raise RelayError(
                404,
                "ccrelay serves the models of its config (GET /api/tags lists them); it cannot "
                "pull, push, create, copy or delete models: add a model to ccrelay's config instead",
            )
        if endpoint == "embed":
            raise RelayError(
                404, "ccrelay relays chats and completions; it serves no embedding models"
            )
        body = inbound.body
        validate(SHOW, body)
        name = body.get("model") or body.get("name")
        if not name:
            raise RelayError(400, 'model is required: send {"model": "<name>"}')
        entry = models.find(entries, name)
        if entry is None:
            listed = ", ".join(models.listed_name(e.id) for e in entries) or "none"
            raise RelayError(
                404,
                f"model {name!r} not found; ccrelay serves the configured models "
                f"(GET /api/tags): {listed}",
            )
        return Rendered(models.show(entry))
