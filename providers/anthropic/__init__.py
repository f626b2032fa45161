"""The ``anthropic`` strategy: Anthropic itself and Anthropic-compatible upstreams.

The canonical form is the Anthropic Messages shape, so this is a near pass-through: the
model is replaced by the configured one, the client's ``anthropic-version`` and
``anthropic-beta`` headers are forwarded, and streams are relayed event by event (parsed
once, for usage accounting and to detect errors and truncation).

What is changed on the way, and why:

| field | to api.anthropic.com | to a compatible third party |
|---|---|---|
| ``model`` | the configured ``model`` (else the client's) | same |
| ``temperature`` above 1 (clients of 0-2 protocols) | clamped to 1 | same |
| ``max_tokens`` absent (clients of other protocols) | the model's output limit (above any thinking budget, which is lowered to fit) | same |
| with thinking on: ``temperature`` other than 1, ``top_k``, ``top_p`` below 0.95, ``tool_choice`` any/tool (clients of other protocols set them beside a reasoning effort) | removed; a forced tool choice becomes auto: Anthropic rejects them while thinking | same |
| ``anthropic-beta`` header | forwarded | forwarded minus ``options.strip_betas`` (``"*"`` drops all) |
| top-level fields | forwarded | minus ``options.strip_fields`` |
| ``thinking`` blocks without a signature (made by another provider) | removed: Anthropic rejects them | kept unless ``options.validates_signatures`` |
| ``thinking`` blocks signed by another backend (``ccrelay:<origin>:...``) | removed | removed |
| tool names outside ``^[a-zA-Z0-9_-]{1,128}$`` (MCP-style ``server.tool``, ``ns:tool`` from Gemini and OpenAI clients) | a stand-in (``core.canonical.legal_name``) on the tool, its calls and ``tool_choice``; answers carry the client's name again | same |
| call ids outside ``^[a-zA-Z0-9_-]+$`` (``functions.read:0`` from OpenAI-protocol vendors) | a stand-in, the same on the call and its result | same |
| ``role: "system"`` messages (Claude Code's mid-conversation system beta) | forwarded | merged into the nearest user turn as ``<system-reminder>`` text, unless ``options.system_messages: keep`` |
| credentials, ``auth: oauth`` (a Claude subscription login) | ``Authorization: Bearer <token>``, Claude Code's ``user-agent`` | same |
| ``anthropic-beta``, ``auth: oauth`` | ``oauth-2025-04-20`` first, then the client's (``strip_betas`` never removes it) | same |
| ``system``, ``auth: oauth`` | Claude Code's identity line added as the first block, unless a block already starts with one; the client's blocks (``cache_control`` included) follow unchanged | same |
| query, ``auth: oauth`` | ``?beta=true``, as Claude Code's SDK sends it | same |

A subscription token is accepted only on requests shaped like Claude Code's. What they carry
was learned from public clients (not copied): the @anthropic-ai/claude-code npm package 2.1.197
(its bundled CLI: the ``oauth-2025-04-20`` flag, "OAuth tokens go on Authorization: Bearer,
not x-api-key", its three identity lines and its user agent) and
github.com/anomalyco/opencode-anthropic-auth ``index.mjs`` (the beta flags it merges, the
identity line it puts first in ``system``, ``?beta=true``, the ``claude-cli`` user agent).

Options (``providers.<name>.options``):
  ``strip_fields``: top-level request fields the vendor rejects (e.g. ``[context_management]``).
  ``strip_betas``: beta flags the vendor rejects, or ``"*"`` for all.
  ``validates_signatures``: whether unsigned thinking blocks must be removed (default: true
  only for api.anthropic.com).
  ``auth``: ``x-api-key`` (default) or ``bearer``.
  ``system_messages``: ``keep`` forwards ``role: "system"`` messages as sent (only Anthropic
  knows that beta, so ``keep`` is the default there); ``merge`` (default elsewhere) appends each
  one to the nearest user message, after its tool results, so the tool_use/tool_result
  pairing stays intact.
  ``count_tokens``: whether the upstream has ``/v1/messages/count_tokens`` (default: true
  only for api.anthropic.com; elsewhere ccrelay estimates locally).
  ``oauth_betas``: with ``auth: oauth``, the beta flags every request carries (default
  ``[oauth-2025-04-20]``).
  ``oauth_system_prefix``: with ``auth: oauth``, the first system block (default Claude Code's
  identity line; ``""`` adds none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ccrelay.core import signatures
from ccrelay.core.canonical import legal_id, legal_name
from ccrelay.core.config import ProviderConfig
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.jsonutil import JSONDecodeError, loads
from ccrelay.core.options import check_option, expected_value
from ccrelay.core.provider import Provider, RequestContext, SSEEvent, UpstreamRequest
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse

DEFAULT_VERSION = "2023-06-01"
# What requests made with a subscription token carry (sources in the module docstring).
OAUTH_BETAS = ("oauth-2025-04-20",)
OAUTH_USER_AGENT = "claude-cli/2.1.197 (external, cli)"
#: Claude Code's identity lines; a system prompt starting with one needs no prefix
IDENTITIES = (
    "You are Claude Code, Anthropic's official CLI for Claude.",
    "You are Claude Code, Anthropic's official CLI for Claude, running within the Claude Agent SDK.",
    "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
)
# Generation controls the count endpoint rejects (anthropic-messages.md §9).
_NOT_COUNTED = {
    "max_tokens",
    "stream",
    "temperature",
    "top_p",
    "top_k",
    "stop_sequences",
    "metadata",
    "service_tier",
    "context_management",
}
# Anthropic's error types (anthropic-messages.md §11): the status and kind each means.
_TYPES = {
    "invalid_request_error": (400, ErrorKind.INVALID_REQUEST),
    "authentication_error": (401, ErrorKind.AUTHENTICATION),
    "billing_error": (402, ErrorKind.BILLING),
    "permission_error": (403, ErrorKind.PERMISSION),
    "not_found_error": (404, ErrorKind.NOT_FOUND),
    "request_too_large": (413, ErrorKind.TOO_LARGE),
    "rate_limit_error": (429, ErrorKind.RATE_LIMITED),
    "api_error": (500, ErrorKind.UPSTREAM),
    "timeout_error": (504, ErrorKind.TIMEOUT),
    "overloaded_error": (529, ErrorKind.OVERLOADED),
}


@hookimpl
def ccrelay_register_providers(register: Any) -> None:
    register(AnthropicProvider)


class AnthropicProvider(Provider):
    name = "anthropic"
    protocol = "anthropic"
    description = "Anthropic Messages API and Anthropic-compatible vendors"
    base_url_suffixes = ("/anthropic", "api.anthropic.com", "/anthropic/v1")
    option_keys = frozenset(
        {"strip_fields", "strip_betas", "validates_signatures", "auth", "count_tokens",
         "system_messages", "oauth_betas", "oauth_system_prefix"}
    )  # fmt: skip

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = check_option(options, "strip_fields", list)
        betas = options.get("strip_betas", "*")
        if betas != "*" and check_option(options, "strip_betas", list):
            problems.append(f"strip_betas: {expected_value('a list of strings or *', betas)}")
        problems += check_option(options, "validates_signatures", bool)
        problems += check_option(options, "count_tokens", bool)
        problems += check_option(options, "auth", ("x-api-key", "bearer"))
        problems += check_option(options, "system_messages", ("keep", "merge"))
        problems += check_option(options, "oauth_betas", list)
        problems += check_option(options, "oauth_system_prefix", str)
        return problems

    def convert_request(self, req: CanonicalRequest, ctx: RequestContext) -> UpstreamRequest:
        opts = ctx.provider.options
        body: dict[str, Any] = dict(req)
        body["model"] = ctx.model
        temperature = body.get("temperature")
        if isinstance(temperature, (int, float)) and temperature > 1:
            body["temperature"] = 1.0  # Anthropic takes 0-1; other protocols 0-2
        if "max_tokens" not in body:
            # Clients of other protocols may leave it out; Anthropic requires it, above any
            # thinking budget (a Chat client's reasoning_effort becomes one).
            body["max_tokens"] = limit = default_max_tokens(ctx.model)
            thinking = body.get("thinking")
            if isinstance(thinking, dict) and (thinking.get("budget_tokens") or 0) >= limit:
                body["thinking"] = {**thinking, "budget_tokens": limit - 1}
        _thinking_rules(body)
        for key in opts.get("strip_fields", ()):
            body.pop(key, None)
        native = _is_anthropic(ctx.provider.base_url)
        body["messages"] = _without_foreign_thinking(
            body["messages"], drop_unsigned=opts.get("validates_signatures", native)
        )
        if opts.get("system_messages", "keep" if native else "merge") == "merge":
            body["messages"] = _merge_system_messages(body["messages"])
        ctx.state["tool_names"] = _legal_tools(body)
        headers = {
            "anthropic-version": ctx.client_headers.get("anthropic-version", DEFAULT_VERSION)
        }
        betas = _betas(ctx.client_headers.get("anthropic-beta", ""), opts.get("strip_betas", ()))
        if betas:
            headers["anthropic-beta"] = betas
        query = {}
        if ctx.provider.auth == "oauth":
            query = _as_subscription(body, headers, opts)
        base = ctx.provider.base_url
        path = "/messages" if base.endswith("/v1") else "/v1/messages"
        return UpstreamRequest(path, body, bool(req.get("stream")), headers, query=query)

    def count_tokens_request(
        self, req: CanonicalRequest, ctx: RequestContext
    ) -> UpstreamRequest | None:
        if not ctx.provider.options.get("count_tokens", _is_anthropic(ctx.provider.base_url)):
            return None
        upreq = self.convert_request(req, ctx)
        body = {k: v for k, v in upreq.body.items() if k not in _NOT_COUNTED}
        return UpstreamRequest(upreq.path + "/count_tokens", body, False, upreq.headers)

    def auth_headers(self, provider: ProviderConfig) -> dict[str, str]:
        if provider.auth == "oauth":  # a subscription login's token, never the client's key
            return {"authorization": f"Bearer {provider.api_key}", "user-agent": OAUTH_USER_AGENT}
        if provider.options.get("auth") == "bearer":
            return {"authorization": f"Bearer {provider.api_key}"}
        return {"x-api-key": provider.api_key}

    def convert_response(self, body: Any, ctx: RequestContext) -> CanonicalResponse:
        if not isinstance(body, dict) or body.get("type") == "error":
            raise _error_from(body, ctx)
        if not isinstance(body.get("content"), list):
            raise RelayError(
                502, f"provider {ctx.provider.name}: answer has no content list", retryable=True
            )
        body["model"] = ctx.client_model
        renamed = ctx.state.get("tool_names")
        if renamed:
            for block in body["content"]:
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    block["name"] = renamed.get(block.get("name"), block.get("name"))
        return body  # type: ignore[return-value]

    def stream(self, events: Iterable[SSEEvent], ctx: RequestContext) -> Iterator[CanonicalEvent]:
        finished = False
        renamed = ctx.state.get("tool_names")
        for sse in events:
            try:
                event = loads(sse.data)
            except JSONDecodeError:
                raise RelayError(
                    502, f"provider {ctx.provider.name}: bad stream data {sse.data[:200]!r}"
                ) from None
            etype = event.get("type") if isinstance(event, dict) else None
            if etype == "ping":
                continue  # core sends its own pings during silences
            if etype == "error":
                raise _error_from(event, ctx)
            if etype == "message_start":
                event["message"]["model"] = ctx.client_model
            elif etype == "message_stop":
                finished = True
            elif renamed and etype == "content_block_start":
                block = event.get("content_block")
                if isinstance(block, dict) and block.get("type") == "tool_use":
                    block["name"] = renamed.get(block.get("name"), block.get("name"))
            yield event
        if not finished:
            raise RelayError(502, f"provider {ctx.provider.name}: stream ended before message_stop")


def _error_from(body: Any, ctx: RequestContext) -> RelayError:
    err = body.get("error") if isinstance(body, dict) else None
    etype = err.get("type", "api_error") if isinstance(err, dict) else "api_error"
    message = err.get("message", "") if isinstance(err, dict) else str(body)[:300]
    status, kind = _TYPES.get(etype, (500, ErrorKind.UPSTREAM))
    if kind is ErrorKind.INVALID_REQUEST and "prompt is too long" in message.lower():
        kind = ErrorKind.CONTEXT_TOO_LONG
    return RelayError(status, f"provider {ctx.provider.name}: {message}", kind=kind)


def default_max_tokens(model: str) -> int:
    """The output limit to ask for when the client gave none: the model's own limit where
    it is known (a model rejects more than its maximum), else a conservative 8192."""
    name = model.lower()
    for marker, limit in (("opus-4", 32_000), ("sonnet-4", 64_000), ("haiku-4", 64_000),
                          ("3-7-sonnet", 64_000), ("3-5", 8_192)):  # fmt: skip
        if marker in name:
            return limit
    return 8_192


def _thinking_rules(body: dict[str, Any]) -> None:
    """Anthropic's rules while thinking is on (anthropic-messages.md §6): default sampling,
    ``top_p`` within 0.95-1, no forced tool use. Claude Code never breaks them; clients of
    other protocols may send a temperature or a forced tool beside their reasoning effort."""
    thinking = body.get("thinking")
    if not isinstance(thinking, dict) or thinking.get("type") not in ("enabled", "adaptive"):
        return
    if body.get("temperature") not in (None, 1, 1.0):
        del body["temperature"]
    body.pop("top_k", None)
    top_p = body.get("top_p")
    if isinstance(top_p, (int, float)) and top_p < 0.95:
        del body["top_p"]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        body["tool_choice"] = {k: v for k, v in choice.items() if k not in ("type", "name")}
        body["tool_choice"]["type"] = "auto"


def _as_subscription(body: dict[str, Any], headers: dict[str, str], opts: Any) -> dict[str, str]:
    """Shape a request for a subscription token: its beta flags first in ``anthropic-beta``,
    the identity line as the first system block; the query string it needs."""
    required = list(opts.get("oauth_betas", OAUTH_BETAS))
    sent = [b for b in headers.get("anthropic-beta", "").split(",") if b]
    headers["anthropic-beta"] = ",".join(dict.fromkeys(required + sent))
    prefix = opts.get("oauth_system_prefix", IDENTITIES[0])
    system = body.get("system")
    blocks = _blocks(system) if system else []
    known = (prefix, *IDENTITIES) if prefix else ()
    if prefix and not any(
        isinstance(b, dict) and str(b.get("text", "")).startswith(known) for b in blocks
    ):
        body["system"] = [{"type": "text", "text": prefix}, *blocks]
    return {"beta": "true"}


def _legal_tools(body: dict[str, Any]) -> dict[str, str]:
    """Replace tool names and call ids Anthropic's patterns refuse, on ``body`` (its lists
    copied where something changes, never the client's); ``{stand-in: client name}`` for the
    answer. Claude Code's names are all legal, so this usually only looks."""
    renamed: dict[str, str] = {}

    def name(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        out = legal_name(value, 128)
        if out != value:
            renamed[out] = value
        return out

    tools = body.get("tools")
    if isinstance(tools, list) and any(
        isinstance(t, dict) and name(t.get("name")) != t.get("name") for t in tools
    ):
        body["tools"] = [
            {**t, "name": name(t["name"])} if isinstance(t, dict) and "name" in t else t
            for t in tools
        ]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and name(choice.get("name")) != choice.get("name"):
        body["tool_choice"] = {**choice, "name": name(choice["name"])}
    messages, copied = body["messages"], False
    for i, msg in enumerate(messages):
        content = msg.get("content")
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):  # usually only looks: nothing is copied
            legal = _legal_block(block, name)
            if legal is not block:
                blocks = [*content[:j], legal, *(_legal_block(b, name) for b in content[j + 1 :])]
                if not copied:
                    messages, copied = list(messages), True
                    body["messages"] = messages
                messages[i] = {**msg, "content": blocks}
                break
    return renamed


