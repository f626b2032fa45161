"""A faster ``http.client.parse_headers``, for both HTTP legs of every request.

gevent's server reads each request's headers, and urllib3 (through ``http.client``) each
upstream answer's, with ``http.client.parse_headers``: it joins the lines and hands them to
the ``email`` package's feed parser, which was about 15% of the relay's CPU per request in a
py-spy profile (``bench/profile.py``), more than all the protocol conversions. HTTP header
blocks need none of what that parser does for mail. This one reads the lines the same way
(``http.client._read_headers``: the same line-length and count limits, the same errors) and
fills the same message class directly: ``name: value`` pairs in order, values without the
surrounding whitespace, obsolete folded lines joined to the header before them, and a line
without a colon skipped (the email parser would instead stop there and treat the rest as a
body, so urllib3 warned and the later headers were lost).

``install()`` replaces the function in ``http.client``, where both gevent's server and
urllib3 look it up at call time; ``create_app`` calls it, for ``main.py`` and every gunicorn
worker alike.
"""

from __future__ import annotations

import http.client
from typing import Any

_standard = http.client.parse_headers


def parse_headers(fp: Any, _class: type[http.client.HTTPMessage] = http.client.HTTPMessage) -> Any:
    """``http.client.parse_headers``, without the email parser."""
    lines = http.client._read_headers(fp)  # type: ignore[attr-defined]
    message = _class()
    pairs: list[tuple[str, str]] = message._headers  # type: ignore[attr-defined]
    for raw in lines:
        line = raw.decode("iso-8859-1")
        if line[:1] in (" ", "\t"):
            if pairs and line.strip():  # a folded continuation of the header before
                name, value = pairs[-1]
                pairs[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if colon and name:
            pairs.append((name, value.strip(" \t\r\n")))
    return message


def install() -> None:
    """Use ``parse_headers`` for every HTTP message this process reads."""
    http.client.parse_headers = parse_headers  # type: ignore[assignment]
