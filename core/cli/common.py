"""What the ``ccrelay`` commands share: the top-level options, errors with exit status 2,
and loading the config exactly as the server does (plugins scanned, presets applied)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ccrelay.core.cli.paths import PROVIDERS, config_path

if TYPE_CHECKING:
    from ccrelay.core.config import Settings
    from ccrelay.core.plugins import Registry
    from ccrelay.core.reload import ConfigStore

F = TypeVar("F", bound=Callable[..., Any])


class Failure(click.ClickException):
    """A usage or config error: ``ccrelay: <message>`` on stderr, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"ccrelay: {self.format_message()}", err=True)


@dataclass
class Globals:
    """The options given before the command (``ccrelay --config X check``)."""

    config: str | None = None
    providers_dirs: tuple[str, ...] = ()
    host: str | None = None
    port: int | None = None


@dataclass
class Loaded:
    """A config loaded and validated as the server would, with the plugin scan it used."""

    store: ConfigStore
    registry: Registry
    example: bool = False

    @property
    def settings(self) -> Settings:
        return self.store.current


def config_option(func: F) -> F:
    """``--config`` on a command (it may also come before it: ``ccrelay --config X cmd``)."""
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False, path_type=str),
        default=None,
        help="The config file (default: $CCRELAY_CONFIG, else config/config.yaml of a source "
        "checkout, else the shipped example).",
    )(func)


def config_options(func: F) -> F:
    """``--config`` and ``--providers-dir`` (for commands that validate the whole config)."""
    func = click.option(
        "--providers-dir",
        "providers_dirs",
        multiple=True,
        type=click.Path(file_okay=False, path_type=str),
        help="Extra folder of provider plugins (repeatable), as `ccrelay serve` takes it.",
    )(func)
    return config_option(func)


def chosen(config: str | None, dirs: Sequence[str] = ()) -> tuple[str | None, tuple[str, ...]]:
    """The command's ``--config`` and plugin folders, completed by the top-level options."""
    top = click.get_current_context().find_object(Globals) or Globals()
    return config or top.config, (*top.providers_dirs, *dirs)


def quiet_logging() -> None:
    """Warnings (a broken plugin ...) as ``ccrelay: ...`` lines on stderr; nothing chattier."""
    logging.basicConfig(level=logging.WARNING, format="ccrelay: %(message)s")


def load(config: str | None, dirs: Sequence[str] = ()) -> Loaded:
    """The config validated exactly as ``ccrelay serve`` validates it at start-up.

    :raises Failure: ``bad config: <the one-line reason>``.
    """
    from ccrelay.core.config import ConfigError
    from ccrelay.core.plugins import Registry
    from ccrelay.core.reload import ConfigStore

    quiet_logging()
    path, example = config_path(config)
    folders = tuple(Path(d).absolute() for d in dirs)
    registry = Registry([PROVIDERS, *folders])
    # As serve: the shipped example suggests a .env where ccrelay runs, not in site-packages.
    hint = Path.cwd() / ".env" if example else None
    try:
        store = ConfigStore(path, registry, env_file_hint=hint)
    except ConfigError as exc:
        raise Failure(f"bad config: {exc}") from None
    return Loaded(store, registry, example)


def example(*lines: str) -> str:
    """A command's ``--help`` epilog: its examples, kept as written."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)
