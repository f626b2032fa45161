"""Model profiles: what a backend model can do, as data, and what core does with it.

A ``ModelProfile`` says how large a model's context window and output are, whether it takes
images and tools, how its thinking is switched on, whether its tool schemas may be full JSON
Schema, and whether it reports usage in streams. Core reads it to

- clamp ``max_tokens`` to the model's output limit (``fit_request``),
- refuse with a clear 400 what the model cannot take (tools to a model without tools, an
  image the user just sent to a text-only model), or adapt where that is better (an image in
  older history or in a tool result becomes a text note; ``thinking`` is dropped for a model
  that cannot think),
- fill the model catalog (``/v1/models``, Ollama's ``/api/show``, Gemini's model metadata),
- and hand it to strategies as ``RequestContext.profile`` (Ollama sizes ``num_ctx`` from it,
  Gemini picks ``parametersJsonSchema`` or the sanitised schema subset).

Profiles ship for the common models in ``_TABLE`` (values from each vendor's model pages;
``None`` where the vendor documents nothing) and are overridden per provider in the config::

    providers:
      local:
        profile: {context_window: 32768}          # every model of this provider
        profiles:
          "qwen3*": {thinking: toggle, tools: true} # models matching the glob (first wins)

The lookup sees the model name lower-cased, without an ``org/`` or ``models/`` prefix; the
first matching row wins. See ``docs/profiles.md``.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from ccrelay.core.errors import RelayError, Unsupported

if TYPE_CHECKING:
    from ccrelay.core.config import ProviderConfig
    from ccrelay.core.provider import RequestContext
    from ccrelay.core.types import CanonicalRequest

log = logging.getLogger("ccrelay.profiles")

#: how a model's thinking is switched on: a token ``budget`` (Anthropic, Gemini 2.5), an
#: ``effort`` (OpenAI reasoning models, gpt-oss), a ``level`` (Gemini 3), a ``toggle``
#: (Qwen3, GLM, DeepSeek-R1 on Ollama); ``always`` thinks and cannot be switched;
#: ``none`` cannot think. A profile's ``thinking`` of None means unknown.
THINKING_STYLES = ("budget", "effort", "level", "toggle", "always", "none")


@dataclass(frozen=True)
class ModelProfile:
    """What one backend model can do; None everywhere means "not known".

    :param context_window: tokens the model holds, prompt and answer together.
    :param max_output: the largest answer it produces in one response (``max_tokens`` is
        clamped to it).
    :param vision: it takes images.
    :param tools: it takes tool (function) definitions.
    :param thinking: how thinking is switched on (``THINKING_STYLES``).
    :param thinking_levels: the effort or level values it accepts, lowest first.
    :param thinking_budget: ``(lowest, highest)`` thinking budget in tokens; a lowest of 0
        means thinking can be switched off with a budget of 0.
    :param json_schema_tools: tool parameters may be full JSON Schema (Gemini's
        ``parametersJsonSchema``); otherwise strategies reduce schemas to the vendor subset.
    :param stream_usage: the server reports usage in streams when asked (OpenAI's
        ``stream_options.include_usage``); False: do not ask, some servers reject it.
    """

    context_window: int | None = None
    max_output: int | None = None
    vision: bool | None = None
    tools: bool | None = None
    thinking: str | None = None
    thinking_levels: tuple[str, ...] = ()
    thinking_budget: tuple[int, int] | None = None
    json_schema_tools: bool | None = None
    stream_usage: bool | None = None

    @property
    def can_think(self) -> bool | None:
        """Whether the model thinks at all (None: unknown)."""
        return None if self.thinking is None else self.thinking != "none"


UNKNOWN = ModelProfile()

# --- the shipped table ---------------------------------------------------------------------

_P = ModelProfile
_EFFORT3 = ("low", "medium", "high")
_GPT5_EFFORT = ("minimal", "low", "medium", "high")
_CLAUDE: dict[str, Any] = dict(context_window=200_000, vision=True, tools=True,
                               thinking="budget")  # fmt: skip
_CLAUDE_OLD: dict[str, Any] = dict(context_window=200_000, vision=True, tools=True,
                                   thinking="none")  # fmt: skip
_GEMINI: dict[str, Any] = dict(context_window=1_048_576, vision=True, tools=True,
                               json_schema_tools=True)  # fmt: skip
_GEMINI_OLD: dict[str, Any] = dict(context_window=1_048_576, max_output=8_192, vision=True,
                                   tools=True, thinking="none", json_schema_tools=False)  # fmt: skip
_OPENAI: dict[str, Any] = dict(vision=True, tools=True, stream_usage=True)

# Sources (the Gemini rows were re-checked against Google's model pages in November 2026; the
# others are the vendors' documented figures and deserve a re-check when a vendor changes them):
#   Anthropic  docs.anthropic.com "Models overview" (context window, max output)
#   OpenAI     platform.openai.com/docs/models/<model> (context window, max output tokens)
#   Google     ai.google.dev/gemini-api/docs/models, .../thinking (budget ranges, levels)
#   DeepSeek   api-docs.deepseek.com "Models & Pricing" (context, max output)
#   xAI        docs.x.ai/docs/models; Moonshot platform.moonshot.ai; Z.ai docs.z.ai
#   Ollama     ollama.com/library/<model> (context length, tools/vision/thinking tags)
# First match wins: specific names before their families.
_ROWS: tuple[tuple[str, ModelProfile], ...] = (
    # Anthropic
    (r"^claude-(opus|sonnet|haiku)-4-5", _P(max_output=64_000, **_CLAUDE)),
    (r"^claude-opus-4(-0|-1|-20|$)", _P(max_output=32_000, **_CLAUDE)),
    (r"^claude-sonnet-4", _P(max_output=64_000, **_CLAUDE)),
    (r"^claude-3-7-sonnet", _P(max_output=64_000, **_CLAUDE)),
    (r"^claude-3-5-(sonnet|haiku)", _P(max_output=8_192, **_CLAUDE_OLD)),
    (r"^claude-3-(opus|sonnet|haiku)", _P(max_output=4_096, **_CLAUDE_OLD)),
    (r"^claude-", _P(**_CLAUDE)),
    # OpenAI
    (r"^gpt-5[\w.-]*-chat", _P(context_window=128_000, max_output=16_384, thinking="none",
                               **_OPENAI)),
    (r"^gpt-5", _P(context_window=400_000, max_output=128_000, thinking="effort",
                   thinking_levels=_GPT5_EFFORT, **_OPENAI)),
    (r"^o1-mini", _P(context_window=128_000, max_output=65_536, vision=False, tools=False,
                     thinking="always", stream_usage=True)),
    (r"^o3-mini", _P(context_window=200_000, max_output=100_000, vision=False, tools=True,
                     thinking="effort", thinking_levels=_EFFORT3, stream_usage=True)),
    (r"^o[1-9]", _P(context_window=200_000, max_output=100_000, thinking="effort",
                    thinking_levels=_EFFORT3, **_OPENAI)),
    (r"^gpt-oss", _P(context_window=131_072, max_output=131_072, vision=False, tools=True,
                     thinking="effort", thinking_levels=_EFFORT3)),
    (r"^gpt-4\.1", _P(context_window=1_047_576, max_output=32_768, thinking="none", **_OPENAI)),
    (r"^(gpt-4o|chatgpt-4o)", _P(context_window=128_000, max_output=16_384, thinking="none",
                                 **_OPENAI)),
    (r"^gpt-4-turbo|^gpt-4-\d{4}-preview", _P(context_window=128_000, max_output=4_096,
                                              thinking="none", **_OPENAI)),
    (r"^gpt-4(-\d{4})?$", _P(context_window=8_192, max_output=8_192, vision=False, tools=True,
                             thinking="none", stream_usage=True)),
    (r"^gpt-3\.5", _P(context_window=16_385, max_output=4_096, vision=False, tools=True,
                      thinking="none", stream_usage=True)),
    # Google
    (r"^gemini-3[\w.-]*-pro", _P(max_output=65_536, thinking="level",
                                 thinking_levels=("low", "high"), **_GEMINI)),
    (r"^gemini-3", _P(max_output=65_536, thinking="level",
                      thinking_levels=("minimal", "low", "medium", "high"), **_GEMINI)),
    (r"^gemini-2\.5-pro", _P(max_output=65_536, thinking="budget",
                             thinking_budget=(128, 32_768), **_GEMINI)),
    (r"^gemini-2\.5-flash", _P(max_output=65_536, thinking="budget",
                               thinking_budget=(0, 24_576), **_GEMINI)),
    (r"^gemini-2\.0", _P(**_GEMINI_OLD)),
    (r"^gemini-1\.5-pro", _P(**{**_GEMINI_OLD, "context_window": 2_097_152})),
    (r"^gemini-1\.5", _P(**_GEMINI_OLD)),
    (r"^gemma3:1b", _P(context_window=32_768, vision=False, tools=False, thinking="none")),
    (r"^gemma3", _P(context_window=131_072, vision=True, tools=False, thinking="none")),
    # DeepSeek
    (r"^deepseek-chat$", _P(context_window=128_000, max_output=8_192, vision=False, tools=True,
                            stream_usage=True)),  # thinking: its Anthropic endpoint may switch it
    (r"^deepseek-reasoner$", _P(context_window=128_000, max_output=65_536, vision=False,
                                tools=True, thinking="always", stream_usage=True)),
    (r"^deepseek-r1", _P(context_window=131_072, vision=False, thinking="toggle")),
    # Qwen
    (r"^qwen3-coder", _P(context_window=262_144, vision=False, tools=True, thinking="none")),
    (r"^qwen3-vl", _P(context_window=262_144, vision=True, tools=True, thinking="toggle")),
    (r"^qwen3(:|$)", _P(context_window=40_960, vision=False, tools=True, thinking="toggle")),
    (r"^qwen2\.5", _P(context_window=32_768, vision=False, tools=True, thinking="none")),
    (r"^qwen-(max|turbo)", _P(max_output=8_192, tools=True)),
    # Meta Llama
    (r"^llama3\.2-vision", _P(context_window=131_072, vision=True, tools=False,
                              thinking="none")),
    (r"^llama3\.[123]", _P(context_window=131_072, vision=False, tools=True, thinking="none")),
    (r"^llama3(:|$)", _P(context_window=8_192, vision=False, tools=False, thinking="none")),
    # Mistral
    (r"^mistral-small3\.[12]|^mistral-small-3\.[12]", _P(context_window=131_072, vision=True,
                                                        tools=True, thinking="none")),
    (r"^mistral-(large|nemo|small)", _P(context_window=131_072, tools=True, thinking="none")),
    (r"^devstral", _P(context_window=131_072, vision=False, tools=True, thinking="none")),
    (r"^mistral(:|$)", _P(context_window=32_768, vision=False, tools=True, thinking="none")),
    # xAI
    (r"^grok-4-fast", _P(context_window=2_000_000, vision=True, tools=True)),
    (r"^grok-4|^grok-code-fast", _P(context_window=256_000, tools=True, thinking="always")),
    (r"^grok-3-mini", _P(context_window=131_072, max_output=131_072, tools=True,
                         thinking="effort", thinking_levels=("low", "high"))),
    (r"^grok-3", _P(context_window=131_072, tools=True, thinking="none")),
    # Moonshot Kimi
    (r"^kimi-k2-thinking", _P(context_window=262_144, vision=False, tools=True,
                              thinking="always")),
    (r"^kimi-k2-0711", _P(context_window=131_072, vision=False, tools=True, thinking="none")),
    (r"^kimi-k2", _P(context_window=262_144, vision=False, tools=True, thinking="none")),
    # Z.ai GLM
    (r"^glm-4\.6", _P(context_window=200_000, max_output=128_000, vision=False, tools=True,
                      thinking="toggle")),
    (r"^glm-4\.5(-air)?$", _P(context_window=128_000, max_output=96_000, vision=False,
                              tools=True, thinking="toggle")),
)  # fmt: skip
_TABLE = tuple((re.compile(p), prof) for p, prof in _ROWS)


@functools.lru_cache(maxsize=1024)
def lookup(model: str) -> ModelProfile:
    """The shipped profile for ``model`` (``UNKNOWN`` when no row matches)."""
    name = _bare(model)
    for pattern, profile in _TABLE:
        if pattern.search(name):
            return profile
    return UNKNOWN


def _bare(model: str) -> str:
    return model.rsplit("/", 1)[-1].lower()


def profile_for(provider: ProviderConfig | None, model: str) -> ModelProfile:
    """``model``'s profile: the table's row, then ``providers.<x>.profile``, then the first
    ``providers.<x>.profiles`` glob matching the model (each overriding what it sets)."""
    profile = lookup(model)
    if provider is None:
        return profile
    if provider.profile:
        profile = replace(profile, **provider.profile)
    if provider.profiles:
        name = model.lower()
        for pattern, override in provider.profiles:
            if fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(_bare(model), pattern):
                profile = replace(profile, **override)
                break
    return profile


# --- config overrides ----------------------------------------------------------------------

_INT_FIELDS = ("context_window", "max_output")
_BOOL_FIELDS = ("vision", "tools", "json_schema_tools", "stream_usage")
FIELDS = tuple(f.name for f in fields(ModelProfile))


def parse_override(raw: Any, where: str) -> dict[str, Any]:
    """A config override (``profile: {...}``) checked and converted to ``ModelProfile``
    field values.

    :raises ValueError: naming ``where.<key>``, what is wrong and what is expected.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping of profile fields, got {_show(raw)}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        path = f"{where}.{key}"
        if key not in FIELDS:
            raise ValueError(f"{path}: unknown profile field (allowed: {', '.join(FIELDS)})")
        if value is None:
            out[key] = () if key == "thinking_levels" else None
        elif key in _INT_FIELDS:
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{path}: expected a positive integer, got {_show(value)}")
            out[key] = value
        elif key in _BOOL_FIELDS:
            if not isinstance(value, bool):
                raise ValueError(f"{path}: expected true or false, got {_show(value)}")
            out[key] = value
        elif key == "thinking":
            if value not in THINKING_STYLES:
                raise ValueError(
                    f"{path}: expected one of {', '.join(THINKING_STYLES)}, got {_show(value)}"
                )
            out[key] = value
        elif key == "thinking_levels":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"{path}: expected a list of strings, got {_show(value)}")
            out[key] = tuple(value)
        else:  # thinking_budget
            if (
                not isinstance(value, list)
                or len(value) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
                or not 0 <= value[0] <= value[1]
            ):
                raise ValueError(
                    f"{path}: expected [lowest, highest] token counts, got {_show(value)}"
                )
            out[key] = (value[0], value[1])
    return out


