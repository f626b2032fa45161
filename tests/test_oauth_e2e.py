"""Subscription login end to end: the real ``ccrelay login`` (code pasted on stdin) against a
fake authorization server, then the real relay in front of an Anthropic upstream that accepts
only the current access token, driven by the official SDKs."""

from __future__ import annotations

import json
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anthropic
import pytest
import requests
import yaml

from tests.conftest import RelayProcess
from tests.fakes.oauth_server import (
    FakeAuthServer,
    answer_with_subscription,
    run_cli,
    run_login,
)
from tests.fakes.upstream import Reply

IDENTITY = "You are Claude Code, Anthropic's official CLI for Claude."


@pytest.fixture
def oauth():
    fake = FakeAuthServer()
    yield fake
    fake.close()


@pytest.fixture
def auth_file(tmp_path) -> Path:
    return tmp_path / "home" / "auth.json"


def config(oauth: FakeAuthServer, upstream, backup=None) -> dict:
    providers = {
        "claude": {
            "type": "anthropic", "base_url": upstream.url, "auth": "oauth",
            "oauth": oauth.oauth_section(), "model": "claude-sonnet-4-5",
        }
    }  # fmt: skip
    cfg: dict = {"provider": {"name": "claude"}, "providers": providers}
    if backup is not None:
        providers["backup"] = {"type": "anthropic", "base_url": backup.url,
                               "api_key": "sk-backup-key", "model": "backup-model"}  # fmt: skip
        cfg["provider"]["fallback_providers"] = ["backup"]
    return cfg


def write_config(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def login(oauth, auth_file, cfg_path, *extra, **kw):
    run = run_login(oauth, auth_file, "claude", "--config", str(cfg_path), *extra, **kw)
    assert run.returncode == 0, run.stdout + run.stderr
    return run


def expire(auth_file: Path, name: str = "claude") -> None:
    """Move the saved token's expiry into the past, as time passing would."""
    raw = json.loads(auth_file.read_text())
    now = time.time()
    raw["providers"][name].update(expires_at=now - 10, obtained_at=now - 3610)
    tmp = auth_file.with_suffix(".edit")
    tmp.write_text(json.dumps(raw))
    tmp.replace(auth_file)


def sdk(relay) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=relay.url, api_key="client-own-key", max_retries=0)


def ask(client: anthropic.Anthropic, text: str = "hi") -> str:
    msg = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": text}]
    )
    return msg.content[0].text


def leaks(tmp_path: Path, secrets: list[str], auth_file: Path) -> list[str]:
    """Files under ``tmp_path`` (the auth file and its lock aside) that contain a secret."""
    found = []
    for path in tmp_path.rglob("*"):
        if path.is_file() and path not in (auth_file, auth_file.with_name("auth.json.lock")):
            text = path.read_text(errors="replace")
            found += [f"{path.name}: {s[:14]}..." for s in secrets if s in text]
    return found


