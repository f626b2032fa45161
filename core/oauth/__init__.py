"""Subscription login: OAuth 2.0 with PKCE, saved tokens, and refresh before expiry.

- ``spec.py``: the ``oauth`` section of a provider; ``presets.py``: the shipped presets;
- ``flow.py``: the authorization-code flow and the token endpoint's grants;
- ``store.py``: the auth file (mode 0600, atomic, locked across processes);
- ``manager.py``: each provider's fresh token for the relay (single-flight refresh);
- ``cli.py``: ``login``, ``logout``, ``status``.
"""
