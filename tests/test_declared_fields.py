"""Every field a dialect reads is declared in its spec, so it was type-checked first.

Each dialect parses real bodies wrapped in recording dicts; every key it reads by name
(``body["x"]``, ``body.get("x")``) at any depth must be a path its request spec declares
(``core/schema.py``). Iterating a mapping whole (to carry unknown fields in the side field)
is not reading a field. A new field read without being declared fails here. (A read from a
plain ``dict(...)`` copy of a level is not seen; the levels below it still are.)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ccrelay.core.dialect import Headers, Inbound
from ccrelay.core.dialects import anthropic, gemini, ollama, openai_chat, openai_responses
from ccrelay.core.plugins import Registry
from ccrelay.core.schema import Spec
from tests.fakes.ollama_bodies import SEED_CHAT, SEED_GENERATE

FIXTURES = Path(__file__).resolve().parent / "fixtures"
Path_ = tuple[Any, ...]


class _Dict(dict):  # type: ignore[type-arg]
    def __init__(self, data: dict, path: Path_, log: set[Path_]) -> None:
        super().__init__({k: _wrap(v, (*path, k), log) for k, v in data.items()})
        self._path, self._log = path, log

    def __getitem__(self, key: Any) -> Any:
        self._log.add((*self._path, key))
        return super().__getitem__(key)

    def get(self, key: Any, default: Any = None) -> Any:
        self._log.add((*self._path, key))
        return super().get(key, default)


class _List(list):  # type: ignore[type-arg]
    def __init__(self, data: list, path: Path_, log: set[Path_]) -> None:
        super().__init__(_wrap(v, (*path, "*"), log) for v in data)


def _wrap(value: Any, path: Path_, log: set[Path_]) -> Any:
    if isinstance(value, dict):
        return _Dict(value, path, log)
    if isinstance(value, list):
        return _List(value, path, log)
    return value


def declared(spec: Spec, path: Path_) -> bool:
    """Whether ``path`` (keys, ``*`` for list items) leads through ``spec``'s declarations."""
    if spec.alts and any(declared(alt, path) for alt in spec.alts):
        return True
    if not path:
        return True
    key, rest = path[0], path[1:]
    if key == "*":
        return spec.items is not None and declared(spec.items, rest)
    if spec.fields is not None and key in spec.fields:
        return declared(spec.fields[key], rest)
    return spec.fields is None and spec.items is not None and declared(spec.items, rest)


def _bodies(folder: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text())["body"] for p in sorted((FIXTURES / folder).glob("*.json"))
            if isinstance(json.loads(p.read_text()).get("body"), dict)]  # fmt: skip


def _qwen_bodies() -> list[dict[str, Any]]:
    bodies = _bodies("qwen")
    for body in bodies:  # the recording anonymised the arguments into non-JSON filler
        for msg in body["messages"]:
            for call in msg.get("tool_calls") or ():
                call["function"]["arguments"] = '{"file_path": "hello.txt", "content": "hi"}'
    return bodies


def _gemini(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "gemini" / name).read_text())


CASES = [
    ("anthropic", "messages", anthropic.REQUEST, _bodies("claude_code")),
    ("openai_chat", "chat_completions", openai_chat.spec.REQUEST, _qwen_bodies()),
    ("openai_responses", "responses", openai_responses.spec.REQUEST, _bodies("codex")),
    (
        "gemini",
        "call",
        gemini.spec.REQUEST,
        [_gemini(p.name) for p in sorted((FIXTURES / "gemini").glob("*.json"))],
    ),
    ("ollama", "chat", ollama.spec.CHAT, [SEED_CHAT]),
    ("ollama", "generate", ollama.spec.GENERATE, [SEED_GENERATE]),
]


@pytest.fixture(scope="module")
def dialects():
    registry = Registry([], entrypoints=False)
    registry.refresh()
    return registry.dialects


@pytest.mark.parametrize(("name", "endpoint", "spec", "bodies"), CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in CASES])  # fmt: skip
def test_a_dialect_reads_only_fields_its_spec_declares(dialects, name, endpoint, spec, bodies):
    dialect = dialects[name]
    endpoints = {r.endpoint for r in dialect.routes}
    assert endpoint in endpoints, f"{name} has no endpoint {endpoint!r}: {endpoints}"
    assert bodies, "no bodies to parse"
    for body in bodies:
        params: dict[str, str] = {}
        if name == "gemini":  # a recorded request: the model and method are in its path
            params = {"target": body["path"].rsplit("/", 1)[1]}
            body = body["body"]
        read: set[Path_] = set()
        inbound = Inbound(endpoint, params, {}, Headers({}), _wrap(body, (), read), {})
        dialect.parse(inbound)
        undeclared = sorted(".".join(map(str, p)) for p in read if not declared(spec, p))
        assert not undeclared, f"{name} reads fields its spec does not declare: {undeclared}"
        assert read, "the recorder saw no reads at all"


def test_the_recorder_catches_an_undeclared_read():
    from ccrelay.core.schema import STR, obj

    spec = obj({"a": STR, "b": obj({"c": STR})})
    read: set[Path_] = set()
    body = _wrap({"a": "x", "b": {"c": "y", "d": "z"}, "e": 1}, (), read)
    body.get("a"), body["b"]["c"], body["b"].get("d"), body.get("e")
    assert sorted(p for p in read if not declared(spec, p)) == [("b", "d"), ("e",)]
