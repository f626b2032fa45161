"""The fast header parser against the standard one, on plain bytes."""

from __future__ import annotations

import http.client
import io

import pytest

from ccrelay.core import httpheaders

STANDARD = httpheaders._standard


@pytest.mark.parametrize(
    "block",
    [
        b"Host: a\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\nbody",
        b"Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nX-Empty:\r\n\r\n",
        b"content-type:text/event-stream\r\nretry-after:  30 \r\n\r\n",
        b"X-Latin: caf\xe9\r\n\n",
        b"\r\n",
    ],
)
def test_same_headers_as_the_standard_parser(block):
    fast, slow = io.BytesIO(block), io.BytesIO(block)
    got, want = httpheaders.parse_headers(fast), STANDARD(slow)
    # the same pairs; values without trailing whitespace (HTTP's OWS is not part of a value;
    # the email parser keeps it)
    assert got.items() == [(k, v.rstrip(" \t")) for k, v in want.items()]
    assert fast.read() == slow.read()  # the body is left unread, byte for byte
    assert isinstance(got, http.client.HTTPMessage)


def test_folded_lines_join_and_lines_without_a_colon_are_skipped():
    block = b"X-Long: one\r\n\ttwo\r\nnot a header\r\nX-After: kept\r\n\r\n"
    msg = httpheaders.parse_headers(io.BytesIO(block))
    assert msg.items() == [("X-Long", "one two"), ("X-After", "kept")]
    assert msg.get_all("x-after") == ["kept"] and msg["x-long"] == "one two"


def test_the_standard_limits_hold():
    with pytest.raises(http.client.LineTooLong):
        httpheaders.parse_headers(io.BytesIO(b"X: " + b"a" * 70000 + b"\r\n\r\n"))
    many = b"".join(b"X-%d: v\r\n" % i for i in range(200)) + b"\r\n"
    with pytest.raises(http.client.HTTPException, match="more than 100 headers"):
        httpheaders.parse_headers(io.BytesIO(many))
