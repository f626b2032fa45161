"""Edits of ``config.yaml`` that keep the file as its author wrote it: comments, order,
quoting and layout everywhere but in the rule that changed.

ruamel.yaml's round-trip mode loads the file with its comments and positions and dumps it
back, but it applies one indentation style to the whole dump, so a file mixing styles would
change where nobody edited it. So the whole document is edited and dumped, and then only the
lines of the edited rule (or of the new ``models`` section) are taken from the dump and
spliced into the original text; every other byte stays, comments and blank lines closing a
rule included (they introduce what follows). The splice is checked to mean the same document
as the dump; when it cannot (rules written in flow style, say), the whole section is spliced,
and failing that the dump itself is written (comments still kept).

``models`` rules (core/routing.py) as these edits define them:

- ``set_model(FROM, TO...)``: the rule whose ``match`` is exactly FROM gets ``to: [TO...]``
  (its ``balance`` and ``weights`` go: the rule becomes a plain fallback list). Without such
  a rule a new ``{match: FROM, to: [TO...]}`` is inserted just before the first rule whose
  glob already matches the name FROM (which would otherwise take it), else appended.
- ``remove_model(NAME)``: the rule whose ``match`` is exactly NAME is removed.
"""

from __future__ import annotations

import fnmatch
import io
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError


class EditError(ValueError):
    """The edit cannot be made (no such rule or group, the file is not a mapping ...)."""


def set_model(
    text: str, match: str, targets: Sequence[str], group: str | None = None
) -> tuple[str, str]:
    """``text`` with the ``models`` rule for ``match`` sending to ``targets``; and what changed."""

    def change(rules: CommentedSeq, where: str) -> tuple[str, str, int]:
        to = ", ".join(targets)
        for i, rule in enumerate(rules):
            if isinstance(rule, CommentedMap) and rule.get("match") == match:
                rule["to"] = _like(rule.get("to"), targets)
                dropped = [k for k in ("balance", "weights") if k in rule]
                for k in dropped:
                    del rule[k]
                extra = f"; its {' and '.join(dropped)} removed" if dropped else ""
                return f"{where}[{i}]: {match} -> {to} (replaced{extra})", "replace", i
        new = CommentedMap([("match", match), ("to", _like(None, targets))])
        for i, rule in enumerate(rules):
            glob = rule.get("match") if isinstance(rule, CommentedMap) else None
            if isinstance(glob, str) and fnmatch.fnmatchcase(match.lower(), glob.lower()):
                rules.insert(i, new)
                why = f"added before {glob!r}, which would otherwise take it"
                return f"{where}[{i}]: {match} -> {to} ({why})", "insert", i
        rules.append(new)
        return f"{where}[{len(rules) - 1}]: {match} -> {to} (added)", "insert", len(rules) - 1

    return _edit(text, group, change, create=True)


def remove_model(text: str, match: str, group: str | None = None) -> tuple[str, str]:
    """``text`` without the ``models`` rule whose ``match`` is ``match``; and what changed."""

    def change(rules: CommentedSeq, where: str) -> tuple[str, str, int]:
        for i, rule in enumerate(rules):
            if isinstance(rule, CommentedMap) and rule.get("match") == match:
                del rules[i]
                return f"{where}[{i}]: {match} (removed)", "remove", i
        known = [r.get("match") for r in rules if isinstance(r, CommentedMap)]
        raise EditError(
            f"{where}: no rule with match {match!r} (rules: {', '.join(map(str, known)) or 'none'})"
        )

    return _edit(text, group, change, create=False)


def literal_secrets(text: str) -> Iterator[tuple[int, int, str]]:
    """``(line, column, value)`` of every key written literally in the config (not as a
    ``${VAR}`` reference): providers' ``api_key`` and ``headers`` values, access keys."""
    data = _load(text)
    sections: list[Any] = []
    providers = data.get("providers")
    if isinstance(providers, CommentedMap):
        sections += list(providers.values())
    sections += [v for v in data.values() if isinstance(v, CommentedMap) and "base_url" in v]
    for section in sections:
        if not isinstance(section, CommentedMap):
            continue
        yield from _literal(section, "api_key")
        headers = section.get("headers")
        if isinstance(headers, CommentedMap):
            for name in headers:
                yield from _literal(headers, name)
    keys = data.get("access_keys")
    if isinstance(keys, CommentedSeq):
        for entry in keys:
            if isinstance(entry, CommentedMap):
                yield from _literal(entry, "key")


# --- the edit -----------------------------------------------------------------------------

