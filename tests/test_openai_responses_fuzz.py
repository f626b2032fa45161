"""Property: whatever a Responses client sends, ccrelay answers 2xx or a 4xx in OpenAI's error
shape, never a 5xx. Mutated Codex and SDK bodies go to one running relay per backend kind.

A bounded number of examples runs here; ``bench/fuzz_openai_responses.py`` runs ten thousand.
"""

from __future__ import annotations

import os

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from tests.conftest import FIXTURES, RelayProcess
from tests.responses_helpers import (
    BACKENDS,
    AnyRequestUpstream,
    answer_problem,
    mutations,
    relay_config,
    seed_bodies,
)

EXAMPLES = 40  # per backend kind


@pytest.fixture(scope="module")
def any_upstream():
    server = AnyRequestUpstream()
    yield server
    server.close()


@pytest.fixture(scope="module", params=BACKENDS)
def fuzz_relay(request, tmp_path_factory, any_upstream):
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    env["PYTHONUNBUFFERED"] = "1"
    relay = RelayProcess(
        tmp_path_factory.mktemp(f"fuzz-{request.param}"),
        relay_config(request.param, any_upstream.url),
        [],
        env,
    )
    yield relay
    relay.stop()


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(body=mutations(seed_bodies(FIXTURES)))
def test_any_body_gets_a_2xx_or_an_openai_4xx(fuzz_relay, body):
    resp = requests.post(fuzz_relay.url + "/v1/responses", json=body, timeout=60)
    assert answer_problem(resp.status_code, resp.headers, resp.text, body) == ""


def test_the_seeds_themselves_are_answered(fuzz_relay):
    for body in seed_bodies(FIXTURES):
        resp = requests.post(fuzz_relay.url + "/v1/responses", json=body, timeout=60)
        assert resp.status_code == 200, resp.text
        assert answer_problem(resp.status_code, resp.headers, resp.text, body) == ""
