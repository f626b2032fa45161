"""Load ``config.yaml`` into one validated, immutable ``Settings`` snapshot.

Handles ``${VAR}`` / ``${VAR:-default}`` substitution, ``.env`` files (the environment
first, then the working directory's ``.env``, then the one beside the config), the older
layout with provider sections at the top level, inference of a provider's ``type``, option
values checked by their strategy or dialect, and errors that name the offending path.

Loading has two steps because plugins can add strategies: ``read_config`` reads the file
and its ``plugins`` section (the folders to scan and the names to block), the caller scans
those, and ``validate`` checks everything else against what the scan found.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from ccrelay.core.access import AccessError, AccessKey, parse_access_keys
from ccrelay.core.dotenv import dotenv_paths, load_dotenv
from ccrelay.core.groups import Group, GroupError, parse_groups
from ccrelay.core.oauth.spec import AUTH_MODES, OAuthConfigError, OAuthSpec, parse_oauth
from ccrelay.core.options import show as _show
from ccrelay.core.presets import Preset, with_preset
from ccrelay.core.profiles import parse_override
from ccrelay.core.provider import Provider
from ccrelay.core.resilience import ResilienceSettings
from ccrelay.core.routes import CORE_ROUTES
from ccrelay.core.routing import RoutingConfig, RoutingError, parse_routing


class ConfigError(ValueError):
    """The config file is invalid; the message names the path and the problem."""


#: limits.max_response_bytes by default: far above any model's answer, far below RAM
DEFAULT_MAX_RESPONSE = 64 * 1024 * 1024


@dataclass(frozen=True)
class ProviderConfig:
    """One ``providers.<name>`` section, validated.

    :param api_key: the substituted key, or "" when the variable is unset (then the provider
        is reported unconfigured). Never logged: ``repr`` hides it.
    :param options: strategy-specific settings, keys checked against ``Provider.option_keys``.
    """

    name: str
    type: str
    base_url: str
    api_key: str = field(default="", repr=False)
    #: every key (``api_key`` may be a list; ``api_key`` is then the first); used round robin
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    model: str | None = None
    models: tuple[str, ...] = ()
    timeout: float = 600.0
    connect_timeout: float = 10.0
    headers: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: ``compat``: tools go to this provider as prompt text, calls come back parsed from
    #: its text (core/compat/); ``native``: the strategy converts tools as they are
    tool_mode: str = "native"
    #: ``api_key``, or ``oauth``: a subscription login's token (``ccrelay login <name>``,
    #: core/oauth/) is put in ``api_key`` per attempt; ``oauth`` says where to log in
    auth: str = "api_key"
    oauth: OAuthSpec | None = None
    #: why the provider cannot serve ("" when it can), with the fix, e.g. an unset key
    problem: str = ""
    #: environment variables the section uses that are not set: (variable, config key)
    missing_env: tuple[tuple[str, str], ...] = ()
    #: ``profile``: model-profile fields overriding the shipped table for every model
    profile: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    #: ``profiles``: ``(glob, fields)`` per model, in config order (first match wins)
    profiles: tuple[tuple[str, Mapping[str, Any]], ...] = ()

    @property
    def configured(self) -> bool:
        return not self.problem


@dataclass(frozen=True)
class Settings:
    """The whole validated config. Requests read ``ConfigStore.current`` once and keep it."""

    path: Path
    host: str
    port: int
    shutdown_timeout: float
    active: str
    fallbacks: tuple[str, ...]
    providers: Mapping[str, ProviderConfig]
    log_level: str
    log_dir: Path
    max_body_bytes: int
    ping_interval: float
    plugin_dirs: tuple[Path, ...]
    blocked_plugins: tuple[str, ...]
    #: an upstream answer beyond this is cut with a clear error (memory stays flat)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE
    #: requests relayed at once; beyond, new ones get an overloaded error at once (0: no cap)
    max_concurrent: int = 0
    #: ``logging.bodies``: record request and response bodies (core/bodylog.py)
    bodies_enabled: bool = False
    bodies_max_bytes: int = 256 * 1024
    #: ``logging.keep_days``: delete token and body logs older than this (0: keep all)
    keep_days: int = 0
    #: ``metrics``: GET /metrics on or off, and open without an access key or not
    metrics_enabled: bool = True
    metrics_public: bool = False
    #: ``server.cors_origins``: origins (globs) whose browser pages may call ccrelay (core/cors.py)
    cors_origins: tuple[str, ...] = ()
    #: ``models`` and ``routes``: what a client's model name means (core/routing.py)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    #: key cool-downs and circuit breakers (core/resilience.py)
    resilience: ResilienceSettings = field(default_factory=ResilienceSettings)
    #: ``groups``: named setups served under ``/{group}/`` (core/groups.py)
    groups: Mapping[str, Group] = field(default_factory=lambda: MappingProxyType({}))
    #: ``access_keys``: when any, every request needs one (core/access.py)
    access_keys: tuple[AccessKey, ...] = field(default=(), repr=False)
    #: ``dialects.<name>`` sections: options of each client dialect
    dialect_options: Mapping[str, Mapping[str, Any]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    #: the ``.env`` file messages suggest for a missing variable
    env_file_hint: Path = Path(".env")
    #: ``pricing``: USD per million tokens by model name or glob (``ccrelay stats``)
    pricing: Mapping[str, Mapping[str, float]] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def chain(self) -> tuple[str, ...]:
        """The active provider then the fallbacks, in order, without repeats."""
        seen: dict[str, None] = {self.active: None}
        for name in self.fallbacks:
            seen.setdefault(name, None)
        return tuple(seen)


# --- loading -----------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_TOP_KEYS = {
    "server", "provider", "providers", "logging", "plugins", "limits", "dialects", "models",
    "routes", "resilience", "groups", "access_keys", "metrics", "pricing",
}  # fmt: skip
#: first path segments no group may take, beyond those of the loaded routes
_RESERVED_SEGMENTS = {"v1", "v1beta", "api", "health", "metrics", "status"}
_PROVIDER_KEYS = {
    "type", "base_url", "api_key", "model", "models", "timeout", "connect_timeout",
    "headers", "options", "tool_mode", "preset", "profile", "profiles", "auth", "oauth",
}  # fmt: skip
DEFAULT_MAX_BODY = 32 * 1024 * 1024


@dataclass(frozen=True)
class RawConfig:
    """A config file read (YAML parsed, ``.env`` files merged into the environment) with
    its ``plugins`` section checked; everything else is checked by ``validate``.

    :param plugin_dirs: ``plugins.dirs``, absolute (relative ones are taken from the
        working directory).
    :param env_file_hint: the ``.env`` file that messages suggest for a missing variable.
    """

    path: Path
    data: Mapping[str, Any]
    env: Mapping[str, str] = field(repr=False)
    plugin_dirs: tuple[Path, ...]
    blocked_plugins: tuple[str, ...]
    env_file_hint: Path


def read_config(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    env_files: tuple[Path, ...] | None = None,
    env_file_hint: Path | None = None,
) -> RawConfig:
    """Read the config at ``path`` and its ``plugins`` section.

    :param environ: the environment (``os.environ`` by default).
    :param env_files: ``.env`` files filling in what the environment lacks, first one
        winning (default: ``dotenv_paths(path)``).
    :param env_file_hint: the file to suggest for a missing variable (default: the
        ``.env`` beside the config).
    :raises ConfigError: naming the path of the first problem.
    """
    path = Path(path)
    env = dict(os.environ if environ is None else environ)
    for env_file in dotenv_paths(path) if env_files is None else env_files:
        env.update(load_dotenv(env_file, env))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    plugins = _mapping(raw.get("plugins") or {}, "plugins")
    _no_unknown(plugins, {"dirs", "blocked"}, "plugins")
    dirs = tuple(
        Path(_str(d, f"plugins.dirs[{i}]")).expanduser().absolute()
        for i, d in enumerate(_list(plugins.get("dirs"), "plugins.dirs"))
    )
    blocked = tuple(
        _str(b, f"plugins.blocked[{i}]")
        for i, b in enumerate(_list(plugins.get("blocked"), "plugins.blocked"))
    )
    hint = env_file_hint or path.parent / ".env"
    return RawConfig(path, raw, env, dirs, blocked, hint)


def load_settings(
    path: str | Path,
    *,
    strategies: Callable[[], Mapping[str, type[Provider]]] = dict,
    dialects: Callable[[], Mapping[str, Any]] = dict,
    unavailable: Callable[[], Mapping[str, str]] = dict,
    environ: Mapping[str, str] | None = None,
    env_files: tuple[Path, ...] | None = None,
    presets: Callable[[], Mapping[str, Preset]] = dict,
) -> Settings:
    """``read_config`` then ``validate``, for callers whose strategies are already known."""
    raw = read_config(path, environ=environ, env_files=env_files)
    return validate(raw, strategies(), dialects(), unavailable(), presets())


def validate(
    config: RawConfig,
    types: Mapping[str, type[Provider]],
    dialects: Mapping[str, Any],
    unavailable: Mapping[str, str] | None = None,
    presets: Mapping[str, Preset] | None = None,
) -> Settings:
    """Check the whole config against the loaded strategies and dialects.

    :param types: strategy classes by name: ``type`` is checked and inferred from them and
        each provider's ``options`` keys and values are checked by its strategy.
    :param dialects: the loaded dialects by name; each checks its ``dialects.<name>``.
    :param unavailable: strategy names a config may use although they are not loaded
        (their plugin is blocked), with the reason; such providers are unconfigured.
    :param presets: the registered vendor presets by name (``preset:`` in a provider).
    :raises ConfigError: naming the path of the first problem.
    """
    path, env = config.path, config.env
    raw = dict(config.data)
    unavailable = unavailable or {}
    providers_raw = _mapping(raw.pop("providers", None) or {}, "providers")
    # Older layout: provider sections at the top level beside `provider`.
    for key in list(raw):
        if key not in _TOP_KEYS and isinstance(raw[key], dict) and "base_url" in raw[key]:
            if key in providers_raw:
                raise ConfigError(f"{key}: defined both at the top level and under providers")
            providers_raw[key] = raw.pop(key)
    _no_unknown(raw, _TOP_KEYS, "")

    server = _mapping(raw.get("server") or {}, "server")
    _no_unknown(server, {"host", "port", "shutdown_timeout", "cors_origins"}, "server")
    cors_origins = tuple(
        _str(o, f"server.cors_origins.{i}")
        for i, o in enumerate(_list(server.get("cors_origins"), "server.cors_origins"))
    )
    host = _str(server.get("host", "127.0.0.1"), "server.host")
    port = _int(server.get("port", 8080), "server.port")
    shutdown_timeout = _number(server.get("shutdown_timeout", 30), "server.shutdown_timeout")

    providers: dict[str, ProviderConfig] = {}
    for name, section in providers_raw.items():
        providers[str(name)] = _provider(
            str(name), section, config, types, unavailable, presets or {}
        )

    sel = _mapping(raw.get("provider") or {}, "provider")
    _no_unknown(sel, {"name", "fallback_providers"}, "provider")
    if "name" not in sel:
        if not providers:
            raise ConfigError("provider.name: missing, and no providers are defined")
        active = next(iter(providers))
    else:
        active = _str(sel["name"], "provider.name")
    fallbacks_raw = sel.get("fallback_providers") or []
    if not isinstance(fallbacks_raw, list):
        raise ConfigError(
            f"provider.fallback_providers: expected a list, got {_show(fallbacks_raw)}"
        )
    fallbacks = tuple(
        _str(v, f"provider.fallback_providers[{i}]") for i, v in enumerate(fallbacks_raw)
    )
    for where, name in [("provider.name", active)] + [
        (f"provider.fallback_providers[{i}]", n) for i, n in enumerate(fallbacks)
    ]:
        if name not in providers:
            known = ", ".join(sorted(providers)) or "none"
            raise ConfigError(f"{where}: no provider named {name!r} (defined: {known})")

    logging_raw = _mapping(raw.get("logging") or {}, "logging")
    _no_unknown(logging_raw, {"level", "dir", "bodies", "keep_days"}, "logging")
    bodies = _mapping(logging_raw.get("bodies") or {}, "logging.bodies")
    _no_unknown(bodies, {"enabled", "max_bytes"}, "logging.bodies")
    if not isinstance(bodies.get("enabled", False), bool):
        raise ConfigError("logging.bodies.enabled: expected true or false")
    bodies_max = _int(bodies.get("max_bytes", 256 * 1024), "logging.bodies.max_bytes")
    keep_days = _int(logging_raw.get("keep_days", 0), "logging.keep_days")
    if bodies_max < 1 or keep_days < 0:
        raise ConfigError("logging: bodies.max_bytes must be positive and keep_days at least 0")
    level = _str(logging_raw.get("level", "INFO"), "logging.level").upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"logging.level: expected DEBUG, INFO, WARNING or ERROR, got {level!r}")
    log_dir = Path(_str(logging_raw.get("dir", "./logs"), "logging.dir"))

    limits = _mapping(raw.get("limits") or {}, "limits")
    _no_unknown(
        limits,
        {"max_body_bytes", "ping_interval", "max_response_bytes", "max_concurrent"},
        "limits",
    )
    max_body = _int(limits.get("max_body_bytes", DEFAULT_MAX_BODY), "limits.max_body_bytes")
    ping_interval = _number(limits.get("ping_interval", 10), "limits.ping_interval")
    max_response = _int(
        limits.get("max_response_bytes", DEFAULT_MAX_RESPONSE), "limits.max_response_bytes"
    )
    max_concurrent = _int(limits.get("max_concurrent", 0), "limits.max_concurrent")
    if max_response < 1024 or max_concurrent < 0:
        raise ConfigError(
            "limits: max_response_bytes must be at least 1024 and max_concurrent at least 0"
        )

    dialect_options: dict[str, Mapping[str, Any]] = {}
    for dname, section in _mapping(raw.get("dialects") or {}, "dialects").items():
        where = f"dialects.{dname}"
        if dialects and dname not in dialects:
            known = ", ".join(sorted(dialects))
            raise ConfigError(f"{where}: no dialect named {dname!r} (loaded: {known})")
        options = _mapping(section or {}, where)
        if dname in dialects:
            _no_unknown(options, set(dialects[dname].option_keys), where)
            _check_values(dialects[dname], options, where)
        dialect_options[str(dname)] = MappingProxyType(dict(options))

    try:
        routing = parse_routing(raw.get("models"), raw.get("routes"), providers)
    except RoutingError as exc:
        raise ConfigError(str(exc)) from None
    reserved = set(_RESERVED_SEGMENTS)
    for route in CORE_ROUTES + tuple(r for d in dialects.values() for r in d.routes):
        reserved.add(route.rule.strip("/").split("/", 1)[0])
    try:
        groups = parse_groups(raw.get("groups"), providers, reserved)
        access_keys = parse_access_keys(
            raw.get("access_keys"), groups, lambda text, where: _expand(text, env, where)
        )
    except (GroupError, AccessError) as exc:
        raise ConfigError(str(exc)) from None
    metrics = _mapping(raw.get("metrics") or {}, "metrics")
    _no_unknown(metrics, {"enabled", "public"}, "metrics")
    for key in metrics:
        if not isinstance(metrics[key], bool):
            raise ConfigError(f"metrics.{key}: expected true or false, got {_show(metrics[key])}")
    res = _mapping(raw.get("resilience") or {}, "resilience")
    _no_unknown(res, {"breaker_failures", "breaker_cooloff", "key_cooldown"}, "resilience")
    resilience = ResilienceSettings(
        breaker_failures=_int(res.get("breaker_failures", 5), "resilience.breaker_failures"),
        breaker_cooloff=_number(res.get("breaker_cooloff", 30), "resilience.breaker_cooloff"),
        key_cooldown=_number(res.get("key_cooldown", 30), "resilience.key_cooldown"),
    )

    return Settings(
        path=path,
        host=host,
        shutdown_timeout=shutdown_timeout,
        port=port,
        active=active,
        fallbacks=fallbacks,
        providers=MappingProxyType(providers),
        log_level=level,
        log_dir=log_dir,
        max_body_bytes=max_body,
        ping_interval=ping_interval,
        max_response_bytes=max_response,
        max_concurrent=max_concurrent,
        plugin_dirs=config.plugin_dirs,
        blocked_plugins=config.blocked_plugins,
        dialect_options=MappingProxyType(dialect_options),
        routing=routing,
        resilience=resilience,
        bodies_enabled=bodies.get("enabled", False),
        bodies_max_bytes=bodies_max,
        keep_days=keep_days,
        metrics_enabled=metrics.get("enabled", True),
        metrics_public=metrics.get("public", False),
        cors_origins=cors_origins,
        groups=MappingProxyType(groups),
        access_keys=access_keys,
        env_file_hint=config.env_file_hint,
        pricing=parse_pricing(raw.get("pricing")),
    )


def _provider(
    name: str,
    section: Any,
    config: RawConfig,
    types: Mapping[str, type[Provider]],
    unavailable: Mapping[str, str],
    presets: Mapping[str, Preset],
) -> ProviderConfig:
    where = f"providers.{name}"
    section = own = _mapping(section, where)
    if "preset" in section:  # the vendor's defaults under the section's own keys
        try:
            section = with_preset(section, presets, where, types)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    _no_unknown(section, _PROVIDER_KEYS, where)
    auth, section = _auth(name, section, own)
    env = config.env
    problems: list[str] = []
    missing: list[tuple[str, str]] = []

    def sub(value: str, key: str) -> str:
        def repl(m: re.Match[str]) -> str:
            var, default = m.group(1), m.group(2)
            if env.get(var):
                return env[var]
            if default is not None:
                return default
            if (var, key) not in missing:
                missing.append((var, key))
            value = placeholder(key)
            problems.append(
                f"{where}.{key}: environment variable {var} is not set; export {var}={value} "
                f"before starting ccrelay, or add the line {var}={value} to "
                f"{config.env_file_hint} (read while ccrelay runs)"
            )
            return ""

        return _VAR.sub(repl, value)

    if "base_url" not in section:
        raise ConfigError(f"{where}.base_url: missing (the upstream's API root URL)")
    base_url = sub(_str(section["base_url"], f"{where}.base_url"), "base_url").rstrip("/")
    raw_keys = section.get("api_key", "")
    if isinstance(raw_keys, list):
        if not raw_keys:
            raise ConfigError(f"{where}.api_key: an empty list; give a key or a list of keys")
        key_list = [
            sub(_str(k, f"{where}.api_key[{i}]"), f"api_key[{i}]") for i, k in enumerate(raw_keys)
        ]
    else:
        key_list = [sub(_str(raw_keys, f"{where}.api_key"), "api_key")]
    api_keys = tuple(k for k in key_list if k)
    api_key = api_keys[0] if api_keys else ""

    ptype = section.get("type")
    if ptype is None:
        ptype = _infer_type(name, base_url, types)
        if ptype is None:
            raise ConfigError(
                f"{where}.type: missing and cannot be inferred from base_url {base_url!r}; "
                f"set one of: {', '.join(sorted(types)) or 'no strategies loaded'}"
            )
    ptype = _str(ptype, f"{where}.type")
    if ptype in unavailable and ptype not in types:
        problems.append(f"{where}.type: strategy {ptype!r} is not loaded: {unavailable[ptype]}")
    elif types and ptype not in types:
        raise ConfigError(
            f"{where}.type: no provider strategy named {ptype!r} "
            f"(loaded: {', '.join(sorted(types))})"
        )
    needs_key = ptype not in types or types[ptype].needs_key
    if "api_key" not in section and auth != "oauth" and needs_key:
        var = re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") + "_API_KEY"
        problems.append(
            f"{where}.api_key: missing; add api_key: ${{{var}}} (or the key itself) to "
            f"{where} in {config.path}"
        )

    model = section.get("model")
    models = tuple(
        _str(m, f"{where}.models[]") for m in _list(section.get("models"), f"{where}.models")
    )
    headers = _mapping(section.get("headers") or {}, f"{where}.headers")
    options = _mapping(section.get("options") or {}, f"{where}.options")
    if ptype in types:
        _no_unknown(options, set(types[ptype].option_keys), f"{where}.options")
        _check_values(types[ptype], options, f"{where}.options")
    profile, profiles = _profiles(section, where)
    oauth = _oauth(name, section, auth, ptype)
    return ProviderConfig(
        name=name,
        type=ptype,
        base_url=base_url,
        api_key=api_key,
        api_keys=api_keys,
        model=sub(_str(model, f"{where}.model"), "model") if model is not None else None,
        models=models,
        timeout=_number(section.get("timeout", 600), f"{where}.timeout"),
        connect_timeout=_number(section.get("connect_timeout", 10), f"{where}.connect_timeout"),
        headers=MappingProxyType(
            {
                str(k).lower(): sub(_str(v, f"{where}.headers.{k}"), f"headers.{k}")
                for k, v in headers.items()
            }
        ),
        options=MappingProxyType(dict(options)),
        tool_mode=_tool_mode(section.get("tool_mode", "native"), f"{where}.tool_mode"),
        auth=auth,
        oauth=oauth,
        problem="; ".join(problems),
        missing_env=tuple(missing),
        profile=MappingProxyType(profile),
        profiles=profiles,
    )


def _auth(name: str, section: dict[str, Any], own: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``auth`` (``api_key`` or ``oauth``), and the section without a vendor preset's
    ``api_key`` when a login's token replaces it (``own``: the section as written)."""
    where = f"providers.{name}"
    auth = section.get("auth", "api_key")
    if auth not in AUTH_MODES:
        raise ConfigError(f"{where}.auth: expected api_key or oauth, got {_show(auth)}")
    if auth == "oauth":
        if "api_key" in own:
            raise ConfigError(
                f"{where}.api_key: not used with auth: oauth (the token comes from "
                f"`ccrelay login {name}`); remove one of them"
            )
        section = {k: v for k, v in section.items() if k != "api_key"}
    return str(auth), section