#: ``change(rules, where)`` edits the rules and says what it did: (message, op, index) with
#: op ``replace``, ``insert`` or ``remove`` of the rule at index
Change = Callable[[CommentedSeq, str], tuple[str, str, int]]


def _edit(text: str, group: str | None, change: Change, *, create: bool) -> tuple[str, str]:
    data = _load(text)
    parent: Any = data
    path: list[Any] = []
    if group is not None:
        groups = data.get("groups")
        if not isinstance(groups, CommentedMap) or group not in groups:
            known = ", ".join(map(str, groups)) if isinstance(groups, CommentedMap) else "none"
            raise EditError(f"groups: no group named {group!r} (groups: {known})")
        if groups[group] is None:
            groups[group] = CommentedMap()
        parent = groups[group]
        if not isinstance(parent, CommentedMap):
            raise EditError(f"groups.{group}: expected a mapping")
        path = ["groups", group]
    where = ".".join([*map(str, path), "models"])
    rules = parent.get("models")
    fresh = rules is None
    if fresh:
        if not create:
            raise EditError(f"{where}: no rules (the config has no {where} section)")
        rules = CommentedSeq()
        parent["models"] = rules
    if not isinstance(rules, CommentedSeq):
        raise EditError(f"{where}: expected a list of {{match, to}} rules")
    message, op, index = change(rules, where)
    buf = io.StringIO()
    _yaml(text, path).dump(data, buf)
    dumped = buf.getvalue()
    section = [*path, "models"]
    if not fresh:
        result = _splice_item(text, dumped, section, op, index)
        if result is not None and _same(result, dumped):
            return result, message
    result = _splice_section(text, dumped, section)
    if result is not None and _same(result, dumped):
        return result, message
    return dumped, message  # the whole document as ruamel writes it: comments kept


def _splice_item(original: str, dumped: str, section: list[Any], op: str, index: int) -> str | None:
    """``original`` with only the edited rule's lines changed (None: not possible here)."""
    old, new = _lines(original), _lines(dumped)
    old_data, new_data = _load(original), _load(dumped)
    if op == "remove":
        span = _span(old_data, [*section, index], len(old))
        if span is None:
            return None
        return "".join(old[: span[0]] + old[_tail(old, *span) :])
    span = _span(new_data, [*section, index], len(new))
    rules = _node(old_data, section)
    if span is None or not isinstance(rules, CommentedSeq) or not len(rules):
        return None
    # The rule's column in the file: the edited one's, or its neighbour's.
    beside = min(index, len(rules) - 1) if op == "insert" else index
    at = _span(old_data, [*section, beside], len(old))
    if at is None:
        return None
    shift = rules.lc.item(beside)[1] - _node(new_data, section).lc.item(index)[1]
    body = _shifted(new[span[0] : _tail(new, *span)], shift, old)
    if op == "replace":
        return "".join(old[: at[0]] + body + old[_tail(old, *at) :])
    if index < len(rules):
        top = at[0]  # above the comment lines written just over the rule: they describe it
        while top > 0 and old[top - 1].lstrip().startswith("#"):
            top -= 1
        return "".join(old[:top] + body + old[top:])
    cut = _tail(old, *at)  # after the last rule, before the lines closing the list
    return "".join(old[:cut] + body + old[cut:])


def _splice_section(original: str, dumped: str, section: list[Any]) -> str | None:
    """``original`` with the whole ``models`` section's lines taken from ``dumped``."""
    old, new = _lines(original), _lines(dumped)
    old_data, new_data = _load(original), _load(dumped)
    span = _span(new_data, section, len(new))
    old_parent, new_parent = _node(old_data, section[:-1]), _node(new_data, section[:-1])
    if span is None or not isinstance(old_parent, CommentedMap):
        return None
    key = section[-1]
    if key in old_parent:
        column = old_parent.lc.key(key)[1]
    else:  # a new key: where its siblings start
        column = next((old_parent.lc.key(k)[1] for k in old_parent), 0)
    body = _shifted(new[span[0] : _tail(new, *span)], column - new_parent.lc.key(key)[1], old)
    at = _span(old_data, section, len(old))
    if at is not None:
        return "".join(old[: at[0]] + body + old[_tail(old, *at) :])
    if len(section) == 1:  # a new top-level section: at the end, after a blank line
        gap = [old[-1][len(old[-1].rstrip("\r\n")) :]] if old and old[-1].strip() else []
        return "".join(old + gap + body)
    parent = _span(old_data, section[:-1], len(old))
    if parent is None:
        return None
    cut = _tail(old, *parent)
    return "".join(old[:cut] + body + old[cut:])


