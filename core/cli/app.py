"""The ``ccrelay`` click group: ``serve`` (the default), and the commands around it.

Commands live in their own modules and are imported only when run (``check`` and ``stats``
never import the Flask app): ``COMMANDS`` maps each name to where it is defined. The login
commands are ``core/oauth/cli.py``'s, mounted as they are.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

from ccrelay.core.cli.common import Failure, Globals, example

#: command name -> "module:attribute" (imported when the command runs or --help lists it)
COMMANDS = {
    "serve": "ccrelay.core.cli.app:serve",
    "check": "ccrelay.core.cli.check:check",
    "providers": "ccrelay.core.cli.check:providers",
    "env": "ccrelay.core.cli.env:env",
    "run": "ccrelay.core.cli.env:run",
    "config": "ccrelay.core.cli.edit:config",
    "stats": "ccrelay.core.cli.usage:stats",
    "login": "ccrelay.core.oauth.cli:login",
    "logout": "ccrelay.core.oauth.cli:logout",
    "status": "ccrelay.core.oauth.cli:status",
}
_HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class _Lazy(click.Group):
    """A group whose commands are imported by name when needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attr = target.partition(":")
        command: click.Command = getattr(importlib.import_module(module), attr)
        return command


def _serve_options(func: Any, *, top: bool = False) -> Any:
    """serve's options; only the top-level ``--config`` reads ``$CCRELAY_CONFIG`` (so that
    ``ccrelay --config X serve`` keeps X)."""
    for decorator in reversed(
        [
            click.option(
                "--config",
                envvar="CCRELAY_CONFIG" if top else None,
                type=click.Path(dir_okay=False, path_type=str),
                help="Config file; edits apply live (default: $CCRELAY_CONFIG, else "
                "config/config.yaml of a source checkout, else the shipped example "
                "config/example.yaml).",
            ),
            click.option("--host", help="Listen address (default: server.host, else 127.0.0.1)."),
            click.option("--port", type=int, help="Listen port (default: server.port, else 8080)."),
            click.option(
                "--providers-dir",
                "providers_dirs",
                multiple=True,
                help="Extra folder of provider plugins (repeatable); ccrelay's providers/ is "
                "always scanned, and so are the config's plugins.dirs.",
            ),
        ]
    ):
        func = decorator(func)
    return func


@click.group(
    cls=_Lazy,
    invoke_without_command=True,
    context_settings=_HELP,
    epilog=example(
        "ccrelay --config config/config.yaml   # serve (as: ccrelay serve --config ...)",
        "ccrelay check                         # is the config valid? (exit 0, else 2)",
        'eval "$(ccrelay env claude)"          # point Claude Code at this ccrelay',
        "ccrelay stats --since 7d --by model   # what the last week cost",
    ),
)
@lambda func: _serve_options(func, top=True)
@click.pass_context
def cli(
    ctx: click.Context,
    config: str | None,
    host: str | None,
    port: int | None,
    providers_dirs: tuple[str, ...],
) -> None:
    """Relay Claude Code and other LLM clients to any configured backend.

    With no command, ccrelay serves (as `ccrelay serve`): the options above are serve's.
    """
    ctx.obj = Globals(config, providers_dirs, host, port)
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)
        return
    if ctx.invoked_subcommand != "serve" and (host is not None or port is not None):
        raise Failure("--host and --port are options of serve; the other commands take none")
    if config and ctx.invoked_subcommand in ("login", "status"):
        # The login commands take their own --config: hand them the one given here.
        ctx.default_map = {ctx.invoked_subcommand: {"config_path": config}}


@click.command(
    context_settings=_HELP,
    epilog=example(
        "ccrelay serve --config config/config.yaml --port 8080",
        "ccrelay --config config/config.yaml    # the same: serve is the default",
    ),
)
@_serve_options
@click.pass_context
def serve(
    ctx: click.Context,
    config: str | None = None,
    host: str | None = None,
    port: int | None = None,
    providers_dirs: tuple[str, ...] = (),
) -> None:
    """Serve until SIGINT/SIGTERM (the default command).

    Loads the config and its plugins, listens, applies config edits live, and stops
    gracefully. Exit status 2 for a bad config or an address in use.
    """
    from gevent import monkey

    if not monkey.is_module_patched("socket"):  # ccrelay.core.cli.main imports ccrelay.main
        raise RuntimeError("ccrelay serve must start through ccrelay.core.cli.main")
    from ccrelay.main import serve as serve_forever

    top = ctx.find_object(Globals) or Globals()
    code = serve_forever(
        config or top.config,
        host=host or top.host,
        port=port or top.port,
        providers_dirs=(*top.providers_dirs, *providers_dirs),
    )
    ctx.exit(code)


def run(args: Sequence[str]) -> int:
    """Run the group on ``args``; the exit status (click's own: 2 for a usage error)."""
    try:
        cli.main(args=list(args), prog_name="ccrelay")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    return 0
