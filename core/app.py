"""The Flask app: one dispatcher over the route table, the edge checks, and the error renderer.

``create_app`` builds everything from its arguments; nothing is read at import time. Every
request is matched against core's routes and the loaded dialects' (``core/routes.py``); a
call route's body is checked for type and size here, parsed by its dialect, relayed, and the
canonical answer rendered by the same dialect. Every error, from a bad body to a failed
upstream, reaches the client in its dialect's error shape.
"""

from __future__ import annotations

import logging
import os
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ccrelay.core import cors, httpheaders
from ccrelay.core.access import admit
from ccrelay.core.accounting import Accounting, secrets_of
from ccrelay.core.bodylog import BodyLog, BodyRecord
from ccrelay.core.client import ClientGone, ClientWatch
from ccrelay.core.config import Settings
from ccrelay.core.dialect import Dialect, Headers, Inbound, ModelEntry, Rendered
from ccrelay.core.errors import ErrorKind, InvalidRequest, RelayError
from ccrelay.core.groups import COMPAT_SEGMENT, DEFAULT, shape
from ccrelay.core.jsonutil import JSONDecodeError, JSONEncodeError, dumps, loads
from ccrelay.core.limits import KeyLimits
from ccrelay.core.metrics import CONTENT_TYPE as METRICS_TYPE
from ccrelay.core.metrics import Metrics
from ccrelay.core.profiles import catalog_fields, profile_for
from ccrelay.core.pump import END, KEEPALIVE, StreamItem
from ccrelay.core.relay import Relay, Who, new_request_id
from ccrelay.core.reload import ConfigStore
from ccrelay.core.routes import RouteTable, Target
from ccrelay.core.routing import RoutingConfig
from ccrelay.core.statuspage import NO_STORE, StatusPage
from ccrelay.core.tokenlog import TokenLog
from ccrelay.core.upstream import Upstream

log = logging.getLogger("ccrelay.app")

#: environ key under which core/server.py puts the client's socket
SOCKET_KEY = "ccrelay.socket"
_JSON = "application/json"
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
_BODYLESS = ("GET", "HEAD", "DELETE", "OPTIONS")
#: routes open without an access key (they show nothing secret)
_OPEN = ("root", "health", "status")
_STREAM_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


def create_app(store: ConfigStore, *, upstream: Upstream | None = None) -> Flask:
    """Build the WSGI app around a config store (whose registry is already loaded)."""
    httpheaders.install()  # both HTTP legs parse headers without the email package
    app = Flask(__name__)
    relay = Relay(store.registry, upstream or Upstream(), TokenLog())
    edge = _Edge(store, relay)
    app.extensions["ccrelay"] = {"store": store, "relay": relay}
    app.add_url_rule("/", "dispatch", edge.dispatch, methods=_ALL_METHODS, defaults={"path": ""})
    app.add_url_rule("/<path:path>", "dispatch", edge.dispatch, methods=_ALL_METHODS)
    app.before_request(lambda: cors.preflight(store.current.cors_origins))
    app.after_request(lambda response: cors.decorate(response, store.current.cors_origins))
    app.register_error_handler(RelayError, edge.relay_error)
    app.register_error_handler(HTTPException, edge.http_error)
    app.register_error_handler(Exception, edge.internal_error)
    return app


