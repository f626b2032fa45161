"""The OAuth 2.0 authorization-code flow with PKCE, and the token endpoint's two grants.

- ``start``: a PKCE verifier (RFC 7636, S256) and a random ``state``, and the authorize URL
  for the user to open.
- ``code_from_paste``: what the user pasted back, as Claude's console shows it (``code#state``),
  a bare code, or the whole redirect URL (``...?code=...&state=...``); a ``state`` that does
  not match is refused.
- ``exchange`` and ``refresh``: the token endpoint (RFC 6749 §4.1.3 and §6), form-encoded or
  JSON per the spec. A 400/401/403 answer means the grant was refused (the user must log in
  again); anything else (no connection, 5xx, a garbled answer) is transient.

Messages never quote a token, code or verifier.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from ccrelay.core.errors import scrub
from ccrelay.core.oauth.spec import OAuthSpec
from ccrelay.core.oauth.store import TokenEntry

#: seconds to connect to and to hear from a token endpoint
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0


class LoginError(Exception):
    """The login cannot go on; the message says why and what to do."""


class TokenEndpointError(Exception):
    """The token endpoint did not issue tokens.

    :param refused: the server refused the grant (400/401/403: a used, revoked or expired
        code or refresh token, a wrong client): only a new login helps. False for transient
        failures (unreachable, 5xx, 429, a garbled answer).
    """

    def __init__(self, message: str, *, status: int = 0, refused: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.refused = refused


@dataclass(frozen=True)
class Pending:
    """A login in progress: the PKCE verifier and the state, kept until the code comes."""

    verifier: str = field(repr=False)
    state: str = field(repr=False)
    url: str = ""

    @property
    def challenge(self) -> str:
        return challenge_for(self.verifier)


def challenge_for(verifier: str) -> str:
    """The S256 code challenge: base64url(sha256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def start(spec: OAuthSpec) -> Pending:
    """A new verifier (86 characters of 43-128 allowed) and state, and the authorize URL."""
    verifier = secrets.token_urlsafe(64)
    state = secrets.token_urlsafe(32)
    params = {
        **spec.authorize_params,
        "client_id": spec.client_id,
        "response_type": "code",
        "redirect_uri": spec.redirect_uri,
        "scope": " ".join(spec.scopes),
        "code_challenge": challenge_for(verifier),
        "code_challenge_method": "S256",
        "state": state,
    }
    if not spec.scopes:
        del params["scope"]
    sep = "&" if "?" in spec.authorize_url else "?"
    return Pending(verifier, state, spec.authorize_url + sep + urlencode(params))


def code_from_paste(text: str, pending: Pending) -> str:
    """The authorization code in what the user pasted; checks ``state`` when it is there.

    :raises LoginError: nothing pasted, an error in a pasted redirect URL, or a state that
        is not this login's.
    """
    text = text.strip()
    state: str | None = None
    if text.startswith(("http://", "https://")) or text.startswith("?"):
        query = parse_qs(urlsplit(text).query if "://" in text else text[1:])
        if "error" in query:
            raise LoginError(f"the authorization server answered: {query['error'][0]}")
        code = query.get("code", [""])[0]
        state = query.get("state", [None])[0]
    elif "#" in text:
        code, _, state = text.partition("#")
    else:
        code = text
    code = code.strip()
    if not code:
        raise LoginError("no authorization code was given")
    if state is not None and not secrets.compare_digest(state.strip(), pending.state):
        raise LoginError(
            "the pasted code belongs to another login (its state does not match); run the "
            "login again and paste the code it shows"
        )
    return code


def exchange(
    spec: OAuthSpec, code: str, pending: Pending, *, now: float | None = None
) -> TokenEntry:
    """Trade an authorization code for tokens (``grant_type=authorization_code``)."""
    fields = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": spec.redirect_uri,
        "client_id": spec.client_id,
        "code_verifier": pending.verifier,
        # Not in RFC 6749's list, which tells servers to ignore unknown parameters; Claude's
        # token endpoint expects it beside the code.
        "state": pending.state,
    }
    answer = post(spec, fields, (code, pending.verifier))
    return _entry(answer, spec.scopes, "", now)


def refresh(spec: OAuthSpec, entry: TokenEntry, *, now: float | None = None) -> TokenEntry:
    """New tokens for ``entry`` (``grant_type=refresh_token``); a server that does not rotate
    the refresh token leaves the old one in place. No scope is sent: the grant keeps the
    scopes it had (RFC 6749 §6)."""
    if not entry.refresh_token:
        raise TokenEndpointError("no refresh token was saved at login", refused=True)
    fields = {
        "grant_type": "refresh_token",
        "refresh_token": entry.refresh_token,
        "client_id": spec.client_id,
    }
    answer = post(spec, fields, (entry.refresh_token, entry.access_token))
    return _entry(answer, entry.scopes, entry.refresh_token, now)


def post(spec: OAuthSpec, fields: Mapping[str, str], secret: tuple[str, ...]) -> dict[str, Any]:
    """POST ``fields`` to the token endpoint; the decoded JSON answer of a 200.

    Goes through ``requests``, whose sockets gevent's monkey patching makes cooperative in
    the server, so a refresh never blocks other requests.
    """
    try:
        if spec.token_body == "json":
            resp = requests.post(
                spec.token_url,
                json=dict(fields),
                headers={"accept": "application/json"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
        else:
            resp = requests.post(
                spec.token_url,
                data=dict(fields),
                headers={"accept": "application/json"},
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
    except requests.RequestException as exc:
        raise TokenEndpointError(
            f"cannot reach the token endpoint {_origin(spec.token_url)} ({type(exc).__name__})"
        ) from None
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    if resp.status_code != 200:
        detail = scrub(_error_text(body) or resp.text[:200], secret)
        refused = resp.status_code in (400, 401, 403)
        raise TokenEndpointError(
            f"the token endpoint {_origin(spec.token_url)} answered HTTP {resp.status_code}"
            + (f": {detail}" if detail else ""),
            status=resp.status_code,
            refused=refused,
        )
    if not isinstance(body, dict):
        raise TokenEndpointError(
            f"the token endpoint {_origin(spec.token_url)} answered 200 without a JSON object"
        )
    return body


def _entry(
    answer: Mapping[str, Any], scopes: tuple[str, ...], old_refresh: str, now: float | None
) -> TokenEntry:
    access = answer.get("access_token")
    if not isinstance(access, str) or not access:
        raise TokenEndpointError("the token endpoint's answer has no access_token")
    refresh_token = answer.get("refresh_token")
    expires_in = answer.get("expires_in")
    granted = answer.get("scope")
    at = time.time() if now is None else now
    return TokenEntry(
        access_token=access,
        refresh_token=refresh_token if isinstance(refresh_token, str) else old_refresh,
        expires_at=at + float(expires_in)
        if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool)
        else None,
        obtained_at=at,
        scopes=tuple(granted.split()) if isinstance(granted, str) else scopes,
    )


def _error_text(body: Any) -> str:
    """``error: error_description`` (RFC 6749 §5.2), or the message of other error shapes."""
    if not isinstance(body, dict):
        return ""
    err = body.get("error")
    if isinstance(err, dict):  # {"error": {"type", "message"}} (Anthropic's API shape)
        return str(err.get("message") or err.get("type") or "")[:300]
    desc = body.get("error_description")
    if isinstance(err, str):
        return (f"{err}: {desc}" if isinstance(desc, str) and desc else err)[:300]
    return ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
