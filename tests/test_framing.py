"""Upstream stream framings: every split point of the bytes yields the same events."""

from __future__ import annotations

import json

import pytest

from ccrelay.core.errors import RelayError
from ccrelay.core.framing import parse_json_array, parse_ndjson, parse_stream

OBJECTS = [
    {"a": 'x"]}\\', "b": [1, {"c": "é"}]},
    {"candidates": [{"content": {"parts": [{"text": "hi ü [{"}]}}]},
    {},
]


def splits(data: bytes):
    """The data cut once at every position, and cut into single bytes."""
    for i in range(len(data) + 1):
        yield [data[:i], data[i:]]
    yield [data[i : i + 1] for i in range(len(data))]


def test_json_array_elements_at_every_split_point():
    data = json.dumps(OBJECTS, ensure_ascii=False, indent=1).encode()
    for parts in splits(data):
        assert [json.loads(e.data) for e in parse_json_array(parts)] == OBJECTS


def test_ndjson_lines_at_every_split_point():
    data = b"\n".join(json.dumps(o, ensure_ascii=False).encode() for o in OBJECTS) + b"\n\n"
    for parts in splits(data):
        assert [json.loads(e.data) for e in parse_ndjson(parts)] == OBJECTS


def test_ndjson_last_line_without_newline():
    assert [e.data for e in parse_ndjson([b'{"a":1}\n{"b":', b"2}"])] == ['{"a":1}', '{"b":2}']


@pytest.mark.parametrize(
    ("data", "needle"),
    [(b'{"not": "an array"}', "not a JSON array"), (b'[{"a": 1}, {"b"', "ended inside")],
)
def test_json_array_faults_are_502(data, needle):
    with pytest.raises(RelayError, match=needle) as info:
        list(parse_json_array([data]))
    assert info.value.status == 502


def test_parse_stream_dispatches_on_the_framing():
    assert [e.data for e in parse_stream("sse", [b"data: 1\n\n"])] == ["1"]
    assert [e.data for e in parse_stream("ndjson", [b"1\n2\n"])] == ["1", "2"]
    assert [e.data for e in parse_stream("json_array", [b"[{}]"])] == ["{}"]