class _Edge:
    """Request handling between Flask and the relay."""

    def __init__(self, store: ConfigStore, relay: Relay) -> None:
        self.store = store
        self.relay = relay
        self.started = time.time()
        self._table: RouteTable | None = None
        self.limits = KeyLimits()
        self.bodylog = BodyLog()
        self.page = StatusPage()
        self.active = 0  # calls in flight, streams until their last byte
        self.streams = 0
        self.metrics = Metrics(
            relay.resilience, lambda: store.current, lambda: (self.active, self.streams)
        )
        relay.listeners += [self._finished, self.metrics.observe]

    def _finished(self, acct: Accounting, status: str) -> None:
        if acct.key != "-" and status != "fallback":
            tokens = acct.input_tokens + acct.cache_read + acct.cache_write + acct.output_tokens
            self.limits.add_tokens(acct.key, tokens)

    # --- routing ------------------------------------------------------------------------

    def table(self) -> RouteTable:
        dialects = self.store.registry.dialects
        table = self._table
        if table is None or table.dialects is not dialects:
            table = self._table = RouteTable(dialects)
            for conflict in table.conflicts:
                log.error("route not served: %s", conflict)
        return table

    def dispatch(self, path: str) -> Response:
        settings = self.store.current
        scope = _scope(settings, path)
        g.scope = scope
        target, args = self.table().match(scope.path, request.method)
        g.dialect = target.dialect
        inbound = Inbound(
            endpoint=target.route.endpoint,
            path_params=args,
            query=request.args,
            headers=Headers(request.environ),
            body=None,
            options=settings.dialect_options.get(target.dialect.name, {})
            if target.dialect is not None
            else {},
        )
        endpoint = target.route.endpoint
        open_route = endpoint in _OPEN or (endpoint == "metrics" and settings.metrics_public)
        if settings.access_keys and not open_route:
            key = admit(
                settings.access_keys, self._presented_key(target.dialect, inbound), scope.group
            )
            scope.key_name = key.name
            if target.route.kind == "call" and (key.rpm or key.tokens_per_day):
                self.limits.admit(key.name, key.rpm, key.tokens_per_day)
        if target.dialect is None:
            return self._core(target, args)
        if request.method not in _BODYLESS:
            inbound = replace(inbound, body=self._body(settings, target.dialect))
        if target.route.kind == "info":
            return self._rendered(target.dialect.info(inbound, self.catalog(settings)))
        return self._call(settings, target.dialect, inbound, scope)

    def _presented_key(self, dialect: Dialect | None, inbound: Inbound) -> str | None:
        if dialect is not None:
            return dialect.client_key(inbound)
        for d in self.store.registry.dialects.values():  # core routes: any client's place
            key = d.client_key(inbound)
            if key:
                return key
        return None

    def _call(
        self, settings: Settings, dialect: Dialect, inbound: Inbound, scope: _Scope
    ) -> Response:
        cap = settings.max_concurrent
        if cap and self.active >= cap:
            raise RelayError(
                503,
                f"ccrelay is relaying {self.active} requests, its limits.max_concurrent; "
                "send the request again in a moment",
                kind=ErrorKind.OVERLOADED,
                headers={"retry-after": "1"},
            )
        self.active += 1
        streaming = False
        try:
            response = self._relay_call(settings, dialect, inbound, scope)
            streaming = isinstance(response.response, _Counted)
            return response
        finally:
            if not streaming:
                self.active -= 1

    def _relay_call(
        self, settings: Settings, dialect: Dialect, inbound: Inbound, scope: _Scope
    ) -> Response:
        rid = g.request_id = new_request_id()
        call = dialect.parse(inbound)
        group = settings.groups.get(scope.group)
        if group is not None:
            call.request = shape(call.request, group)
        if scope.compat or (group is not None and group.tool_mode == "compat"):
            call.tool_mode = "compat"  # every attempt then runs in tool compat mode (core/compat)
        for warning in call.warnings:
            log.warning("request %s (%s): %s", rid, dialect.name, warning)
        headers = {"request-id": rid, **call.response_headers}
        if call.count_only:
            tokens = self.relay.count_tokens(settings, call, rid, group)
            return self._rendered(dialect.render_count(tokens, call), headers)
        sock = request.environ.get(SOCKET_KEY)
        watch = ClientWatch(sock) if sock is not None else None
        record = None
        if settings.bodies_enabled:
            record = BodyRecord(rid, dialect.name, request.path, settings.bodies_max_bytes,
                                g.get("raw_body", b""))  # fmt: skip
        who = Who(dialect.name, scope.group, group, scope.key_name, record)
        try:
            result = self.relay.run(settings, call, who, rid, watch)
        except ClientGone:
            return Response(status=499)  # nobody is listening; the log line says "cancelled"
        except RelayError as err:
            if record is not None:
                record.back(dumps(dialect.render_error(err, rid).body))
                self.bodylog.write(settings.log_dir, record, secrets_of(settings))
            raise
        if isinstance(result, dict):
            response = self._rendered(dialect.render_response(result, call), headers)
            if record is not None:
                record.back(response.get_data())
                self.bodylog.write(settings.log_dir, record, secrets_of(settings))
            return response
        renderer = dialect.stream_renderer(call)
        body = _render_stream(result, renderer)
        if record is not None:
            body = _tee_back(body, record, self.bodylog, settings)
        return Response(
            _Counted(body, self),
            mimetype=renderer.content_type,
            headers={**_STREAM_HEADERS, **headers},
            direct_passthrough=True,
        )

    # --- core routes -----------------------------------------------------------------------

    def _core(self, target: Target, args: Mapping[str, Any]) -> Response:
        endpoint = target.route.endpoint
        settings = self.store.current
        if endpoint == "root":
            return self._root()
        if endpoint == "health":
            return _json(self.health(settings))
        if endpoint == "status":
            return _json(self.page.status(settings.log_dir), headers=NO_STORE)
        if endpoint == "metrics":
            if not settings.metrics_enabled:
                raise RelayError(404, "metrics are off (metrics.enabled in the config)")
            return Response(self.metrics.render(), content_type=METRICS_TYPE)
        entries = self.catalog(settings)
        dialects = list(self.store.registry.dialects.values())
        if endpoint == "model":
            for entry in entries:
                if entry.id == args["model_id"]:
                    return _json(_merged(d.describe_model(entry) for d in dialects))
            # Like the list, one body every SDK reads: Anthropic's type, OpenAI's message and
            # param, Gemini's code and status (no one dialect's error shape fits all of them).
            message = (
                f"model {str(args['model_id'])[:100]!r} is not configured; GET /v1/models "
                "lists the models ccrelay serves"
            )
            error = {"type": "not_found_error", "message": message, "param": "model",
                     "code": 404, "status": "NOT_FOUND"}  # fmt: skip
            return _json({"type": "error", "error": error}, status=404)
        body: dict[str, Any] = {
            "object": "list",
            "data": [_merged(d.describe_model(e) for d in dialects) for e in entries],
        }
        body.update(_merged(d.describe_model_list(entries) for d in dialects))
        return _json(body)

    def catalog(self, settings: Settings) -> list[ModelEntry]:
        """The models ccrelay offers: the active chain's first, each once."""
        seen: dict[str, ModelEntry] = {}
        created = int(self.started)
        order = settings.chain + tuple(p for p in settings.providers if p not in settings.chain)
        for name in order:
            pcfg = settings.providers[name]
            for model in (*((pcfg.model,) if pcfg.model else ()), *pcfg.models):
                if model not in seen:
                    fields = catalog_fields(profile_for(pcfg, model))
                    seen[model] = ModelEntry(model, name, created=created, **fields)
        # Names a `models` rule answers literally (not globs) are models clients may ask for.
        for rule in settings.routing.models:
            if rule.match not in seen and not any(c in rule.match for c in "*?["):
                target = rule.targets[0]
                pcfg = settings.providers[target.provider]
                fields = catalog_fields(profile_for(pcfg, target.model or pcfg.model or rule.match))
                seen[rule.match] = ModelEntry(
                    rule.match, target.provider, created=created, **fields
                )
        return list(seen.values())

    def health(self, settings: Settings) -> dict[str, Any]:
        registry = self.store.registry
        providers = {}
        for name, pcfg in settings.providers.items():
            entry: dict[str, Any] = {
                "type": pcfg.type,
                "configured": pcfg.configured and registry.get(pcfg.type) is not None,
                "model": pcfg.model,
                "tool_mode": pcfg.tool_mode,
            }
            if pcfg.auth == "oauth":  # a subscription login: logged in, expiry, scopes
                entry["oauth"] = self.relay.oauth.describe(pcfg)
                entry["configured"] = entry["configured"] and entry["oauth"]["logged_in"]
            if pcfg.problem:
                entry["problem"] = pcfg.problem
            elif registry.get(pcfg.type) is None:
                entry["problem"] = f"strategy {pcfg.type!r} is not loaded"
            providers[name] = entry
        state = self.relay.resilience.snapshot(settings.providers, settings, settings.resilience)
        for name, entry in providers.items():
            entry.update(state[name])
        return {
            "status": "ok",
            # which process answered: under gunicorn each worker has its own breakers, keys'
            # cool-downs and config watcher
            "pid": os.getpid(),
            "started": int(self.started),
            "active_provider": settings.active,
            "fallback_providers": list(settings.fallbacks),
            "routing": _describe_routing(settings.chain, settings.routing),
            "groups": {
                name: {
                    "routing": _describe_routing(
                        group.chain or settings.chain, group.routing or settings.routing
                    ),
                    "tool_mode": group.tool_mode,
                    "shapes": group.shapes,
                }
                for name, group in settings.groups.items()
            },
            "access_keys": [k.name for k in settings.access_keys],
            "providers": providers,
            "dialects": {
                d.name: [f"{','.join(r.methods)} {r.rule}" for r in d.routes]
                for d in registry.dialects.values()
            },
            "plugins": [
                {"name": p.name, "source": p.source, "strategies": list(p.strategies)}
                for p in registry.plugins
            ],
            "plugin_problems": [
                {"plugin": p.plugin, "reason": p.reason} for p in registry.problems
            ],
            "config": {
                "path": str(settings.path),
                "last_reload_error": self.store.last_error or None,
                "last_reload_at": self.store.last_reload_at,
            },
        }

    def _root(self) -> Response:
        """``GET /`` and ``HEAD /``: Ollama's plain-text "Ollama is running", which Ollama
        apps probe for (they check the status; the text is what Ollama sends), unless the
        client asks for JSON (ccrelay's own short status) or HTML (a browser: the status page).
        """
        best = request.accept_mimetypes.best_match(("text/plain", _JSON, "text/html"))
        if best == "text/html":
            html, headers = self.page.document()
            return Response(html, mimetype="text/html", headers=headers)
        if best == _JSON:
            return _json({"name": "ccrelay", "status": "ok"})
        return Response("Ollama is running", mimetype="text/plain")

    # --- the edge ----------------------------------------------------------------------

    def _body(self, settings: Settings, dialect: Dialect) -> Any:
        """The request body as JSON, checked for content type and size before it is read."""
        limit = settings.max_body_bytes
        ctype = request.mimetype
        if dialect.json_only and ctype != _JSON and not ctype.endswith("+json"):
            raise RelayError(
                415,
                f"content-type must be application/json, got {request.content_type or 'none'!r}",
                kind=ErrorKind.INVALID_REQUEST,
            )
        length = request.content_length
        if length is not None and length > limit:
            raise RelayError(
                413, f"request body is {length} bytes; the limit is {limit} (limits.max_body_bytes)"
            )
        raw = request.stream.read(limit + 1)
        if len(raw) > limit:
            raise RelayError(413, f"request body exceeds {limit} bytes (limits.max_body_bytes)")
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raw = _decoded(raw, encoding, limit)
        if not raw:
            raise InvalidRequest("request body is empty; send a JSON object")
        if settings.bodies_enabled:
            g.raw_body = raw
        try:
            return loads(raw)
        except JSONDecodeError as exc:
            raise InvalidRequest(f"request body is not valid JSON: {exc}") from None

    def _rendered(self, out: Rendered, headers: Mapping[str, str] | None = None) -> Response:
        try:
            body = out.body if isinstance(out.body, bytes) else dumps(out.body)
        except JSONEncodeError as exc:  # an upstream answer nesting over 255 levels
            raise RelayError(502, f"the upstream's answer cannot be relayed: {exc}") from None
        merged = {**(headers or {}), **out.headers}
        return Response(body, status=out.status, mimetype=out.content_type, headers=merged)

    # --- errors ----------------------------------------------------------------------------

    def _error_dialect(self) -> Dialect | None:
        if "dialect" in g and g.dialect is not None:
            return g.dialect  # type: ignore[no-any-return]
        return self.table().guess(request.path)

    def _render_error(self, err: RelayError) -> Response:
        rid = g.get("request_id")
        dialect = self._error_dialect() or next(iter(self.store.registry.dialects.values()))
        headers = {"request-id": rid} if rid else {}
        return self._rendered(dialect.render_error(err, rid), headers)

    def relay_error(self, err: RelayError) -> Response:
        return self._render_error(err)

    def http_error(self, err: HTTPException) -> Response:
        status = err.code or 500
        if isinstance(err, NotFound):
            dialect = self._error_dialect()
            routes = [r for r in dialect.routes if r.kind == "call"] if dialect else []
            served = ", ".join(f"{r.methods[0]} {r.rule}" for r in routes)
            message = (
                f"no route for {request.method} {request.path}; ccrelay serves "
                f"{served + ', ' if served else ''}GET /v1/models and GET /health "
                "(all routes: GET /health)"
            )
        elif isinstance(err, MethodNotAllowed):
            message = f"{request.method} is not allowed on {request.path}"
        else:
            message = err.description or err.name
        return self._render_error(RelayError(status, message))

    def internal_error(self, err: Exception) -> Response:
        rid = g.get("request_id", "-")
        log.exception("unhandled error (request %s)", rid)
        message = (
            f"ccrelay internal error ({type(err).__name__}); request id {rid}, see the server log"
        )
        return self._render_error(RelayError(500, message, kind=ErrorKind.UPSTREAM))


