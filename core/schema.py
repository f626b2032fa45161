"""Declarative checks for client bodies: every field a dialect reads is typed here first.

Each dialect declares the shape of its request body with these constructors and calls
``validate(SPEC, body)`` before reading anything; a wrong type anywhere is then a 400 naming
its path and quoting at most a short excerpt of the bad value::

    messages.3.content.0.content: expected a string or a list of blocks, got true

Why declarative rather than typed parsing functions: the shape of each protocol is written
once, readable as a table next to the parser, and a test can check that a dialect never reads
a field its spec does not declare (``tests/test_schema.py``). Checks compile to nested
closures; a value is walked once and no path is built unless something is wrong, so a Claude
Code body of 24 tools and a long conversation costs tens of microseconds.

Specs are permissive about what they do not declare (unknown keys are kept for the side
field or the pass-through); they are strict about the type of everything they do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ccrelay.core.errors import InvalidRequest, excerpt

Check = Callable[[Any], None]
_MISSING = object()


class SchemaError(Exception):
    """A value that does not fit; ``path`` is filled in innermost-first as it propagates."""

    def __init__(self, expected: str, value: Any, path: list[str | int] | None = None) -> None:
        super().__init__(expected)
        self.expected = expected
        self.value = value
        self.path: list[str | int] = path if path is not None else []

    def message(self, prefix: str = "") -> str:
        parts = [str(p) for p in reversed(self.path)]
        where = ".".join([prefix, *parts] if prefix else parts) or "body"
        if self.value is _MISSING:
            return f"{where}: Field required ({self.expected})"
        return f"{where}: expected {self.expected}, got {excerpt(self.value)}"


class Spec:
    """A compiled check plus the words that describe what it accepts."""

    __slots__ = ("check", "desc", "fields", "items", "alts")

    def __init__(
        self,
        check: Check,
        desc: str,
        fields: Mapping[str, Spec] | None = None,
        items: Spec | None = None,
        alts: tuple[Spec, ...] = (),
    ) -> None:
        self.check = check
        self.desc = desc
        # The structure, for tests that check a dialect reads only declared fields:
        self.fields = fields  # objects: the declared fields
        self.items = items  # lists and maps: the spec of each value
        self.alts = alts  # one_of: the alternatives

    def __or__(self, other: Spec) -> Spec:
        return one_of(self, other)


def validate(spec: Spec, value: Any, prefix: str = "") -> None:
    """Check ``value`` against ``spec``.

    :raises InvalidRequest: naming the path of the first problem (``param`` set to it too).
    """
    try:
        spec.check(value)
    except SchemaError as exc:
        message = exc.message(prefix)
        raise InvalidRequest(message, param=message.split(":", 1)[0]) from None


# --- scalars ------------------------------------------------------------------------------


def _scalar(test: Callable[[Any], bool], desc: str) -> Spec:
    def check(v: Any) -> None:
        if not test(v):
            raise SchemaError(desc, v)

    return Spec(check, desc)


def _is_int(v: Any) -> bool:
    return type(v) is int  # bool is not an integer here


def _is_num(v: Any) -> bool:
    t = type(v)
    return t is int or t is float


STR = _scalar(lambda v: type(v) is str, "a string")
INT = _scalar(_is_int, "an integer")
NUM = _scalar(_is_num, "a number")
BOOL = _scalar(lambda v: type(v) is bool, "true or false")
ANY = Spec(lambda v: None, "any value")
OBJECT = _scalar(lambda v: isinstance(v, dict), "an object")


def non_empty_str() -> Spec:
    return _scalar(lambda v: type(v) is str and v != "", "a non-empty string")


def int_range(lo: int | None = None, hi: int | None = None) -> Spec:
    desc = _range_desc("an integer", lo, hi)

    def check(v: Any) -> None:
        if type(v) is not int or (lo is not None and v < lo) or (hi is not None and v > hi):
            raise SchemaError(desc, v)

    return Spec(check, desc)


def num_range(lo: float | None = None, hi: float | None = None) -> Spec:
    desc = _range_desc("a number", lo, hi)

    def check(v: Any) -> None:
        t = type(v)
        if (t is not int and t is not float) or (lo is not None and v < lo):
            raise SchemaError(desc, v)
        if hi is not None and v > hi:
            raise SchemaError(desc, v)

    return Spec(check, desc)


def _range_desc(base: str, lo: float | None, hi: float | None) -> str:
    if lo is not None and hi is not None:
        return f"{base} from {lo:g} to {hi:g}"
    if lo is not None:
        return f"{base} >= {lo:g}"
    if hi is not None:
        return f"{base} <= {hi:g}"
    return base


def enum(*values: Any, desc: str | None = None) -> Spec:
    allowed = frozenset(values)
    text = desc or "one of " + ", ".join(repr(v) for v in values)

    def check(v: Any) -> None:
        try:
            ok = v in allowed and type(v) is not bool
        except TypeError:  # unhashable (a list or an object)
            ok = False
        if not ok:
            raise SchemaError(text, v)

    return Spec(check, text)


# --- containers ---------------------------------------------------------------------------


def list_of(item: Spec, desc: str | None = None, *, max_items: int | None = None) -> Spec:
    text = desc or f"a list of {_plural(item.desc)}"
    inner = item.check

    def check(v: Any) -> None:
        if not isinstance(v, list):
            raise SchemaError(text, v)
        if max_items is not None and len(v) > max_items:
            raise SchemaError(f"{text} (at most {max_items})", v)
        if inner is _ANY_CHECK:
            return
        for i, x in enumerate(v):
            try:
                inner(x)
            except SchemaError as exc:
                exc.path.append(i)
                raise

    return Spec(check, text, items=item)


def dict_of(value: Spec, desc: str | None = None) -> Spec:
    """An object with any keys whose values all match ``value``."""
    text = desc or f"an object of {_plural(value.desc)}"
    inner = value.check

    def check(v: Any) -> None:
        if not isinstance(v, dict):
            raise SchemaError(text, v)
        for k, x in v.items():
            try:
                inner(x)
            except SchemaError as exc:
                exc.path.append(k)
                raise

    return Spec(check, text, items=value)


def obj(
    fields: Mapping[str, Spec] | None = None,
    *,
    required: Iterable[str] = (),
    desc: str = "an object",
    aliases: Mapping[str, str] | None = None,
) -> Spec:
    """A JSON object whose declared ``fields`` are checked when present.

    :param required: fields that must be present (``Field required`` names them).
    :param aliases: other spellings of a field checked by the same spec
        (Gemini's ``system_instruction`` for ``systemInstruction``).
    """
    declared = dict(fields or {})
    for alias, canonical in (aliases or {}).items():
        declared[alias] = declared[canonical]
    items = tuple((k, s.check) for k, s in declared.items())
    needed = tuple((k, declared[k].desc) for k in required)

    def check(v: Any) -> None:
        if not isinstance(v, dict):
            raise SchemaError(desc, v)
        for k, expected in needed:
            if k not in v:
                raise SchemaError(expected, _MISSING, [k])
        for k, fn in items:
            x = v.get(k, _MISSING)
            if x is _MISSING or fn is _ANY_CHECK:
                continue
            try:
                fn(x)
            except SchemaError as exc:
                exc.path.append(k)
                raise

    return Spec(check, desc, declared)


def one_of(*specs: Spec, desc: str | None = None) -> Spec:
    """The first spec whose basic type fits decides (a string, or a list of blocks, ...).

    A value that fits none gets "expected <a> or <b>"; a value that fits one spec's type
    but fails inside it reports that inner failure, which is the useful one.
    """
    text = desc or " or ".join(s.desc for s in specs)
    checks = tuple(s.check for s in specs)

    def check(v: Any) -> None:
        inner: SchemaError | None = None
        for fn in checks:
            try:
                fn(v)
                return
            except SchemaError as exc:
                if exc.path and inner is None:
                    inner = exc  # the type fit; something inside did not
        if inner is not None:
            raise inner
        raise SchemaError(text, v)

    return Spec(check, text, alts=specs)


def nullable(spec: Spec) -> Spec:
    inner = spec.check

    def check(v: Any) -> None:
        if v is not None:
            inner(v)

    return Spec(check, f"{spec.desc} or null", spec.fields, spec.items, spec.alts)


def tagged(
    tag: str, variants: Mapping[str, Spec], *, other: Spec | None = None, desc: str = "a block"
) -> Spec:
    """Objects told apart by a string field (``type``): each variant checks its own fields.

    :param other: the check for tags not listed (None: an unknown tag is an error naming the
        known ones). Protocols that grow new block types keep them with a permissive
        ``other`` so they reach a same-protocol upstream.
    """
    table = {k: s.check for k, s in variants.items()}
    known = ", ".join(repr(k) for k in variants)
    fallback = other.check if other is not None else None
    tag_desc = f"a string naming the {desc.removeprefix('a ').removeprefix('an ')} type"

    def check(v: Any) -> None:
        if not isinstance(v, dict):
            raise SchemaError(f"{desc} (an object with a '{tag}')", v)
        name = v.get(tag, _MISSING)
        if type(name) is not str:
            raise SchemaError(tag_desc, name, [tag])
        fn = table.get(name, fallback)
        if fn is None:
            raise SchemaError(f"one of {known}", name, [tag])
        fn(v)

    alts = (*variants.values(), *((other,) if other is not None else ()))
    return Spec(check, desc, {tag: STR}, alts=alts)


_ANY_CHECK = ANY.check


def _plural(desc: str) -> str:
    for article in ("an ", "a "):
        if desc.startswith(article):
            word = desc[len(article) :]
            head, _, rest = word.partition(" ")
            if head.endswith("y") and head not in ("key",):
                head = head[:-1] + "ies"
            elif not head.endswith("s"):
                head += "s"
            return f"{head} {rest}".strip()
    return desc
