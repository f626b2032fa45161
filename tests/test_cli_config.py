"""``ccrelay config``: edits that keep every other byte of the file, refused edits that leave
it untouched, ``show`` and ``path``, and a running ccrelay picking an edit up live."""

from __future__ import annotations

import os
import stat

import anthropic
import pytest
import yaml

from tests.cli_helpers import ccrelay, cli_env, write_config
from tests.fakes.upstream import Reply
from tests.helpers import answer, wait_for

ORIGINAL = """\
# my ccrelay config (hand-written: comments, odd indentation and quotes must survive)
server:
    host: 127.0.0.1      # loopback only
    port: 8123

provider: {name: main, fallback_providers: [spare]}

providers:
  main:
    type: anthropic
    base_url: 'http://127.0.0.1:9/anthropic'
    api_key: "test-literal-upstream-key-abcdef123456"   # yes, literally
  spare:
    type: openai
    base_url: http://127.0.0.1:9/v1
    api_key: ${SPARE_KEY:-none}

models:
    # cheap calls stay cheap
    - match: "claude-*haiku*"   # Claude Code's background model
      to: [spare/small]

    # the rest of Claude
    - match: claude-*
      to:
        - main/big
        - spare/big
      balance: round_robin

groups:
  qwen:
    provider: {name: spare}
    models:
    - match: qwen*
      to: [spare/qwen3]

logging:
  dir: ./logs   # token logs
"""


def edit(tmp_path, *args, text=ORIGINAL, env=None):
    path = tmp_path / "config.yaml"
    if not path.exists():
        path.write_text(text)
    proc = ccrelay("config", *args, "--config", str(path), cwd=tmp_path, env=env)
    return proc, path.read_text()


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def test_a_new_rule_goes_before_the_glob_that_would_take_it_and_nothing_else_moves(tmp_path):
    proc, new = edit(tmp_path, "set-model", "claude-sonnet-4-5", "spare/deepseek-chat")
    assert proc.returncode == 0, proc.stderr
    assert (
        "models[1]: claude-sonnet-4-5 -> spare/deepseek-chat (added before 'claude-*'"
        in proc.stdout
    )
    old = lines(ORIGINAL)
    at = old.index("    # the rest of Claude\n")  # above the rule it comes before, and its comment
    assert lines(new) == old[:at] + [
        "    - match: claude-sonnet-4-5\n",
        "      to: [spare/deepseek-chat]\n",
    ] + old[at:]  # fmt: skip


def test_a_rule_nothing_shadows_is_appended_after_the_last_one(tmp_path):
    proc, new = edit(tmp_path, "set-model", "gpt-5", "main/big", "spare")
    assert proc.returncode == 0, proc.stderr
    old = lines(ORIGINAL)
    at = old.index("      balance: round_robin\n") + 1  # before the blank line closing models
    assert lines(new) == old[:at] + [
        "    - match: gpt-5\n",
        "      to: [main/big, spare]\n",
    ] + old[at:]  # fmt: skip


def test_an_existing_rule_gets_the_new_targets_in_place(tmp_path):
    proc, new = edit(tmp_path, "set-model", "claude-*haiku*", "main/haiku-like")
    assert proc.returncode == 0, proc.stderr
    assert ORIGINAL.replace("to: [spare/small]", "to: [main/haiku-like]") == new
    proc, new = edit(tmp_path, "set-model", "claude-*", "spare/only")
    assert "(replaced; its balance removed)" in proc.stdout
    assert new == ORIGINAL.replace("to: [spare/small]", "to: [main/haiku-like]").replace(
        "      to:\n        - main/big\n        - spare/big\n      balance: round_robin\n",
        "      to:\n          - spare/only\n",
    )


def test_remove_model_takes_out_only_that_rule(tmp_path):
    proc, new = edit(tmp_path, "remove-model", "claude-*haiku*")
    assert proc.returncode == 0, proc.stderr
    assert new == ORIGINAL.replace(
        '    - match: "claude-*haiku*"   # Claude Code\'s background model\n'
        "      to: [spare/small]\n",
        "",
    )
    proc, again = edit(tmp_path, "remove-model", "claude-*haiku*")
    assert (
        proc.returncode == 2
        and "no rule with match 'claude-*haiku*' (rules: claude-*)" in proc.stderr
    )
    assert again == new