def test_login_serve_status_logout(tmp_path, auth_file, oauth, upstream, start_relay):
    cfg = config(oauth, upstream)
    run = login(oauth, auth_file, write_config(tmp_path, cfg))
    assert "Logged in to claude: logged in, access token expires" in run.stdout
    assert "scopes: user:inference user:profile" in run.stdout
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    saved = json.loads(auth_file.read_text())["providers"]["claude"]
    assert saved["access_token"] == oauth.current_access
    assert saved["refresh_token"] == oauth.current_refresh
    exchange = oauth.calls[0]
    assert exchange.grant_type == "authorization_code" and exchange.status == 200
    assert exchange.content_type == "application/json"  # the Claude preset's token_body

    answer_with_subscription(upstream, oauth)
    relay = start_relay(cfg, env={"CCRELAY_AUTH_FILE": str(auth_file)})
    client = sdk(relay)
    msg = client.messages.create(
        model="claude-sonnet-4-5", max_tokens=50,
        system=[{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"anthropic-beta": "context-1m-2025-08-07"},
    )  # fmt: skip
    assert msg.content[0].text == "Hi there"
    sent = upstream.requests[0]
    assert sent.path == "/v1/messages?beta=true"
    assert sent.headers["authorization"] == f"Bearer {oauth.current_access}"
    assert "x-api-key" not in sent.headers
    assert "client-own-key" not in json.dumps(sent.headers)
    assert sent.headers["anthropic-beta"] == "oauth-2025-04-20,context-1m-2025-08-07"
    assert sent.headers["user-agent"].startswith("claude-cli/")
    assert sent.body["system"] == [
        {"type": "text", "text": IDENTITY},
        {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
    ]
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=50, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        assert stream.get_final_text() == "Hi there"
    assert upstream.requests[1].body["stream"] is True and not oauth.refreshes

    health = requests.get(relay.url + "/health", timeout=5)
    entry = health.json()["providers"]["claude"]
    assert entry["configured"] is True and entry["oauth"]["logged_in"] is True
    assert entry["oauth"]["scopes"] == ["user:inference", "user:profile"]
    assert 3500 < entry["oauth"]["expires_in"] <= 3600
    assert oauth.current_access not in health.text and oauth.current_refresh not in health.text

    status = run_cli(auth_file, "status", "--config", str(relay.config_path))
    assert status.returncode == 0 and status.stdout.startswith("claude: logged in, access token")
    assert "scopes: user:inference user:profile" in status.stdout
    out = run_cli(auth_file, "logout", "claude")
    assert out.returncode == 0 and "Logged out of claude" in out.stdout
    assert json.loads(auth_file.read_text())["providers"] == {}
    status = run_cli(auth_file, "status", "--config", str(relay.config_path))
    assert status.stdout == "claude: not logged in: run `ccrelay login claude`\n"

    # the running relay notices the logout at once
    with pytest.raises(anthropic.BadRequestError) as err:
        ask(client)
    assert "provider claude is not configured: run `ccrelay login claude`" in str(err.value)
    assert len(upstream.requests) == 2
    everything = [*oauth.issued, "client-own-key"]
    assert not leaks(tmp_path, everything, auth_file)
    assert not [s for s in oauth.issued if s in run.stdout + run.stderr + status.stdout]


def test_bare_code_and_a_foreign_state(tmp_path, auth_file, oauth, upstream):
    cfg_path = write_config(tmp_path, config(oauth, upstream))
    refused = run_login(
        oauth, auth_file, "claude", "--config", str(cfg_path),
        paste=lambda shown: shown.split("#")[0] + "#someone-elses-state",
    )  # fmt: skip
    assert refused.returncode == 1
    assert "state does not match" in refused.stderr
    assert not auth_file.exists() and not oauth.calls  # no exchange was even tried
    login(oauth, auth_file, cfg_path, paste=lambda shown: shown.split("#")[0])
    assert json.loads(auth_file.read_text())["providers"]["claude"]["access_token"] == (
        oauth.current_access
    )
    nothing = run_cli(auth_file, "login", "claude", "--config", str(cfg_path))
    assert nothing.returncode == 1 and "no code was pasted" in nothing.stderr


def test_forced_expiry_twenty_concurrent_requests_one_refresh(
    tmp_path, auth_file, oauth, upstream, start_relay
):
    cfg = config(oauth, upstream)
    login(oauth, auth_file, write_config(tmp_path, cfg))
    answer_with_subscription(upstream, oauth)
    relay = start_relay(cfg, env={"CCRELAY_AUTH_FILE": str(auth_file)})
    client = sdk(relay)
    assert ask(client) == "Hi there"
    old = oauth.current_access
    expire(auth_file)
    oauth.refresh_delay = 0.3  # the others arrive while the first refresh is in flight
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: ask(client, f"q{i}"), range(20)))
    assert answers == ["Hi there"] * 20
    assert len(oauth.refreshes) == 1 and oauth.reused == 0
    after = upstream.requests[1:]
    assert len(after) == 20  # none was rejected: each carried the new token
    assert {r.headers["authorization"] for r in after} == {f"Bearer {oauth.current_access}"}
    assert oauth.current_access != old
    saved = json.loads(auth_file.read_text())["providers"]["claude"]
    assert saved["refresh_token"] == oauth.current_refresh  # the rotated one
    assert stat.S_IMODE(auth_file.stat().st_mode) == 0o600
    assert "access token refreshed" in relay.log()
    assert not leaks(tmp_path, oauth.issued, auth_file)


