"""Where each client looks for its server and key: the variables ``ccrelay env`` prints and
``ccrelay run`` sets. Pure data and formatting; ``env.py`` decides the URL and the key.

Each name was checked against the client itself (versions installed for the manual runs):

| client | variables | checked in |
|---|---|---|
| Claude Code 2.1 | ``ANTHROPIC_BASE_URL`` (no ``/v1``: it appends ``/v1/messages``), ``ANTHROPIC_AUTH_TOKEN`` (sent as ``Authorization: Bearer``; ``ANTHROPIC_API_KEY`` would be ``x-api-key`` and asks for approval in interactive mode, so it is unset), ``ANTHROPIC_MODEL`` | code.claude.com/docs/en/env-vars, docs.anthropic.com/en/docs/claude-code/llm-gateway |
| Codex 0.171 | ``[model_providers.<id>]`` with ``base_url`` (``.../v1``), ``env_key``, ``wire_api = "responses"`` (``"chat"`` is refused), selected by ``model_provider``; ``-c key=value`` overrides config.toml per run | developers.openai.com/codex/config-advanced, ``codex --help``, strings of the codex binary |
| Gemini CLI 0.61 | ``GOOGLE_GEMINI_BASE_URL`` (no ``/v1beta``; must be HTTPS unless localhost, 127.0.0.1 or [::1]), ``GEMINI_API_KEY`` (sent as ``x-goog-api-key``), ``GEMINI_MODEL``; ``GOOGLE_GENAI_USE_VERTEXAI`` / ``GOOGLE_GENAI_USE_GCA`` win over it, so they are unset. The base URL alone selects a ``gateway`` auth type that ``validateAuthMethod`` rejects: ``security.auth.selectedType: gemini-api-key`` in a settings file is needed (a system settings file could carry it, but Gemini CLI reads one only if root owns it and its folders) | ``getAuthTypeFromEnv``, ``validateAuthMethod`` and ``createContentGeneratorConfig`` in the gemini-cli bundle, its docs/reference/configuration.md |
| Qwen Code 0.15 | ``OPENAI_BASE_URL`` (``.../v1``), ``OPENAI_API_KEY``, ``OPENAI_MODEL``: all three must be set for it to pick the ``openai`` auth type | ``getAuthTypeFromEnv`` and ``AUTH_ENV_MAPPINGS`` in qwen-code's cli.js |
| openai SDK (Python, Node) | ``OPENAI_BASE_URL`` (``.../v1``), ``OPENAI_API_KEY`` | openai-python ``lib/_client_auth.py`` |
| anthropic SDK | ``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY`` | anthropic-python ``_client.py`` |
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

#: the Codex provider id ccrelay declares, and the variable Codex reads its key from
CODEX_PROVIDER = "ccrelay"
CODEX_KEY_VAR = "CCRELAY_API_KEY"
#: what Gemini CLI needs in a settings file besides the variables
GEMINI_SETTINGS = {"security": {"auth": {"selectedType": "gemini-api-key"}}}


@dataclass(frozen=True)
class Client:
    name: str
    title: str
    #: program names ``ccrelay run`` recognises
    programs: tuple[str, ...]
    #: appended to ccrelay's URL (``/v1`` for OpenAI-style clients)
    suffix: str
    key_var: str
    url_var: str = ""
    model_var: str = ""
    #: the client will not start without a model (Qwen Code picks its auth type by it)
    needs_model: bool = False
    #: without --model, ask for the group's active provider's model when it has one (Codex:
    #: its own default model switches it to tools declared in a way few backends expect)
    prefers_model: bool = False
    #: variables that would win over ours (or send a real key to ccrelay): removed
    unset: tuple[str, ...] = ()
    note: str = ""
    #: comment lines ``env`` prints after the note (what the variables alone do not do)
    advice: tuple[str, ...] = ()


CLIENTS: dict[str, Client] = {
    c.name: c
    for c in (
        Client(
            "claude", "Claude Code", ("claude",), "", "ANTHROPIC_AUTH_TOKEN",
            url_var="ANTHROPIC_BASE_URL", model_var="ANTHROPIC_MODEL",
            unset=("ANTHROPIC_API_KEY",),
            note="the key goes as Authorization: Bearer, with no approval prompt; a set "
            "ANTHROPIC_API_KEY would be used instead",
        ),
        Client(
            "codex", "Codex", ("codex",), "/v1", CODEX_KEY_VAR, prefers_model=True,
            note="Codex reads its provider from ~/.codex/config.toml",
        ),
        Client(
            "gemini", "Gemini CLI", ("gemini",), "", "GEMINI_API_KEY",
            url_var="GOOGLE_GEMINI_BASE_URL", model_var="GEMINI_MODEL",
            unset=("GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_GENAI_USE_GCA"),
            note="Vertex or Google login settings would win: unset",
            advice=(
                "Gemini CLI 0.61 also needs the API-key auth selected (the base URL alone",
                "selects a 'gateway' auth it then rejects): in ~/.gemini/settings.json put",
                '  {"security": {"auth": {"selectedType": "gemini-api-key"}}}',
                "(`ccrelay run -- gemini ...` says so when it is missing).",
            ),
        ),
        Client(
            "qwen", "Qwen Code", ("qwen",), "/v1", "OPENAI_API_KEY",
            url_var="OPENAI_BASE_URL", model_var="OPENAI_MODEL", needs_model=True,
            note="it uses these only when all three are set",
        ),
        Client(
            "openai", "the OpenAI SDK", (), "/v1", "OPENAI_API_KEY", url_var="OPENAI_BASE_URL"
        ),
        Client(
            "anthropic", "the Anthropic SDK", (), "", "ANTHROPIC_API_KEY",
            url_var="ANTHROPIC_BASE_URL",
        ),
    )
}  # fmt: skip


def guess(program: str) -> Client | None:
    """The client a program name (``claude``, ``/usr/local/bin/codex``) is, if any."""
    base = program.replace("\\", "/").rsplit("/", 1)[-1].lower()
    base = base.removesuffix(".exe").removesuffix(".cmd")
    return next((c for c in CLIENTS.values() if base in c.programs), None)


@dataclass(frozen=True)
class Setting:
    """What one client needs: variables to set and to remove, and Codex's -c overrides."""

    client: Client
    url: str
    model: str | None
    variables: dict[str, str]
    unset: tuple[str, ...]

    def codex_overrides(self) -> list[str]:
        """``-c`` arguments declaring and selecting ccrelay as Codex's model provider."""
        if self.client.name != "codex":
            return []
        table = f"model_providers.{CODEX_PROVIDER}"
        pairs = [
            ("model_provider", CODEX_PROVIDER),
            (f"{table}.name", CODEX_PROVIDER),
            (f"{table}.base_url", self.url),
            (f"{table}.env_key", CODEX_KEY_VAR),
            (f"{table}.wire_api", "responses"),
        ]
        if self.model:
            pairs.append(("model", self.model))
        return [a for key, value in pairs for a in ("-c", f"{key}={_toml(value)}")]

    def codex_toml(self) -> list[str]:
        """The ``~/.codex/config.toml`` lines that do what ``codex_overrides`` does."""
        top = [f"model_provider = {_toml(CODEX_PROVIDER)}"]
        if self.model:
            top.append(f"model = {_toml(self.model)}")
        return [
            *top,
            "",
            f"[model_providers.{CODEX_PROVIDER}]",
            f"name = {_toml(CODEX_PROVIDER)}",
            f"base_url = {_toml(self.url)}",
            f"env_key = {_toml(CODEX_KEY_VAR)}",
            'wire_api = "responses"',
        ]


