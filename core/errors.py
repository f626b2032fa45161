"""Relay errors: an HTTP status, a message that says what to fix, and a protocol-neutral kind.

Views, core and strategies ``raise RelayError``; the client's dialect renders it in its own
protocol's words (``core/dialects/``). Strategies report a ``kind`` (context too long, rate
limited, ...), never a client's wording: the Anthropic dialect says "prompt is too long", the
OpenAI dialects say ``context_length_exceeded``. Messages never carry secrets.
"""

from __future__ import annotations

import enum
from typing import Any


class ErrorKind(str, enum.Enum):
    """What went wrong, independent of any protocol's error vocabulary."""

    INVALID_REQUEST = "invalid_request"
    AUTHENTICATION = "authentication"
    BILLING = "billing"
    PERMISSION = "permission"
    NOT_FOUND = "not_found"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    CONTEXT_TOO_LONG = "context_too_long"
    OVERLOADED = "overloaded"
    TIMEOUT = "timeout"
    UPSTREAM = "upstream_error"
    #: ccrelay's own configuration cannot serve the request (no key set, strategy missing):
    #: a 4xx that clients do not retry, whose message names what to set
    NOT_CONFIGURED = "not_configured"


_KIND_FOR_STATUS: dict[int, ErrorKind] = {
    400: ErrorKind.INVALID_REQUEST,
    401: ErrorKind.AUTHENTICATION,
    402: ErrorKind.BILLING,
    403: ErrorKind.PERMISSION,
    404: ErrorKind.NOT_FOUND,
    413: ErrorKind.TOO_LARGE,
    429: ErrorKind.RATE_LIMITED,
    503: ErrorKind.OVERLOADED,
    504: ErrorKind.TIMEOUT,
    529: ErrorKind.OVERLOADED,
}


def kind_for_status(status: int) -> ErrorKind:
    """The kind an HTTP status means when nothing more specific is known."""
    kind = _KIND_FOR_STATUS.get(status)
    if kind is not None:
        return kind
    return ErrorKind.INVALID_REQUEST if 400 <= status < 500 else ErrorKind.UPSTREAM


class RelayError(Exception):
    """An error that reaches the client as an HTTP status plus its dialect's error body.

    :param status: HTTP status for the client.
    :param message: what went wrong and how to fix it.
    :param kind: what kind of failure; derived from ``status`` when omitted.
    :param headers: extra response headers (``retry-after`` from a 429, for example).
    :param retryable: whether the next fallback provider should be tried.
    :param param: the request field at fault, when known (OpenAI's ``error.param``).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: ErrorKind | None = None,
        headers: dict[str, str] | None = None,
        retryable: bool = False,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind or kind_for_status(status)
        self.headers = headers or {}
        self.retryable = retryable
        self.param = param

    def evolve(self, **changes: Any) -> RelayError:
        """A copy with some attributes changed (errors are not edited after they are raised)."""
        fields: dict[str, Any] = {
            "status": self.status,
            "message": self.message,
            "kind": self.kind,
            "headers": dict(self.headers),
            "retryable": self.retryable,
            "param": self.param,
        }
        fields.update(changes)
        status = fields.pop("status")
        message = fields.pop("message")
        return RelayError(status, message, **fields)

    def __repr__(self) -> str:
        return f"RelayError({self.status}, {self.kind.value}, {self.message[:80]!r})"


class InvalidRequest(RelayError):
    """A 400 about the client's request: the message names the field and the fix."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(400, message, kind=ErrorKind.INVALID_REQUEST, param=param)


class Unsupported(InvalidRequest):
    """The chosen backend cannot take something the client sent; say so instead of dropping it."""


def excerpt(value: Any, limit: int = 100) -> str:
    """A short, JSON-flavoured rendering of a client's value for an error message: a bad
    value is quoted, never echoed whole (a 1 MB string must not make a 4 MB error)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        text = value if len(value) <= limit else value[:limit] + f"... ({len(value)} characters)"
        return '"' + text.replace("\n", "\\n") + '"'
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


# Upstream wording of "the prompt does not fit" across OpenAI, vLLM, DeepSeek, OpenRouter,
# Groq, Qwen, Gemini and Anthropic-compatible vendors.
_CONTEXT_MARKERS = (
    "context_length",
    "maximum context length",
    "context length",
    "context window",
    "too many tokens",
    "prompt is too long",
    "reduce the length of the messages",
    "input is too long",
    "input token count",
)
_CONTEXT_STATUSES = frozenset({400, 413, 422})


def context_length_error(status: int, body: Any, message: str) -> RelayError | None:
    """A ``CONTEXT_TOO_LONG`` 400 for a context-length rejection from any vendor, else None."""
    if status not in _CONTEXT_STATUSES:
        return None
    code = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "")
    lowered = message.lower()
    if code == "context_length_exceeded" or any(m in lowered for m in _CONTEXT_MARKERS):
        return RelayError(400, message, kind=ErrorKind.CONTEXT_TOO_LONG)
    return None


def scrub(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """``text`` with every secret (8 characters or more) replaced by ``***``: upstream error
    messages sometimes quote the key they were sent, and they go to clients and logs."""
    for secret in secrets:
        if len(secret) >= 8 and secret in text:
            text = text.replace(secret, "***")
    return text