def test_a_refresh_in_flight_blocks_nothing_else(tmp_path, auth_file, oauth, upstream, start_relay):
    cfg = config(oauth, upstream)
    login(oauth, auth_file, write_config(tmp_path, cfg))
    answer_with_subscription(upstream, oauth)
    relay = start_relay(cfg, env={"CCRELAY_AUTH_FILE": str(auth_file)})
    expire(auth_file)
    oauth.refresh_gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(ask, sdk(relay))
        deadline = time.monotonic() + 20
        while not oauth.refreshes and time.monotonic() < deadline:
            time.sleep(0.02)
        assert oauth.refreshes and not waiting.done()
        # the refresh is held at the token endpoint: the server still answers others
        health = requests.get(relay.url + "/health", timeout=10).json()
        assert health["providers"]["claude"]["oauth"]["expires_in"] < 0
        oauth.refresh_gate.set()
        assert waiting.result(timeout=30) == "Hi there"
    assert len(oauth.refreshes) == 1


def test_a_401_refreshes_once_and_retries_once(tmp_path, auth_file, oauth, upstream, start_relay):
    cfg = config(oauth, upstream)
    login(oauth, auth_file, write_config(tmp_path, cfg))
    answer_with_subscription(upstream, oauth)
    relay = start_relay(cfg, env={"CCRELAY_AUTH_FILE": str(auth_file)})
    rejected = oauth.current_access
    oauth.invalidate_access()  # revoked upstream although not expired
    assert ask(sdk(relay)) == "Hi there"
    assert len(oauth.refreshes) == 1
    first, retry = upstream.requests
    assert first.headers["authorization"] == f"Bearer {rejected}"
    assert retry.headers["authorization"] == f"Bearer {oauth.current_access}"
    assert first.body == retry.body
    lines = relay.token_lines(2)
    assert "status=fallback" in lines[0] and "status=success" in lines[1]
    # a token the upstream keeps refusing: one refresh, one retry, then an error
    upstream.responder = lambda rec: Reply(
        401, json={"type": "error", "error": {"type": "authentication_error", "message": "no"}}
    )
    with pytest.raises(anthropic.AuthenticationError):
        ask(sdk(relay))
    assert len(oauth.refreshes) == 2 and len(upstream.requests) == 4


def test_refused_refresh_falls_back_and_says_to_log_in_again(
    tmp_path, auth_file, oauth, upstream, upstream2, start_relay
):
    cfg = config(oauth, upstream, backup=upstream2)
    cfg["logging"] = {"dir": str(tmp_path / "logs"), "bodies": {"enabled": True}}
    cfg_path = write_config(tmp_path, cfg)
    login(oauth, auth_file, cfg_path)
    answer_with_subscription(upstream, oauth)
    upstream2.default = Reply(json={
        "id": "msg_b", "type": "message", "role": "assistant", "model": "backup-model",
        "content": [{"type": "text", "text": "from backup"}], "stop_reason": "end_turn",
        "stop_sequence": None, "usage": {"input_tokens": 1, "output_tokens": 1},
    })  # fmt: skip
    relay = start_relay(cfg, env={"CCRELAY_AUTH_FILE": str(auth_file)})
    client = sdk(relay)
    assert ask(client) == "Hi there"
    expire(auth_file)
    oauth.refuse = True
    assert ask(client) == "from backup"  # the other providers keep serving
    assert upstream2.requests[0].headers["x-api-key"] == "sk-backup-key"
    assert len(oauth.refreshes) == 1 and len(upstream.requests) == 1
    assert ask(client) == "from backup"
    assert len(oauth.refreshes) == 1  # the refusal is remembered: no second try
    entry = relay.health()["providers"]["claude"]
    assert entry["configured"] is False
    assert "the refresh was refused" in entry["oauth"]["problem"]
    assert "run `ccrelay login claude` again" in entry["oauth"]["problem"]
    with pytest.raises(anthropic.BadRequestError) as err:  # addressed directly: no fallback
        client.messages.create(model="claude/claude-sonnet-4-5", max_tokens=5,
                               messages=[{"role": "user", "content": "hi"}])  # fmt: skip
    message = err.value.body["error"]["message"]
    assert message.startswith("provider claude is not configured: the refresh was refused")
    assert "run `ccrelay login claude` again" in message
    status = run_cli(auth_file, "status", "--config", str(cfg_path))
    assert "claude: the refresh was refused" in status.stdout

    # logging in again brings it back without a restart
    oauth.refuse = False
    login(oauth, auth_file, cfg_path)
    assert ask(client) == "Hi there"
    assert relay.health()["providers"]["claude"]["configured"] is True
    bodies = list((tmp_path / "logs").glob("bodies_*.jsonl"))
    assert bodies and "Hi there" in bodies[0].read_text()
    assert not leaks(tmp_path, oauth.issued, auth_file)


