"""The Anthropic Messages dialect: validate inbound requests at the edge, render answers.

The canonical form *is* this protocol, so parsing is validation: each check names the field
and says how to fix it, in the error shape the SDKs parse (anthropic-messages.md §11).
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.errors import InvalidRequest
from ccrelay.core.types import CanonicalRequest

_ROLES = {"user", "assistant", "system"}


def parse_messages_request(body: Any, *, count_tokens: bool = False) -> CanonicalRequest:
    """Check a decoded ``POST /v1/messages`` body and return it as a canonical request.

    The structure is checked where a wrong type would otherwise fail deep inside a converter;
    content is not rewritten. ``count_tokens`` bodies need no ``max_tokens``.

    :raises InvalidRequest: naming the first problem (``messages.2.content: ...``).
    """
    if not isinstance(body, dict):
        raise InvalidRequest("request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: Field required (a model name string, e.g. claude-sonnet-4-5)")
    if not count_tokens:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise InvalidRequest("max_tokens: Field required")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
            raise InvalidRequest(f"max_tokens: expected a non-negative integer, got {max_tokens!r}")
    messages = body.get("messages")
    if messages is None:
        raise InvalidRequest("messages: Field required")
    if not isinstance(messages, list):
        raise InvalidRequest("messages: expected a list of {role, content} objects")
    for i, msg in enumerate(messages):
        _check_message(msg, f"messages.{i}")
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        if not isinstance(system, list):
            raise InvalidRequest("system: expected a string or a list of text blocks")
        for j, block in enumerate(system):
            if not isinstance(block, dict) or block.get("type") != "text":
                raise InvalidRequest(f"system.{j}: expected a text block {{type: text, text}}")
            if not isinstance(block.get("text"), str):
                raise InvalidRequest(f"system.{j}.text: expected a string")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("stream: expected true or false")
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list):
            raise InvalidRequest("tools: expected a list")
        for j, tool in enumerate(tools):
            if not isinstance(tool, dict):
                raise InvalidRequest(f"tools.{j}: expected an object")
            if not isinstance(tool.get("name"), str):
                raise InvalidRequest(f"tools.{j}.name: Field required")
            if "input_schema" in tool and not isinstance(tool["input_schema"], dict):
                raise InvalidRequest(f"tools.{j}.input_schema: expected a JSON schema object")
    for key, kinds in (
        ("temperature", (int, float)),
        ("top_p", (int, float)),
        ("top_k", (int,)),
        ("tool_choice", (dict,)),
        ("thinking", (dict,)),
        ("metadata", (dict,)),
        ("stop_sequences", (list,)),
    ):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kinds)):
            raise InvalidRequest(f"{key}: wrong type ({type(value).__name__})")
    return body  # type: ignore[return-value]


def _check_message(msg: Any, where: str) -> None:
    if not isinstance(msg, dict):
        raise InvalidRequest(f"{where}: expected an object with role and content")
    role = msg.get("role")
    if role not in _ROLES:
        raise InvalidRequest(f"{where}.role: expected 'user' or 'assistant', got {role!r}")
    if "content" not in msg:
        raise InvalidRequest(f"{where}.content: Field required")
    content = msg["content"]
    if isinstance(content, str):
        return
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content: expected a string or a list of content blocks")
    for k, block in enumerate(content):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            raise InvalidRequest(f"{where}.content.{k}: expected a block with a 'type'")
        btype = block["type"]
        if btype == "text" and not isinstance(block.get("text"), str):
            raise InvalidRequest(f"{where}.content.{k}.text: expected a string")
        elif btype == "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise InvalidRequest(f"{where}.content.{k}: tool_use needs string id and name")
            if not isinstance(block.get("input", {}), dict):
                raise InvalidRequest(f"{where}.content.{k}.input: expected an object")
        elif btype == "tool_result" and not isinstance(block.get("tool_use_id"), str):
            raise InvalidRequest(f"{where}.content.{k}.tool_use_id: Field required")
        elif btype == "image" and not isinstance(block.get("source"), dict):
            raise InvalidRequest(f"{where}.content.{k}.source: Field required")
