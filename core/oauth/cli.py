"""``ccrelay login``, ``logout`` and ``status``: subscription logins kept in the auth file.

A click group, runnable now as ``python -m ccrelay.core.oauth <command>`` and meant to be
mounted under the ``ccrelay`` command. Nothing here ever prints a token.
"""

from __future__ import annotations

import json
import os
import sys
import time
import webbrowser
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ccrelay.core.config import ConfigError, Settings, load_settings
from ccrelay.core.oauth import flow
from ccrelay.core.oauth.manager import describe_entry
from ccrelay.core.oauth.presets import PRESETS
from ccrelay.core.oauth.spec import OAuthSpec
from ccrelay.core.oauth.store import AuthFile, AuthFileError, default_path

ROOT = Path(__file__).resolve().parents[2]

_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="ccrelay's config (default: $CCRELAY_CONFIG, else config/config.yaml if it exists).",
)
_auth_option = click.option(
    "--auth-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="where logins are kept (default: $CCRELAY_AUTH_FILE, else ~/.config/ccrelay/auth.json).",
)


@click.group()
def cli() -> None:
    """Log in to subscription providers (OAuth 2.0 with PKCE); ccrelay keeps the tokens fresh."""


@cli.command()
@click.argument("provider", required=False)
@_config_option
@_auth_option
@click.option("--no-browser", is_flag=True, help="Only print the URL; open no browser.")
def login(
    provider: str | None, config_path: Path | None, auth_file: Path | None, no_browser: bool
) -> None:
    """Log in to PROVIDER and save its tokens.

    Prints the authorization URL (and opens a browser when there is one); after you approve,
    paste the code the page shows (code#state, the bare code, or the whole redirect URL).
    PROVIDER is a provider with "auth: oauth" in the config, or a shipped preset
    (claude); it may be left out when there is only one.

    \b
    Example:
      ccrelay login claude
    """
    settings = _settings(config_path)
    name, spec, configured = _target(settings, provider)
    pending = flow.start(spec)
    click.echo(f"Log in to {name}: open this URL in a browser and approve the access:\n")
    click.echo(f"  {pending.url}\n")
    if not no_browser and _has_browser():
        try:
            webbrowser.open(pending.url)
        except webbrowser.Error:
            pass
    click.echo("Paste the code shown after approving: ", nl=False)
    pasted = sys.stdin.readline()
    if not sys.stdin.isatty():
        click.echo("")  # the pasted line was not echoed: end the prompt's line
    if not pasted:
        raise click.ClickException("no code was pasted (end of input)")
    try:
        code = flow.code_from_paste(pasted, pending)
        entry = flow.exchange(spec, code, pending)
    except (flow.LoginError, flow.TokenEndpointError) as exc:
        raise click.ClickException(f"login to {name} failed: {exc}") from None
    store = _store(auth_file)
    try:
        with store.locked():
            entries = store.read()
            entries[name] = entry
            store.write(entries)
    except AuthFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("")
    click.echo(f"Logged in to {name}: {_summary(describe_entry(name, entry, time.time()))}")
    click.echo(f"Saved in {store.path}; ccrelay refreshes the token before it expires.")
    if not configured:
        click.echo(
            f"\nTo use it, add to the config:\n  providers:\n    {name}:\n"
            f"      type: {spec.strategy or '<strategy>'}\n"
            f"      base_url: <the API root>\n      auth: oauth\n"
            + (f"      oauth: {{preset: {spec.preset}}}\n" if spec.preset != name else "")
        )


@cli.command()
@click.argument("provider", required=False)
@_auth_option
def logout(provider: str | None, auth_file: Path | None) -> None:
    """Remove PROVIDER's saved tokens (PROVIDER may be left out when only one is saved).

    \b
    Example:
      ccrelay logout claude
    """
    store = _store(auth_file)
    try:
        with store.locked():
            entries = store.read()
            if provider is None:
                if len(entries) != 1:
                    saved = ", ".join(sorted(entries)) or "none"
                    raise click.UsageError(f"name the provider to log out of (saved: {saved})")
                provider = next(iter(entries))
            removed = entries.pop(provider, None)
            if removed is not None:
                store.write(entries)
    except AuthFileError as exc:
        raise click.ClickException(str(exc)) from None
    if removed is None:
        click.echo(f"{provider} was not logged in (nothing saved in {store.path})")
    else:
        click.echo(f"Logged out of {provider}: its tokens were removed from {store.path}")


