"""The ``ccrelay`` command through its real entry point (the console script): which command
lines serve, what the others import, ``--help``, ``check``, ``providers``, ``env``, ``run``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ccrelay.core.cli import serves
from ccrelay.core.cli.app import COMMANDS
from tests.cli_helpers import CCRELAY, ccrelay, cli_env, write_config
from tests.conftest import free_port
from tests.helpers import wait_for

SECRET = "test-upstream-secret-0123456789abcd"
ACCESS = "laptop-access-key-9876543210wxyz"


def config(**extra) -> dict:
    return {
        "server": {"host": "127.0.0.1", "port": 8123},
        "provider": {"name": "main", "fallback_providers": ["spare"]},
        "providers": {
            "main": {"type": "anthropic", "base_url": "http://127.0.0.1:9/anthropic",
                     "api_key": SECRET, "model": "main-model", "models": ["main-alt"]},
            "spare": {"preset": "deepseek", "model": "deepseek-chat"},
        },
        **extra,
    }  # fmt: skip


def keyed() -> dict:
    return config(
        groups={"qwen": {"provider": {"name": "main"}}},
        access_keys=[
            {"name": "laptop", "key": "${CCRELAY_KEY_LAPTOP}"},
            {"name": "ci", "key": "ci-literal-key-0123456789", "groups": ["qwen"]},
        ],
    )


@pytest.mark.parametrize(
    "args, serving",
    [
        ([], True),
        (["--port", "8080"], True),
        (["--config", "c.yaml", "--host", "0.0.0.0"], True),
        (["--config=c.yaml"], True),
        (["--config", "check"], True),  # "check" is the config's path here
        (["serve", "--port", "1"], True),
        (["--providers-dir", "p", "serve"], True),
        (["check"], False),
        (["--config", "c.yaml", "stats", "--by", "model"], False),
        (["--providers-dir", "p", "providers"], False),
        (["env", "claude"], False),
        (["run", "--", "claude", "serve"], False),
        (["--help"], False),
        (["-h"], False),
    ],
)
def test_only_a_command_line_without_command_or_with_serve_serves(args, serving):
    assert serves(args) is serving


def imported(stderr: str) -> list[str]:
    """Module names in ``-X importtime`` order (a module is listed once it is imported)."""
    return [line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:") and "|" in line][1:]  # fmt: skip


def test_serving_patches_gevent_before_the_standard_library_is_imported(tmp_path):
    path = write_config(tmp_path / "c.yaml", config(logging={"dir": str(tmp_path / "logs")}))
    port = free_port()
    err = tmp_path / "err.txt"
    with open(err, "w") as f:
        proc = subprocess.Popen([str(CCRELAY), "--config", str(path), "--port", str(port)],
                                cwd=tmp_path, stderr=f, stdout=subprocess.DEVNULL,
                                env=cli_env(tmp_path, PYTHONPROFILEIMPORTTIME="1"))  # fmt: skip
    try:
        wait_for(lambda: _up(port), what="ccrelay (no command) serves /health")
    finally:
        proc.terminate()
        assert proc.wait(20) == 0
    order = imported(err.read_text())
    patch = order.index("gevent.monkey")
    for module in ("socket", "ssl", "click", "flask", "ccrelay.core.cli.app"):
        assert order.index(module) > patch, module


def _up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/health", timeout=1).ok
    except requests.ConnectionError:
        return False


@pytest.mark.parametrize("command", [["check"], ["stats", "--log-dir", "."], ["env", "claude"]])
def test_commands_that_do_not_serve_never_import_the_server(tmp_path, command):
    path = write_config(tmp_path / "c.yaml", config())
    proc = ccrelay(*command, "--config", str(path), cwd=tmp_path,
                   env=cli_env(tmp_path, PYTHONPROFILEIMPORTTIME="1"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    modules = set(imported(proc.stderr))
    assert "ccrelay.core.cli.app" in modules  # the measurement works
    assert not modules & {"gevent", "gevent.monkey", "flask", "ccrelay.main", "ccrelay.core.app"}


def test_every_command_has_help_with_an_example(tmp_path):
    commands = [[name] for name in COMMANDS] + [
        ["config", sub] for sub in ("path", "show", "set-model", "remove-model")
    ]
    for command in [[], *commands]:
        proc = ccrelay(*command, "--help", cwd=tmp_path)
        assert proc.returncode == 0, (command, proc.stderr)
        assert re.search(r"Examples?:\s*\n\s+(eval \"\$\()?ccrelay ", proc.stdout), command


def test_an_unknown_command_or_option_is_a_usage_error(tmp_path):
    for args in (["nosuch"], ["check", "--nosuch"], ["--port", "x"], ["stats", "--by", "moon"]):
        proc = ccrelay(*args, cwd=tmp_path)
        assert proc.returncode == 2, args
        assert proc.stdout == ""


# --- check ---------------------------------------------------------------------------------


def test_check_prints_the_resolved_config_with_every_key_masked(tmp_path):
    path = write_config(tmp_path / "c.yaml", keyed())
    env = cli_env(tmp_path, CCRELAY_KEY_LAPTOP=ACCESS, DEEPSEEK_API_KEY="sk-deepseek-from-env-777")
    proc = ccrelay("check", "--config", str(path), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    for secret in (SECRET, ACCESS, "ci-literal-key-0123456789", "sk-deepseek-from-env-777"):
        assert secret not in proc.stdout + proc.stderr
    import yaml

    resolved = yaml.safe_load(proc.stdout)
    main, spare = resolved["providers"]["main"], resolved["providers"]["spare"]
    assert main["api_key"] == "..." + SECRET[-4:] and main["configured"] is True
    # The preset was applied, as the server applies it: its type, URL and key variable.
    assert (spare["type"], spare["base_url"]) == ("openai", "https://api.deepseek.com")
    assert spare["api_key"] == "...-777"
    assert resolved["access_keys"] == [
        {"name": "laptop", "key": "..." + ACCESS[-4:]},
        {"name": "ci", "key": "...6789", "groups": ["qwen"]},
    ]
    assert resolved["server"] == {"host": "127.0.0.1", "port": 8123, "shutdown_timeout": 30.0}
    assert "is valid" in proc.stderr.splitlines()[-1]


def test_check_warns_about_a_provider_that_cannot_serve_and_still_exits_0(tmp_path):
    path = write_config(tmp_path / "c.yaml", config())
    proc = ccrelay("check", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 0
    assert "provider spare (fallback 1) is not configured" in proc.stderr
    assert "DEEPSEEK_API_KEY" in proc.stderr


@pytest.mark.parametrize(
    "change, message",
    [
        ({"timeout": "ten"}, 'providers.main.timeout: expected a number, got "ten"'),
        ({"type": "nowhere"}, "providers.main.type: no provider strategy named 'nowhere'"),
        ({"preset": "nosuch"}, "providers.main.preset: no preset named 'nosuch'"),
    ],
)
def test_an_invalid_config_exits_2_with_the_one_line_reason(tmp_path, change, message):
    data = config()
    data["providers"]["main"].update(change)
    path = write_config(tmp_path / "c.yaml", data)
    proc = ccrelay("check", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("ccrelay: bad config: " + message), line


def test_check_reads_the_config_from_the_environment_and_json(tmp_path):
    path = write_config(tmp_path / "c.yaml", config())
    proc = ccrelay("check", "--json", cwd=tmp_path,
                   env=cli_env(tmp_path, CCRELAY_CONFIG=str(path)))  # fmt: skip
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["providers"]["main"]["model"] == "main-model"


# --- providers -------------------------------------------------------------------------------


def test_providers_lists_type_url_models_and_what_is_missing(tmp_path):
    data = config()
    data["providers"]["local"] = {"type": "openai", "base_url": "http://127.0.0.1:9/v1",
                                  "api_key": "${LOCAL_KEY}"}  # fmt: skip
    path = write_config(tmp_path / "c.yaml", data)
    proc = ccrelay("providers", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:4]}
    assert re.match(r"main\s+active\s+anthropic\s+http://127.0.0.1:9/anthropic\s+"
                    r"main-model, main-alt\s+ready$", rows["main"])  # fmt: skip
    assert re.match(r"spare\s+fallback 1\s+openai\s+https://api.deepseek.com\s+"
                    r"deepseek-chat\s+missing DEEPSEEK_API_KEY$", rows["spare"])  # fmt: skip
    assert re.match(r"local\s+-\s+openai\s+\S+\s+\(the client's\)\s+missing LOCAL_KEY$",
                    rows["local"])  # fmt: skip
    # ... and how to set it, as start-up would say.
    assert (
        "spare: providers.spare.api_key: environment variable DEEPSEEK_API_KEY is not set; export DEEPSEEK_API_KEY=<your key>"
        in proc.stdout
    )
    assert f"add the line LOCAL_KEY=<your key> to {tmp_path / '.env'}" in proc.stdout
    assert SECRET not in proc.stdout
    facts = json.loads(ccrelay("providers", "--json", "--config", str(path), cwd=tmp_path).stdout)
    assert [(f["name"], f["configured"]) for f in facts] == [
        ("main", True), ("spare", False), ("local", False)
    ]  # fmt: skip


def test_providers_shows_a_subscription_login_missing(tmp_path):
    data = config()
    data["providers"]["sub"] = {"type": "anthropic", "base_url": "https://api.anthropic.com",
                                "auth": "oauth"}  # fmt: skip
    path = write_config(tmp_path / "c.yaml", data)
    proc = ccrelay("providers", "--config", str(path), cwd=tmp_path)
    assert "sub: not logged in: run `ccrelay login sub`" in proc.stdout


# --- env -------------------------------------------------------------------------------------


def shell_env(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The variables a shell has after ``eval "$(ccrelay env ARGS)"`` (the output is real sh)."""
    script = f'eval "$("{CCRELAY}" env {" ".join(args)})" && env -0'
    env = env or cli_env(tmp_path, ANTHROPIC_API_KEY="users-own-vendor-key-should-go")
    proc = subprocess.run(["sh", "-c", script], cwd=tmp_path, env=env, capture_output=True,
                          timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    pairs = (item.split(b"=", 1) for item in proc.stdout.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode() for k, v in pairs}


@pytest.mark.parametrize(
    "client, expected",
    [
        ("claude", {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8123",
                    "ANTHROPIC_AUTH_TOKEN": "ccrelay", "ANTHROPIC_API_KEY": None}),
        ("codex", {"CCRELAY_API_KEY": "ccrelay"}),
        ("gemini", {"GOOGLE_GEMINI_BASE_URL": "http://127.0.0.1:8123", "GEMINI_API_KEY": "ccrelay"}),
        ("qwen", {"OPENAI_BASE_URL": "http://127.0.0.1:8123/v1", "OPENAI_API_KEY": "ccrelay",
                  "OPENAI_MODEL": "main-model"}),
        ("openai", {"OPENAI_BASE_URL": "http://127.0.0.1:8123/v1", "OPENAI_API_KEY": "ccrelay"}),
        ("anthropic", {"ANTHROPIC_BASE_URL": "http://127.0.0.1:8123",
                       "ANTHROPIC_API_KEY": "ccrelay"}),
    ],
)  # fmt: skip
def test_env_points_each_client_at_ccrelay(tmp_path, client, expected):
    path = write_config(tmp_path / "c.yaml", config())
    got = shell_env(tmp_path, client, "--config", str(path))
    assert {k: got.get(k) for k in expected} == expected


def test_env_for_codex_carries_its_provider_table(tmp_path):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    path = write_config(tmp_path / "c.yaml", config())
    proc = ccrelay("env", "codex", "--toml", "--model", "gpt-5-codex", "--group", "default",
                   "--config", str(path), cwd=tmp_path)  # fmt: skip
    toml = tomllib.loads(proc.stdout)
    assert toml == {
        "model_provider": "ccrelay",
        "model": "gpt-5-codex",
        "model_providers": {"ccrelay": {
            "name": "ccrelay", "base_url": "http://127.0.0.1:8123/v1",
            "env_key": "CCRELAY_API_KEY", "wire_api": "responses"}},
    }  # fmt: skip
    commented = ccrelay("env", "codex", "--config", str(path), cwd=tmp_path).stdout
    assert '#   wire_api = "responses"' in commented  # the same table, as comments
    # Without --model, the active provider's model: Codex's own default model would make it
    # declare its tools in additional_tools items (code mode) instead of its usual tool set.
    assert '#   model = "main-model"' in commented


def test_env_names_the_access_key_by_its_variable_never_its_value(tmp_path):
    path = write_config(tmp_path / "c.yaml", keyed())
    env = cli_env(tmp_path, CCRELAY_KEY_LAPTOP=ACCESS)
    proc = ccrelay("env", "claude", "--config", str(path), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert 'export ANTHROPIC_AUTH_TOKEN="${CCRELAY_KEY_LAPTOP}"' in proc.stdout
    assert ACCESS not in proc.stdout + proc.stderr
    # ... which the shell then expands to the key.
    assert shell_env(tmp_path, "claude", "--config", str(path), env=env)[
        "ANTHROPIC_AUTH_TOKEN"] == ACCESS  # fmt: skip
    shown = ccrelay("env", "claude", "--show-key", "--config", str(path), cwd=tmp_path, env=env)
    assert f"export ANTHROPIC_AUTH_TOKEN={ACCESS}" in shown.stdout
    mine = ccrelay("env", "openai", "--key-env", "MY_KEY", "--config", str(path), cwd=tmp_path,
                   env=env)  # fmt: skip
    assert 'export OPENAI_API_KEY="$MY_KEY"' in mine.stdout


def test_env_in_a_group_chooses_among_the_keys_it_allows(tmp_path):
    path = write_config(tmp_path / "c.yaml", keyed())
    env = cli_env(tmp_path, CCRELAY_KEY_LAPTOP=ACCESS)
    both = ccrelay("env", "qwen", "--group", "qwen", "--config", str(path), cwd=tmp_path, env=env)
    assert both.returncode == 2
    assert "name one with --key NAME (access keys: laptop, ci)" in both.stderr
    literal = ccrelay("env", "qwen", "--group", "qwen", "--key", "ci", "--config", str(path),
                      cwd=tmp_path, env=env)  # fmt: skip
    assert literal.returncode == 2 and "ci-literal-key" not in literal.stderr
    assert "written in the config itself" in literal.stderr and "--show-key" in literal.stderr
    got = shell_env(tmp_path, "qwen", "--group", "qwen", "--key", "ci", "--show-key",
                    "--config", str(path), env=env)  # fmt: skip
    assert got["OPENAI_BASE_URL"] == "http://127.0.0.1:8123/qwen/v1"
    assert got["OPENAI_API_KEY"] == "ci-literal-key-0123456789"
    denied = ccrelay("env", "claude", "--key", "ci", "--config", str(path), cwd=tmp_path, env=env)
    assert denied.returncode == 2 and "may not use group 'default'" in denied.stderr
    nogroup = ccrelay("env", "claude", "--group", "nope", "--config", str(path), cwd=tmp_path,
                      env=env)  # fmt: skip
    assert (
        nogroup.returncode == 2
        and "no group named 'nope' (groups: default, qwen)" in nogroup.stderr
    )


def test_env_says_when_the_key_variable_lives_in_a_dotenv_file(tmp_path):
    path = write_config(tmp_path / "c.yaml", keyed())
    (tmp_path / ".env").write_text(f"CCRELAY_KEY_LAPTOP={ACCESS}\n")
    proc = ccrelay("env", "claude", "--config", str(path), cwd=tmp_path)
    assert proc.returncode == 0
    assert "CCRELAY_KEY_LAPTOP is not set in this shell" in proc.stderr
    assert ACCESS not in proc.stdout + proc.stderr


def test_env_uses_the_loopback_address_for_a_wildcard_listen_address(tmp_path):
    path = write_config(tmp_path / "c.yaml", config(server={"host": "0.0.0.0", "port": 9000}))
    got = shell_env(tmp_path, "openai", "--config", str(path))
    assert got["OPENAI_BASE_URL"] == "http://127.0.0.1:9000/v1"
    url = shell_env(tmp_path, "openai", "--url", "https://relay.example.org", "--config", str(path))
    assert url["OPENAI_BASE_URL"] == "https://relay.example.org/v1"


# --- run -------------------------------------------------------------------------------------


def fake_client(folder: Path, name: str) -> Path:
    """An executable named like a client that prints its argv and environment as JSON."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    "print(json.dumps({'argv': sys.argv[1:], 'env': dict(os.environ)}))\n"
                    "sys.exit(7)\n")  # fmt: skip
    path.chmod(0o755)
    return path


def test_run_starts_the_client_with_its_variables_set(tmp_path):
    claude = fake_client(tmp_path / "bin", "claude")
    path = write_config(tmp_path / "c.yaml", keyed())
    env = cli_env(tmp_path, CCRELAY_KEY_LAPTOP=ACCESS, ANTHROPIC_API_KEY="users-own-vendor-key")
    proc = ccrelay("run", "--config", str(path), "--", str(claude), "-p", "hi", "--flag",
                   cwd=tmp_path, env=env)  # fmt: skip
    assert proc.returncode == 7  # ccrelay became the client: its exit status is the client's
    seen = json.loads(proc.stdout)
    assert seen["argv"] == ["-p", "hi", "--flag"]
    assert seen["env"]["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:8123"
    assert seen["env"]["ANTHROPIC_AUTH_TOKEN"] == ACCESS  # the value itself, not printed
    assert "ANTHROPIC_API_KEY" not in seen["env"]  # a real key never reaches ccrelay
    assert ACCESS not in proc.stderr


def test_run_finds_the_client_on_path_and_passes_codex_its_provider(tmp_path):
    fake_client(tmp_path / "bin", "codex")
    path = write_config(tmp_path / "c.yaml", config())
    env = cli_env(tmp_path)
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"
    proc = ccrelay("--config", str(path), "run", "codex", "exec", "do it", cwd=tmp_path, env=env)
    seen = json.loads(proc.stdout)
    overrides = dict(a.split("=", 1) for a in seen["argv"][1:12:2])
    assert seen["argv"][0:12:2] == ["-c"] * 6 and seen["argv"][12:] == ["exec", "do it"]
    assert overrides == {
        "model_provider": '"ccrelay"',
        "model_providers.ccrelay.name": '"ccrelay"',
        "model_providers.ccrelay.base_url": '"http://127.0.0.1:8123/v1"',
        "model_providers.ccrelay.env_key": '"CCRELAY_API_KEY"',
        "model_providers.ccrelay.wire_api": '"responses"',
        "model": '"main-model"',
    }
    assert seen["env"]["CCRELAY_API_KEY"] == "ccrelay"


def test_run_needs_the_client_named_when_the_program_does_not_say(tmp_path):
    script = fake_client(tmp_path / "bin", "my-tool")
    path = write_config(tmp_path / "c.yaml", config())
    proc = ccrelay("run", "--config", str(path), "--", str(script), cwd=tmp_path)
    assert proc.returncode == 2 and "--client" in proc.stderr
    proc = ccrelay("run", "--client", "openai", "--config", str(path), "--", str(script),
                   cwd=tmp_path)  # fmt: skip
    assert json.loads(proc.stdout)["env"]["OPENAI_BASE_URL"] == "http://127.0.0.1:8123/v1"
    # After --, everything is the client's command line (its own --client included).
    theirs = ccrelay("run", "--config", str(path), "--", "some-tool", "--client", "claude",
                     cwd=tmp_path)  # fmt: skip
    assert theirs.returncode == 2 and "cannot tell which client 'some-tool'" in theirs.stderr
    gone = ccrelay("run", "--client", "claude", "--config", str(path), "--",
                   str(tmp_path / "nope"), cwd=tmp_path)  # fmt: skip
    assert gone.returncode == 2 and "cannot start" in gone.stderr


def test_python_main_py_runs_the_same_commands(tmp_path):
    from tests.conftest import ROOT

    path = write_config(tmp_path / "c.yaml", config())
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "check", "--config", str(path)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=cli_env(tmp_path))  # fmt: skip
    assert proc.returncode == 0 and "main-model" in proc.stdout


def test_run_says_what_gemini_cli_still_needs_in_its_settings(tmp_path):
    gemini = fake_client(tmp_path / "bin", "gemini")
    path = write_config(tmp_path / "c.yaml", config())
    env = cli_env(tmp_path, GOOGLE_GENAI_USE_GCA="true")
    proc = ccrelay("run", "--config", str(path), "--", str(gemini), "-p", "hi", cwd=tmp_path,
                   env=env)  # fmt: skip
    seen = json.loads(proc.stdout)["env"]
    assert seen["GOOGLE_GEMINI_BASE_URL"] == "http://127.0.0.1:8123"
    assert seen["GEMINI_API_KEY"] == "ccrelay"
    assert "GOOGLE_GENAI_USE_GCA" not in seen  # it would win over the base URL
    settings = tmp_path / ".gemini" / "settings.json"
    assert (
        f"{settings} selects none: set security.auth.selectedType to gemini-api-key" in proc.stderr
    )
    settings.parent.mkdir()
    settings.write_text('{"security": {"auth": {"selectedType": "gemini-api-key"}}}')
    proc = ccrelay("run", "--config", str(path), "--", str(gemini), cwd=tmp_path, env=env)
    assert proc.returncode == 7 and proc.stderr == ""
