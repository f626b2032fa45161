"""A scripted Azure OpenAI resource: checks URLs, ``api-version`` and the key header the way
Azure does before answering from the script, and builds Azure-shaped chunks and bodies
(``prompt_filter_results`` first, ``content_filter_results`` on choices).

Shapes follow Azure OpenAI's REST reference and error docs: deployment routes
``/openai/deployments/{deployment}/chat/completions?api-version=...``, the v1 route
``/openai/v1/chat/completions`` (deployment in the body's ``model``), ``api-key`` header or
``Authorization: Bearer``, 401 / ``DeploymentNotFound`` / "Resource not found" error bodies.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.upstream import FakeUpstream, Recorded, Reply

_DEPLOYMENT_PATH = re.compile(r"^/openai/deployments/([^/]+)/chat/completions$")
_V1_PATH = "/openai/v1/chat/completions"
SAFE = {name: {"filtered": False, "severity": "safe"}
        for name in ("hate", "self_harm", "sexual", "violence")}  # fmt: skip


def filter_results(**flagged: str) -> dict[str, Any]:
    """Content-filter results with the given categories flagged at a severity."""
    return {**SAFE, **{k: {"filtered": True, "severity": v} for k, v in flagged.items()}}


class AzureUpstream(FakeUpstream):
    """Answers only requests a real Azure resource would accept; the rest get Azure's errors.

    :param key: the resource key (sent in ``api-key``) or Entra token (``Authorization``).
    :param deployments: deployment names that exist.
    """

    def __init__(
        self, key: str = "azure-key-123456", deployments: tuple[str, ...] = ("gpt-4o-dep",)
    ):
        super().__init__()
        self.key = key
        self.deployments = deployments

    def answer(self, rec: Recorded) -> Reply | None:
        parts = urlsplit(rec.path)
        query = parse_qs(parts.query)
        if rec.headers.get("api-key") != self.key and rec.headers.get("authorization") != (
            f"Bearer {self.key}"
        ):
            return Reply(401, json={"error": {"code": "401", "message": (
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                "to provide a valid key for an active subscription and use a correct regional "
                "API endpoint for your resource.")}})  # fmt: skip
        match = _DEPLOYMENT_PATH.match(parts.path)
        if match:
            if "api-version" not in query:
                return Reply(404, json={"error": {"code": "404", "message": "Resource not found"}})
            deployment = match.group(1)
        elif parts.path == _V1_PATH:
            deployment = (rec.body or {}).get("model", "")
        else:
            return Reply(404, json={"error": {"code": "404", "message": "Resource not found"}})
        if deployment not in self.deployments:
            return Reply(404, json={"error": {"code": "DeploymentNotFound", "message": (
                "The API deployment for this resource does not exist. If you created the "
                "deployment within the last 5 minutes, please wait a moment and try again.")}})  # fmt: skip
        return super().answer(rec)


def prompt_chunk() -> dict[str, Any]:
    """Azure's first stream chunk: no choices, the prompt's filter results."""
    return {"choices": [], "created": 0, "id": "", "model": "", "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}]}  # fmt: skip


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None,
          filters: dict[str, Any] | None = None, usage: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    choice: dict[str, Any] = {"index": 0, "delta": delta or {}, "finish_reason": finish,
                              "content_filter_results": filters if filters is not None else SAFE}  # fmt: skip
    out: dict[str, Any] = {"id": "chatcmpl-az", "object": "chat.completion.chunk", "created": 1,
                           "model": "gpt-4o-2024-11-20", "choices": [] if delta is None and
                           finish is None else [choice]}  # fmt: skip
    if usage is not None:
        out["usage"] = usage
    return out


def completion(message: dict[str, Any], finish: str = "stop",
               filters: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "id": "chatcmpl-az", "object": "chat.completion", "created": 1,
        "model": "gpt-4o-2024-11-20",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": SAFE}],
        "choices": [{"index": 0, "message": {"role": "assistant", **message},
                     "finish_reason": finish,
                     "content_filter_results": filters if filters is not None else SAFE}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25,
                  "prompt_tokens_details": {"cached_tokens": 0}},
    }  # fmt: skip


def prompt_filtered_error(**flagged: str) -> dict[str, Any]:
    """The 400 body Azure answers when the prompt trips the content filter."""
    return {"error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
                   "content management policy. Please modify your prompt and retry.",
        "type": None, "param": "prompt", "code": "content_filter", "status": 400,
        "innererror": {"code": "ResponsibleAIPolicyViolation",
                       "content_filter_result": filter_results(**flagged)},
    }}  # fmt: skip
