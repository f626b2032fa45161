"""The status page: one self-contained HTML document for browsers at ``GET /``, and the
JSON of today's requests it reads at ``GET /status`` (the rest it reads from ``/health``).

The document (``statuspage.html``, shipped as package data) carries its styles and script
inline and loads nothing from elsewhere, so it works offline; its content security policy
allows exactly that inline script and style (by their hashes) and requests to this server,
so even a value that slipped past the page's escaping could not run or load anything.
``/status`` is open like ``/health`` (the page must work when access keys are configured)
and shows nothing secret: see ``core/statuspage_log.py`` for what it leaves out.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from ccrelay.core.statuspage_log import TodayLog

#: headers of the answers the page reads (never cached: they change every request)
NO_STORE = {"cache-control": "no-store"}


class StatusPage:
    """The page's document and its data for one process (under gunicorn, one worker)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.today = TodayLog(clock)
        self._page: tuple[bytes, dict[str, str]] | None = None

    def document(self) -> tuple[bytes, dict[str, str]]:
        """The HTML document and its response headers (read and hashed once)."""
        if self._page is None:
            html = resources.files("ccrelay.core").joinpath("statuspage.html").read_bytes()
            self._page = html, {**NO_STORE, **_security_headers(html)}
        return self._page

    def status(self, log_dir: Path) -> dict[str, Any]:
        """``GET /status``: this worker's pid and the time, then today from the token log."""
        return {"pid": os.getpid(), "time": int(self._clock()), **self.today.read(log_dir)}


def _security_headers(html: bytes) -> dict[str, str]:
    """A content security policy naming the document's inline script and style by hash."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for tag, body in re.findall(rb"<(script|style)>(.*?)</\1>", html, re.S):
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        hashes[tag.decode()].append(f"'sha256-{digest}'")
    policy = (
        "default-src 'none'; "
        f"script-src {' '.join(hashes['script'])}; style-src {' '.join(hashes['style'])}; "
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return {
        "content-security-policy": policy,
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
    }