def _legal_block(block: Any, name: Callable[[Any], Any]) -> Any:
    """``block`` itself, or a copy with a legal tool name and call id."""
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    if kind == "tool_use":
        tool_id, tool_name = block.get("id"), block.get("name")
        new_id = legal_id(tool_id) if isinstance(tool_id, str) else tool_id
        new_name = name(tool_name)
        if new_id != tool_id or new_name != tool_name:
            return {**block, "id": new_id, "name": new_name}
    elif kind == "tool_result":
        tool_id = block.get("tool_use_id")
        new_id = legal_id(tool_id) if isinstance(tool_id, str) else tool_id
        if new_id != tool_id:
            return {**block, "tool_use_id": new_id}
    return block


def _is_anthropic(base_url: str) -> bool:
    return "api.anthropic.com" in base_url


def _betas(header: str, strip: Any) -> str:
    if not header or strip == "*":
        return ""
    drop = set(strip or ())
    return ",".join(b for b in (x.strip() for x in header.split(",")) if b and b not in drop)


def _without_foreign_thinking(messages: list[Any], *, drop_unsigned: bool) -> list[Any]:
    """Messages without thinking blocks another backend signed (``core/signatures.py``):
    no Anthropic-protocol upstream can validate them. Unsigned ones go too when the upstream
    validates signatures."""

    def foreign(b: Any) -> bool:
        if b.get("type") != "thinking":
            return False
        sig = b.get("signature")
        if not sig:
            return drop_unsigned
        return signatures.split(sig)[0] != signatures.ANTHROPIC

    out = []
    for msg in messages:
        content = msg.get("content")
        if (
            msg.get("role") == "assistant"
            and isinstance(content, list)
            and any(map(foreign, content))
        ):
            msg = {**msg, "content": [b for b in content if not foreign(b)]}
        out.append(msg)
    return out


def _merge_system_messages(messages: list[Any]) -> list[Any]:
    """Fold ``role: "system"`` messages into the nearest user message as reminder text."""
    if not any(m.get("role") == "system" for m in messages):
        return messages
    out: list[Any] = []
    pending: list[dict[str, Any]] = []  # system text waiting for the next user message
    for msg in messages:
        if msg.get("role") == "system":
            content = msg.get("content")
            text = (
                content
                if isinstance(content, str)
                else "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
            )
            block = {"type": "text", "text": f"<system-reminder>\n{text}\n</system-reminder>"}
            if out and out[-1].get("role") == "user":
                out[-1] = {**out[-1], "content": [*_blocks(out[-1]["content"]), block]}
            else:
                pending.append(block)
            continue
        if pending and msg.get("role") == "user":
            msg = {**msg, "content": [*_blocks(msg["content"]), *pending]}
            pending = []
        out.append(msg)
    if pending:
        out.append({"role": "user", "content": pending})
    return out


def _blocks(content: Any) -> list[Any]:
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
