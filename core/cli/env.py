"""``ccrelay env CLIENT`` (the shell lines pointing a client at this ccrelay) and
``ccrelay run -- PROGRAM ...`` (start the client with those variables set).

The URL is ``server.host`` / ``server.port`` of the config (a wildcard address becomes the
loopback one), or ``--url``; a group adds its ``/{group}`` prefix. The key: with no
``access_keys`` in the config any value passes, and ``ccrelay`` is printed; otherwise the
access key named by ``--key`` (or the only one the group allows) is printed as the
``${VAR}`` the config reads it from, never as its value unless ``--show-key`` asks;
``--key-env VAR`` prints ``$VAR`` for a key kept in a variable of your own. ``run`` puts the
key's value itself in the client's environment (nothing is printed).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ccrelay.core.cli.clients import (
    CLIENTS,
    GEMINI_SETTINGS,
    Client,
    Setting,
    guess,
    setting,
    shell_lines,
)
from ccrelay.core.cli.common import Failure, Loaded, chosen, config_options, example, load

_HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
#: what clients send when ccrelay asks for no key (they refuse to start without one)
NO_KEY = "ccrelay"
_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Key:
    """The key a client sends: its value, and how the shell lines show it."""

    value: str
    text: str


def _client_options(func: Any) -> Any:
    for decorator in reversed(
        [
            click.option("--group", default="default", show_default=True,
                         help="The group to use (served under /GROUP/)."),
            click.option("--key", "key_name", metavar="NAME",
                         help="The access key (by its name in access_keys) the client sends."),
            click.option("--key-env", metavar="VAR",
                         help="Send the key held in your environment variable VAR."),
            click.option("--model", help="The model the client asks for (Qwen Code needs one: "
                         "default, the group's active provider's model)."),
            click.option("--url", help="ccrelay's URL (default: from server.host and "
                         "server.port; a team server's address, for instance)."),
        ]
    ):  # fmt: skip
        func = decorator(func)
    return config_options(func)


@click.command(
    context_settings=_HELP,
    epilog=example(
        'eval "$(ccrelay env claude)"',
        "ccrelay env codex --toml       # the provider for the top of ~/.codex/config.toml",
        "ccrelay env qwen --group qwen --key team-laptop",
        "ccrelay env openai --key-env MY_CCRELAY_KEY",
    ),
)
@click.argument("client", type=click.Choice(list(CLIENTS), case_sensitive=False))
@_client_options
@click.option("--show-key", is_flag=True, help="Print the key's value instead of a reference.")
@click.option("--toml", is_flag=True, help="codex: print only the config.toml lines.")
def env(
    client: str,
    group: str,
    key_name: str | None,
    key_env: str | None,
    model: str | None,
    url: str | None,
    config: str | None,
    providers_dirs: tuple[str, ...],
    show_key: bool,
    toml: bool,
) -> None:
    """Print the shell lines that point CLIENT at this ccrelay.

    CLIENT is claude (Claude Code), codex, gemini (Gemini CLI), qwen (Qwen Code), openai or
    anthropic (their SDKs). The lines are `export` and `unset` for a POSIX shell; for
    Codex, the ~/.codex/config.toml provider it needs is printed as comments (alone with
    --toml). A key's value is never printed unless --show-key asks for it.
    """
    loaded = load(*chosen(config, providers_dirs))
    c = CLIENTS[client.lower()]
    if toml and c.name != "codex":
        raise Failure("--toml is for codex only")
    key = choose_key(loaded, group, key_name, key_env, show=show_key)
    s = _setting(loaded, c, group, url, model, key.value)
    if toml:
        click.echo("\n".join(s.codex_toml()))
        return
    click.echo("\n".join(shell_lines(s, key.text)))


@click.command(
    context_settings={**_HELP, "ignore_unknown_options": True, "allow_interspersed_args": False},
    epilog=example(
        "ccrelay run -- claude -p 'hello'",
        "ccrelay run --group qwen -- qwen",
        "ccrelay run --client openai -- python my_script.py",
    ),
)
@click.option("--client", "client_name", type=click.Choice(list(CLIENTS), case_sensitive=False),
              help="The client, when the program's name does not say (python, node ...).")  # fmt: skip
@_client_options
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(
    client_name: str | None,
    group: str,
    key_name: str | None,
    key_env: str | None,
    model: str | None,
    url: str | None,
    config: str | None,
    providers_dirs: tuple[str, ...],
    command: tuple[str, ...],
) -> None:
    """Start a client with the variables of `ccrelay env` set.

    The client is told by the program's name (claude, codex, gemini, qwen) or by --client.
    The key's value goes into the client's environment (nothing is printed). Codex also
    gets its provider as -c overrides, leaving ~/.codex/config.toml as it is. Gemini CLI
    needs API-key auth selected in ~/.gemini/settings.json: ccrelay warns when it is not.
    ccrelay replaces itself with the program, so its exit status is the program's.
    """
    program, *args = command
    c = CLIENTS[client_name.lower()] if client_name else guess(program)
    if c is None:
        known = ", ".join(p for cl in CLIENTS.values() for p in cl.programs)
        raise Failure(
            f"cannot tell which client {program!r} is (known programs: {known}); "
            f"name it with --client {{{','.join(CLIENTS)}}}"
        )
    loaded = load(*chosen(config, providers_dirs))
    key = choose_key(loaded, group, key_name, key_env, show=True, resolve=True)
    s = _setting(loaded, c, group, url, model, key.value)
    environ = {k: v for k, v in os.environ.items() if k not in s.unset}
    environ.update(s.variables)
    hint = gemini_auth_hint(environ) if c.name == "gemini" else None
    if hint:
        click.echo(f"ccrelay: warning: {hint}", err=True)
    argv = [program, *s.codex_overrides(), *args]
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvpe(program, argv, environ)
    except OSError as exc:
        raise Failure(f"cannot start {program}: {exc.strerror or exc}") from None


def gemini_auth_hint(environ: dict[str, str]) -> str | None:
    """What to change when Gemini CLI's settings do not select API-key auth (with only the
    variables it would reject the auth they select: see clients.py); None when they do."""
    home = Path(environ.get("GEMINI_CLI_HOME") or Path.home())
    path = home / ".gemini" / "settings.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        chosen = data["security"]["auth"]["selectedType"]
    except (OSError, ValueError, KeyError, TypeError):
        chosen = None
    if chosen == GEMINI_SETTINGS["security"]["auth"]["selectedType"]:
        return None
    return (
        f"Gemini CLI uses ccrelay only with API-key auth selected; {path} selects "
        f"{chosen or 'none'}: set security.auth.selectedType to gemini-api-key there, "
        f"e.g. {json.dumps(GEMINI_SETTINGS)}"
    )


def _setting(
    loaded: Loaded, c: Client, group: str, url: str | None, model: str | None, key: str
) -> Setting:
    settings = loaded.settings
    if group != "default" and group not in settings.groups:
        known = ", ".join(["default", *settings.groups])
        raise Failure(f"no group named {group!r} (groups: {known})")
    root = (url or base_url(settings.host, settings.port)).rstrip("/")
    if group != "default":
        root += f"/{group}"
    if (c.needs_model or c.prefers_model) and not model:
        model = default_model(loaded, group)
        if not model and c.needs_model:
            raise Failure(
                f"{c.title} needs a model name and the group's active provider has none "
                "configured: pass --model NAME"
            )
    if c.name == "gemini" and root.startswith("http://") and not _loopback(root):
        click.echo(
            "ccrelay: warning: Gemini CLI refuses a base URL that is not HTTPS unless it is "
            "localhost, 127.0.0.1 or [::1]",
            err=True,
        )
    return setting(c, root, key, model)


def base_url(host: str, port: int) -> str:
    """``http://host:port`` for a client on this machine (a wildcard address is not one a
    client can connect to: it becomes the loopback address)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def default_model(loaded: Loaded, group: str) -> str | None:
    settings = loaded.settings
    g = settings.groups.get(group)
    chain = (g.chain if g is not None else None) or settings.chain
    p = settings.providers[chain[0]]
    return p.model or (p.models[0] if p.models else None)


