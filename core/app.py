"""The Flask app: routes, edge parsing, and the one error handler that renders every error.

``create_app`` builds everything from its arguments; nothing is read at import time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from ccrelay.core.client import ClientGone, ClientWatch
from ccrelay.core.dialects.anthropic import parse_messages_request
from ccrelay.core.errors import (
    InvalidRequest,
    RelayError,
    anthropic_error_body,
    anthropic_error_type,
)
from ccrelay.core.jsonutil import JSONDecodeError, dumps, loads
from ccrelay.core.relay import Relay, new_request_id
from ccrelay.core.reload import ConfigStore
from ccrelay.core.tokenlog import TokenLog
from ccrelay.core.upstream import Upstream
from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger("ccrelay.app")

#: client headers a strategy may forward (protocol version and feature flags, never keys)
FORWARDED_HEADERS = ("anthropic-version", "anthropic-beta")
#: environ key under which core/server.py puts the client's socket
SOCKET_KEY = "ccrelay.socket"
_JSON = "application/json"


def create_app(store: ConfigStore, *, upstream: Upstream | None = None) -> Flask:
    """Build the WSGI app around a config store (whose registry is already loaded)."""
    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    relay = Relay(store.registry, upstream or Upstream(), TokenLog())
    app.extensions["ccrelay"] = {"store": store, "relay": relay}
    started = time.time()

    def json_response(
        obj: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> Response:
        return Response(dumps(obj), status=status, mimetype=_JSON, headers=headers)

    @app.errorhandler(RelayError)
    def relay_error(err: RelayError) -> Response:
        rid = getattr(request, "ccrelay_request_id", None)
        headers = dict(err.headers)
        if rid:
            headers["request-id"] = rid
        return json_response(
            anthropic_error_body(err.error_type, err.message, rid), err.status, headers
        )

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException) -> Response:
        status = err.code or 500
        message = {
            404: f"no route for {request.method} {request.path}; ccrelay serves POST /v1/messages, "
            "POST /v1/messages/count_tokens, GET /v1/models and GET /health",
            405: f"{request.method} is not allowed on {request.path}",
        }.get(status, err.description or err.name)
        return json_response(anthropic_error_body(anthropic_error_type(status), message), status)

    @app.errorhandler(Exception)
    def internal_error(err: Exception) -> Response:
        rid = getattr(request, "ccrelay_request_id", "-")
        log.exception("unhandled error (request %s)", rid)
        message = (
            f"ccrelay internal error ({type(err).__name__}); request id {rid}, see the server log"
        )
        return json_response(anthropic_error_body("api_error", message, rid), 500)

    @app.route("/", methods=["GET", "HEAD"])
    def root() -> Response:
        return json_response({"name": "ccrelay", "status": "ok"})

    @app.post("/v1/messages")
    def messages() -> Response:
        settings = store.current
        rid = new_request_id()
        request.ccrelay_request_id = rid  # type: ignore[attr-defined]
        body = _read_json(settings.max_body_bytes)
        req = parse_messages_request(body)
        environ = request.environ
        client_headers = _client_headers(environ)
        sock = environ.get(SOCKET_KEY)
        watch = ClientWatch(sock) if sock is not None else None
        try:
            result = relay.messages(settings, req, client_headers, rid, watch)
        except ClientGone:
            return Response(status=499)  # nobody is listening; the log line says "cancelled"
        if isinstance(result, dict):
            return json_response(result, headers={"request-id": rid})
        return Response(
            result,
            mimetype="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no", "request-id": rid},
            direct_passthrough=True,
        )

    @app.post("/v1/messages/count_tokens")
    def count_tokens() -> Response:
        settings = store.current
        rid = new_request_id()
        request.ccrelay_request_id = rid  # type: ignore[attr-defined]
        req = parse_messages_request(_read_json(settings.max_body_bytes), count_tokens=True)
        return json_response(
            relay.count_tokens(settings, req, _client_headers(request.environ), rid)
        )

    @app.post("/api/event_logging/batch")
    def event_logging() -> Response:
        # Claude Code's telemetry: accepted and discarded, so it never shows as an error.
        request.get_data(cache=False)
        return json_response({})

    @app.get("/v1/models")
    def models() -> Response:
        settings = store.current
        seen: dict[str, str] = {}
        for name in settings.chain + tuple(
            p for p in settings.providers if p not in settings.chain
        ):
            pcfg = settings.providers[name]
            for model in (*((pcfg.model,) if pcfg.model else ()), *pcfg.models):
                seen.setdefault(model, name)
        created = int(started)
        created_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
        # One list both SDKs parse: Anthropic's {data, has_more, first_id, last_id} with
        # {type, id, display_name, created_at}, and OpenAI's {object, data} with
        # {id, object, created, owned_by}. No field name collides.
        data = [
            {
                "type": "model",
                "id": model,
                "display_name": model,
                "created_at": created_at,
                "object": "model",
                "created": created,
                "owned_by": provider,
            }
            for model, provider in seen.items()
        ]
        return json_response(
            {
                "object": "list",
                "data": data,
                "has_more": False,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    @app.get("/health")
    def health() -> Response:
        settings = store.current
        registry = store.registry
        providers = {}
        for name, pcfg in settings.providers.items():
            entry: dict[str, Any] = {
                "type": pcfg.type,
                "configured": pcfg.configured and registry.get(pcfg.type) is not None,
                "model": pcfg.model,
            }
            if pcfg.problem:
                entry["problem"] = pcfg.problem
            elif registry.get(pcfg.type) is None:
                entry["problem"] = f"strategy {pcfg.type!r} is not loaded"
            providers[name] = entry
        return json_response(
            {
                "status": "ok",
                "active_provider": settings.active,
                "fallback_providers": list(settings.fallbacks),
                "providers": providers,
                "plugins": [
                    {"name": p.name, "source": p.source, "strategies": list(p.strategies)}
                    for p in registry.plugins
                ],
                "plugin_problems": [
                    {"plugin": p.plugin, "reason": p.reason} for p in registry.problems
                ],
                "config": {
                    "path": str(settings.path),
                    "last_reload_error": store.last_error or None,
                },
            }
        )

    return app


_HEADER_KEYS = tuple((h, "HTTP_" + h.upper().replace("-", "_")) for h in FORWARDED_HEADERS)


def _client_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    return {h: environ[k] for h, k in _HEADER_KEYS if k in environ}


def _read_json(limit: int) -> Any:
    """The request body as JSON, checked for content type and size before it is read."""
    ctype = request.mimetype
    if ctype != _JSON and not ctype.endswith("+json"):
        raise RelayError(
            415,
            f"content-type must be application/json, got {request.content_type or 'none'!r}",
            error_type="invalid_request_error",
        )
    length = request.content_length
    if length is not None and length > limit:
        raise RelayError(
            413,
            f"request body is {length} bytes; the limit is {limit} (limits.max_body_bytes)",
            error_type="request_too_large",
        )
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise RelayError(
            413,
            f"request body exceeds {limit} bytes (limits.max_body_bytes)",
            error_type="request_too_large",
        )
    if not raw:
        raise InvalidRequest("request body is empty; send a JSON object")
    try:
        return loads(raw)
    except JSONDecodeError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from None
