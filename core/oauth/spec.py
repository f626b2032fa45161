"""The ``oauth`` section of a provider: which authorization server, client and scopes.

::

    providers:
      claude:
        type: anthropic
        base_url: https://api.anthropic.com
        auth: oauth                       # tokens from `ccrelay login claude`, no api_key
        oauth:                            # optional: overrides the preset field by field
          preset: claude                  # default: the preset made for the strategy
          authorize_url: https://...      # the authorization endpoint (browser)
          token_url: https://...          # the token endpoint (code exchange, refresh)
          client_id: ...
          redirect_uri: https://...       # must be the one registered for client_id
          scopes: [user:inference]        # a list, or one space-separated string
          token_body: form                # form (RFC 6749) or json
          authorize_params: {code: "true"}   # extra query parameters of the authorize URL

Without a preset, ``authorize_url``, ``token_url``, ``client_id`` and ``redirect_uri`` are
required. Any OAuth 2.0 server with the authorization-code grant and PKCE (S256) works.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any


class OAuthConfigError(ValueError):
    """An ``oauth`` section is invalid; the message names its path."""


@dataclass(frozen=True)
class OAuthSpec:
    """Where and how one provider logs in.

    :param preset: the shipped preset this came from ("" for a fully custom one).
    :param authorize_params: extra query parameters of the authorize URL.
    :param token_body: how token requests are encoded: ``form`` (RFC 6749) or ``json``.
    :param strategy: the strategy a preset is made for (used to pick it when none is named).
    """

    authorize_url: str
    token_url: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...] = ()
    authorize_params: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    token_body: str = "form"
    preset: str = ""
    strategy: str = ""


_KEYS = {
    "preset", "authorize_url", "token_url", "client_id", "redirect_uri", "scopes",
    "token_body", "authorize_params",
}  # fmt: skip
_REQUIRED = ("authorize_url", "token_url", "client_id", "redirect_uri")
AUTH_MODES = ("api_key", "oauth")


def parse_oauth(raw: Any, where: str, strategy: str) -> OAuthSpec:
    """Validate ``providers.<x>.oauth`` (``where`` is that path) for a provider of
    ``strategy``, filling in from the named preset or the strategy's own.

    :raises OAuthConfigError: naming the path of the first problem.
    """
    from ccrelay.core.oauth.presets import PRESETS, preset_for_strategy

    section = raw if raw is not None else {}
    if not isinstance(section, dict):
        raise OAuthConfigError(f"{where}: expected a mapping, got {_show(section)}")
    for key in section:
        if key not in _KEYS:
            raise OAuthConfigError(
                f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_KEYS))})"
            )
    name = section.get("preset")
    if name is not None:
        if name not in PRESETS:
            raise OAuthConfigError(
                f"{where}.preset: no preset named {_show(name)} (shipped: "
                f"{', '.join(sorted(PRESETS))}); or leave it out and set {', '.join(_REQUIRED)}"
            )
        base: OAuthSpec | None = PRESETS[name]
    else:
        base = preset_for_strategy(strategy)
    fields: dict[str, Any] = {}
    for key in _REQUIRED:
        if key in section:
            value = section[key]
            if not isinstance(value, str) or not value.strip():
                raise OAuthConfigError(f"{where}.{key}: expected a string, got {_show(value)}")
            if key != "client_id" and not value.startswith(("https://", "http://")):
                raise OAuthConfigError(f"{where}.{key}: expected an http(s) URL, got {value!r}")
            fields[key] = value.strip()
    if "scopes" in section:
        fields["scopes"] = _scopes(section["scopes"], f"{where}.scopes")
    if "token_body" in section:
        if section["token_body"] not in ("form", "json"):
            raise OAuthConfigError(
                f"{where}.token_body: expected form or json, got {_show(section['token_body'])}"
            )
        fields["token_body"] = section["token_body"]
    if "authorize_params" in section:
        params = section["authorize_params"]
        if not isinstance(params, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in params.items()
        ):
            raise OAuthConfigError(
                f"{where}.authorize_params: expected a mapping of strings, got {_show(params)}"
            )
        fields["authorize_params"] = MappingProxyType(dict(params))
    if base is not None:
        return replace(base, **fields)
    missing = [k for k in _REQUIRED if k not in fields]
    if missing:
        raise OAuthConfigError(
            f"{where}: no preset for strategy {strategy!r}; set {', '.join(missing)} "
            f"(or oauth.preset: one of {', '.join(sorted(PRESETS))})"
        )
    return OAuthSpec(**fields)


def _scopes(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(s, str) and s.strip() for s in value):
        return tuple(s.strip() for s in value)
    raise OAuthConfigError(
        f"{where}: expected a list of scopes or one space-separated string, got {_show(value)}"
    )


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)
