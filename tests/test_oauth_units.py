"""Subscription login pieces with plain data or a local fake server: PKCE, the pasted code,
the ``oauth`` config section, the auth file and its lock, the token manager's single-flight
refresh, and how the anthropic strategy shapes a request made with a subscription token."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from ccrelay.core.config import ConfigError, ProviderConfig, load_settings
from ccrelay.core.errors import ErrorKind, RelayError
from ccrelay.core.oauth import flow
from ccrelay.core.oauth.manager import TokenManager, retry_after_401
from ccrelay.core.oauth.presets import CLAUDE
from ccrelay.core.oauth.spec import OAuthSpec
from ccrelay.core.oauth.store import AuthFile, AuthFileError, TokenEntry, default_path
from ccrelay.core.provider import RequestContext
from ccrelay.providers.anthropic import AnthropicProvider
from tests.fakes.oauth_server import FakeAuthServer


@pytest.fixture
def oauth():
    fake = FakeAuthServer()
    yield fake
    fake.close()


def spec_for(fake: FakeAuthServer, **extra) -> OAuthSpec:
    sec = fake.oauth_section()
    return OAuthSpec(
        authorize_url=sec["authorize_url"], token_url=sec["token_url"],
        client_id=sec["client_id"], redirect_uri=sec["redirect_uri"],
        scopes=tuple(sec["scopes"]), **extra,
    )  # fmt: skip


def provider(fake: FakeAuthServer, name: str = "sub", **extra) -> ProviderConfig:
    return ProviderConfig(
        name=name, type="anthropic", base_url="http://127.0.0.1:9", auth="oauth",
        oauth=spec_for(fake, **extra),
    )  # fmt: skip


def log_in(fake: FakeAuthServer, spec: OAuthSpec) -> TokenEntry:
    """The whole code flow without the CLI: authorize as the user would, then exchange."""
    import requests

    pending = flow.start(spec)
    pasted = requests.get(pending.url, timeout=5).text
    return flow.exchange(spec, flow.code_from_paste(pasted, pending), pending)


# --- PKCE, the authorize URL, the pasted code -------------------------------------------


def test_s256_challenge_is_rfc_7636s():
    """RFC 7636 section 4.2: BASE64URL(SHA256(verifier)) without padding (appendix B's verifier)."""
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert flow.challenge_for(verifier) == expected
    assert len(expected) == 43 and expected.endswith("-cM")  # appendix B's value ends so


def test_authorize_url_carries_pkce_state_and_the_presets_extra_params():
    pending = flow.start(CLAUDE)
    parts = urlsplit(pending.url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CLAUDE.authorize_url
    assert q["code"] == "true"  # Claude's console then shows code#state to paste
    assert q["client_id"] == CLAUDE.client_id and q["response_type"] == "code"
    assert q["redirect_uri"] == CLAUDE.redirect_uri
    assert q["scope"] == "user:profile user:inference"
    assert q["code_challenge_method"] == "S256"
    assert q["code_challenge"] == flow.challenge_for(pending.verifier)
    assert q["state"] == pending.state and pending.verifier not in pending.url
    assert 43 <= len(pending.verifier) <= 128
    again = flow.start(CLAUDE)
    assert (again.state, again.verifier) != (pending.state, pending.verifier)


@pytest.mark.parametrize(
    "pasted, code",
    [
        ("abc123#{state}", "abc123"),
        ("  abc123#{state}\n", "abc123"),
        ("abc123", "abc123"),
        ("https://example.test/callback?code=abc123&state={state}", "abc123"),
    ],
)
def test_pasted_code_forms(pasted, code):
    pending = flow.start(CLAUDE)
    assert flow.code_from_paste(pasted.format(state=pending.state), pending) == code


@pytest.mark.parametrize(
    "pasted, says",
    [
        ("abc123#not-the-state", "state does not match"),
        ("https://x.test/cb?code=abc&state=other", "state does not match"),
        ("https://x.test/cb?error=access_denied", "access_denied"),
        ("   \n", "no authorization code"),
        ("#{state}", "no authorization code"),
    ],
)
def test_pasted_code_refused(pasted, says):
    pending = flow.start(CLAUDE)
    with pytest.raises(flow.LoginError, match=says):
        flow.code_from_paste(pasted.format(state=pending.state), pending)


# --- the token endpoint -------------------------------------------------------------------


@pytest.mark.parametrize("body", ["form", "json"])
def test_code_exchange_and_rotating_refresh(oauth, body):
    oauth.body_format = body
    spec = spec_for(oauth, token_body=body)
    entry = log_in(oauth, spec)
    assert entry.access_token == oauth.current_access
    assert entry.refresh_token == oauth.current_refresh
    assert entry.scopes == ("user:inference", "user:profile")
    assert entry.expires_at == pytest.approx(entry.obtained_at + 3600)
    exchange = oauth.calls[0]
    assert exchange.grant_type == "authorization_code"
    assert exchange.content_type == ("application/json" if body == "json" else
                                     "application/x-www-form-urlencoded")  # fmt: skip
    assert exchange.status == 200
    new = flow.refresh(spec, entry)
    assert new.access_token == oauth.current_access != entry.access_token
    assert new.refresh_token == oauth.current_refresh != entry.refresh_token
    assert oauth.calls[-1].fields == {
        "grant_type": "refresh_token", "refresh_token": entry.refresh_token,
        "client_id": oauth.client_id,
    }  # fmt: skip
    # the old refresh token was rotated out: using it again is refused, and says so
    with pytest.raises(flow.TokenEndpointError) as err:
        flow.refresh(spec, entry)
    assert err.value.refused and err.value.status == 400
    assert "invalid_grant" in err.value.message and entry.refresh_token not in err.value.message


def test_exchange_checks_verifier_and_redirect(oauth):
    spec = spec_for(oauth)
    pending = flow.start(spec)
    import requests

    code = flow.code_from_paste(requests.get(pending.url, timeout=5).text, pending)
    wrong = flow.Pending("x" * 64, pending.state)
    with pytest.raises(flow.TokenEndpointError, match="PKCE verifier") as err:
        flow.exchange(spec, code, wrong)
    assert err.value.refused
    assert oauth.current_access is None  # nothing was issued


def test_unreachable_token_endpoint_is_transient():
    spec = OAuthSpec("http://127.0.0.1:9/a", "http://127.0.0.1:9/token", "c", "http://x/cb")
    entry = TokenEntry("fake-access", "fake-refresh", time.time() + 10)
    with pytest.raises(flow.TokenEndpointError) as err:
        flow.refresh(spec, entry)
    assert not err.value.refused and "cannot reach the token endpoint" in err.value.message


# --- config ---------------------------------------------------------------------------------


class _Stub(AnthropicProvider):
    pass


def load(tmp_path: Path, providers: dict) -> object:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": providers}))
    return load_settings(path, strategies=lambda: {"anthropic": AnthropicProvider}, environ={})


def test_auth_oauth_takes_the_preset_and_needs_no_key(tmp_path):
    s = load(tmp_path, {"claude": {"type": "anthropic", "base_url": "https://api.anthropic.com",
                                   "auth": "oauth"}})  # fmt: skip
    p = s.providers["claude"]
    assert p.configured and p.auth == "oauth" and p.oauth == CLAUDE and p.api_key == ""


def test_oauth_section_overrides_the_preset_field_by_field(tmp_path):
    s = load(tmp_path, {"claude": {
        "type": "anthropic", "base_url": "https://api.anthropic.com", "auth": "oauth",
        "oauth": {"token_url": "http://127.0.0.1:1/token", "scopes": "user:inference"},
    }})  # fmt: skip
    spec = s.providers["claude"].oauth
    assert spec.token_url == "http://127.0.0.1:1/token" and spec.scopes == ("user:inference",)
    assert spec.client_id == CLAUDE.client_id and spec.token_body == "json"


@pytest.mark.parametrize(
    "section, error",
    [
        ({"auth": "bearer"}, "providers.p.auth: expected api_key or oauth"),
        ({"auth": "oauth", "api_key": "k"}, "providers.p.api_key: not used with auth: oauth"),
        ({"oauth": {"preset": "claude"}}, "providers.p.oauth: only used with auth: oauth"),
        ({"auth": "oauth", "oauth": {"client": "x"}}, "providers.p.oauth.client: unknown key"),
        ({"auth": "oauth", "oauth": {"preset": "nope"}}, "providers.p.oauth.preset: no preset"),
        (
            {"auth": "oauth", "oauth": {"token_url": "ftp://x"}},
            "providers.p.oauth.token_url: expected an http(s) URL",
        ),
        ({"auth": "oauth", "oauth": {"scopes": [1]}}, "providers.p.oauth.scopes: expected"),
        (
            {"auth": "oauth", "oauth": {"token_body": "xml"}},
            "providers.p.oauth.token_body: expected form or json",
        ),
        ({"auth": "oauth", "oauth": []}, "providers.p.oauth: expected a mapping"),
    ],
)
def test_config_errors_name_the_path(tmp_path, section, error):
    with pytest.raises(ConfigError, match=re.escape(error)):
        load(tmp_path, {"p": {"type": "anthropic", "base_url": "https://x.test", **section}})


def test_a_strategy_without_preset_needs_every_endpoint(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": {"p": {
        "type": "other", "base_url": "https://x.test", "auth": "oauth",
        "oauth": {"token_url": "https://x.test/token"}}}}))  # fmt: skip

    class _Other(AnthropicProvider):
        name = "other"

    with pytest.raises(ConfigError) as err:
        load_settings(path, strategies=lambda: {"other": _Other}, environ={})
    assert "providers.p.oauth: no preset for strategy 'other'; set authorize_url, client_id, " \
           "redirect_uri" in str(err.value)  # fmt: skip