def _oauth(name: str, section: Mapping[str, Any], auth: str, ptype: str) -> OAuthSpec | None:
    """The login spec of an ``auth: oauth`` provider (core/oauth/spec.py)."""
    where = f"providers.{name}"
    if auth != "oauth":
        if "oauth" in section:
            raise ConfigError(f"{where}.oauth: only used with auth: oauth")
        return None
    try:
        return parse_oauth(section.get("oauth"), f"{where}.oauth", ptype)
    except OAuthConfigError as exc:
        raise ConfigError(str(exc)) from None


def _expand(text: str, env: Mapping[str, str], where: str) -> str:
    """``${VAR}`` and ``${VAR:-default}`` in ``text``; an unset variable is a config error."""

    def repl(m: re.Match[str]) -> str:
        var, default = m.group(1), m.group(2)
        if env.get(var):
            return env[var]
        if default is not None:
            return default
        raise ConfigError(f"{where}: environment variable {var} is not set")

    return _VAR.sub(repl, text)


def placeholder(key: str) -> str:
    """What messages show in place of the value to set for config key ``key``."""
    return "<your key>" if key.startswith("api_key") else "<value>"


def _check_values(owner: Any, options: Mapping[str, Any], where: str) -> None:
    """Ask a strategy or dialect about its option values; the first problem is the error."""
    try:
        problems = owner.check_options(options)
    except Exception as exc:  # noqa: BLE001 - plugin code: report, never crash the load
        name = getattr(owner, "__name__", type(owner).__name__)
        raise ConfigError(
            f"{where}: {name}.check_options failed ({type(exc).__name__}: {exc})"
        ) from None
    if problems:
        raise ConfigError(f"{where}.{problems[0]}")


