"""What start-up tells the user about the provider chain: who cannot serve, and the fix.

A fresh install with no key set used to serve silently until the first request failed. At
start-up ccrelay now logs one line per provider of the active chain that cannot serve, and
when none of the chain can, a banner with the exact command or file that fixes it.
"""

from __future__ import annotations

import logging

from ccrelay.core.config import Settings, placeholder

log = logging.getLogger("ccrelay")
_RULE = "=" * 78


def chain_report(
    settings: Settings, loaded: set[str] | None = None, *, shipped: bool = False
) -> list[tuple[int, str]]:
    """Log records ``(level, message)`` about the chain's unconfigured providers.

    :param loaded: the loaded strategy names (a provider whose strategy is missing cannot
        serve either); None: do not check.
    :param shipped: the config is the example shipped inside the package (not to be edited
        in place).
    """
    out: list[tuple[int, str]] = []
    unusable: dict[str, str] = {}
    for i, name in enumerate(settings.chain):
        pcfg = settings.providers[name]
        role = "active" if i == 0 else f"fallback {i}"
        if pcfg.problem:
            reason = pcfg.problem
        elif loaded is not None and pcfg.type not in loaded:
            reason = f"strategy {pcfg.type!r} is not loaded (GET /health lists plugin problems)"
        else:
            continue
        unusable[name] = reason
        out.append((logging.WARNING, f"provider {name} ({role}) is not configured: {reason}"))
    if unusable and len(unusable) == len(settings.chain):
        out.append((logging.ERROR, _RULE))
        names = ", ".join(settings.chain)
        out.append(
            (
                logging.ERROR,
                f"ccrelay cannot answer any request yet: no provider of the chain ({names}) "
                "is configured.",
            )
        )
        out.append((logging.ERROR, "To fix it: " + _fix(settings, settings.chain[0], shipped)))
        out.append(
            (
                logging.ERROR,
                "Until then every request is answered with a 400 naming what to set; "
                "GET /health shows each provider's state.",
            )
        )
        out.append((logging.ERROR, _RULE))
    return out


def log_chain_report(
    settings: Settings, loaded: set[str] | None = None, *, shipped: bool = False
) -> None:
    for level, message in chain_report(settings, loaded, shipped=shipped):
        log.log(level, "%s", message)


def _fix(settings: Settings, name: str, shipped: bool) -> str:
    pcfg = settings.providers[name]
    other = (
        f"or copy {settings.path}, make another provider active in the copy (provider.name) "
        "and start ccrelay with --config COPY"
        if shipped
        else f"or make another provider active in {settings.path} (provider.name)"
    )
    if pcfg.missing_env:
        var, key = pcfg.missing_env[0]
        value = placeholder(key)
        return (
            f"export {var}={value} and start ccrelay again, or add the line {var}={value} "
            f"to {settings.env_file_hint} (read while ccrelay runs); {other}."
        )
    return f"{pcfg.problem or 'see GET /health'} (provider {name}); {other}."
