"""Groups and access keys: shaping as data, and prefixes, keys and shapes through the server."""

from __future__ import annotations

import anthropic
import pytest
import requests

from ccrelay.core.access import AccessError, AccessKey, admit, parse_access_keys
from ccrelay.core.errors import RelayError
from ccrelay.core.groups import Group, GroupError, parse_groups, shape
from tests.fakes.upstream import Reply

TOOLS = [{"name": n, "input_schema": {"type": "object"}} for n in ("Read", "WebSearch", "Bash")]
BASE = {"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("group", "before", "after"),
    [
        (Group("g", system_mode="append", system_text="Be brief."), {"system": "Be kind."},
         {"system": "Be kind.\n\nBe brief."}),
        (Group("g", system_mode="prepend", system_text="Be brief."),
         {"system": [{"type": "text", "text": "Be kind."}]},
         {"system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind."}]}),
        (Group("g", system_mode="replace", system_text="Only this."), {"system": "Be kind."},
         {"system": "Only this."}),
        (Group("g", system_mode="append", system_text="Be brief."), {}, {"system": "Be brief."}),
        (Group("g", tools_deny=frozenset({"WebSearch"})),
         {"tools": TOOLS, "tool_choice": {"type": "tool", "name": "WebSearch"}},
         {"tools": [TOOLS[0], TOOLS[2]], "tool_choice": {"type": "auto"}}),
        (Group("g", tools_allow=frozenset({"Read"})),
         {"tools": TOOLS, "tool_choice": {"type": "tool", "name": "Read"}},
         {"tools": [TOOLS[0]], "tool_choice": {"type": "tool", "name": "Read"}}),
        (Group("g", tools_allow=frozenset()), {"tools": TOOLS, "tool_choice": {"type": "any"}}, {}),
        (Group("g", temperature_ratio=0.5), {"temperature": 0.8}, {"temperature": 0.4}),
        (Group("g", temperature_ratio=3.0), {"temperature": 1.0}, {"temperature": 2.0}),
        (Group("g", max_tokens=50), {}, {"max_tokens": 50}),
        (Group("g", max_tokens=500), {}, {"max_tokens": 100}),
    ],
)  # fmt: skip
def test_shape(group, before, after):
    req = {**BASE, **before}
    out = shape(req, group)
    assert out == {**BASE, **after}
    assert req == {**BASE, **before}  # the client's body is not modified


def test_shape_keeps_history_that_used_a_removed_tool():
    history = [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1",
                                                   "name": "WebSearch", "input": {}}]}]  # fmt: skip
    req = {**BASE, "messages": history, "tools": TOOLS}
    assert shape(req, Group("g", tools_deny=frozenset({"WebSearch"})))["messages"] == history


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"v1": {}}, "groups.v1: the name collides with the route /v1/"),
        ({"q": {"provider": {"name": "nobody"}}}, "groups.q.provider.name: no provider named"),
        ({"q": {"system_prompt": {"mode": "upsert", "text": "x"}}}, "groups.q.system_prompt.mode"),
        ({"q": {"tools": {"deny": "WebSearch"}}}, "groups.q.tools.deny: expected a list"),
        ({"q": {"tool_mode": "xml"}}, "groups.q.tool_mode"),
        ({"q": {"models": [{"match": "x", "to": ["nobody"]}]}}, "groups.q.models[0].to[0]"),
        ({"q": {"colour": "red"}}, "groups.q.colour: unknown key"),
    ],
)  # fmt: skip
def test_group_config_errors(raw, message):
    with pytest.raises(GroupError) as info:
        parse_groups(raw, {"up": {}}, {"v1", "api", "health"})
    assert message in str(info.value)


def test_access_keys_admit_by_name_and_group():
    keys = (AccessKey("cc", "key-cc-12345678", frozenset({"default"})),
            AccessKey("all", "key-all-12345678"))  # fmt: skip
    assert admit(keys, "key-cc-12345678", "default").name == "cc"
    assert admit(keys, "key-all-12345678", "qwen").name == "all"
    with pytest.raises(RelayError) as info:
        admit(keys, "key-cc-12345678", "qwen")
    assert info.value.status == 403 and "'cc' may not use group 'qwen'" in info.value.message
    for presented in (None, "", "wrong-key-123456"):
        with pytest.raises(RelayError) as info:
            admit(keys, presented, "default")
        assert info.value.status == 401


def test_access_key_config_errors():
    sub = lambda text, where: text.replace("${SHORT}", "abc")  # noqa: E731
    with pytest.raises(AccessError, match=r"access_keys\[0\].key: set, and at least 8"):
        parse_access_keys([{"name": "a", "key": "${SHORT}"}], {}, sub)
    with pytest.raises(AccessError, match=r"access_keys\[0\].groups: no group named 'x'"):
        parse_access_keys([{"name": "a", "key": "long-enough-key", "groups": ["x"]}], {}, sub)


# --- through the server ------------------------------------------------------------------------


