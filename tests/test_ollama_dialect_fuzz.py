"""Property: any mutation of a realistic Ollama body, posted to the running server, is answered
2xx or 4xx in Ollama's error shape, never 5xx; streams are well-formed NDJSON.

Bounded for CI (a few dozen examples per backend kind, one relay process per kind reused);
``bench/fuzz_ollama.py`` runs ten thousand and reports the counts.
"""

from __future__ import annotations

import os

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from tests.conftest import RelayProcess, one_provider
from tests.fakes.answering import AnsweringUpstream
from tests.fakes.ollama_bodies import bodies, verdict


@pytest.fixture(scope="module")
def answering():
    up = AnsweringUpstream()
    yield up
    up.close()


@pytest.fixture(scope="module", params=["openai", "anthropic"])
def fuzz_relay(request, answering, tmp_path_factory):
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    config = one_provider(request.param, answering.url, model="up-model")
    config["logging"] = {"level": "WARNING", "dir": str(tmp_path_factory.mktemp("logs"))}
    relay = RelayProcess(tmp_path_factory.mktemp("fuzz"), config, [], env)
    yield relay
    relay.stop()


@settings(max_examples=40, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(case=bodies)
def test_every_mutated_body_gets_a_well_formed_answer(fuzz_relay, case):
    route, body = case
    resp = requests.post(fuzz_relay.url + route, json=body, timeout=30)
    assert verdict(resp.status_code, resp.headers.get("content-type", ""), resp.content) == "ok"
