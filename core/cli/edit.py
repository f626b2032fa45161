"""``ccrelay config path|show|set-model|remove-model``: the config file, shown and edited in
place.

An edit keeps the file's comments and layout (``yamledit.py``), is validated as the server
would validate it before it replaces anything, and replaces the file atomically: the new text
is written to a temporary file in the same folder, flushed, then renamed over the config, the
way editors save. A running ccrelay sees the rename and reloads, as for any edit. An edit
that would make the config invalid is refused and the file is left untouched; so is an edit
of a config that is invalid already (fix it first), or one that changed while being edited.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

import click

from ccrelay.core.cli.common import Failure, chosen, config_options, example, load
from ccrelay.core.cli.paths import config_path

_HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(
    context_settings=_HELP,
    epilog=example(
        "ccrelay config path",
        "ccrelay config show",
        "ccrelay config set-model claude-sonnet-4-5 deepseek/deepseek-chat",
        "ccrelay config remove-model claude-sonnet-4-5",
    ),
)
def config() -> None:
    """Show the config file, or edit its model rules in place (comments kept)."""


@config.command(context_settings=_HELP, epilog=example("ccrelay config path"))
@config_options
def path(config: str | None, providers_dirs: tuple[str, ...]) -> None:
    """Print the path of the config file ccrelay uses (--config, $CCRELAY_CONFIG,
    config/config.yaml of a source checkout, or the shipped example)."""
    given, _ = chosen(config, providers_dirs)
    where, example_used = config_path(given)
    click.echo(str(where.absolute()))
    if example_used:
        click.echo("ccrelay: no config given: this is the shipped example", err=True)


@config.command(context_settings=_HELP, epilog=example("ccrelay config show --config my.yaml"))
@config_options
def show(config: str | None, providers_dirs: tuple[str, ...]) -> None:
    """Print the config file as written (comments and ${VAR} references as they are), with
    any key written literally in it masked (`ccrelay check` prints it resolved)."""
    from ccrelay.core.cli.resolved import mask
    from ccrelay.core.cli.yamledit import EditError, literal_secrets

    given, dirs = chosen(config, providers_dirs)
    where, _ = config_path(given)
    text = _read(where)
    lines = text.splitlines(keepends=True)
    try:
        found = list(literal_secrets(text))
    except EditError as exc:
        raise Failure(f"{where}: {exc}") from None
    for line, col, value in found:
        head, rest = lines[line][:col], lines[line][col:]
        lines[line] = head + (rest.replace(value, mask(value), 1) if value in rest else '"***"\n')
    out = "".join(lines)
    try:  # keys pasted elsewhere (a URL, an option): masked wherever they appear
        from ccrelay.core.cli.resolved import scrub

        out = scrub(out, load(given, dirs).settings)
    except Failure:
        pass  # an invalid config is still shown
    click.echo(out, nl=False)


@config.command(
    "set-model",
    context_settings=_HELP,
    epilog=example(
        "ccrelay config set-model claude-sonnet-4-5 deepseek/deepseek-chat",
        "ccrelay config set-model 'claude-*haiku*' grok/grok-code-fast-1 deepseek",
        "ccrelay config set-model --group qwen qwen3-coder dashscope/qwen3-coder-plus",
    ),
)
@click.argument("model")
@click.argument("targets", nargs=-1, required=True, metavar="TO...")
@click.option("--group", help="Edit the group's own models rules instead of the top level's.")
@config_options
def set_model(
    model: str,
    targets: tuple[str, ...],
    group: str | None,
    config: str | None,
    providers_dirs: tuple[str, ...],
) -> None:
    """Send the client model MODEL (a name or a glob) to TO (provider/model, or a provider
    for its configured model; more than one: fallbacks in order).

    The models rule whose match is exactly MODEL gets `to: [TO...]` (its balance and
    weights are removed). Without one, a rule {match: MODEL, to: [TO...]} is added just
    before the first rule whose glob already matches MODEL (which would otherwise take
    it), else at the end. TO is checked against the config's providers.
    """
    from ccrelay.core.cli.yamledit import set_model as edit
    from ccrelay.core.routing import RoutingError, parse_target

    given, dirs = chosen(config, providers_dirs)
    settings = load(given, dirs).settings
    for target in targets:
        try:
            parse_target(target, f"TO {target!r}", settings.providers)
        except RoutingError as exc:
            raise Failure(str(exc)) from None
    _apply(given, dirs, lambda text: edit(text, model, targets, group))


@config.command(
    "remove-model",
    context_settings=_HELP,
    epilog=example(
        "ccrelay config remove-model claude-sonnet-4-5",
        "ccrelay config remove-model --group qwen qwen3-coder",
    ),
)
@click.argument("model")
@click.option("--group", help="Edit the group's own models rules instead of the top level's.")
@config_options
def remove_model(
    model: str, group: str | None, config: str | None, providers_dirs: tuple[str, ...]
) -> None:
    """Remove the models rule whose match is exactly MODEL (client requests for it then
    follow the next matching rule, or the default chain)."""
    from ccrelay.core.cli.yamledit import remove_model as edit

    given, dirs = chosen(config, providers_dirs)
    load(given, dirs)  # an invalid config is not edited: fix it first
    _apply(given, dirs, lambda text: edit(text, model, group))


def _apply(
    given: str | None, dirs: tuple[str, ...], edit: Callable[[str], tuple[str, str]]
) -> None:
    """Edit the config's text, validate the result, and swap it in atomically."""
    from ccrelay.core.cli.yamledit import EditError

    where, shipped = config_path(given)
    if shipped:
        raise Failure(
            f"no config given: ccrelay would edit the shipped example {where}; copy it and "
            "pass --config COPY (or set CCRELAY_CONFIG)"
        )
    target = where.resolve()  # a symlinked config stays a link: its target is replaced
    before = _read(target)
    try:
        after, message = edit(before)
    except EditError as exc:
        raise Failure(f"{where}: {exc}") from None
    if after == before:
        click.echo(f"{where}: unchanged ({message})")
        return
    tmp = target.with_name(f".{target.name}.ccrelay-{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(after)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        try:
            load(str(tmp), dirs)  # as the server would: .env files, plugins, presets
        except Failure as exc:
            raise Failure(
                f"the edit would make the config invalid, so {where} is unchanged: "
                f"{exc.message.removeprefix('bad config: ')}"
            ) from None
        if _read(target) != before:
            raise Failure(f"{where} changed while it was being edited; run the command again")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"{where}: {message}")


def _read(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except OSError as exc:
        raise Failure(f"cannot read {path}: {exc.strerror or exc}") from None
