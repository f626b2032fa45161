"""``.env`` files: ``KEY=value`` lines filling in what the environment lacks, and which files.

The environment wins over every file; among the files the working directory's comes first
(the older layout kept it in the project root, where ccrelay is started), then the one beside
the config.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path


def load_dotenv(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """Read ``KEY=value`` lines from ``path``; variables already in ``environ`` win."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if key not in environ:
            values[key] = value
    return values


def dotenv_paths(config: Path, cwd: Path | None = None) -> tuple[Path, ...]:
    """The ``.env`` files read for ``config``, first one winning: the working directory's
    (the older layout kept it in the project root, where ccrelay is started), then the one
    beside the config. The environment itself wins over both."""
    paths = ((cwd or Path.cwd()) / ".env", config.parent / ".env")
    return tuple({p.resolve(): p for p in paths}.values())
