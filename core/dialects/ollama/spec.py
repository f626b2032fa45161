"""The shapes of Ollama's request bodies (``shared/protocols/ollama.md`` §1, §4, §5).

Every field the dialect reads is typed here and checked by ``validate`` before parsing. Optional
fields are nullable throughout: Zed serialises unset options as ``null``, and Ollama itself
treats a ``null`` like an absent field. Numbers Ollama reads as integers may come as integral
floats (Go decodes every JSON number as a float64 and converts), so ``INTLIKE`` takes ``8.0``.
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.schema import (
    BOOL,
    NUM,
    OBJECT,
    STR,
    SchemaError,
    Spec,
    list_of,
    non_empty_str,
    nullable,
    obj,
    one_of,
)

_INT64 = 2**63


def _intlike(v: Any) -> None:
    t = type(v)
    if (t is int or (t is float and v.is_integer())) and -_INT64 <= v < _INT64:
        return
    raise SchemaError("a 64-bit integer", v)


#: an integer; integral floats (``8.0``) too, since Ollama reads every number as a float
INTLIKE = Spec(_intlike, "a 64-bit integer")
#: what ``think`` takes besides true/false (ollama.md §3)
THINK_LEVELS = ("low", "medium", "high")


def _think(v: Any) -> None:
    if type(v) is bool or v in THINK_LEVELS:
        return
    raise SchemaError("true, false, 'low', 'medium' or 'high'", v)


THINK = Spec(_think, "true, false, 'low', 'medium' or 'high'")

#: base64 images: a list of strings (no ``data:`` prefix on the wire, though one is accepted)
IMAGES = nullable(list_of(STR, desc="a list of base64 strings"))

OPTIONS = obj(
    {
        "num_predict": nullable(INTLIKE),
        "temperature": nullable(NUM),
        "top_p": nullable(NUM),
        "top_k": nullable(INTLIKE),
        "stop": nullable(one_of(STR, list_of(STR), desc="a list of strings")),
        "seed": nullable(INTLIKE),
        "num_ctx": nullable(INTLIKE),
    },
    desc="an object of model options",
)

_FUNCTION_CALL = obj(
    {
        "index": nullable(INTLIKE),
        "name": STR,
        # Objects on Ollama's wire; a JSON string (the OpenAI habit) is parsed.
        "arguments": nullable(one_of(OBJECT, STR, desc="an object")),
    },
    required=("name",),
    desc="an object with name and arguments",
)
TOOL_CALL = obj(
    {"id": nullable(STR), "type": nullable(STR), "function": _FUNCTION_CALL},
    required=("function",),
    desc="a tool call {function: {name, arguments}}",
)
MESSAGE = obj(
    {
        # Ollama lower-cases the role, so it is checked after that, in parse.
        "role": STR,
        "content": nullable(STR),
        "thinking": nullable(STR),
        "images": IMAGES,
        "tool_calls": nullable(list_of(TOOL_CALL)),
        "tool_name": nullable(STR),
        "tool_call_id": nullable(STR),
    },
    required=("role",),
    desc="an object with role and content",
)
TOOL = obj(
    {
        "type": nullable(STR),
        "function": obj(
            {"name": non_empty_str(), "description": nullable(STR), "parameters": nullable(OBJECT)},
            required=("name",),
            desc="an object with name, description and parameters",
        ),
    },
    required=("function",),
    desc="a tool {type: function, function: {...}}",
)

# Fields of both /api/chat and /api/generate.
_COMMON = {
    "model": non_empty_str(),
    "stream": nullable(BOOL),
    "think": nullable(THINK),
    "format": nullable(one_of(STR, OBJECT, desc="'json' or a JSON schema object")),
    "keep_alive": nullable(one_of(STR, NUM, desc="a duration string or seconds")),
    "options": nullable(OPTIONS),
    "logprobs": nullable(BOOL),
    "top_logprobs": nullable(INTLIKE),
    "truncate": nullable(BOOL),
    "shift": nullable(BOOL),
}
CHAT = obj(
    {
        **_COMMON,
        "messages": nullable(list_of(MESSAGE, desc="a list of {role, content} objects")),
        "tools": nullable(list_of(TOOL)),
    },
    required=("model",),
    desc="a JSON object",
)
GENERATE = obj(
    {
        **_COMMON,
        "prompt": nullable(STR),
        "suffix": nullable(STR),
        "system": nullable(STR),
        "template": nullable(STR),
        "context": nullable(list_of(INTLIKE)),
        "raw": nullable(BOOL),
        "images": IMAGES,
    },
    required=("model",),
    desc="a JSON object",
)
SHOW = obj(
    {"model": nullable(STR), "name": nullable(STR), "verbose": nullable(BOOL)},
    desc="a JSON object {model}",
)
#: top-level fields parse converts or checks; every other one is carried in the side field
CHAT_FIELDS = frozenset(CHAT.fields or ())
GENERATE_FIELDS = frozenset(GENERATE.fields or ())