def setting(client: Client, url: str, key: str, model: str | None) -> Setting:
    """The variables for ``client`` at ``url`` (ccrelay's root, with the group's prefix):
    ``key`` is the key's value or a shell reference to it."""
    variables = {}
    if client.url_var:
        variables[client.url_var] = url + client.suffix
    variables[client.key_var] = key
    if model and client.model_var:
        variables[client.model_var] = model
    return Setting(client, url + client.suffix, model, variables, client.unset)


def shell_lines(s: Setting, key_text: str) -> list[str]:
    """``export`` / ``unset`` lines (POSIX sh) for ``eval "$(ccrelay env CLIENT)"``;
    ``key_text`` is what stands for the key, already quoted for the shell."""
    c = s.client
    out = [f"# {c.title} -> ccrelay at {s.url}" + (f" ({c.note})" if c.note else "")]
    out += [f"# {line}" for line in c.advice]
    if c.name == "codex":
        out.append("# Add to ~/.codex/config.toml (the model_provider line at the top, before")
        out.append("# any [table]); `ccrelay run -- codex ...` passes the same with -c instead:")
        out += [f"#   {line}" if line else "#" for line in s.codex_toml()]
    for var, value in s.variables.items():
        text = key_text if var == c.key_var else shlex.quote(value)
        out.append(f"export {var}={text}")
    if s.unset:
        out.append(f"unset {' '.join(s.unset)}")
    return out


def _toml(value: str) -> str:
    """A TOML basic string (JSON's escaping is TOML's for these characters)."""
    return json.dumps(value, ensure_ascii=False)
