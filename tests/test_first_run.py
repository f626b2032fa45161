"""A first run with keys missing: start-up says what to set, requests fail fast and say it too."""

from __future__ import annotations

import anthropic
import pytest

from tests.conftest import one_provider
from tests.fakes.upstream import Reply
from tests.helpers import MSGS, answer, client, fields, two, wait_for


def unset_keys(config: dict) -> dict:
    for name, section in config["providers"].items():
        section["api_key"] = "${CCRELAY_TEST_UNSET_" + name.upper() + "}"
    return config


def test_a_chain_with_no_key_set_is_explained_at_start_up(start_relay, upstream, upstream2):
    relay = start_relay(unset_keys(two(upstream.url, upstream2.url)))
    log = relay.log()
    assert (
        "provider first (active) is not configured: providers.first.api_key: environment "
        "variable CCRELAY_TEST_UNSET_FIRST is not set" in log
    )
    assert "provider second (fallback 1) is not configured" in log
    assert "CCRELAY_TEST_UNSET_SECOND is not set" in log
    assert "ccrelay cannot answer any request yet: no provider of the chain (first, second)" in log
    env_file = relay.dir / ".env"
    assert (
        f"To fix it: export CCRELAY_TEST_UNSET_FIRST=<your key> and start ccrelay again, or add "
        f"the line CCRELAY_TEST_UNSET_FIRST=<your key> to {env_file}" in log
    )
    # The fix it names works, and without a restart:
    env_file.write_text("CCRELAY_TEST_UNSET_FIRST=sk-now-set\n")
    upstream.default = Reply(json=answer("served"))

    def served() -> bool:
        try:
            return client(relay).messages.create(model="c", max_tokens=5, messages=MSGS) is not None
        except anthropic.BadRequestError:
            return False

    wait_for(served, what="the .env the message named is read")
    assert upstream.requests[-1].headers["x-api-key"] == "sk-now-set"


def test_a_partly_configured_chain_names_the_missing_key_without_the_banner(
    start_relay, upstream, upstream2
):
    config = two(upstream.url, upstream2.url)
    config["providers"]["second"]["api_key"] = "${CCRELAY_TEST_UNSET_SECOND}"
    relay = start_relay(config)
    log = relay.log()
    assert "provider second (fallback 1) is not configured" in log
    assert "provider first (active) is not configured" not in log
    assert "cannot answer any request yet" not in log


def test_a_configured_chain_starts_quietly(start_relay, upstream):
    relay = start_relay(one_provider("anthropic", upstream.url))
    assert "is not configured" not in relay.log()


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_only_unconfigured_providers_could_serve_fails_fast_and_is_not_retried(
    start_relay, upstream, stream
):
    relay = start_relay(unset_keys(one_provider("anthropic", upstream.url)))
    sdk = client(relay, max_retries=2)  # the SDK's default: it retries 408, 409, 429 and 5xx
    with pytest.raises(anthropic.BadRequestError) as info:
        if stream:
            with sdk.messages.stream(model="c", max_tokens=5, messages=MSGS) as s:
                s.get_final_message()
        else:
            sdk.messages.create(model="c", max_tokens=5, messages=MSGS)
    err = info.value
    assert err.status_code == 400
    assert err.body["error"]["type"] == "invalid_request_error"
    message = err.body["error"]["message"]
    assert message.startswith("provider up is not configured: providers.up.api_key: environment "
                              "variable CCRELAY_TEST_UNSET_UP is not set")  # fmt: skip
    assert "export CCRELAY_TEST_UNSET_UP=<your key>" in message
    assert f"CCRELAY_TEST_UNSET_UP=<your key> to {relay.dir / '.env'}" in message
    lines = relay.token_lines()
    assert len(lines) == 1, "the client tried again"
    assert fields(lines[0])["status"] == "error"
    assert upstream.requests == []
