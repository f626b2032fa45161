"""The code stays in the shape the project agreed on: ruff's rules and formatter, mypy strict on core."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT


def test_ruff_check_and_format():
    for args in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_strict_on_core(tmp_path):
    # The tree is the package ``ccrelay`` (pyproject maps it); mypy finds it through a link.
    (tmp_path / "ccrelay").symlink_to(ROOT)
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--ignore-missing-imports",
                           "--explicit-package-bases", "-p", "ccrelay.core"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "MYPYPATH": str(tmp_path)})  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text().splitlines()
    commands = [line for line in readme[:8] if line.startswith("python3 -m venv")]
    assert len(commands) == 2, "the README opens with the server and the test command"
    assert "main.py" in commands[0] and "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[1] in ci.splitlines()