def answer(text: str) -> dict:
    return {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 7, "output_tokens": 3}}  # fmt: skip


def config(main_url: str, other_url: str, **extra) -> dict:
    return {
        "provider": {"name": "main"},
        "providers": {
            "main": {"type": "anthropic", "base_url": main_url, "api_key": "k-main-1234"},
            "other": {"type": "anthropic", "base_url": other_url, "api_key": "k-other-5678",
                      "model": "other-model"},
        },
        "groups": {"qwen": {"provider": {"name": "other"},
                            "system_prompt": {"mode": "append", "text": "Group rule."},
                            "tools": {"deny": ["WebSearch"]}, "temperature_ratio": 0.5,
                            "max_tokens": 64}},
        **extra,
    }  # fmt: skip


def fields(line: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in line.split(" | ") if "=" in p)


def test_group_prefix_routes_and_shapes(start_relay, upstream, upstream2):
    upstream.default = Reply(json=answer("main"))
    upstream2.default = Reply(json=answer("group"))
    relay = start_relay(config(upstream.url, upstream2.url))
    plain = anthropic.Anthropic(base_url=relay.url, api_key="c", max_retries=0)
    grouped = anthropic.Anthropic(base_url=relay.url + "/qwen", api_key="c", max_retries=0)
    # (anthropic 2.x has no temperature argument; older clients and other protocols send one)
    body = {"model": "claude-x", "max_tokens": 1000, "extra_body": {"temperature": 0.8},
            "system": "Client rule.", "tools": TOOLS,
            "messages": [{"role": "user", "content": "hi"}]}  # fmt: skip
    assert plain.messages.create(**body).content[0].text == "main"
    assert grouped.messages.create(**body).content[0].text == "group"
    unshaped, shaped = upstream.requests[0].body, upstream2.requests[0].body
    assert unshaped["system"] == "Client rule." and len(unshaped["tools"]) == 3
    assert shaped["system"] == "Client rule.\n\nGroup rule."
    assert [t["name"] for t in shaped["tools"]] == ["Read", "Bash"]
    assert (shaped["temperature"], shaped["max_tokens"], shaped["model"]) == (
        0.4,
        64,
        "other-model",
    )
    lines = [fields(x) for x in relay.token_lines(2)]
    assert [f["group"] for f in lines] == ["default", "qwen"]
    health = requests.get(relay.url + "/qwen/health", timeout=5).json()
    assert health["groups"]["qwen"]["routing"]["default"] == ["other"]


def test_unknown_group_is_a_404_in_the_clients_shape(start_relay, upstream, upstream2):
    relay = start_relay(config(upstream.url, upstream2.url))
    resp = requests.post(relay.url + "/nope/v1/messages", json={}, timeout=5)
    assert resp.status_code == 404 and resp.json()["type"] == "error"


def test_access_keys_guard_every_route_but_health(start_relay, upstream, upstream2):
    upstream.default = Reply(json=answer("main"))
    upstream2.default = Reply(json=answer("group"))
    cfg = config(upstream.url, upstream2.url, access_keys=[
        {"name": "claude-code", "key": "${CC_KEY}", "groups": ["default"]},
        {"name": "team", "key": "team-key-abcdefgh"},
    ])  # fmt: skip
    relay = start_relay(cfg, env={"CC_KEY": "cc-key-0123456789"})
    body = {"model": "x", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}

    def client(key: str, prefix: str = "") -> anthropic.Anthropic:
        return anthropic.Anthropic(base_url=relay.url + prefix, api_key=key, max_retries=0)

    with pytest.raises(anthropic.AuthenticationError) as info:
        client("wrong-key-value").messages.create(**body)
    assert "access_keys" in info.value.message
    assert client("cc-key-0123456789").messages.create(**body).content[0].text == "main"
    with pytest.raises(anthropic.PermissionDeniedError) as denied:
        client("cc-key-0123456789", "/qwen").messages.create(**body)
    assert "may not use group 'qwen'" in denied.value.message
    assert client("team-key-abcdefgh", "/qwen").messages.create(**body).content[0].text == "group"
    bearer = requests.post(relay.url + "/v1/messages", json=body, timeout=5,
                           headers={"authorization": "Bearer team-key-abcdefgh"})  # fmt: skip
    assert bearer.status_code == 200
    assert requests.get(relay.url + "/v1/models", timeout=5).status_code == 401
    health = requests.get(relay.url + "/health", timeout=5)
    assert health.status_code == 200
    assert "key-0123456789" not in health.text and "abcdefgh" not in health.text
    assert requests.get(relay.url + "/", timeout=5).status_code == 200
    names = [fields(x)["access_key"] for x in relay.token_lines(3)]
    assert names == ["claude-code", "team", "team"]
    assert all("cc-key" not in x and "team-key" not in x for x in relay.token_lines(3))
    assert all(r.headers.get("x-api-key") in ("k-main-1234", "k-other-5678") for r in
               upstream.requests + upstream2.requests)  # fmt: skip