@dataclass
class _Scope:
    """Where a request was sent: its group (``default`` when unprefixed), whether the path
    asked for tool compat mode, the path left for the route table, and the access key's name."""

    group: str
    compat: bool
    path: str
    key_name: str = "-"


def _scope(settings: Settings, path: str) -> _Scope:
    head, _, rest = path.partition("/")
    group = DEFAULT
    if head and head in settings.groups:
        group, path = head, rest
        head, _, rest = path.partition("/")
    compat = head == COMPAT_SEGMENT
    if compat:
        path = rest
    return _Scope(group, compat, "/" + path)


class _Counted:
    """A stream body that leaves the in-flight counts when the WSGI server closes it."""

    def __init__(self, body: Iterator[bytes], edge: _Edge) -> None:
        self._body = body
        self._edge: _Edge | None = edge
        edge.streams += 1

    def __iter__(self) -> Iterator[bytes]:
        return self._body

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            if self._edge is not None:
                self._edge.active -= 1
                self._edge.streams -= 1
                self._edge = None


def _tee_back(
    body: Iterator[bytes], record: BodyRecord, bodylog: BodyLog, settings: Settings
) -> Iterator[bytes]:
    """The stream's bytes, kept for the body log, which is written when the stream ends."""
    try:
        for chunk in body:
            record.back(chunk)
            yield chunk
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
        bodylog.write(settings.log_dir, record, secrets_of(settings))


