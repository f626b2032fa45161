"""Property: whatever body a Chat client sends, ccrelay answers 2xx, or 4xx in OpenAI's error
shape; never a 5xx of its own, never a hang.

Bodies are the Qwen Code fixtures and a small request touching most of the dialect, broken by
``tests/fakes/mutations.py``. The upstreams always answer correctly, so any 5xx would be
ccrelay's. One relay per backend kind serves every example (starting one per example would
make the test slow); ``bench/fuzz_openai_chat.py`` runs ten thousand examples.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, RelayProcess, one_provider
from tests.fakes.mutations import SMALL, mutated, respond
from tests.fakes.upstream import FakeUpstream

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
PROFILE = settings.get_profile("ci")


def _base(name: str) -> dict:
    body = json.loads((FIXTURES / "qwen" / name).read_text())["body"]
    for msg in body["messages"]:  # the anonymiser's filler is not JSON (see the fixture tests)
        for call in msg.get("tool_calls") or ():
            call["function"]["arguments"] = '{"file_path": "hello.txt", "content": "hi"}'
    return body


BASES = [SMALL, _base("01_turn1_tool_call.json"), _base("02_turn2_after_tool_result.json")]


@pytest.fixture(scope="module")
def relays(tmp_path_factory) -> Iterator[list[RelayProcess]]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    fakes, started = [], []
    try:
        for kind in ("openai", "anthropic"):
            fake = FakeUpstream()
            fake.responder = respond
            fakes.append(fake)
            config = one_provider(kind, fake.url)
            config["limits"] = {"max_body_bytes": 2_000_000}
            started.append(RelayProcess(tmp_path_factory.mktemp(kind), config, [], env))
        yield started
    finally:
        for relay in started:
            relay.stop()
        for fake in fakes:
            fake.close()


def check_answer(resp: requests.Response) -> None:
    """2xx, or 4xx with ``{"error": {message, type, param, code}}``."""
    assert resp.status_code < 500, resp.text[:500]
    if resp.status_code >= 400:
        err = resp.json()["error"]
        assert set(err) == {"message", "type", "param", "code"}, err
        assert isinstance(err["message"], str) and err["message"]
        assert len(err["message"]) < 2000  # bad values are quoted as excerpts
    elif resp.headers["content-type"].startswith("text/event-stream"):
        assert resp.text.endswith("data: [DONE]\n\n"), resp.text[-300:]
    else:
        assert resp.json()["object"] == "chat.completion"


@settings(PROFILE)
@given(body=st.sampled_from(BASES).flatmap(mutated))
def test_any_body_gets_2xx_or_an_openai_4xx(relays, body):
    for relay in relays:
        resp = requests.post(relay.url + "/v1/chat/completions", json=body, timeout=30)
        check_answer(resp)


def test_the_bases_themselves_succeed(relays):
    for relay in relays:
        for body in BASES:
            resp = requests.post(relay.url + "/v1/chat/completions", json=body, timeout=30)
            assert resp.status_code == 200, resp.text[:500]
