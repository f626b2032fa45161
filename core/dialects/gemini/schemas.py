"""Gemini schemas to JSON Schema: function ``parameters`` and ``responseSchema``.

Gemini takes two schema dialects (gemini.md §4). ``parameters`` / ``responseSchema`` are an
OpenAPI 3.0 subset with upper-case type names and ``nullable``; ``parametersJsonSchema`` /
``responseJsonSchema`` are JSON Schema. The canonical form (Anthropic ``input_schema``,
``output_config.format.schema``) is JSON Schema, so:

| OpenAPI-subset keyword | JSON Schema |
|---|---|
| ``type: "STRING"`` (any case) | ``type: "string"``; ``TYPE_UNSPECIFIED`` dropped |
| ``nullable: true`` | ``"null"`` added to ``type`` (or an ``anyOf`` branch) |
| ``example`` | ``examples: [example]`` |
| ``propertyOrdering`` | dropped: JSON objects keep their key order already |
| int64 keywords sent as strings (``minItems: "1"``) | numbers |
| ``properties``, ``items``, ``anyOf`` | converted recursively |
| everything else (``format``, ``enum``, ``required``, ``minimum`` ...) | as is |

JSON-Schema forms pass unchanged except upper-case ``type`` names, which Gemini accepts and
other backends reject (Gemini CLI sends ``"type": "OBJECT"`` in ``responseJsonSchema``).
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.errors import InvalidRequest

MAX_DEPTH = 64
_TYPES = {"STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
_INT64 = ("minItems", "maxItems", "minProperties", "maxProperties", "minLength", "maxLength")
# JSON Schema keywords whose value is a schema, a list of schemas, or a map of schemas.
_ONE = ("items", "additionalProperties", "not", "if", "then", "else", "contains",
        "propertyNames", "unevaluatedProperties", "unevaluatedItems", "additionalItems")  # fmt: skip
_LIST = ("anyOf", "oneOf", "allOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_WALK = {**dict.fromkeys(_ONE, 1), **dict.fromkeys(_LIST, 2), **dict.fromkeys(_MAP, 3)}


def from_openapi(schema: Any, where: str, depth: int = 0) -> dict[str, Any]:
    """JSON Schema for an OpenAPI-subset ``Schema`` object.

    :raises InvalidRequest: naming the path of a value of the wrong type.
    """
    if depth > MAX_DEPTH:
        raise InvalidRequest(f"{where}: schema nested deeper than {MAX_DEPTH} levels")
    if not isinstance(schema, dict):
        raise InvalidRequest(f"{where}: expected a schema object", param=where)
    out: dict[str, Any] = {}
    nullable = False
    for key, value in schema.items():
        if key == "type":
            kind = _type_name(value, f"{where}.type")
            if kind is not None:
                out["type"] = kind
        elif key == "nullable":
            nullable = value is True
        elif key == "properties":
            if not isinstance(value, dict):
                raise InvalidRequest(f"{where}.properties: expected an object of schemas")
            out["properties"] = {
                name: from_openapi(sub, f"{where}.properties.{name}", depth + 1)
                for name, sub in value.items()
            }
        elif key == "items":
            out["items"] = from_openapi(value, f"{where}.items", depth + 1)
        elif key == "anyOf":
            if not isinstance(value, list):
                raise InvalidRequest(f"{where}.anyOf: expected a list of schemas")
            out["anyOf"] = [
                from_openapi(sub, f"{where}.anyOf.{i}", depth + 1) for i, sub in enumerate(value)
            ]
        elif key == "example":
            out["examples"] = [value]
        elif key == "propertyOrdering" or key == "property_ordering":
            continue
        elif key in _INT64 and isinstance(value, str) and value.isdigit():
            out[key] = int(value)
        else:
            out[key] = value
    if nullable:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        elif "anyOf" in out:
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
    return out


def normalize_json_schema(schema: Any, where: str, depth: int = 0) -> Any:
    """A JSON Schema with upper-case ``type`` names made lower-case; everything else kept.

    Copy on write: a schema with nothing to change is returned as it is (Gemini CLI sends
    ~15 tool schemas per request, all lower-case; walking them costs no copies).
    """
    if not isinstance(schema, dict):
        return schema
    if depth > MAX_DEPTH:
        raise InvalidRequest(f"{where}: schema nested deeper than {MAX_DEPTH} levels")
    changed: dict[str, Any] | None = None
    for key, value in schema.items():
        if key == "type":
            new = _lower_types(value)
        else:
            kind = _WALK.get(key)
            if kind is None:
                continue
            if kind == 1:
                new = normalize_json_schema(value, where, depth + 1)
            elif kind == 2 and isinstance(value, list):
                items = [normalize_json_schema(v, where, depth + 1) for v in value]
                new = items if any(a is not b for a, b in zip(items, value, strict=True)) else value
            elif kind == 3 and isinstance(value, dict):
                subs = {k: normalize_json_schema(v, where, depth + 1) for k, v in value.items()}
                new = subs if any(subs[k] is not v for k, v in value.items()) else value
            else:
                continue
        if new is not value:
            if changed is None:
                changed = dict(schema)
            changed[key] = new
    return schema if changed is None else changed


def _lower_types(value: Any) -> Any:
    if isinstance(value, str):
        return value.lower() if not value.islower() and value.upper() in _TYPES else value
    if isinstance(value, list) and any(isinstance(k, str) and not k.islower() for k in value):
        return [k.lower() if isinstance(k, str) and k.upper() in _TYPES else k for k in value]
    return value


def _type_name(value: Any, where: str) -> str | None:
    if not isinstance(value, str):
        raise InvalidRequest(
            f"{where}: expected a type name such as 'STRING' or 'OBJECT'", param=where
        )
    upper = value.upper()
    if upper == "TYPE_UNSPECIFIED":
        return None
    if upper not in _TYPES:
        raise InvalidRequest(
            f"{where}: unknown type {value[:40]!r}; expected one of "
            "STRING, NUMBER, INTEGER, BOOLEAN, ARRAY, OBJECT, NULL",
            param=where,
        )
    return upper.lower()
