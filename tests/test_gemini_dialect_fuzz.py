"""Property: any mutation of a real Gemini CLI request gets a 2xx or a Gemini-shaped 4xx.

One relay per backend kind serves every example (bounded: 60 examples each, derandomized so
CI is repeatable); ``bench/fuzz_gemini.py`` runs the same property ten thousand times.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings

from tests.conftest import RelayProcess, one_provider
from tests.fakes.gemini_fuzz import answer_in_kind, check_answer, requests_from_fixtures
from tests.fakes.upstream import FakeUpstream


@pytest.fixture(scope="module", params=["openai", "anthropic"])
def relay(request, tmp_path_factory) -> Iterator[RelayProcess]:
    kind = request.param
    upstream = FakeUpstream()
    upstream.responder = answer_in_kind
    env = {k: v for k, v in os.environ.items()
           if not k.endswith(("_API_KEY", "_TOKEN")) and "proxy" not in k.lower()}  # fmt: skip
    relay = RelayProcess(tmp_path_factory.mktemp(kind), one_provider(kind, upstream.url), [], env)
    yield relay
    relay.stop()
    upstream.close()


@settings(max_examples=60, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(case=requests_from_fixtures())
def test_mutated_requests_never_get_a_5xx(relay, case):
    method, alt, body = case
    query = "?alt=sse" if alt else ""
    resp = requests.post(f"{relay.url}/v1beta/models/gemini-2.5-flash:{method}{query}",
                         json=body, headers={"x-goog-api-key": "k"}, timeout=30)  # fmt: skip
    check_answer(method, alt, resp.status_code, resp.content)
