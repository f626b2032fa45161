"""Relay errors and the one error-body builder per client protocol.

Views and strategies ``raise RelayError``; the app's single error handler renders it in the
client's protocol. Messages say what went wrong and how to fix it, and never carry secrets.
"""

from __future__ import annotations

from typing import Any

# Anthropic error type for each HTTP status (anthropic-messages.md §11).
ANTHROPIC_ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "overloaded_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def anthropic_error_type(status: int) -> str:
    """The Anthropic ``error.type`` a client expects for an HTTP status."""
    if status in ANTHROPIC_ERROR_TYPES:
        return ANTHROPIC_ERROR_TYPES[status]
    return "invalid_request_error" if 400 <= status < 500 else "api_error"


class RelayError(Exception):
    """An error that reaches the client as an HTTP status plus a protocol error body.

    :param status: HTTP status for the client.
    :param message: what went wrong and how to fix it.
    :param error_type: Anthropic ``error.type``; derived from ``status`` when omitted.
    :param headers: extra response headers (``retry-after`` from a 429, for example).
    :param retryable: whether the next fallback provider should be tried.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type or anthropic_error_type(status)
        self.headers = headers or {}
        self.retryable = retryable


class InvalidRequest(RelayError):
    """A 400 about the client's request: the message names the field and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message, error_type="invalid_request_error")


class Unsupported(InvalidRequest):
    """The chosen backend cannot take something the client sent; say so instead of dropping it."""


def anthropic_error_body(
    error_type: str, message: str, request_id: str | None = None
) -> dict[str, Any]:
    """Anthropic error body: ``{"type":"error","error":{"type","message"},"request_id"}``.

    The same object (without ``request_id``) is the ``data`` of a mid-stream ``error`` event.
    """
    body: dict[str, Any] = {"type": "error", "error": {"type": error_type, "message": message}}
    if request_id:
        body["request_id"] = request_id
    return body


# Upstream wording of "the prompt does not fit" across OpenAI, vLLM, DeepSeek, OpenRouter,
# Groq, Qwen and Anthropic-compatible vendors. Claude Code compacts the conversation when it
# sees "prompt is too long" in a 400, instead of retrying the same request.
_CONTEXT_MARKERS = (
    "context_length",
    "maximum context length",
    "context length",
    "context window",
    "too many tokens",
    "prompt is too long",
    "reduce the length of the messages",
    "input is too long",
)
_CONTEXT_STATUSES = frozenset({400, 413, 422})


def context_length_error(status: int, body: Any, message: str) -> RelayError | None:
    """The "prompt is too long" 400 for a context-length rejection, else None."""
    if status not in _CONTEXT_STATUSES:
        return None
    code = ""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = str(body["error"].get("code") or "")
    lowered = message.lower()
    if code == "context_length_exceeded" or any(m in lowered for m in _CONTEXT_MARKERS):
        return RelayError(400, f"prompt is too long: {message}", error_type="invalid_request_error")
    return None
