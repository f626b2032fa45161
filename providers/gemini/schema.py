"""Tool and response schemas for Gemini: full JSON Schema, or reduced to Gemini's subset.

Models whose profile says ``json_schema_tools`` (Gemini 2.5 and 3) take any JSON Schema in
``parametersJsonSchema`` / ``responseJsonSchema``: ``json_schema`` sends it as it is, only
property names Gemini rejects renamed. Other models take the OpenAPI subset of
``parameters`` (gemini.md §4, mapping.md §20), which ``sanitise`` produces:

| JSON Schema                                   | sent as                                        |
|-----------------------------------------------|------------------------------------------------|
| type (lower case)                             | upper case (``STRING`` ...)                    |
| type: [t, "null"] / type: "null"              | type t + nullable / nullable                   |
| type: [t1, t2]                                | anyOf [{type t1}, {type t2}]                   |
| oneOf                                         | anyOf                                          |
| anyOf branch {type: null}                     | nullable; a single branch left is inlined      |
| allOf                                         | merged into one schema                         |
| $ref to $defs / definitions                   | inlined (recursive or unknown refs: dropped)   |
| const (string)                                | enum [value]                                   |
| enum of strings (+ null)                      | enum, type STRING (+ nullable)                 |
| enum / const of other values                  | dropped; the values go into the description    |
| format other than STRING enum/date-time,      | dropped                                        |
|   NUMBER float/double, INTEGER int32/int64    |                                                |
| items as a list (tuple form)                  | its first schema                               |
| required naming no property                   | left out                                       |
| a function without parameters                 | no ``parameters`` field                        |
| property names outside [A-Za-z_][A-Za-z0-9_]* | renamed (``names.legal_keys``), renamed back   |
|                                               | in the call's arguments                        |
| anything else ($schema, additionalProperties, | dropped; each drop is listed for the log       |
|   propertyNames, patternProperties, not,      |                                                |
|   if/then/else, exclusiveMinimum, multipleOf, |                                                |
|   uniqueItems, examples, $id, $comment ...)   |                                                |
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.jsonutil import dumps_str

from .names import KeyMap, legal_keys

_TYPES = {
    "string": "STRING",
    "number": "NUMBER",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
    "array": "ARRAY",
    "object": "OBJECT",
}
_KEEP = frozenset(
    {
        "title", "description", "minItems", "maxItems", "minProperties", "maxProperties",
        "minLength", "maxLength", "pattern", "minimum", "maximum", "propertyOrdering",
        "default", "example",
    }
)  # fmt: skip
_HANDLED = frozenset(
    {"type", "nullable", "enum", "const", "format", "properties", "required", "items",
     "anyOf", "oneOf", "allOf", "$ref", "$defs", "definitions"}
)  # fmt: skip
_FORMATS = {
    "STRING": ("enum", "date-time"),
    "NUMBER": ("float", "double"),
    "INTEGER": ("int32", "int64"),
}
_MAX_REF_DEPTH = 16


def json_schema(schema: Any) -> tuple[dict[str, Any], KeyMap | None]:
    """``schema`` for ``parametersJsonSchema``: unchanged but for property names Gemini
    rejects (renamed; the map renames the call's arguments back)."""
    if not isinstance(schema, dict):
        return {"type": "object", "properties": {}}, None
    return _rename_json(schema)


def _rename_json(schema: dict[str, Any]) -> tuple[dict[str, Any], KeyMap | None]:
    keymap = KeyMap()
    out = schema
    props = schema.get("properties")
    if isinstance(props, dict) and props:
        names = legal_keys(props)
        new_props: dict[str, Any] = {}
        for orig, sent in names.items():
            child = props[orig]
            sub: KeyMap | None = None
            if isinstance(child, dict):
                child, sub = _rename_json(child)
            new_props[sent] = child
            if sent != orig or sub is not None:
                keymap.props[sent] = (orig, sub)
        if keymap.props:
            out = {**schema, "properties": new_props}
            required = schema.get("required")
            if isinstance(required, list):
                out["required"] = [names.get(r, r) if isinstance(r, str) else r for r in required]
    items = schema.get("items")
    if isinstance(items, dict):
        new_items, keymap.items = _rename_json(items)
        if keymap.items is not None:
            out = {**out, "items": new_items}
    for key in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            renamed = []
            changed = False
            for branch in branches:
                if isinstance(branch, dict):
                    new_branch, sub = _rename_json(branch)
                    if sub is not None:
                        changed = True
                        keymap.props.update(sub.props)
                        keymap.items = keymap.items or sub.items
                    branch = new_branch
                renamed.append(branch)
            if changed:
                out = {**out, key: renamed}
    if not keymap.props and keymap.items is None:
        return schema, None
    return out, keymap


def sanitise(schema: Any) -> tuple[dict[str, Any] | None, KeyMap | None, list[str]]:
    """``schema`` reduced to Gemini's ``parameters`` subset (module table).

    :return: the schema (None for an object without properties: send no ``parameters``),
        the property renames (None when nothing was renamed), and what was dropped, as
        ``"keyword at path"`` strings for the log.
    """
    walker = _Sanitiser(schema if isinstance(schema, dict) else {})
    out, keymap = walker.node(schema if isinstance(schema, dict) else {}, "")
    if not out.get("type") and "anyOf" not in out:
        out["type"] = "OBJECT"
    if out.get("type") == "OBJECT" and not out.get("properties"):
        return None, None, walker.dropped
    return out, keymap, walker.dropped


class _Sanitiser:
    def __init__(self, root: dict[str, Any]) -> None:
        self.defs: dict[str, Any] = {}
        for key in ("definitions", "$defs"):
            if isinstance(root.get(key), dict):
                self.defs.update(root[key])
        self.dropped: list[str] = []
        self.stack: list[str] = []

    def drop(self, what: str, path: str) -> None:
        self.dropped.append(f"{what} at {path}" if path else what)

    def _target(self, ref: Any) -> Any:
        if isinstance(ref, str):
            for prefix in ("#/$defs/", "#/definitions/"):
                if ref.startswith(prefix):
                    return self.defs.get(ref[len(prefix) :])
        return None

    def node(self, s: Any, path: str) -> tuple[dict[str, Any], KeyMap | None]:
        if not isinstance(s, dict):
            if s is not True:
                self.drop(f"schema {str(s)[:20]}", path)
            return {}, None
        ref = s.get("$ref")
        if ref is not None:
            rest = {k: v for k, v in s.items() if k != "$ref"}
            target = self._target(ref)
            if not isinstance(target, dict) or ref in self.stack:
                reason = "recursive" if ref in self.stack else "unresolved"
                self.drop(f"$ref {str(ref)[:60]} ({reason})", path)
                s = rest
            elif len(self.stack) >= _MAX_REF_DEPTH:
                self.drop("$ref (nested too deep)", path)
                s = rest
            else:
                self.stack.append(ref)
                try:
                    return self.node({**target, **rest}, path)
                finally:
                    self.stack.pop()
        if isinstance(s.get("allOf"), list):
            s = self._merge_all_of(s, path)
        out: dict[str, Any] = {}
        keymap = KeyMap()
        nullable = s.get("nullable") is True
        notes: list[str] = []

        types = s.get("type")
        type_list = types if isinstance(types, list) else [types] if isinstance(types, str) else []
        if "null" in type_list:
            nullable = True
            type_list = [t for t in type_list if t != "null"]
        gemini_types = []
        for t in type_list:
            if t in _TYPES:
                gemini_types.append(_TYPES[t])
            else:
                self.drop(f"type {str(t)[:20]}", path)
        if len(gemini_types) == 1:
            out["type"] = gemini_types[0]
        elif len(gemini_types) > 1:
            out["anyOf"] = [{"type": t} for t in gemini_types]

        self._enum(s, out, path, notes)
        if out.pop("_nullable", False):
            nullable = True

        fmt = s.get("format")
        if fmt is not None:
            if isinstance(fmt, str) and fmt in _FORMATS.get(out.get("type", ""), ()):
                out["format"] = fmt
            else:
                self.drop(f"format {str(fmt)[:20]}", path)

        props = s.get("properties")
        if isinstance(props, dict):
            names = legal_keys(props)
            out_props: dict[str, Any] = {}
            for orig, sent in names.items():
                child, sub = self.node(props[orig], f"{path}.{orig}" if path else orig)
                out_props[sent] = child
                if sent != orig or sub is not None:
                    keymap.props[sent] = (orig, sub)
            out["properties"] = out_props
            out.setdefault("type", "OBJECT")
            required = s.get("required")
            if isinstance(required, list):
                kept = [names[r] for r in required if isinstance(r, str) and r in names]
                if kept:
                    out["required"] = kept
                if len(kept) != len(required):
                    self.drop("required entries naming no property", path)
        elif "required" in s:
            self.drop("required", path)

        items = s.get("items")
        if isinstance(items, list):
            self.drop("items (tuple form; its first schema kept)", path)
            items = items[0] if items else None
        if items is not None:
            child, keymap.items = self.node(items, f"{path}[]")
            out["items"] = child
            out.setdefault("type", "ARRAY")

        branches = s.get("anyOf") if "anyOf" in s else s.get("oneOf")
        if isinstance(branches, list):
            kept_branches = []
            for i, branch in enumerate(branches):
                if isinstance(branch, dict) and branch.get("type") == "null" and len(branch) == 1:
                    nullable = True
                    continue
                child, sub = self.node(branch, f"{path}.anyOf[{i}]")
                if sub is not None:
                    keymap.props.update(sub.props)
                    keymap.items = keymap.items or sub.items
                kept_branches.append(child)
            if len(kept_branches) == 1 and "type" not in out and "anyOf" not in out:
                for key, value in kept_branches[0].items():
                    if key == "description" and "description" in s:
                        continue
                    out.setdefault(key, value)
            elif kept_branches:
                out["anyOf"] = kept_branches

        for key, value in s.items():
            if key in _KEEP:
                out.setdefault(key, value)
            elif key not in _HANDLED:
                self.drop(key, path)
        if notes:
            desc = out.get("description")
            note = " ".join(notes)
            out["description"] = f"{desc} ({note})" if isinstance(desc, str) and desc else note
        if nullable:
            out["nullable"] = True
        return out, (keymap if keymap.props or keymap.items is not None else None)

    def _enum(self, s: dict[str, Any], out: dict[str, Any], path: str, notes: list[str]) -> None:
        """``enum`` / ``const``: string values stay an enum; others go into the description
        (Gemini's enums are strings only, and stringified values would reach the client)."""
        values: Any = None
        if "const" in s:
            values = [s["const"]]
        elif isinstance(s.get("enum"), list):
            values = s["enum"]
        elif "enum" in s:
            self.drop("enum", path)
        if values is None:
            return
        if None in values:
            out["_nullable"] = True
            values = [v for v in values if v is not None]
        if values and all(isinstance(v, str) for v in values):
            out["enum"] = values
            out["type"] = "STRING"
            out.pop("anyOf", None)
        elif values:
            keyword = "const" if "const" in s else "enum"
            self.drop(f"{keyword} of non-string values (listed in the description)", path)
            shown = ", ".join(dumps_str(v) for v in values[:20])
            notes.append(f"must be {shown}" if keyword == "const" else f"one of: {shown}")

    def _merge_all_of(self, s: dict[str, Any], path: str) -> dict[str, Any]:
        merged = {k: v for k, v in s.items() if k != "allOf"}
        for sub in s["allOf"]:
            if isinstance(sub, dict) and "$ref" in sub:
                target = self._target(sub["$ref"])
                if isinstance(target, dict) and sub["$ref"] not in self.stack:
                    sub = {**target, **{k: v for k, v in sub.items() if k != "$ref"}}
                else:
                    self.drop(f"$ref {str(sub['$ref'])[:60]} in allOf (unresolved)", path)
                    continue
            if not isinstance(sub, dict):
                continue
            for key, value in sub.items():
                if key == "properties" and isinstance(value, dict):
                    merged["properties"] = {**value, **(merged.get("properties") or {})}
                elif key == "required" and isinstance(value, list):
                    merged["required"] = list(dict.fromkeys([*(merged.get("required") or []),
                                                             *value]))  # fmt: skip
                else:
                    merged.setdefault(key, value)
        return merged