# --- the auth file --------------------------------------------------------------------------


def test_auth_file_is_private_and_replaced_whole(tmp_path):
    store = AuthFile(tmp_path / "conf" / "ccrelay" / "auth.json")
    store.write({"a": TokenEntry("fake-access-a", "fake-refresh-a", 1.0, 0.5, ("s",))})
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    first = store.signature()
    store.write({**store.read(), "b": TokenEntry("fake-access-b")})
    assert store.signature() != first
    assert sorted(store.read()) == ["a", "b"]
    assert store.read()["a"] == TokenEntry("fake-access-a", "fake-refresh-a", 1.0, 0.5, ("s",))
    assert [p.name for p in store.path.parent.iterdir()] == ["auth.json"]  # no temp files left
    assert "fake-access" not in repr(store.read()["a"])


def test_corrupt_auth_file_says_what_to_do(tmp_path):
    (tmp_path / "auth.json").write_text("{not json")
    with pytest.raises(AuthFileError, match="not valid JSON; delete it and run `ccrelay login`"):
        AuthFile(tmp_path / "auth.json").read()


def test_default_path_honours_env(tmp_path):
    assert default_path({"CCRELAY_AUTH_FILE": str(tmp_path / "a.json")}) == tmp_path / "a.json"
    assert default_path({"XDG_CONFIG_HOME": "/xdg"}) == Path("/xdg/ccrelay/auth.json")
    assert default_path({}) == Path.home() / ".config" / "ccrelay" / "auth.json"


