"""The shape of a Chat Completions request body: every field the dialect reads, typed.

``validate(REQUEST, body)`` runs before ``parse.py`` reads anything, so a wrong type anywhere
is a 400 naming its path (``messages.2.tool_calls.0.function.arguments: expected a string``).
Fields the dialect only carries (``presence_penalty``, vendor extras) are not declared: they
travel to a same-protocol upstream as the client sent them. Wire reference:
``shared/protocols/openai-chat.md`` §2-§4.
"""

from __future__ import annotations

from ccrelay.core.schema import (
    ANY,
    BOOL,
    NUM,
    OBJECT,
    STR,
    Spec,
    enum,
    int_range,
    list_of,
    non_empty_str,
    nullable,
    obj,
    one_of,
    tagged,
)

_TEXT_PART = obj({"text": STR, "cache_control": OBJECT}, required=("text",))
_IMAGE_URL = one_of(
    obj({"url": STR, "detail": STR}, required=("url",), desc="an object {url, detail}"),
    STR,  # Ollama and some compatible clients send the URL as a bare string
    desc="an object {url, detail} or a URL string",
)
_FILE = obj({"file_data": STR, "file_id": STR, "filename": STR})
#: user content parts (openai-chat.md §3)
USER_PART = tagged(
    "type",
    {
        "text": _TEXT_PART,
        "image_url": obj({"image_url": _IMAGE_URL}, required=("image_url",)),
        "input_audio": OBJECT,
        "file": obj({"file": _FILE}, required=("file",)),
    },
    desc="a content part",
)
_TEXT_ONLY = tagged("type", {"text": _TEXT_PART}, desc="a text part")
_ASSISTANT_PART = tagged(
    "type",
    {"text": _TEXT_PART, "refusal": obj({"refusal": STR}, required=("refusal",))},
    desc="a text or refusal part",
)
TOOL_CALL = obj(
    {
        "id": STR,
        "type": STR,
        "function": obj(
            {"name": STR, "arguments": STR},
            required=("name",),
            desc="an object {name, arguments}",
        ),
    },
    required=("id",),
    desc="a tool call {id, type, function}",
)


def _content(part: Spec, desc: str) -> Spec:
    return nullable(one_of(STR, list_of(part), desc=desc))


MESSAGE = tagged(
    "role",
    {
        "system": obj({"content": _content(_TEXT_ONLY, "a string or text parts"), "name": STR}),
        "developer": obj({"content": _content(_TEXT_ONLY, "a string or text parts"), "name": STR}),
        "user": obj(
            {"content": _content(USER_PART, "a string or a list of content parts"), "name": STR},
            required=("content",),
        ),
        "assistant": obj(
            {
                "content": _content(_ASSISTANT_PART, "a string, text parts or null"),
                "name": STR,
                "tool_calls": nullable(list_of(TOOL_CALL)),
                "reasoning_content": nullable(STR),
                "reasoning": nullable(STR),
                "refusal": nullable(STR),
            }
        ),
        "tool": obj(
            {"content": _content(_TEXT_ONLY, "a string or text parts"), "tool_call_id": STR},
            required=("tool_call_id",),
        ),
        "function": OBJECT,  # deprecated; parse.py names the replacement
    },
    desc="a message",
)
TOOL = tagged(
    "type",
    {
        "function": obj(
            {
                "function": obj(
                    {
                        "name": non_empty_str(),
                        "description": nullable(STR),
                        "parameters": nullable(OBJECT),
                        "strict": nullable(BOOL),
                    },
                    required=("name",),
                    desc="an object {name, description, parameters}",
                )
            },
            required=("function",),
        ),
        "custom": OBJECT,
    },
    desc="a tool",
)
_NAMED = obj({"name": non_empty_str()}, required=("name",), desc="an object {name}")
_TOOL_CHOICE = one_of(
    enum("none", "auto", "required", desc="'none', 'auto' or 'required'"),
    tagged(
        "type",
        {
            "function": obj({"function": _NAMED}, required=("function",)),
            "allowed_tools": obj(
                {
                    "allowed_tools": obj(
                        {"mode": enum("auto", "required"), "tools": list_of(OBJECT)},
                        required=("mode", "tools"),
                    )
                },
                required=("allowed_tools",),
            ),
            "custom": OBJECT,
        },
        desc="a tool choice",
    ),
    desc="'none', 'auto', 'required' or a tool choice object",
)
_RESPONSE_FORMAT = tagged(
    "type",
    {
        "text": obj(),
        "json_object": obj(),
        "json_schema": obj(
            {
                "json_schema": obj(
                    {"name": STR, "schema": OBJECT, "strict": nullable(BOOL), "description": STR},
                    required=("name",),
                    desc="an object {name, schema, strict}",
                )  # fmt: skip
            },
            required=("json_schema",),
        ),
    },
    desc="a response format",
)

#: the request body (openai-chat.md §2); undeclared fields are carried, not read
REQUEST = obj(
    {
        "model": non_empty_str(),
        "messages": list_of(MESSAGE, desc="a list of messages"),
        "stream": nullable(BOOL),
        "stream_options": nullable(obj({"include_usage": BOOL, "include_obfuscation": BOOL})),
        "max_tokens": nullable(int_range(1)),
        "max_completion_tokens": nullable(int_range(1)),
        "temperature": nullable(NUM),
        "top_p": nullable(NUM),
        "top_k": nullable(int_range(0)),
        "n": nullable(int_range(1)),
        "stop": nullable(one_of(STR, list_of(STR), desc="a string or a list of strings")),
        "tools": nullable(list_of(TOOL)),
        "tool_choice": nullable(_TOOL_CHOICE),
        "parallel_tool_calls": nullable(BOOL),
        "response_format": nullable(_RESPONSE_FORMAT),
        "reasoning_effort": nullable(STR),
        "user": nullable(STR),
        "modalities": nullable(list_of(STR)),
        "audio": ANY,
        "functions": ANY,
        "function_call": ANY,
    },
    required=("model", "messages"),
    desc="a JSON object",
)
