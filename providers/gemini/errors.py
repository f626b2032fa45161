"""Gemini error bodies (``{"error": {code, message, status, details}}``, sometimes wrapped in a
list) to ``RelayError``s with the right kind, status and ``retry-after`` (gemini.md §10).

| Gemini                                   | client sees                                  |
|------------------------------------------|----------------------------------------------|
| 400 INVALID_ARGUMENT, reason API_KEY_... | 401 authentication (check the provider key)  |
| 400 "input token count ... exceeds"      | 400 context too long (Claude Code compacts)  |
| 400 INVALID_ARGUMENT, FAILED_PRECONDITION| 400 invalid request, Gemini's message        |
| 401 UNAUTHENTICATED / 403 PERMISSION_... | 401 / 403                                    |
| 404 NOT_FOUND                            | 404, naming the model to check               |
| 429 RESOURCE_EXHAUSTED                   | 429 rate limited, retry-after from RetryInfo |
| 500 INTERNAL / 503 UNAVAILABLE / 504     | 500 / 503 overloaded / 504 timeout           |
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ccrelay.core.errors import ErrorKind, RelayError, context_length_error, kind_for_status

_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
_SECONDS = re.compile(r"^(\d+)(?:\.\d+)?s$")


def _error_object(body: Any) -> dict[str, Any]:
    if isinstance(body, list) and body:
        body = body[0]
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return err
        if isinstance(err, str):
            return {"message": err}
    if isinstance(body, str):
        return {"message": body.strip()[:500]}
    return {}


def error_from(
    status: int, body: Any, headers: Mapping[str, str], provider: str | None = None
) -> RelayError:
    """The ``RelayError`` for a Gemini error answer (HTTP ``status``, decoded ``body``);
    ``provider`` names the config section in hints (core prefixes the provider otherwise)."""
    section = f"providers.{provider}" if provider else "the provider's config"
    err = _error_object(body)
    message = str(err.get("message") or f"Gemini answered HTTP {status}")
    gstatus = str(err.get("status") or "")
    status = _STATUS.get(gstatus, status) if not 400 <= status < 600 else status
    details = err.get("details") if isinstance(err.get("details"), list) else []
    reasons = {d.get("reason") for d in details if isinstance(d, dict)}
    out_headers: dict[str, str] = {}
    if "retry-after" in headers:
        out_headers["retry-after"] = headers["retry-after"]
    for detail in details:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        m = _SECONDS.match(delay) if isinstance(delay, str) else None
        if m and "retry-after" not in out_headers:
            out_headers["retry-after"] = m.group(1)
    if "API_KEY_INVALID" in reasons or "API_KEY_EXPIRED" in reasons or status == 401:
        return RelayError(
            401,
            f"Gemini rejected the API key ({message}); check api_key in {section}",
            kind=ErrorKind.AUTHENTICATION,
        )
    too_long = context_length_error(400 if status == 400 else status, body, message)
    if too_long is not None:
        return too_long
    if status == 404:
        message = f"{message} (check the model name in {section})"
    kind = kind_for_status(status)
    if gstatus == "UNAVAILABLE":
        kind = ErrorKind.OVERLOADED
    return RelayError(
        status if 400 <= status < 600 else 502, message, kind=kind, headers=out_headers
    )


def stream_error(chunk: Any, provider: str) -> RelayError:
    """The error for an ``{"error": ...}`` object in a 200 answer: a stream chunk, or a body."""
    err = _error_object(chunk)
    code = err.get("code")
    status = (
        code
        if isinstance(code, int) and 400 <= code < 600
        else _STATUS.get(str(err.get("status") or ""), 502)
    )
    out = error_from(status, chunk, {}, provider)
    retry = out.status in (408, 429) or out.status >= 500
    return out.evolve(message=f"provider {provider}: {out.message}", retryable=retry)
