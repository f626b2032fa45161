"""The ``azure`` provider: Azure OpenAI Chat Completions, by deployment URL or the v1 route.

The body, the answer and the stream are OpenAI Chat Completions, so this strategy *is* the
``openai`` strategy (``providers/openai/``, imported through the package as
``ccrelay.providers.openai``, not copied) with Azure's addressing, key header and errors:

| what | Azure |
|---|---|
| URL, deployments route (default) | ``{base_url}/openai/deployments/{deployment}/chat/completions?api-version={api_version}`` |
| URL, v1 route | ``{base_url}/openai/v1/chat/completions`` (no ``api-version`` unless set); the body's ``model`` is the deployment name |
| key | ``api-key: <key>`` header; ``options.auth: bearer`` sends ``Authorization: Bearer <key>`` (a Microsoft Entra ID token) |
| ``finish_reason: content_filter`` | stop_reason ``refusal``; when nothing was generated, a text block names the filtered categories so the user sees why |
| 400 ``code: content_filter`` | a 400 naming the categories Azure's filter flagged and how to proceed |
| 404 ``DeploymentNotFound`` / "Resource not found" | a 404 naming the deployment, route and ``api_version`` to check |
| 401 | a 401 saying which header was sent |
| 429 ``retry-after-ms`` only | ``retry-after`` in seconds for the client |

Options (``providers.<name>.options``), besides every ``openai`` option (``max_output_tokens``,
``reasoning_effort``, ``max_completion_tokens``, ...; its model table reads the deployment name,
so name deployments after their model or set those options):

- ``deployment`` (str): the deployment name; default: the provider's ``model`` (else the
  client's model name).
- ``api_version`` (str): default ``2024-10-21``, the latest GA version of the data-plane
  inference API (Azure OpenAI REST reference). o-series ``reasoning_effort`` needs
  ``2024-12-01-preview`` or later, or the v1 route.
- ``route`` (``deployments`` | ``v1``): default ``v1`` when ``base_url`` ends in ``/openai/v1``,
  else ``deployments``.
- ``auth`` (``api-key`` | ``bearer``): default ``api-key``.

``base_url`` is the resource endpoint, ``https://<resource>.openai.azure.com`` (also
``*.cognitiveservices.azure.com`` and ``*.services.ai.azure.com``), with or without a
trailing ``/openai`` or ``/openai/v1``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from typing import Any, ClassVar
from urllib.parse import quote

from ccrelay.core.config import ProviderConfig
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.provider import RequestContext, SSEEvent, UpstreamRequest
from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse
from ccrelay.providers.openai import OpenAIProvider

from .filters import filtered_categories, with_filter_notice, with_filter_notice_stream

DEFAULT_API_VERSION = "2024-10-21"
_ROUTES = ("deployments", "v1")
_AUTHS = ("api-key", "bearer")


@hookimpl
def ccrelay_register_providers(register: Any) -> None:
    register(AzureProvider)


class AzureProvider(OpenAIProvider):
    """Azure OpenAI Chat Completions: the OpenAI strategy with Azure URLs, key and errors."""

    name: ClassVar[str] = "azure"
    description: ClassVar[str] = "Azure OpenAI Chat Completions (deployment URLs or the v1 API)"
    base_url_suffixes: ClassVar[tuple[str, ...]] = (
        ".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com",
    )  # fmt: skip
    option_keys: ClassVar[frozenset[str]] = OpenAIProvider.option_keys | {
        "deployment", "api_version", "route", "auth",
    }  # fmt: skip

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> list[str]:
        problems = list(super().check_options(options))
        for key in ("deployment", "api_version"):
            if key in options and not (isinstance(options[key], str) and options[key]):
                problems.append(f"{key}: got {options[key]!r}; expected a non-empty string")
        for key, allowed in (("route", _ROUTES), ("auth", _AUTHS)):
            if key in options and options[key] not in allowed:
                problems.append(f"{key}: got {options[key]!r}; expected {' or '.join(allowed)}")
        return problems

    def convert_request(self, req: CanonicalRequest, ctx: RequestContext) -> UpstreamRequest:
        upreq = super().convert_request(req, ctx)
        opts = ctx.provider.options
        deployment = deployment_of(ctx)
        base = ctx.provider.base_url.rstrip("/")
        query: dict[str, str] = {}
        if route_of(ctx.provider) == "v1":
            path = "/chat/completions" if base.endswith("/openai/v1") else (
                "/v1/chat/completions" if base.endswith("/openai") else "/openai/v1/chat/completions"
            )  # fmt: skip
            if "api_version" in opts:  # v1 GA needs none; "preview" opts into preview features
                query["api-version"] = str(opts["api_version"])
            body = {**(upreq.body or {}), "model": deployment}
        else:
            prefix = "" if base.endswith("/openai") else "/openai"
            path = f"{prefix}/deployments/{quote(deployment, safe='')}/chat/completions"
            query["api-version"] = str(opts.get("api_version", DEFAULT_API_VERSION))
            body = upreq.body or {}
        return replace(upreq, path=path, body=body, query=query)

    def auth_headers(self, provider: ProviderConfig) -> dict[str, str]:
        if provider.options.get("auth") == "bearer":
            return {"authorization": f"Bearer {provider.api_key}"}
        return {"api-key": provider.api_key}

    def convert_response(self, body: Any, ctx: RequestContext) -> CanonicalResponse:
        return with_filter_notice(super().convert_response(body, ctx), body)

    def stream(self, events: Iterable[SSEEvent], ctx: RequestContext) -> Iterator[CanonicalEvent]:
        return with_filter_notice_stream(
            events, lambda evs: super(AzureProvider, self).stream(evs, ctx)
        )

    def map_error(self, status: int, body: Any, headers: Mapping[str, str]) -> RelayError:
        err = super().map_error(status, body, headers)
        code = _code(body)
        if "retry-after" not in err.headers and "retry-after-ms" in headers:
            try:
                seconds = math.ceil(float(headers["retry-after-ms"]) / 1000)
                err = err.evolve(headers={**err.headers, "retry-after": str(max(1, seconds))})
            except ValueError:
                pass
        if code == "content_filter" or (status == 400 and filtered_categories(body)):
            cats = ", ".join(filtered_categories(body)) or "unspecified"
            return err.evolve(
                message=f"Azure's content filter blocked the prompt (flagged: {cats}). Rephrase "
                "the request, or review the content filter of this Azure deployment.",
                kind=ErrorKind.INVALID_REQUEST,
            )
        if status == 404:
            return err.evolve(
                message=f"{err.message} (Azure: check the deployment name (providers model or "
                "options.deployment), options.route and options.api_version, and that base_url "
                "is https://<resource>.openai.azure.com)"
            )
        if status == 401:
            return err.evolve(
                message=f"{err.message} (Azure: ccrelay sent the key in the api-key header; "
                "set options.auth: bearer for a Microsoft Entra ID token)"
            )
        return err


def deployment_of(ctx: RequestContext) -> str:
    """The deployment a request goes to: ``options.deployment``, else the upstream model."""
    return str(ctx.provider.options.get("deployment") or ctx.model)


def route_of(provider: ProviderConfig) -> str:
    route = provider.options.get("route")
    if route in _ROUTES:
        return str(route)
    return "v1" if provider.base_url.rstrip("/").endswith("/openai/v1") else "deployments"


def _code(body: Any) -> str:
    err = body.get("error") if isinstance(body, dict) else None
    return str(err.get("code") or "") if isinstance(err, dict) else ""