@cli.command()
@click.argument("provider", required=False)
@_config_option
@_auth_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object, by provider.")
def status(
    provider: str | None, config_path: Path | None, auth_file: Path | None, as_json: bool
) -> None:
    """Show, per provider, whether it is logged in, until when and with which scopes
    (never a token).

    \b
    Example:
      ccrelay status
    """
    settings = _settings(config_path)
    store = _store(auth_file)
    try:
        entries = store.read()
    except AuthFileError as exc:
        raise click.ClickException(str(exc)) from None
    names = [n for n, p in (settings.providers.items() if settings else ()) if p.auth == "oauth"]
    names += sorted(n for n in entries if n not in names)
    if provider is not None:
        names = [provider]
    now = time.time()
    facts = {name: describe_entry(name, entries.get(name), now) for name in names}
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    if not facts:
        click.echo(f"no subscription logins (none configured, none saved in {store.path})")
    for name, fact in facts.items():
        click.echo(f"{name}: {_summary(fact)}")


def main(argv: list[str] | None = None) -> None:
    """Run the group as ``ccrelay``."""
    cli.main(args=argv, prog_name="ccrelay")


# --- helpers --------------------------------------------------------------------------


def _settings(path: Path | None) -> Settings | None:
    """The validated config, or None when none is given or found."""
    if path is None:
        env = os.environ.get("CCRELAY_CONFIG")
        path = Path(env) if env else ROOT / "config" / "config.yaml"
        if not env and not path.exists():
            return None
    from ccrelay.core.plugins import Registry  # the strategies validate provider sections

    registry = Registry([ROOT / "providers"])
    registry.refresh()
    try:
        return load_settings(
            path, strategies=lambda: registry.classes, dialects=lambda: registry.dialects
        )
    except ConfigError as exc:
        raise click.ClickException(f"bad config: {exc}") from None


def _target(settings: Settings | None, provider: str | None) -> tuple[str, OAuthSpec, bool]:
    """The provider to log in to, its spec, and whether the config has it."""
    oauth = {n: p.oauth for n, p in (settings.providers.items() if settings else ()) if p.oauth}
    if provider is None:
        if len(oauth) == 1:
            provider = next(iter(oauth))
        elif not oauth and len(PRESETS) == 1:
            provider = next(iter(PRESETS))
        else:
            raise click.UsageError(
                "name the provider to log in to (auth: oauth providers: "
                f"{', '.join(oauth) or 'none'}; presets: {', '.join(PRESETS)})"
            )
    if provider in oauth:
        return provider, oauth[provider], True
    if settings is not None and provider in settings.providers:
        raise click.UsageError(
            f"providers.{provider} logs in with an api_key; set `auth: oauth` in it to use a "
            "subscription login instead"
        )
    if provider in PRESETS:
        return provider, PRESETS[provider], False
    raise click.UsageError(
        f"no provider {provider!r} with auth: oauth in the config, and no preset of that name "
        f"(auth: oauth providers: {', '.join(oauth) or 'none'}; presets: {', '.join(PRESETS)})"
    )


def _store(path: Path | None) -> AuthFile:
    return AuthFile(path.expanduser() if path is not None else default_path())


def _has_browser() -> bool:
    """A person at a desktop: stdin is a terminal and there is a display to open one on."""
    if not sys.stdin.isatty():
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _summary(fact: Mapping[str, Any]) -> str:
    """``logged in, expires ... (in 7h 59m), scopes: ...``, or the problem."""
    if not fact.get("logged_in"):
        return str(fact.get("problem", "not logged in"))
    parts = ["logged in"]
    left = fact.get("expires_in")
    if isinstance(left, int):
        when = datetime.fromisoformat(str(fact["expires_at"])).astimezone()
        stamp = when.strftime("%Y-%m-%d %H:%M:%S %Z")
        parts.append(
            f"access token expires {stamp} ({_duration(left)})"
            if left > 0
            else f"access token expired {stamp} (refreshed on the next request)"
        )
    else:
        parts.append("no expiry given")
    scopes = fact.get("scopes") or []
    parts.append(f"scopes: {' '.join(scopes) if scopes else 'not reported'}")
    return ", ".join(parts)


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours >= 48:
        return f"in {hours // 24} days"
    return f"in {hours}h {minutes:02d}m" if hours else f"in {minutes}m {rest % 60:02d}s"
