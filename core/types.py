"""The canonical wire shapes: Anthropic Messages request, response and stream events.

Every inbound dialect converts to these shapes and every provider strategy converts from
them, so N client protocols and M upstreams need N + M converters. The shapes are plain
dicts (cheap to build, cheap to serialise); these ``TypedDict``s document them. The wire
reference is ``shared/protocols/anthropic-messages.md``.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, TypedDict

if sys.version_info >= (3, 11):
    from typing import NotRequired
else:  # pragma: no cover - Python 3.10
    from typing_extensions import NotRequired

# --- content blocks (anthropic-messages.md §4) -------------------------------------------


class TextBlock(TypedDict):
    type: Literal["text"]
    text: str
    cache_control: NotRequired[dict[str, Any]]


class ImageSource(TypedDict):
    type: Literal["base64", "url"]
    media_type: NotRequired[str]
    data: NotRequired[str]
    url: NotRequired[str]


class ImageBlock(TypedDict):
    type: Literal["image"]
    source: ImageSource


class ToolUseBlock(TypedDict):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ToolResultBlock(TypedDict):
    type: Literal["tool_result"]
    tool_use_id: str
    content: NotRequired[str | list[dict[str, Any]]]
    is_error: NotRequired[bool]
    cache_control: NotRequired[dict[str, Any]]


class ThinkingBlock(TypedDict):
    type: Literal["thinking"]
    thinking: str
    signature: NotRequired[str]


class RedactedThinkingBlock(TypedDict):
    type: Literal["redacted_thinking"]
    data: str


ContentBlock = (
    TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock
)


class Message(TypedDict):
    # "system" is Claude Code's mid-conversation system message (beta); strategies decide.
    role: Literal["user", "assistant", "system"]
    content: str | list[ContentBlock]


class Tool(TypedDict):
    name: str
    description: NotRequired[str]
    input_schema: dict[str, Any]
    cache_control: NotRequired[dict[str, Any]]
    type: NotRequired[str]


class CanonicalRequest(TypedDict):
    """``POST /v1/messages`` body (anthropic-messages.md §2). Unknown top-level fields stay in
    the dict: each strategy decides, and documents, what it converts or drops."""

    model: str
    messages: list[Message]
    max_tokens: int
    system: NotRequired[str | list[TextBlock]]
    stream: NotRequired[bool]
    tools: NotRequired[list[Tool]]
    tool_choice: NotRequired[dict[str, Any]]
    temperature: NotRequired[float]
    top_p: NotRequired[float]
    top_k: NotRequired[int]
    stop_sequences: NotRequired[list[str]]
    metadata: NotRequired[dict[str, Any]]
    thinking: NotRequired[dict[str, Any]]
    output_config: NotRequired[dict[str, Any]]
    context_management: NotRequired[dict[str, Any]]


class Usage(TypedDict):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: NotRequired[int]
    cache_read_input_tokens: NotRequired[int]
    #: ``{"reasoning_tokens": n}`` when the backend says how much of the output was thinking
    output_tokens_details: NotRequired[dict[str, int]]


StopReason = Literal["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"]


class CanonicalResponse(TypedDict):
    """Non-streaming Messages response (anthropic-messages.md §7)."""

    id: str
    type: Literal["message"]
    role: Literal["assistant"]
    model: str
    content: list[ContentBlock]
    stop_reason: StopReason | None
    stop_sequence: str | None
    usage: Usage


# A stream event is the ``data`` object of one Anthropic SSE event; its ``type`` is the
# event name (message_start, content_block_start, content_block_delta, content_block_stop,
# message_delta, message_stop, ping, error). anthropic-messages.md §8.
CanonicalEvent = dict[str, Any]
