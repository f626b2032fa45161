"""Browser clients: no origin may call ccrelay unless ``server.cors_origins`` lets it."""

from __future__ import annotations

import requests

from tests.conftest import one_provider
from tests.fakes.replies import answer

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
PREFLIGHT = {"access-control-request-method": "POST",
             "access-control-request-headers": "authorization, content-type"}  # fmt: skip


def test_no_origin_is_allowed_by_default(start_relay, upstream):
    relay = start_relay(one_provider("openai", upstream.url))
    origin = {"origin": "http://localhost:3000"}
    resp = requests.options(relay.url + "/v1/chat/completions", headers={**origin, **PREFLIGHT},
                            timeout=5)  # fmt: skip
    assert resp.status_code == 405 and "access-control-allow-origin" not in resp.headers
    upstream.reply(answer("openai", text="hello"))
    resp = requests.post(relay.url + "/v1/chat/completions", json=CHAT, headers=origin, timeout=5)
    assert resp.status_code == 200 and "access-control-allow-origin" not in resp.headers


def test_listed_origins_may_call_with_their_key(start_relay, upstream, clean_env):
    config = one_provider("openai", upstream.url)
    config["server"] = {"cors_origins": ["http://localhost:*", "chrome-extension://*"]}
    config["access_keys"] = [{"name": "web", "key": "web-key-0123456789"}]
    relay = start_relay(config)
    url = relay.url + "/v1/chat/completions"

    ok = {"origin": "http://localhost:3000"}
    resp = requests.options(url, headers={**ok, **PREFLIGHT}, timeout=5)  # no key on a preflight
    assert resp.status_code == 204
    assert resp.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert resp.headers["access-control-allow-headers"] == "authorization, content-type"
    assert "POST" in resp.headers["access-control-allow-methods"]

    evil = {"origin": "https://evil.example"}
    resp = requests.options(url, headers={**evil, **PREFLIGHT}, timeout=5)
    assert resp.status_code == 405 and "access-control-allow-origin" not in resp.headers

    upstream.reply(answer("openai", text="hello"))
    resp = requests.post(url, json=CHAT, timeout=5,
                         headers={**ok, "authorization": "Bearer web-key-0123456789"})  # fmt: skip
    assert resp.status_code == 200 and resp.json()["choices"][0]["message"]["content"] == "hello"
    assert resp.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "retry-after" in resp.headers["access-control-expose-headers"]
    assert "Origin" in resp.headers["vary"]

    resp = requests.post(url, json=CHAT, headers=ok, timeout=5)  # the page can read the 401
    assert resp.status_code == 401
    assert resp.headers["access-control-allow-origin"] == "http://localhost:3000"
    resp = requests.post(url, json=CHAT, timeout=5,
                         headers={**evil, "authorization": "Bearer web-key-0123456789"})  # fmt: skip
    assert "access-control-allow-origin" not in resp.headers  # a browser hides this answer