def _render_stream(items: Iterator[StreamItem], renderer: Any) -> Iterator[bytes]:
    """Bytes for the client from the pump's items, in the dialect's framing."""
    try:
        for item in items:
            if type(item) is list:
                out = renderer.events(item)
            elif item is KEEPALIVE:
                out = renderer.keepalive()
            elif item is END:
                out = renderer.end()
            else:
                out = renderer.error(item)
            if out:
                yield out
    finally:
        close = getattr(items, "close", None)
        if close is not None:
            close()


def _describe_routing(chain: tuple[str, ...], routing: RoutingConfig) -> dict[str, Any]:
    return {
        "default": list(chain),
        "models": [
            {"match": r.match, "to": [str(t) for t in r.targets], "balance": r.balance}
            for r in routing.models
        ],
        "routes": {
            name: {"to": [str(t) for t in r.targets], "balance": r.balance}
            for name, r in routing.scenarios.items()
        },
    }


def _merged(parts: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in parts:
        out.update(part)
    return out


def _json(obj: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(dumps(obj), status=status, mimetype=_JSON, headers=headers)


def _decoded(raw: bytes, encoding: str, limit: int) -> bytes:
    """A ``gzip`` or ``deflate`` request body decompressed, ``limit`` bytes at most (a small
    body must not unpack into gigabytes); other encodings are a 415 that says so."""
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise RelayError(
            415,
            f"content-encoding {encoding[:40]!r} is not supported; send the body as it is, or "
            "compressed with gzip or deflate",
            kind=ErrorKind.INVALID_REQUEST,
        )
    # wbits 47: gzip or zlib, told by the header; raw deflate (wbits -15) when neither fits
    for wbits in (47, -15) if encoding == "deflate" else (31,):
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(raw, limit + 1)
        except zlib.error:
            continue
        if len(out) > limit:
            raise RelayError(
                413, f"request body exceeds {limit} bytes uncompressed (limits.max_body_bytes)"
            )
        if inflater.unconsumed_tail or not inflater.eof:
            continue
        return out
    raise InvalidRequest(
        f"request body is not valid {encoding} data (content-encoding: {encoding})"
    )