def _show(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


# --- what core does with a profile --------------------------------------------------------


def fit_request(req: CanonicalRequest, ctx: RequestContext) -> CanonicalRequest:
    """``req`` adjusted to what ``ctx.profile`` says the model takes (unchanged when it
    fits; never mutated).

    - ``max_tokens`` above ``max_output`` is lowered to it (a thinking budget that no longer
      fits below it is lowered too);
    - ``tools`` to a model without tools: a 400 (nothing to adapt: the client relies on them);
    - images to a model without vision: a 400 for images the user sent in the last message;
      older ones and images inside tool results become a short text note (the conversation
      would otherwise be stuck on a screenshot some tool returned long ago);
    - ``thinking`` to a model that cannot think is dropped (a hint the model cannot honour).

    :raises RelayError: a 400 (``Unsupported``'s wording) naming the field, the model and
        the fix; retryable, so a fallback provider whose model has the capability answers.
    """
    profile = ctx.profile
    out: dict[str, Any] | None = None
    max_tokens = req.get("max_tokens")
    limit = profile.max_output
    if limit and isinstance(max_tokens, int) and max_tokens > limit:
        out = dict(req)
        out["max_tokens"] = limit
        thinking = req.get("thinking")
        if isinstance(thinking, dict) and isinstance(thinking.get("budget_tokens"), int):
            if thinking["budget_tokens"] >= limit:
                out["thinking"] = {**thinking, "budget_tokens": max(1, limit - 1)}
    if profile.tools is False and req.get("tools"):
        raise _refusal(
            f"tools: model {ctx.model} (provider {ctx.provider.name}) cannot call tools; "
            "choose a model with tool support, set "
            f"providers.{ctx.provider.name}.tool_mode: compat to describe the tools in the "
            f"prompt instead, or set providers.{ctx.provider.name}.profile.tools: true if it "
            "has tool support",
            "tools",
        )
    if profile.vision is False:
        messages = _without_images(req["messages"], ctx)
        if messages is not req["messages"]:
            out = out if out is not None else dict(req)
            out["messages"] = messages
    if profile.thinking == "none" and req.get("thinking"):
        out = out if out is not None else dict(req)
        del out["thinking"]
    return out if out is not None else req  # type: ignore[return-value]


def _without_images(messages: list[Any], ctx: RequestContext) -> list[Any]:
    """The messages with images replaced by a note, or the same list when there are none;
    an image the user just sent (last message, outside tool results) is a 400."""
    out: list[Any] | None = None
    last = len(messages) - 1
    for i, msg in enumerate(messages):
        content = msg.get("content")
        if not isinstance(content, list) or msg.get("role") != "user":
            continue
        blocks: list[Any] | None = None
        for j, block in enumerate(content):
            kind = block.get("type") if isinstance(block, dict) else None
            if kind == "image":
                if i == last:
                    raise _refusal(
                        f"messages[{i}].content[{j}]: model {ctx.model} (provider "
                        f"{ctx.provider.name}) does not take images; remove the image or "
                        "choose a vision model (or set "
                        f"providers.{ctx.provider.name}.profile.vision: true if it has vision)",
                        f"messages[{i}].content[{j}]",
                    )
                new: Any = _NOTE
            elif kind == "tool_result" and isinstance(block.get("content"), list):
                inner = [_NOTE if _is_image(b) else b for b in block["content"]]
                if inner == block["content"]:
                    continue
                new = {**block, "content": inner}
            else:
                continue
            if blocks is None:
                blocks = list(content)
            blocks[j] = new
        if blocks is not None:
            if out is None:
                out = list(messages)
            out[i] = {**msg, "content": blocks}
    if out is None:
        return messages
    log.warning(
        "provider %s: model %s takes no images; images in earlier turns or tool results were "
        "replaced by a note",
        ctx.provider.name,
        ctx.model,
    )
    return out


def _refusal(message: str, param: str) -> RelayError:
    """A 400 the next provider of the chain may still answer (it may have the capability)."""
    return Unsupported(message, param=param).evolve(retryable=True)


_NOTE = {"type": "text", "text": "[image omitted: this model does not take images]"}


def _is_image(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "image"


def catalog_fields(profile: ModelProfile) -> dict[str, Any]:
    """``ModelEntry`` fields (context window, output limit, vision, tools, thinking)."""
    return {
        "context_window": profile.context_window,
        "max_output": profile.max_output,
        "vision": profile.vision,
        "tools": profile.tools,
        "thinking": profile.can_think,
    }
