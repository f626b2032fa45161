"""``python -m ccrelay.core.oauth login|logout|status``: the login commands before they are
mounted under the ``ccrelay`` command."""

from ccrelay.core.oauth.cli import main

main()
