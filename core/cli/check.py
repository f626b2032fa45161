"""``ccrelay check`` (is the config valid, and what does it resolve to) and ``ccrelay
providers`` (each provider: type, base URL, models, ready or what is missing)."""

from __future__ import annotations

import json
import time
from typing import Any

import click

from ccrelay.core.cli.common import Loaded, chosen, config_options, example, load

_HELP = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.command(
    context_settings=_HELP,
    epilog=example("ccrelay check", "ccrelay check --config config/config.yaml --json"),
)
@config_options
@click.option("--json", "as_json", is_flag=True, help="Print the resolved config as JSON.")
def check(config: str | None, providers_dirs: tuple[str, ...], as_json: bool) -> None:
    """Validate the config exactly as the server would and print it resolved.

    Plugins are scanned, presets applied, ${VAR} substituted (from the environment and the
    .env files), defaults filled in; every key is masked (at most its last four
    characters). Exit status 0 when valid, 2 with the one-line reason when not. Problems
    that do not stop the server (a provider whose key is unset, a broken plugin) are
    printed on stderr as warnings.
    """
    import yaml

    from ccrelay.core.cli.resolved import describe, scrub
    from ccrelay.core.firstrun import chain_report

    loaded = load(*chosen(config, providers_dirs))
    settings = loaded.settings
    data = describe(settings)
    if as_json:
        text = json.dumps(data, indent=2)
    else:
        head = f"# {settings.path}, resolved (keys masked)\n"
        text = head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=1 << 20)
    click.echo(scrub(text.rstrip("\n"), settings))
    for _, message in chain_report(settings, set(loaded.registry.classes), shipped=loaded.example):
        if not message.startswith("="):
            click.echo(f"ccrelay: {message}", err=True)
    for problem in loaded.registry.problems:
        if not problem.blocked:
            click.echo(f"ccrelay: warning: plugin {problem.plugin}: {problem.reason}", err=True)
    chain = " -> ".join(settings.chain)
    where = " (the shipped example)" if loaded.example else ""
    click.echo(
        f"ccrelay: {settings.path}{where} is valid: {len(settings.providers)} providers, "
        f"chain {chain}",
        err=True,
    )


@click.command(
    context_settings=_HELP,
    epilog=example("ccrelay providers", "ccrelay providers --json"),
)
@config_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per provider.")
def providers(config: str | None, providers_dirs: tuple[str, ...], as_json: bool) -> None:
    """List the providers: type, base URL, models, and whether each can serve.

    A provider that cannot serve says what is missing and how to set it (the variable to
    export or the .env line to add, the login to run, the plugin that failed). The role is
    the place in the default chain: active, fallback N, or - when only routes use it.
    """
    loaded = load(*chosen(config, providers_dirs))
    facts = provider_facts(loaded)
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    head = ["NAME", "ROLE", "TYPE", "BASE URL", "MODELS", "STATUS"]
    rows = [
        [
            f["name"], f["role"], f["type"], f["base_url"],
            ", ".join(f["models"]) or "(the client's)", f["status"],
        ]
        for f in facts
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for row in [head, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    missing = [f for f in facts if not f["configured"]]
    if missing:
        click.echo("")
    for f in missing:
        click.echo(f"{f['name']}: {f['problem']}")


def provider_facts(loaded: Loaded) -> list[dict[str, Any]]:
    """Per provider: name, role, type, base_url, models, configured, status, problem."""
    from ccrelay.core.oauth.manager import describe_entry
    from ccrelay.core.oauth.store import AuthFile, AuthFileError, default_path

    settings = loaded.settings
    chain = settings.chain
    logins: dict[str, Any] | None = None
    out = []
    for name, p in settings.providers.items():
        role = "-"
        if name in chain:
            i = chain.index(name)
            role = "active" if i == 0 else f"fallback {i}"
        problem, status = p.problem, "ready"
        if not problem and loaded.registry.get(p.type) is None:
            reasons = [pr.reason for pr in loaded.registry.problems]
            problem = f"strategy {p.type!r} is not loaded" + (
                f" ({'; '.join(reasons)})" if reasons else ""
            )
        if not problem and p.auth == "oauth":
            if logins is None:
                try:
                    logins = dict(AuthFile(default_path()).read())
                except AuthFileError as exc:
                    logins = {}
                    problem = str(exc)
            fact = describe_entry(name, logins.get(name), time.time())
            if not fact["logged_in"]:
                problem = str(fact.get("problem", f"not logged in: run `ccrelay login {name}`"))
        if problem:
            status = (
                "missing " + ", ".join(var for var, _ in p.missing_env)
                if p.missing_env
                else "not configured"
            )
        models = ([p.model] if p.model else []) + [m for m in p.models if m != p.model]
        out.append(
            {
                "name": name,
                "role": role,
                "type": p.type,
                "base_url": p.base_url,
                "models": models,
                "auth": p.auth,
                "configured": not problem,
                "status": status,
                "problem": problem,
            }
        )
    return out
