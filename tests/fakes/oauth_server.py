"""A local OAuth 2.0 authorization server, as strict as a real one where ccrelay could go wrong.

- ``GET /authorize``: checks client id, redirect URI, ``response_type=code`` and an S256
  challenge, and answers the way Claude's console shows a code: ``code#state`` as text (the
  test plays the user and pastes it into ``ccrelay login``).
- ``POST /token`` (form or JSON): the ``authorization_code`` grant checks the code (once
  only), client id, redirect URI and the PKCE verifier against the challenge; the
  ``refresh_token`` grant accepts only the current refresh token and rotates it. Each grant
  issues a new access token, which becomes the only one ``current_access`` accepts.
- ``refuse = True`` makes refreshes fail with ``invalid_grant``; a refresh token used twice
  is counted in ``reused`` (two workers racing a rotating token would show there).

Tokens are generated (``fake-access-3-...``), never real.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from tests.fakes import server

CLIENT_ID = "ccrelay-test-client"


@dataclass
class _Code:
    challenge: str
    redirect_uri: str
    client_id: str
    scope: str
    state: str


@dataclass
class TokenCall:
    """One request to the token endpoint, as received."""

    grant_type: str
    content_type: str
    fields: dict[str, str]
    status: int = 0
    at: float = field(default_factory=time.monotonic)


class FakeAuthServer(server.ServerThread):
    def __init__(self, *, expires_in: int = 3600, redirect_path: str = "/callback") -> None:
        self.client_id = CLIENT_ID
        self.expires_in = expires_in
        self.refuse = False
        #: seconds a refresh takes (lets concurrent requests pile up behind it)
        self.refresh_delay = 0.0
        #: when set, a refresh waits for this event before answering
        self.refresh_gate: threading.Event | None = None
        #: token requests must be "json" or "form" (None: either)
        self.body_format: str | None = None
        self.calls: list[TokenCall] = []
        self.reused = 0
        self.current_access: str | None = None
        #: every token issued (tests check none of them leaks into a log or an answer)
        self.issued: list[str] = []
        self.current_refresh: str | None = None
        self._codes: dict[str, _Code] = {}
        self._used_refresh: set[str] = set()
        self._serial = 0
        self._lock = threading.Lock()
        fake = self

        class Handler(server.Handler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != "/authorize":
                    return self.send_json(404, {"error": "not_found"})
                status, body = fake._authorize({k: v[0] for k, v in parse_qs(parts.query).items()})
                if status != 200:
                    return self.send_json(status, body)
                self.send_body(200, body.encode(), "text/plain")

            def do_POST(self) -> None:
                raw = self.body_bytes().decode()
                ctype = (self.headers.get("content-type") or "").split(";")[0].strip()
                if urlsplit(self.path).path != "/token":
                    return self.send_json(404, {"error": "not_found"})
                if ctype == "application/json":
                    fields = json.loads(raw) if raw else {}
                else:
                    fields = {k: v[0] for k, v in parse_qs(raw).items()}
                status, body = fake._token(ctype, fields)
                self.send_json(status, body)

        super().__init__(Handler)
        self.redirect_uri = self.url + redirect_path

    # --- the spec a provider config needs --------------------------------------------

    def oauth_section(self, **extra: Any) -> dict[str, Any]:
        return {
            "authorize_url": self.url + "/authorize",
            "token_url": self.url + "/token",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scopes": ["user:inference", "user:profile"],
            **extra,
        }

    @property
    def refreshes(self) -> list[TokenCall]:
        return [c for c in self.calls if c.grant_type == "refresh_token"]

    def invalidate_access(self) -> None:
        """The current access token stops working (revoked server-side)."""
        with self._lock:
            self.current_access = None

    # --- endpoints -------------------------------------------------------------------

    def _authorize(self, q: dict[str, str]) -> tuple[int, Any]:
        if q.get("client_id") != self.client_id:
            return 400, {"error": "invalid_client"}
        if q.get("redirect_uri") != self.redirect_uri:
            return 400, {"error": "invalid_request", "error_description": "redirect_uri"}
        if q.get("response_type") != "code" or q.get("code_challenge_method") != "S256":
            return 400, {"error": "invalid_request", "error_description": "PKCE S256 required"}
        if not q.get("code_challenge") or not q.get("state"):
            return 400, {"error": "invalid_request", "error_description": "challenge, state"}
        code = "fake-code-" + secrets.token_urlsafe(12)
        with self._lock:
            self._codes[code] = _Code(
                q["code_challenge"], q["redirect_uri"], q["client_id"], q.get("scope", ""),
                q["state"],
            )  # fmt: skip
        return 200, f"{code}#{q['state']}"

    def _token(self, ctype: str, f: dict[str, str]) -> tuple[int, Any]:
        call = TokenCall(str(f.get("grant_type", "")), ctype, dict(f))
        with self._lock:
            self.calls.append(call)
        call.status, body = self._grant(ctype, f)
        return call.status, body

    def _grant(self, ctype: str, f: dict[str, str]) -> tuple[int, Any]:
        fmt = "json" if ctype == "application/json" else "form"
        if self.body_format and fmt != self.body_format:
            return 400, {
                "error": "invalid_request",
                "error_description": f"send {self.body_format}",
            }
        if f.get("client_id") != self.client_id:
            return 401, {"error": "invalid_client"}
        grant = f.get("grant_type")
        if grant == "authorization_code":
            with self._lock:
                code = self._codes.pop(str(f.get("code")), None)
            if code is None:
                return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
            if f.get("redirect_uri") != code.redirect_uri:
                return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
            if _s256(str(f.get("code_verifier", ""))) != code.challenge:
                return 400, {"error": "invalid_grant", "error_description": "PKCE verifier"}
            return 200, self._issue(code.scope)
        if grant == "refresh_token":
            if self.refresh_delay:
                time.sleep(self.refresh_delay)
            if self.refresh_gate is not None:
                self.refresh_gate.wait(30)
            token = str(f.get("refresh_token", ""))
            with self._lock:
                if token in self._used_refresh:
                    self.reused += 1
                if self.refuse or token != self.current_refresh:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "refresh token is not valid",
                    }
                self._used_refresh.add(token)
            return 200, self._issue("user:inference user:profile")
        return 400, {"error": "unsupported_grant_type"}

    def _issue(self, scope: str) -> dict[str, Any]:
        with self._lock:
            self._serial += 1
            n = self._serial
            self.current_access = f"fake-access-{n}-{secrets.token_hex(8)}"
            self.current_refresh = f"fake-refresh-{n}-{secrets.token_hex(8)}"
            self.issued += [self.current_access, self.current_refresh]
            return {
                "token_type": "Bearer",
                "access_token": self.current_access,
                "refresh_token": self.current_refresh,
                "expires_in": self.expires_in,
                "scope": scope,
            }


# --- playing the user and the upstream ----------------------------------------------------


@dataclass
class LoginRun:
    returncode: int
    stdout: str
    stderr: str
    url: str


def run_login(
    auth: FakeAuthServer,
    auth_file: Path,
    *args: str,
    paste: Callable[[str], str] = lambda shown: shown,
    command: str = "login",
) -> LoginRun:
    """``ccrelay login`` through its real entry point: read the URL it prints, open it as the
    user's browser would, and paste (``paste`` turns the page's ``code#state`` into what is
    typed) on its stdin."""
    proc = subprocess.Popen(
        [*LOGIN_COMMAND, command, *args, "--auth-file", str(auth_file)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=cli_env(auth_file),
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdin is not None
    url = ""
    head = []
    try:
        for line in proc.stdout:
            head.append(line)
            if line.strip().startswith("http"):
                url = line.strip()
                break
        if url:
            shown = requests.get(url, timeout=10).text
            proc.stdin.write(paste(shown) + "\n")
            proc.stdin.flush()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return LoginRun(proc.returncode, "".join(head) + out, err, url)


#: how the tests run the login commands: the ``ccrelay`` console script of this venv
LOGIN_COMMAND = [str(Path(sys.executable).with_name("ccrelay"))]


def run_cli(auth_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``logout`` / ``status`` (or ``login`` with nothing pasted) through the entry point."""
    return subprocess.run(
        [*LOGIN_COMMAND, *args, "--auth-file", str(auth_file)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env=cli_env(auth_file),
    )  # fmt: skip


def cli_env(auth_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCRELAY_")}
    env["HOME"] = str(auth_file.parent)  # never the real ~/.config
    return env


def answer_with_subscription(upstream: Any, auth: FakeAuthServer, text: str = "Hi there") -> None:
    """Make ``upstream`` an Anthropic endpoint that accepts only the current access token."""
    from tests.fakes.upstream import Reply

    def respond(rec: Any) -> Any:
        if rec.headers.get("authorization") != f"Bearer {auth.current_access}":
            error = {"type": "authentication_error", "message": "OAuth token is not valid"}
            return Reply(401, json={"type": "error", "error": error})
        usage = {"input_tokens": 12, "output_tokens": 3}
        message = {
            "id": "msg_sub", "type": "message", "role": "assistant", "model": "claude-up",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": usage,
        }  # fmt: skip
        if not (isinstance(rec.body, dict) and rec.body.get("stream")):
            return Reply(json=message)
        start = {**message, "content": [], "stop_reason": None}
        return Reply(
            event_names=True,
            sse=[
                {"type": "message_start", "message": start},
                {"type": "content_block_start", "index": 0,
                 "content_block": {"type": "text", "text": ""}},
                {"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": text}},
                {"type": "content_block_stop", "index": 0},
                {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                 "usage": {"output_tokens": 3}},
                {"type": "message_stop"},
            ],
        )  # fmt: skip

    upstream.responder = respond
    # socketserver listens with a backlog of 5; twenty requests let go at once by a finished
    # refresh open twenty connections together, and an overflowing backlog resets some.
    upstream.server.socket.listen(128)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
