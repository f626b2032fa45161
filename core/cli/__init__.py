"""The ``ccrelay`` command's entry point: it decides whether the command line serves before
anything heavy is imported, so gevent's patching stays the first thing a server does.

A serving command line (no subcommand, the default, or ``serve``) imports ``ccrelay.main``
first, whose first statement patches the standard library for gevent (shared/DESIGN.md,
"Known traps"); every other command (``check``, ``stats``, ``env`` ...) runs unpatched and
never imports the Flask app or the server. The commands themselves are in ``app.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

#: top-level options that take a value (given before a subcommand, as ``serve``'s flags)
VALUE_OPTIONS = frozenset(("--config", "--host", "--port", "--providers-dir"))
#: top-level options that answer and exit without running any command
_ANSWERING = frozenset(("--help", "-h", "--version"))


def serves(args: Sequence[str]) -> bool:
    """Whether ``ccrelay ARGS`` runs the server: its first word that is neither an option
    nor an option's value is ``serve``, or there is none (serving is the default)."""
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in _ANSWERING:
            return False
        if arg in VALUE_OPTIONS:
            i += 2
        elif arg.startswith("-"):
            i += 1  # --config=PATH, or an unknown option that click will report
        else:
            return arg == "serve"
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``ccrelay ARGS`` (``sys.argv`` by default); the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if serves(args):
        import ccrelay.main  # noqa: F401 - its first statement patches gevent

    from ccrelay.core.cli.app import run

    return run(args)
