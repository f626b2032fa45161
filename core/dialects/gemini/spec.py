"""The shape of Gemini request bodies, both spellings: every field the dialect reads, typed.

Gemini parses requests as protobuf JSON, which takes lowerCamelCase and the proto's
snake_case names alike; the SDKs mix them (google-genai 3.x sends ``parametersJsonSchema`` as
``parameters_json_schema`` and ``thinkingConfig`` with ``include_thoughts`` inside). ``gobj``
declares each object once in camelCase and accepts the snake_case alias of every field;
``get`` reads either. Wire reference: ``shared/protocols/gemini.md`` §2-§5, §9.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ccrelay.core.schema import (
    ANY,
    BOOL,
    INT,
    NUM,
    OBJECT,
    STR,
    SchemaError,
    Spec,
    dict_of,
    enum,
    int_range,
    list_of,
    non_empty_str,
    nullable,
    num_range,
    obj,
    one_of,
)

_SNAKE: dict[str, str] = {}
_HUMP = re.compile(r"(?<=[a-z0-9])([A-Z])")


def snake(name: str) -> str:
    """The proto (snake_case) spelling of a camelCase field name."""
    out = _SNAKE.get(name)
    if out is None:
        out = _SNAKE[name] = _HUMP.sub(r"_\1", name).lower()
    return out


def get(d: Mapping[str, Any], key: str) -> Any:
    """``d[key]`` in either spelling (camelCase first), None when absent."""
    value = d.get(key)
    if value is None and key in _SNAKE:
        value = d.get(_SNAKE[key])
    return value


def gobj(
    fields: Mapping[str, Spec], *, desc: str = "an object", required: Iterable[str] = ()
) -> Spec:
    """An object declared in camelCase whose snake_case spellings are checked the same way.

    ``required`` names single-word fields only (their two spellings are the same). The check
    walks the keys the object has rather than every declared spelling: Gemini objects carry
    few of the fields they may have, and a Gemini CLI body has hundreds of them.
    """
    aliases = {}
    for name in fields:
        alias = snake(name)
        if alias != name:
            aliases[alias] = name
    needed = tuple(required)
    spec = obj(fields, desc=desc, aliases=aliases, required=needed)
    declared = spec.fields or {}
    table = {k: f.check for k, f in declared.items() if f is not ANY}
    full_check = spec.check

    def check(v: Any) -> None:
        if not isinstance(v, dict):
            raise SchemaError(desc, v)
        for k in needed:
            if k not in v:
                full_check(v)  # reports the missing field in core's words
        for k, x in v.items():
            fn = table.get(k)
            if fn is not None:
                try:
                    fn(x)
                except SchemaError as exc:
                    exc.path.append(k)
                    raise

    return Spec(check, desc, declared)


# --- parts and contents (gemini.md §3) ------------------------------------------------------

BLOB = gobj({"mimeType": STR, "data": STR, "displayName": STR}, desc="an object {mimeType, data}")
FILE_DATA = gobj(
    {"mimeType": STR, "fileUri": STR, "displayName": STR}, desc="an object {mimeType, fileUri}"
)
FUNCTION_CALL = gobj(
    {"name": STR, "args": nullable(OBJECT), "id": STR,
     "partialArgs": list_of(OBJECT), "willContinue": BOOL},
    desc="an object {name, args}",
)  # fmt: skip
_RESPONSE_PART = gobj({"inlineData": BLOB, "fileData": FILE_DATA}, desc="a function response part")
# The result's own keys are free; ``output`` and ``error`` are read, as any value.
_RESULT_BODY = obj({"output": ANY, "error": ANY}, desc="an object")
FUNCTION_RESPONSE = gobj(
    {"name": STR, "response": _RESULT_BODY, "id": STR, "parts": list_of(_RESPONSE_PART),
     "willContinue": BOOL, "scheduling": STR},
    desc="an object {name, response}",
)  # fmt: skip
PART = gobj(
    {
        "text": STR,
        "inlineData": BLOB,
        "fileData": FILE_DATA,
        "functionCall": FUNCTION_CALL,
        "functionResponse": FUNCTION_RESPONSE,
        "thought": BOOL,
        "thoughtSignature": STR,
        "executableCode": gobj({"language": STR, "code": STR}),
        "codeExecutionResult": gobj({"outcome": STR, "output": STR}),
        "videoMetadata": OBJECT,
        "partMetadata": OBJECT,
        "mediaResolution": ANY,
    },
    desc="a part (an object such as {text})",
)
ROLES = ("user", "model", "function", "tool")
CONTENT = gobj(
    {"role": enum(*ROLES, desc="'user' or 'model'"), "parts": list_of(PART)},
    desc="a content {role, parts}",
)

# --- tools (gemini.md §4, §5) -------------------------------------------------------------

FUNCTION_DECLARATION = gobj(
    {
        "name": non_empty_str(),
        "description": STR,
        "parameters": OBJECT,
        "parametersJsonSchema": OBJECT,
        "response": OBJECT,
        "responseJsonSchema": ANY,
        "behavior": STR,
    },
    required=("name",),
    desc="a function declaration {name, description, parameters}",
)
TOOL = gobj({"functionDeclarations": list_of(FUNCTION_DECLARATION)}, desc="a tool object")
MODES = ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED")
TOOL_CONFIG = gobj(
    {
        "functionCallingConfig": gobj(
            {"mode": enum(*MODES, desc="'AUTO', 'ANY', 'NONE' or 'VALIDATED'"),
             "allowedFunctionNames": list_of(STR)}
        ),
        "retrievalConfig": OBJECT,
    }
)  # fmt: skip

# --- generation config (gemini.md §2, §7) -----------------------------------------------------

THINKING_CONFIG = gobj(
    {"includeThoughts": BOOL, "thinkingBudget": INT, "thinkingLevel": STR},
    desc="an object {thinkingBudget or thinkingLevel, includeThoughts}",
)
GENERATION_CONFIG = gobj(
    {
        "maxOutputTokens": int_range(1),
        "temperature": num_range(0, 2),
        "topP": num_range(0, 1),
        "topK": num_range(0),
        "stopSequences": list_of(STR),
        "candidateCount": INT,
        "responseMimeType": STR,
        "responseSchema": OBJECT,
        "responseJsonSchema": ANY,
        "thinkingConfig": THINKING_CONFIG,
        "seed": INT,
        "presencePenalty": NUM,
        "frequencyPenalty": NUM,
        "responseModalities": list_of(STR),
        "responseLogprobs": BOOL,
        "logprobs": INT,
        "speechConfig": OBJECT,
        "mediaResolution": STR,
    },
    desc="a generation config object",
)
SAFETY_SETTING = gobj(
    {"category": STR, "threshold": STR, "method": STR}, desc="an object {category, threshold}"
)

_FIELDS: dict[str, Spec] = {
    "contents": list_of(CONTENT, desc="a list of contents {role, parts}"),
    "systemInstruction": one_of(STR, CONTENT, desc="a content {parts: [{text}]}"),
    "tools": list_of(TOOL),
    "toolConfig": TOOL_CONFIG,
    "generationConfig": GENERATION_CONFIG,
    "safetySettings": list_of(SAFETY_SETTING),
    "cachedContent": STR,
    "model": STR,
    "labels": dict_of(STR),
}
REQUEST = gobj(_FIELDS, required=("contents",), desc="a JSON object with contents")
COUNT_REQUEST = gobj(
    {"contents": _FIELDS["contents"], "generateContentRequest": REQUEST},
    desc="a JSON object with contents or generateContentRequest",
)
#: every top-level key of a generateContent body ccrelay reads, both spellings
KNOWN_FIELDS = frozenset(REQUEST.fields or ())
#: generationConfig keys the canonical form holds (the rest travel in ``ClientCall.side``)
CONVERTED_GENERATION = frozenset(
    {"maxOutputTokens", "temperature", "topP", "topK", "stopSequences", "candidateCount",
     "responseMimeType", "responseSchema", "responseJsonSchema"}
)  # fmt: skip