def test_lock_excludes_another_process(tmp_path):
    store = AuthFile(tmp_path / "auth.json")
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from ccrelay.core.oauth.store import AuthFile\n"
         "with AuthFile(sys.argv[1]).locked():\n"
         "    print('held', flush=True)\n"
         "    sys.stdin.readline()\n", str(store.path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AuthFileError, match="stayed locked by another ccrelay process"):
            with store.locked(timeout=0.2):
                pass
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.wait(10) == 0
        with store.locked(timeout=5):
            pass
    finally:
        holder.kill()
        holder.wait()


# --- the token manager ----------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def logged_in(tmp_path, fake, name="sub"):
    store = AuthFile(tmp_path / "auth.json")
    store.write({name: log_in(fake, spec_for(fake))})
    return store


def test_fresh_token_is_used_as_is_and_a_due_one_refreshed_once(tmp_path, oauth):
    store = logged_in(tmp_path, oauth)
    clock = Clock()
    tokens = TokenManager(store, clock=clock)
    p = provider(oauth)
    first = tokens.access_token(p)
    assert first == oauth.current_access and not oauth.refreshes
    clock.now += 3600 - 301  # outside the 5-minute margin
    assert tokens.access_token(p) == first and not oauth.refreshes
    clock.now += 2  # inside it
    second = tokens.access_token(p)
    assert second == oauth.current_access != first
    assert len(oauth.refreshes) == 1
    saved = store.read()["sub"]
    assert saved.refresh_token == oauth.current_refresh  # the rotated one, saved at once


