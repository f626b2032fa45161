"""OpenAI's error body, ``{"error": {"message", "type", "param", "code"}}``, built once for both
OpenAI client dialects (``openai_chat``, ``openai_responses``).

Not a dialect: ``core/plugins.py`` loads no module of ``core/dialects/`` whose name starts
with an underscore. ``SHARED`` holds the ``(type, code)`` both dialects give a kind; each
dialect builds one ``OpenAIErrors`` with the kinds its clients read in their own words (its
table is in its module docstring), the status its clients expect and the message extras.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ccrelay.core.dialect import Rendered
from ccrelay.core.errors import ErrorKind, RelayError

Shape = tuple[str, str | None]  # (type, code)

#: (type, code) of the kinds both OpenAI dialects word alike (openai-chat.md §8). OpenAI
#: reports a bad key as an invalid_request_error with code invalid_api_key.
SHARED: Mapping[ErrorKind, Shape] = MappingProxyType(
    {
        ErrorKind.INVALID_REQUEST: ("invalid_request_error", None),
        ErrorKind.CONTEXT_TOO_LONG: ("invalid_request_error", "context_length_exceeded"),
        ErrorKind.AUTHENTICATION: ("invalid_request_error", "invalid_api_key"),
        ErrorKind.BILLING: ("insufficient_quota", "insufficient_quota"),
        ErrorKind.PERMISSION: ("permission_error", None),
        ErrorKind.TOO_LARGE: ("invalid_request_error", "request_too_large"),
        ErrorKind.RATE_LIMITED: ("rate_limit_error", "rate_limit_exceeded"),
    }
)


class OpenAIErrors:
    """One OpenAI dialect's error wording.

    :param own: ``(type, code)`` of the kinds this dialect words its own way (over ``SHARED``).
    :param fallback: ``(type, code)`` of a kind neither table names.
    :param context_param: the ``param`` of a context-too-long error that names no field.
    :param retry_hint: a rate-limit message gains "Please try again in Ns." from
        ``retry-after`` (the phrase Codex waits on).
    :param statuses: HTTP statuses these clients get instead (Anthropic's 529 -> 503).
    """

    def __init__(
        self,
        own: Mapping[ErrorKind, Shape],
        *,
        fallback: Shape,
        context_param: str | None = None,
        retry_hint: bool = False,
        statuses: Mapping[int, int] | None = None,
    ) -> None:
        self.table: dict[ErrorKind, Shape] = {**SHARED, **own}
        self.fallback = fallback
        self.context_param = context_param
        self.retry_hint = retry_hint
        self.statuses: Mapping[int, int] = statuses or {}

    def error(self, err: RelayError) -> dict[str, Any]:
        """``{"message", "type", "param", "code"}`` for ``err``; a ``not_found`` about a
        model is ``model_not_found``."""
        etype, code = self.table.get(err.kind, self.fallback)
        message = err.message
        if code == "not_found" and "model" in message.lower() and "no route" not in message:
            code = "model_not_found"
        if self.retry_hint and err.kind is ErrorKind.RATE_LIMITED:
            retry = err.headers.get("retry-after")
            if retry and "try again in" not in message.lower():
                message = f"{message} Please try again in {retry}s."
        param = err.param
        if param is None and err.kind is ErrorKind.CONTEXT_TOO_LONG:
            param = self.context_param
        return {"message": message, "type": etype, "param": param, "code": code}

    def status(self, err: RelayError) -> int:
        """The HTTP status these clients get for ``err``."""
        return self.statuses.get(err.status, err.status)

    def render(self, err: RelayError) -> Rendered:
        """The whole answer: ``{"error": ...}``, the status, ``err``'s headers (retry-after)."""
        return Rendered({"error": self.error(err)}, self.status(err), err.headers)
