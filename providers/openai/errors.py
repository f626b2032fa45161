"""OpenAI-style error bodies (HTTP answers and in-stream ``{"error": ...}``) to RelayError."""

from __future__ import annotations

from typing import Any

from ccrelay.core.errors import ErrorKind, RelayError, context_length_error, kind_for_status

# In-stream errors carry a type or code instead of an HTTP status.
_TYPE_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "invalid_api_key": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "model_not_found": 404,
    "rate_limit_error": 429,
    "rate_limit_exceeded": 429,
    "insufficient_quota": 429,
    "tokens": 429,
    "server_error": 500,
    "api_error": 500,
    "internal_error": 500,
    "overloaded_error": 529,
    "service_unavailable": 503,
    "timeout": 504,
}


def stream_error(obj: dict[str, Any]) -> RelayError:
    """A RelayError for an ``{"error": ...}`` object found inside an upstream stream."""
    err = obj.get("error")
    message = ""
    status = 502
    if isinstance(err, dict):
        message = str(err.get("message") or err.get("msg") or "")
        code = err.get("code")
        if isinstance(code, int) and not isinstance(code, bool) and 400 <= code < 600:
            status = code
        else:
            for key in (code, err.get("type")):
                if isinstance(key, str) and key in _TYPE_STATUS:
                    status = _TYPE_STATUS[key]
                    break
    elif isinstance(err, str):
        message = err
    message = message or "upstream reported an error inside the stream"
    # An error without a usable status is judged by its wording, like a 400.
    too_long = context_length_error(400 if status == 502 else status, obj, message)
    if too_long is not None:
        return too_long
    return RelayError(
        status,
        f"upstream error mid-stream: {message}",
        kind=kind_for_status(status),
        retryable=status in (429, 500, 502, 503, 504, 529),
    )


def upstream_fault(message: str) -> RelayError:
    """A 502 for an answer the upstream got wrong (empty, malformed, cut off): worth trying
    the next provider, so it is retryable."""
    return RelayError(502, message, kind=ErrorKind.UPSTREAM, retryable=True)