def test_twenty_threads_at_expiry_cause_one_refresh(tmp_path, oauth):
    store = logged_in(tmp_path, oauth)
    clock = Clock()
    tokens = TokenManager(store, clock=clock)
    p = provider(oauth)
    clock.now += 3600
    oauth.refresh_delay = 0.2
    got: list[str] = []
    start = threading.Barrier(20)

    def ask() -> None:
        start.wait()
        got.append(tokens.access_token(p))

    threads = [threading.Thread(target=ask) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(oauth.refreshes) == 1 and oauth.reused == 0
    assert got == [oauth.current_access] * 20


def test_another_process_refresh_is_adopted_without_a_request(tmp_path, oauth):
    store = logged_in(tmp_path, oauth)
    clock = Clock()
    worker_a = TokenManager(AuthFile(store.path), clock=clock)
    worker_b = TokenManager(AuthFile(store.path), clock=clock)
    p = provider(oauth)
    old = worker_a.access_token(p)
    assert worker_b.access_token(p) == old
    clock.now += 3600
    new = worker_a.access_token(p)
    assert worker_b.access_token(p) == new != old
    assert len(oauth.refreshes) == 1 and oauth.reused == 0
    # worker_b's request with the old token came back 401: it takes the new one, no refresh
    assert worker_b.after_rejection(p, old) == new and len(oauth.refreshes) == 1


def test_refused_refresh_makes_the_provider_unconfigured_everywhere(tmp_path, oauth):
    store = logged_in(tmp_path, oauth)
    clock = Clock()
    tokens = TokenManager(store, clock=clock)
    p = provider(oauth)
    clock.now += 3600
    oauth.refuse = True
    with pytest.raises(RelayError) as err:
        tokens.access_token(p)
    assert err.value.kind is ErrorKind.NOT_CONFIGURED and err.value.retryable
    assert "provider sub is not configured: the refresh was refused" in err.value.message
    assert "run `ccrelay login sub` again" in err.value.message
    # a second worker reads the refusal from the file and does not try again
    other = TokenManager(AuthFile(store.path), clock=clock)
    with pytest.raises(RelayError, match="the refresh was refused"):
        other.access_token(p)
    assert len(oauth.refreshes) == 1
    assert other.describe(p)["logged_in"] is False
    # a new login replaces the entry and is picked up without a restart
    oauth.refuse = False
    store.write({"sub": log_in(oauth, spec_for(oauth))})
    clock.now = time.time()
    assert tokens.access_token(p) == oauth.current_access


def test_transient_refresh_failure_keeps_a_token_that_still_works(tmp_path, oauth):
    store = logged_in(tmp_path, oauth)
    clock = Clock()
    tokens = TokenManager(store, clock=clock)
    down = replace(
        provider(oauth), oauth=replace(spec_for(oauth), token_url="http://127.0.0.1:9/t")
    )
    first = tokens.access_token(down)
    clock.now += 3600 - 100  # due, not expired
    assert tokens.access_token(down) == first
    clock.now += 200  # expired
    with pytest.raises(RelayError) as err:
        tokens.access_token(down)
    assert err.value.status == 502 and err.value.retryable
    assert "could not refresh the access token" in err.value.message


def test_no_login_says_how_to_log_in(tmp_path, oauth):
    tokens = TokenManager(AuthFile(tmp_path / "auth.json"))
    with pytest.raises(RelayError) as err:
        tokens.access_token(provider(oauth, name="claude"))
    assert err.value.kind is ErrorKind.NOT_CONFIGURED
    assert "provider claude is not configured: run `ccrelay login claude`" in err.value.message
    assert tokens.describe(provider(oauth, name="claude")) == {
        "logged_in": False, "problem": "not logged in: run `ccrelay login claude`"}  # fmt: skip


def test_a_401_refreshes_once_and_retries_once(tmp_path, oauth):
    store = logged_in(tmp_path, oauth)
    tokens = TokenManager(store)
    p = provider(oauth)
    keys = [tokens.access_token(p)]
    rejected = RelayError(401, "provider sub: invalid token")
    err, retry = retry_after_401(tokens, p, keys[0], keys, rejected)
    assert retry and err is rejected and keys[1] == oauth.current_access != keys[0]
    err, retry = retry_after_401(tokens, p, keys[1], keys, rejected)
    assert not retry and err.retryable and err.status == 401  # then the next provider
    assert len(oauth.refreshes) == 1


# --- the anthropic strategy with a subscription token --------------------------------------


def ctx(auth: str = "oauth", options: dict | None = None, beta: str = "") -> RequestContext:
    cfg = ProviderConfig(
        name="claude", type="anthropic", base_url="https://api.anthropic.com",
        api_key="fake-access-1", auth=auth, options=MappingProxyType(options or {}),
        oauth=CLAUDE if auth == "oauth" else None,
    )  # fmt: skip
    headers = {"anthropic-beta": beta} if beta else {}
    return RequestContext(cfg, "claude-sonnet-4-5", "claude-sonnet-4-5", headers, "req_1")


IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude."
CACHED = {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}


@pytest.mark.parametrize(
    "system, expected",
    [
        (None, [{"type": "text", "text": IDENTITY}]),
        ("Be brief.", [{"type": "text", "text": IDENTITY}, {"type": "text", "text": "Be brief."}]),
        ([CACHED], [{"type": "text", "text": IDENTITY}, CACHED]),
        (
            [
                {"type": "text", "text": "x-anthropic-billing-header: cc_version=2"},
                {
                    "type": "text",
                    "text": "You are a Claude agent, built on Anthropic's Claude Agent SDK.",
                    "cache_control": {"type": "ephemeral"},
                },
            ],
            None,
        ),  # Claude Code as the client: left as it is
    ],
)
def test_subscription_requests_start_with_the_identity_line(system, expected):
    req = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    if system is not None:
        req["system"] = system
    out = AnthropicProvider().convert_request(req, ctx())
    assert out.body["system"] == (system if expected is None else expected)
    assert out.query == {"beta": "true"}
    assert "system" not in req or req["system"] is system  # the client's request is untouched


def test_subscription_betas_come_first_and_survive_strip_betas():
    strategy = AnthropicProvider()
    req = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    out = strategy.convert_request(req, ctx(beta="context-1m-2025-08-07,oauth-2025-04-20"))
    assert out.headers["anthropic-beta"] == "oauth-2025-04-20,context-1m-2025-08-07"
    out = strategy.convert_request(req, ctx(options={"strip_betas": "*"}, beta="a-1"))
    assert out.headers["anthropic-beta"] == "oauth-2025-04-20"
    out = strategy.convert_request(
        req, ctx(options={"oauth_betas": ["x-1", "y-2"], "oauth_system_prefix": ""})
    )
    assert out.headers["anthropic-beta"] == "x-1,y-2" and "system" not in out.body


def test_subscription_token_goes_as_bearer_never_as_x_api_key():
    strategy = AnthropicProvider()
    headers = strategy.auth_headers(ctx().provider)
    assert headers["authorization"] == "Bearer fake-access-1"
    assert "x-api-key" not in headers and headers["user-agent"].startswith("claude-cli/")
    assert strategy.auth_headers(ctx(auth="api_key").provider) == {"x-api-key": "fake-access-1"}
    req = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    plain = strategy.convert_request(req, ctx(auth="api_key", beta="a-1"))
    assert plain.headers["anthropic-beta"] == "a-1" and plain.query == {}
    assert "system" not in plain.body


def test_subscription_options_are_checked():
    assert AnthropicProvider.check_options({"oauth_betas": "x", "oauth_system_prefix": 3}) == [
        'oauth_betas: expected a list of strings, got "x"',
        "oauth_system_prefix: expected a string, got 3",
    ]
    assert AnthropicProvider.check_options({"oauth_betas": ["a"]}) == []


def test_process_env_is_not_read_at_import():
    # The relay builds its TokenManager at start-up; the auth file is found on first use.
    tokens = TokenManager()
    assert tokens._store is None
    os.environ.get("CCRELAY_AUTH_FILE")  # nothing else to check: constructing did no I/O


def test_the_anthropic_vendor_preset_with_auth_oauth_needs_no_key(tmp_path):
    from ccrelay.core.presets import Preset

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"providers": {"claude": {"preset": "anthropic",
                                                             "auth": "oauth"}}}))  # fmt: skip
    preset = Preset("anthropic", "anthropic", "https://api.anthropic.com", "${ANTHROPIC_API_KEY}")
    s = load_settings(path, strategies=lambda: {"anthropic": AnthropicProvider}, environ={},
                      presets=lambda: {"anthropic": preset})  # fmt: skip
    p = s.providers["claude"]
    assert p.configured and p.auth == "oauth" and p.oauth == CLAUDE and p.api_keys == ()
