"""Running the ``ccrelay`` command as a user does: the console script of this venv, in a
folder of the test's own, with no key or ccrelay variable from the host environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

#: the console script ``pip install`` made from pyproject's [project.scripts]
CCRELAY = Path(sys.executable).with_name("ccrelay")


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment for a ccrelay command: no keys, proxies or CCRELAY_* of the host, and
    ``home`` as HOME (no real ~/.config/ccrelay, ~/.codex ...)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith(("_API_KEY", "_TOKEN", "_BASE_URL", "_MODEL"))
        and not k.startswith(("CCRELAY_", "GOOGLE_GENAI_"))
        and "proxy" not in k.lower()
    }
    env["HOME"] = str(home)
    env.update(extra)
    return env


def ccrelay(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``ccrelay ARGS`` run from ``cwd`` (its HOME is ``cwd`` too unless ``env`` says)."""
    return subprocess.run(
        [str(CCRELAY), *args], cwd=cwd, env=env or cli_env(cwd), capture_output=True,
        text=True, timeout=timeout, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def write_config(path: Path, config: dict[str, Any] | str) -> Path:
    """``config`` (a dict, or YAML text kept as written) saved at ``path``."""
    text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False)
    path.write_text(text)
    return path