def test_a_group_has_its_own_rules(tmp_path):
    proc, new = edit(tmp_path, "set-model", "--group", "qwen", "qwen3-coder", "main/coder")
    assert proc.returncode == 0, proc.stderr
    assert "groups.qwen.models[0]: qwen3-coder -> main/coder" in proc.stdout
    assert new == ORIGINAL.replace(
        "    models:\n    - match: qwen*\n",
        "    models:\n    - match: qwen3-coder\n      to: [main/coder]\n    - match: qwen*\n",
    )
    proc, _ = edit(tmp_path, "set-model", "--group", "nope", "x", "main")
    assert proc.returncode == 2 and "no group named 'nope' (groups: qwen)" in proc.stderr


def test_a_config_without_models_gets_the_section_at_its_end(tmp_path):
    text = ORIGINAL[: ORIGINAL.index("models:")] + ORIGINAL[ORIGINAL.index("groups:") :]
    proc, new = edit(tmp_path, "set-model", "claude-*", "main/big", text=text)
    assert proc.returncode == 0, proc.stderr
    assert new == text + "\nmodels:\n  - match: claude-*\n    to: [main/big]\n"
    assert yaml.safe_load(new)["models"] == [{"match": "claude-*", "to": ["main/big"]}]


@pytest.mark.parametrize(
    "args, reason",
    [
        (["set-model", "x", "ghost/model"], "no provider named 'ghost' (defined: main, spare)"),
        (["set-model", "", "main"], "models[2].match: expected a model name or glob"),
        (["remove-model", "nothing-like-it"], "no rule with match 'nothing-like-it'"),
    ],
)
def test_an_edit_that_cannot_be_made_leaves_the_file_untouched(tmp_path, args, reason):
    path = tmp_path / "config.yaml"
    path.write_text(ORIGINAL)
    before = os.stat(path)
    proc, after = edit(tmp_path, *args)
    assert proc.returncode == 2
    assert reason in proc.stderr
    assert after == ORIGINAL and os.stat(path).st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # no temp file left


def test_an_invalid_config_is_not_edited(tmp_path):
    broken = ORIGINAL.replace("port: 8123", "port: eighty")
    proc, after = edit(tmp_path, "set-model", "x", "main", text=broken)
    assert proc.returncode == 2
    assert "bad config: server.port: expected an integer" in proc.stderr
    assert after == broken


def test_the_file_keeps_its_mode_and_a_symlink_stays_a_link(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    target = write_config(real / "ccrelay.yaml", ORIGINAL)
    target.chmod(0o600)
    link = tmp_path / "config.yaml"
    link.symlink_to(target)
    proc = ccrelay("config", "set-model", "gpt-5", "main", "--config", str(link), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and "match: gpt-5" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_show_prints_the_file_as_written_with_literal_keys_masked(tmp_path):
    proc, _ = edit(tmp_path, "show")
    assert proc.returncode == 0, proc.stderr
    assert "test-literal-upstream-key" not in proc.stdout
    assert proc.stdout == ORIGINAL.replace(
        "test-literal-upstream-key-abcdef123456", "...3456"
    )  # comments, quotes and ${VAR} references as written
    where = ccrelay("config", "path", "--config", "config.yaml", cwd=tmp_path)
    assert where.stdout.strip() == str(tmp_path / "config.yaml")


def test_a_running_ccrelay_picks_up_a_set_model_edit(start_relay, upstream, tmp_path):
    upstream.default = Reply(json=answer("ok"))
    relay = start_relay({
        "provider": {"name": "up"},
        "providers": {"up": {"type": "anthropic", "base_url": upstream.url, "api_key": "k"}},
    })  # fmt: skip
    sdk = anthropic.Anthropic(base_url=relay.url, api_key="client", max_retries=0)

    def ask() -> str:
        sdk.messages.create(model="claude-x", max_tokens=5,
                            messages=[{"role": "user", "content": "hi"}])  # fmt: skip
        return upstream.requests[-1].body["model"]

    assert ask() == "claude-x"  # no rule yet: the client's model goes upstream
    proc = ccrelay("config", "set-model", "claude-x", "up/routed-model",
                   "--config", str(relay.config_path), cwd=tmp_path,
                   env=cli_env(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: ask() == "routed-model", what="the relay routes by the edited rule")
    assert "config reloaded" in relay.log()
    (rule,) = relay.health()["routing"]["models"]
    assert (rule["match"], rule["to"]) == ("claude-x", ["up/routed-model"])
    proc = ccrelay("config", "remove-model", "claude-x", "--config", str(relay.config_path),
                   cwd=tmp_path, env=cli_env(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    wait_for(lambda: ask() == "claude-x", what="the relay drops the removed rule")
