"""The shape of a ``POST /v1/responses`` body: every field the dialect reads, typed.

``validate(REQUEST, body)`` runs before anything is read (``core/schema.py``), so a wrong type
anywhere is a 400 naming its path. Fields that are not declared here are never read: they
travel unchanged in the side field (``request.py``). Wire reference:
``shared/protocols/openai-responses.md`` §2-§4.
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.schema import (
    ANY,
    BOOL,
    OBJECT,
    STR,
    SchemaError,
    Spec,
    enum,
    int_range,
    list_of,
    non_empty_str,
    nullable,
    num_range,
    obj,
    one_of,
    tagged,
)

#: reasoning efforts the API knows (``none`` and ``xhigh`` on newer models)
EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh")

# --- content parts (§3) ------------------------------------------------------------------

_TEXT = obj({"text": STR}, required=("text",), desc="a text part {type, text}")
_IMAGE = obj({"image_url": nullable(STR), "file_id": nullable(STR), "detail": nullable(STR)})
_FILE = obj(
    {"file_data": nullable(STR), "file_url": nullable(STR), "file_id": nullable(STR),
     "filename": nullable(STR)},
)  # fmt: skip
PART = tagged(
    "type",
    {
        "input_text": _TEXT,
        "output_text": obj(
            {"text": STR, "annotations": nullable(list_of(ANY))}, required=("text",)
        ),  # fmt: skip
        "refusal": obj({"refusal": STR}, required=("refusal",)),
        "input_image": _IMAGE,
        "input_file": _FILE,
        "input_audio": OBJECT,  # declared so the converter can name it in its 400
    },
    desc="a content part",
)
_CONTENT = one_of(STR, list_of(PART), desc="a string or a list of content parts")
#: what a tool may return: a string or a list of input parts
OUTPUT = one_of(STR, list_of(PART), desc="a string or a list of input parts")
_ID = nullable(STR)

# --- tools (§4) ----------------------------------------------------------------------------

_GRAMMAR = obj(
    {"syntax": enum("lark", "regex"), "definition": STR},
    required=("syntax", "definition"),
)
_CUSTOM_FORMAT = tagged(
    "type", {"text": obj(), "grammar": _GRAMMAR}, desc="a custom tool format"
)  # fmt: skip
_FUNCTION_TOOLS = {
    "function": obj(
        {
            "name": non_empty_str(),
            "description": nullable(STR),
            "parameters": nullable(OBJECT),
            "strict": nullable(BOOL),
        },
        required=("name",),
    ),
    "custom": obj(
        {"name": non_empty_str(), "description": nullable(STR), "format": nullable(_CUSTOM_FORMAT)},
        required=("name",),
    ),
}
# Hosted tools (web_search, file_search, tool_search, mcp ...) have shapes of their own:
# a Responses backend receives them as sent; other backends never see them.
_INNER_TOOL = tagged("type", _FUNCTION_TOOLS, other=OBJECT, desc="a tool")
TOOL = tagged(
    "type",
    {
        **_FUNCTION_TOOLS,
        "namespace": obj(
            {"name": non_empty_str(), "description": nullable(STR),
             "tools": list_of(_INNER_TOOL)},
            required=("name", "tools"),
        ),
    },
    other=OBJECT,
    desc="a tool",
)  # fmt: skip

# --- input items (§3) --------------------------------------------------------------------

MESSAGE = obj(
    {
        "role": enum("user", "assistant", "system", "developer",
                     desc="'user', 'assistant', 'system' or 'developer'"),
        "content": _CONTENT,
        "id": _ID,
    },
    required=("role", "content"),
    desc="a message {role, content}",
)  # fmt: skip
_SUMMARY = obj({"text": STR}, required=("text",), desc="a summary part {type, text}")
ITEM_TYPES: dict[str, Spec] = {
    "message": MESSAGE,
    "function_call": obj(
        {
            "call_id": non_empty_str(),
            "name": non_empty_str(),
            "arguments": STR,
            "id": _ID,
            "namespace": nullable(STR),
        },
        required=("call_id", "name", "arguments"),
    ),
    "function_call_output": obj(
        {"call_id": non_empty_str(), "output": OUTPUT, "id": _ID},
        required=("call_id", "output"),
    ),
    "custom_tool_call": obj(
        {
            "call_id": non_empty_str(),
            "name": non_empty_str(),
            "input": STR,
            "id": _ID,
            "namespace": nullable(STR),
        },
        required=("call_id", "name", "input"),
    ),
    "custom_tool_call_output": obj(
        {"call_id": non_empty_str(), "output": OUTPUT, "id": _ID},
        required=("call_id", "output"),
    ),
    "reasoning": obj(
        {
            "id": _ID,
            "summary": nullable(list_of(_SUMMARY)),
            "content": nullable(list_of(obj({"text": STR}, required=("text",)))),
            "encrypted_content": nullable(STR),
        },
    ),
    "item_reference": obj({"id": STR}),
    # Codex 0.147+ declares its tools here for its default models (tools.py reads them)
    "additional_tools": obj(
        {"role": nullable(STR), "tools": list_of(TOOL), "id": _ID}, required=("tools",)
    ),
}


def _item() -> Spec:
    """An input item: typed (``{"type": ...}``), or an "easy" message with a role and no type."""
    typed = tagged("type", ITEM_TYPES, other=OBJECT, desc="an input item")
    typed_check, message_check = typed.check, MESSAGE.check

    def check(v: Any) -> None:
        if type(v) is dict and "type" not in v:
            if "role" not in v:
                raise SchemaError("an input item (an object with a 'type' or a 'role')", v)
            message_check(v)
        else:
            typed_check(v)

    return Spec(check, "an input item", typed.fields, alts=(*typed.alts, MESSAGE))


ITEM = _item()

_NAMED = obj({"name": non_empty_str(), "namespace": nullable(STR)}, required=("name",))
TOOL_CHOICE = one_of(
    enum("auto", "none", "required", desc="'auto', 'none' or 'required'"),
    tagged(
        "type",
        {
            "function": _NAMED,
            "custom": _NAMED,
            "allowed_tools": obj(
                {"mode": enum("auto", "required"), "tools": list_of(OBJECT)},
                required=("mode", "tools"),
            ),
        },
        other=OBJECT,
        desc="a tool choice",
    ),
    desc="'auto', 'none', 'required' or a tool choice object",
)

# --- the body (§2) -------------------------------------------------------------------------

_FORMAT = tagged(
    "type",
    {
        "text": obj(),
        "json_object": obj(),
        "json_schema": obj(
            {"name": nullable(STR), "schema": OBJECT, "strict": nullable(BOOL),
             "description": nullable(STR)},
            required=("schema",),
        ),
    },
    desc="a text format",
)  # fmt: skip
REQUEST = obj(
    {
        "model": non_empty_str(),
        "input": one_of(STR, list_of(ITEM), desc="a string or a list of input items"),
        "instructions": nullable(STR),
        "stream": nullable(BOOL),
        "max_output_tokens": nullable(int_range(1)),
        "temperature": nullable(num_range(0, 2)),
        "top_p": nullable(num_range(0, 1)),
        "tools": nullable(list_of(TOOL)),
        "tool_choice": nullable(TOOL_CHOICE),
        "parallel_tool_calls": nullable(BOOL),
        "previous_response_id": nullable(STR),
        "store": nullable(BOOL),
        "background": nullable(BOOL),
        "include": nullable(list_of(STR)),
        "reasoning": nullable(
            obj({"effort": nullable(enum(*EFFORTS)), "summary": nullable(STR),
                 "generate_summary": nullable(STR)})
        ),
        "text": nullable(
            obj({"format": nullable(_FORMAT),
                 "verbosity": nullable(enum("low", "medium", "high"))})
        ),
        "metadata": nullable(OBJECT),
        "user": nullable(STR),
        "safety_identifier": nullable(STR),
        "truncation": nullable(enum("auto", "disabled")),
        "conversation": ANY,
        "prompt": ANY,
    },
    required=("model", "input"),
    desc="a JSON object",
)  # fmt: skip
#: ``POST /v1/responses/input_tokens`` takes the same body; ``model`` may be left out
COUNT_REQUEST = obj({**(REQUEST.fields or {}), "model": nullable(STR)}, desc="a JSON object")
