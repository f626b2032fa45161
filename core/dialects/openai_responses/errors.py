"""Errors in OpenAI's words: the JSON body, the stream's ``error`` event and ``response.failed``.

| kind | ``type`` | ``code`` |
|---|---|---|
| invalid request | ``invalid_request_error`` | null |
| context too long | ``invalid_request_error`` | ``context_length_exceeded`` (Codex compacts on it) |
| authentication | ``invalid_request_error`` | ``invalid_api_key`` |
| billing | ``insufficient_quota`` | ``insufficient_quota`` |
| permission | ``permission_error`` | null |
| not found | ``invalid_request_error`` | null |
| too large | ``invalid_request_error`` | ``request_too_large`` |
| rate limited | ``rate_limit_error`` | ``rate_limit_exceeded`` |
| overloaded | ``server_error`` | ``server_is_overloaded`` |
| timeout | ``server_error`` | ``timeout`` |
| upstream failure | ``server_error`` | ``server_error`` |
| ccrelay not configured | ``invalid_request_error`` | ``ccrelay_not_configured`` |

The HTTP status is the error's own (the openai SDK picks its exception class from it).
Mid-stream, the ``error`` event carries ``code``, ``message`` and ``param`` at the top level
as OpenAI documents it, and the same object nested under ``error`` as OpenAI's servers send
it (which is what makes the openai SDK raise ``APIError``); ``response.failed`` follows with
``response.error = {code, message}``, which Codex reads. A rate-limit message gains "Please
try again in Ns." from ``retry-after``, the phrase Codex waits on.
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.dialect import Rendered
from ccrelay.core.dialects._openai_errors import OpenAIErrors
from ccrelay.core.errors import ErrorKind, RelayError

# The rows above that Chat clients get in other words (the shared rows:
# core/dialects/_openai_errors.py).
_ERRORS = OpenAIErrors(
    {
        ErrorKind.NOT_FOUND: ("invalid_request_error", None),
        ErrorKind.OVERLOADED: ("server_error", "server_is_overloaded"),
        ErrorKind.TIMEOUT: ("server_error", "timeout"),
        ErrorKind.UPSTREAM: ("server_error", "server_error"),
        ErrorKind.NOT_CONFIGURED: ("invalid_request_error", "ccrelay_not_configured"),
    },
    fallback=("server_error", "server_error"),
    retry_hint=True,
)


def error_object(err: RelayError) -> dict[str, Any]:
    """``{"message", "type", "param", "code"}`` for ``err``."""
    return _ERRORS.error(err)


def render(err: RelayError) -> Rendered:
    """The error answer: ``{"error": ...}`` with the error's own status and headers."""
    return _ERRORS.render(err)


def error_event(err: RelayError) -> dict[str, Any]:
    """The stream's ``error`` event (``sequence_number`` added by the renderer)."""
    inner = error_object(err)
    return {
        "type": "error",
        "code": inner["code"] or inner["type"],
        "message": inner["message"],
        "param": inner["param"],
        "error": inner,
    }


def failure(err: RelayError) -> dict[str, Any]:
    """``response.error`` of a failed response."""
    inner = error_object(err)
    fallback = "invalid_prompt" if inner["type"] == "invalid_request_error" else "server_error"
    return {"code": inner["code"] or fallback, "message": inner["message"]}