def test_two_relays_share_one_auth_file(tmp_path, auth_file, oauth, upstream, clean_env):
    cfg = config(oauth, upstream)
    login(oauth, auth_file, write_config(tmp_path, cfg))
    answer_with_subscription(upstream, oauth)
    env = {**clean_env, "CCRELAY_AUTH_FILE": str(auth_file)}
    relays = []
    try:
        for name in ("one", "two"):
            (tmp_path / name).mkdir()
            relays.append(RelayProcess(tmp_path / name, json.loads(json.dumps(cfg)), [], env))
        clients = [sdk(r) for r in relays]
        assert [ask(c) for c in clients] == ["Hi there"] * 2
        expire(auth_file)
        oauth.refresh_delay = 0.3
        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(lambda i: ask(clients[i % 2]), range(20)))
        assert answers == ["Hi there"] * 20
        # one refresh between both processes: the second took the first one's token
        assert len(oauth.refreshes) == 1 and oauth.reused == 0
        assert "access token refreshed" in relays[0].log() + relays[1].log()
    finally:
        for relay in relays:
            relay.stop()


def test_not_logged_in_is_not_configured(tmp_path, auth_file, oauth, upstream, start_relay):
    relay = start_relay(config(oauth, upstream), env={"CCRELAY_AUTH_FILE": str(auth_file)})
    with pytest.raises(anthropic.BadRequestError) as err:
        ask(sdk(relay))
    assert err.value.status_code == 400
    assert "provider claude is not configured: run `ccrelay login claude`" in str(err.value)
    assert not upstream.requests
    assert relay.health()["providers"]["claude"]["oauth"] == {
        "logged_in": False, "problem": "not logged in: run `ccrelay login claude`"}  # fmt: skip


def test_openai_sdk_through_the_subscription(tmp_path, auth_file, oauth, upstream, start_relay):
    openai = pytest.importorskip("openai")
    cfg = config(oauth, upstream)
    login(oauth, auth_file, write_config(tmp_path, cfg))
    answer_with_subscription(upstream, oauth)
    relay = start_relay(cfg, env={"CCRELAY_AUTH_FILE": str(auth_file)})
    client = openai.OpenAI(base_url=relay.url + "/v1", api_key="client-own-key", max_retries=0)
    out = client.chat.completions.create(
        model="claude-sonnet-4-5", messages=[{"role": "user", "content": "hi"}]
    )
    assert out.choices[0].message.content == "Hi there"
    sent = upstream.requests[0]
    assert sent.headers["authorization"] == f"Bearer {oauth.current_access}"
    assert sent.body["system"][0] == {"type": "text", "text": IDENTITY}
    assert "client-own-key" not in json.dumps(sent.headers)