#: the prices a ``pricing`` entry may give, per million tokens
PRICE_KEYS = ("input", "output", "cache_read", "cache_write")


def parse_pricing(raw: Any) -> Mapping[str, Mapping[str, float]]:
    """``pricing: {<model or glob>: {input, output, cache_read, cache_write}}``, checked.

    Prices are per million tokens; a missing ``cache_read`` or ``cache_write`` costs as
    ``input`` (core/stats.py). Exact names win over globs, globs match in config order.
    """
    out: dict[str, Mapping[str, float]] = {}
    for model, prices in _mapping(raw or {}, "pricing").items():
        where = f"pricing.{model}"
        prices = _mapping(prices, where)
        _no_unknown(prices, set(PRICE_KEYS), where)
        for key, value in prices.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigError(
                    f"{where}.{key}: expected a price per million tokens (a number, 0 or "
                    f"more), got {_show(value)}"
                )
        out[str(model)] = MappingProxyType({k: float(v) for k, v in prices.items()})
    return MappingProxyType(out)


def _profiles(
    section: Mapping[str, Any], where: str
) -> tuple[dict[str, Any], tuple[tuple[str, Mapping[str, Any]], ...]]:
    """``profile`` and ``profiles`` of a provider section, checked (``core/profiles.py``)."""
    try:
        profile = parse_override(section.get("profile") or {}, f"{where}.profile")
        per_model = _mapping(section.get("profiles") or {}, f"{where}.profiles")
        profiles = tuple(
            (str(glob).lower(), MappingProxyType(parse_override(v, f"{where}.profiles.{glob}")))
            for glob, v in per_model.items()
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return profile, profiles


def _infer_type(name: str, base_url: str, types: Mapping[str, type[Provider]]) -> str | None:
    if name in types:
        return name
    url = base_url.lower().rstrip("/")
    for tname, cls in types.items():
        if any(url.endswith(s) for s in cls.base_url_suffixes):
            return tname
    return None


# --- small typed readers ------------------------------------------------------------------


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping, got {_show(value)}")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list, got {_show(value)}")
    return value


def _str(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string, got {_show(value)}")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected an integer, got {_show(value)}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{where}: expected a number, got {_show(value)}")
    if value <= 0:
        raise ConfigError(f"{where}: expected a positive number, got {_show(value)}")
    return float(value)


def _tool_mode(value: Any, where: str) -> str:
    if value not in ("native", "compat"):
        raise ConfigError(
            f"{where}: expected native or compat, got {_show(value)} (compat: for models "
            "without function calling, tools are described in the prompt)"
        )
    return str(value)


def _no_unknown(section: Mapping[str, Any], allowed: set[str], where: str) -> None:
    for key in section:
        if key not in allowed:
            path = f"{where}.{key}" if where else str(key)
            raise ConfigError(f"{path}: unknown key (allowed: {', '.join(sorted(allowed))})")