def _shifted(lines: list[str], by: int, like: list[str]) -> list[str]:
    """``lines`` moved ``by`` columns right (left when negative; only spaces are taken),
    ending as the lines of ``like`` end (``\\r\\n`` or ``\\n``)."""
    if by >= 0:
        out = [(" " * by + line) if line.strip() else line for line in lines]
    else:
        out = [line[-by:] if line[:-by].strip() == "" else line.lstrip(" ") for line in lines]
    if like and like[0].endswith("\r\n"):
        out = [line if line.endswith("\r\n") else line[:-1] + "\r\n" for line in out]
    return out


def _same(result: str, dumped: str) -> bool:
    """Whether the spliced text is the document ruamel dumped."""
    try:
        return bool(yaml.safe_load(result) == yaml.safe_load(dumped))
    except yaml.YAMLError:
        return False


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def _tail(lines: list[str], start: int, stop: int) -> int:
    """Where the blank and comment lines closing ``lines[start:stop]`` begin: they stay in
    place (they introduce what follows)."""
    end = stop
    while end > start + 1 and (
        not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
    ):
        end -= 1
    return end


def _node(data: Any, path: list[Any]) -> Any:
    for key in path:
        data = data[key]
    return data


def _span(data: Any, path: list[Any], end: int) -> tuple[int, int] | None:
    """Lines ``[start, stop)`` of the node at ``path`` (mapping keys and list indexes), from
    its first line to the next sibling's (None: absent, or written in flow style)."""
    node = data
    span: tuple[int, int] = (0, end)
    for key in path:
        if isinstance(node, CommentedMap) and key in node and not node.fa.flow_style():
            keys = list(node.keys())
            i = keys.index(key)
            start = node.lc.key(key)[0]
            stop = node.lc.key(keys[i + 1])[0] if i + 1 < len(keys) else span[1]
        elif (
            isinstance(node, CommentedSeq)
            and isinstance(key, int)
            and 0 <= key < len(node)
            and not node.fa.flow_style()
        ):
            start = node.lc.item(key)[0]
            stop = node.lc.item(key + 1)[0] if key + 1 < len(node) else span[1]
        else:
            return None
        if not span[0] <= start < stop <= span[1]:
            return None
        span = (start, stop)
        node = node[key]
    return span


def _yaml(text: str, path: list[Any]) -> YAML:
    """A round-trip dumper placing dashes like the file's rules do (``models:\\n  - match``:
    offset 2, the default, as core/routing.py writes rules); the splice then moves the
    edited lines to the file's own columns."""
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096  # never fold a long line
    offset = 2
    lines = text.splitlines()
    span = _span(_load(text), [*path, "models"], len(lines))
    if span is not None:
        key_col = len(lines[span[0]]) - len(lines[span[0]].lstrip(" "))
        for line in lines[span[0] + 1 : span[1]]:
            if line.lstrip(" ").startswith("- "):
                offset = max(0, len(line) - len(line.lstrip(" ")) - key_col)
                break
    y.indent(mapping=2, sequence=offset + 2, offset=offset)
    return y


def _load(text: str) -> Any:
    y = YAML()
    y.preserve_quotes = True
    try:
        data = y.load(text)
    except YAMLError as exc:
        raise EditError(f"not valid YAML: {exc}") from None
    if data is None:
        return CommentedMap()
    if not isinstance(data, CommentedMap):
        raise EditError("expected a mapping at the top level")
    return data


def _like(old: Any, targets: Sequence[str]) -> Any:
    """``targets`` written like ``old`` was: one string stays a string, a block list a block
    list; otherwise a flow list (``[a, b]``, as core/routing.py documents rules)."""
    if isinstance(old, str) and len(targets) == 1:
        return targets[0]
    seq = CommentedSeq(list(targets))
    if not isinstance(old, CommentedSeq) or old.fa.flow_style():
        seq.fa.set_flow_style()
    return seq


def _literal(mapping: CommentedMap, key: Any) -> Iterator[tuple[int, int, str]]:
    value = mapping.get(key)
    if isinstance(value, str) and value and "${" not in value:
        line, col = mapping.lc.value(key)
        yield line, col, value
    elif isinstance(value, CommentedSeq):
        for i, item in enumerate(value):
            if isinstance(item, str) and item and "${" not in item:
                line, col = value.lc.item(i)
                yield line, col, item