def choose_key(
    loaded: Loaded,
    group: str,
    key_name: str | None,
    key_env: str | None,
    *,
    show: bool,
    resolve: bool = False,
) -> Key:
    """The key to send and its shell text (see the module docstring).

    :param resolve: the value itself is needed (``run``): a ``--key-env`` variable must be set.
    """
    settings = loaded.settings
    if key_name and key_env:
        raise Failure("give --key or --key-env, not both")
    if key_env:
        if not _NAME.match(key_env):
            raise Failure(f"--key-env: {key_env!r} is not a variable name")
        value = os.environ.get(key_env, "")
        if resolve and not value:
            raise Failure(f"--key-env: {key_env} is not set")
        return Key(value, shlex.quote(value) if show else f'"${key_env}"')
    keys = settings.access_keys
    if not keys:
        if key_name:
            raise Failure(f"--key {key_name}: the config has no access_keys (any key passes)")
        return Key(NO_KEY, NO_KEY)
    allowed = [k for k in keys if k.groups is None or group in k.groups]
    if key_name:
        found = next((k for k in keys if k.name == key_name), None)
        if found is None:
            raise Failure(f"--key: no access key named {key_name!r} ({_names(keys)})")
        if found not in allowed:
            raise Failure(f"--key: access key {key_name!r} may not use group {group!r}")
    elif len(allowed) == 1:
        found = allowed[0]
    else:
        raise Failure(
            "this ccrelay needs an access key: name one with --key NAME "
            f"({_names(allowed) if allowed else 'none may use group ' + repr(group)}), "
            "or pass --key-env VAR"
        )
    if show:
        return Key(found.key, shlex.quote(found.key))
    raw = _raw_key(loaded, keys.index(found))
    m = _REF.match(raw)
    if m is None:
        raise Failure(
            f"the key of access key {found.name!r} is written in the config itself, not read "
            "from a variable: pass --show-key to print it, or --key-env VAR for a variable "
            "holding it"
        )
    var, default = m.group(1), m.group(2)
    if (os.environ.get(var) or default or "") != found.key:
        click.echo(
            f"ccrelay: note: {var} is not set in this shell (ccrelay reads it from a .env "
            f"file): export it, or pass --show-key",
            err=True,
        )
    return Key(found.key, f'"{raw}"')


def _raw_key(loaded: Loaded, index: int) -> str:
    """The ``key`` of ``access_keys[index]`` as written in the config."""
    from ccrelay.core.config import read_config

    raw = read_config(loaded.store.path, env_files=()).data.get("access_keys") or []
    entry = raw[index] if index < len(raw) else {}
    value = entry.get("key", "") if isinstance(entry, dict) else ""
    return value if isinstance(value, str) else ""


def _names(keys: Any) -> str:
    return "access keys: " + ", ".join(k.name for k in keys)


def _loopback(url: str) -> bool:
    host = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "127.0.0.1", "::1")
