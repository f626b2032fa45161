"""Where ccrelay's own files are: the package root, the checkout's live config and the shipped
example, and which config a command uses when none is given."""

from __future__ import annotations

from pathlib import Path

#: the package root (a source checkout, or ``site-packages/ccrelay`` once installed)
ROOT = Path(__file__).resolve().parents[2]
#: the live config of a source checkout (not shipped in the wheel)
CHECKOUT_CONFIG = ROOT / "config" / "config.yaml"
#: the documented example shipped with ccrelay, served when no config is given or found
EXAMPLE_CONFIG = ROOT / "config" / "example.yaml"
#: the folder of built-in provider plugins, always scanned
PROVIDERS = ROOT / "providers"


def config_path(given: str | Path | None) -> tuple[Path, bool]:
    """The config to use, and whether it is the shipped example (``given`` is the
    ``--config`` value, or ``$CCRELAY_CONFIG``)."""
    if given:
        return Path(given), False
    if CHECKOUT_CONFIG.is_file():
        return CHECKOUT_CONFIG, False
    return EXAMPLE_CONFIG, True
