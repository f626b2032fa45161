"""Per-model capabilities of OpenAI-compatible upstreams and the options that override them.

The table is deliberately small: it covers the model families whose limits or parameter rules
make a plain request fail (OpenAI reasoning models, small output caps). Anything not listed
is sent as the client asked, and ``providers.<name>.options`` overrides any row.
``reasoning_effort`` picks the effort a request asks for among those a model takes (the
openai and responses strategies both send one).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from ccrelay.core.canonical import budget_effort, nearest_effort
from ccrelay.core.errors import InvalidRequest
from ccrelay.core.options import check_option

EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
_ALL_EFFORTS = ("minimal", "low", "medium", "high")


@dataclass(frozen=True)
class ModelCaps:
    """What one upstream model accepts.

    :param max_output: largest ``max_tokens`` the model takes (None: no clamp); the model
        profile's ``max_output`` (``core/profiles.py``) unless option ``max_output_tokens``
        says otherwise, so output limits live in one table.
    :param completion_tokens_param: send ``max_completion_tokens`` instead of ``max_tokens``.
    :param fixed_sampling: the model only takes the default temperature/top_p, so drop them.
    :param efforts: ``reasoning_effort`` values it accepts (empty: do not send one).
    :param stop: whether ``stop`` sequences are accepted.
    :param reasoning_replay: whether assistant ``reasoning_content`` may be sent back.
    """

    max_output: int | None = None
    completion_tokens_param: bool = False
    fixed_sampling: bool = False
    efforts: tuple[str, ...] = ()
    stop: bool = True
    reasoning_replay: bool = True


_OPENAI_REASONING = ModelCaps(
    completion_tokens_param=True,
    fixed_sampling=True,
    efforts=("low", "medium", "high"),
    stop=False,
    reasoning_replay=False,
)

# First match wins; patterns see the model name lower-cased, without an "org/" prefix
# (OpenRouter and vLLM names such as "openai/gpt-5" or "deepseek-ai/DeepSeek-V3").
_TABLE: tuple[tuple[re.Pattern[str], ModelCaps], ...] = tuple(
    (re.compile(p), c)
    for p, c in (
        (r"^gpt-5[\w.-]*-chat", ModelCaps(completion_tokens_param=True, reasoning_replay=False)),
        (r"^gpt-5", ModelCaps(completion_tokens_param=True, fixed_sampling=True,
                              efforts=_ALL_EFFORTS, stop=False, reasoning_replay=False)),
        (r"^o1-mini", ModelCaps(completion_tokens_param=True, fixed_sampling=True, stop=False,
                                reasoning_replay=False)),
        (r"^o[1-9]", _OPENAI_REASONING),
        (r"^gpt-oss", ModelCaps(efforts=("low", "medium", "high"))),
        (r"^(gpt-4|chatgpt-4o|gpt-3\.5)", ModelCaps(reasoning_replay=False)),
        (r"^grok-3-mini", ModelCaps(efforts=("low", "high"))),
    )
)  # fmt: skip

_DEFAULT = ModelCaps()


def lookup(model: str) -> ModelCaps:
    """The table row for ``model`` (defaults when it is not listed)."""
    name = model.rsplit("/", 1)[-1].lower()
    for pattern, caps in _TABLE:
        if pattern.search(name):
            return caps
    return _DEFAULT


@dataclass(frozen=True)
class Options:
    """``providers.<name>.options`` merged over the model's table row (the values were checked
    by ``check_options`` when the config loaded)."""

    caps: ModelCaps
    send_reasoning: bool = True
    reasoning_field: str = "reasoning_content"
    top_k: bool = False
    max_stop_sequences: int = 4
    send_user: bool = True
    structured_output: str = "json_schema"
    extra_body: Mapping[str, Any] | None = None


OPTION_KEYS = frozenset(
    {
        "max_output_tokens", "max_completion_tokens", "fixed_temperature", "reasoning_effort",
        "send_reasoning", "reasoning_field", "top_k", "max_stop_sequences", "send_user",
        "structured_output", "extra_body",
    }
)  # fmt: skip


def check_options(options: Mapping[str, Any]) -> list[str]:
    """Problems with the values of ``providers.<name>.options``, in config-error words
    (``max_stop_sequences: expected an integer, got "x"``); the config loader reports them
    with the option's path, so requests never meet a bad value."""
    problems: list[str] = []
    for key in ("max_completion_tokens", "fixed_temperature", "reasoning_effort",
                "send_reasoning", "top_k", "send_user"):  # fmt: skip
        problems += check_option(options, key, bool)
    problems += check_option(options, "max_output_tokens", int, minimum=1)
    problems += check_option(options, "max_stop_sequences", int, minimum=0)
    problems += check_option(options, "reasoning_field", str)
    problems += check_option(options, "structured_output", ("json_schema", "json_object"))
    problems += check_option(options, "extra_body", dict)
    return problems


def resolve(model: str, options: Mapping[str, Any], max_output: int | None = None) -> Options:
    """Merge the capability row of ``model`` with the provider's ``options`` (whose values
    ``check_options`` accepted when the config loaded).

    :param max_output: the model profile's output limit (``RequestContext.profile``).
    """
    caps = lookup(model)
    if max_output is not None:
        caps = replace(caps, max_output=max_output)
    if not options:
        return Options(caps=caps, send_reasoning=caps.reasoning_replay)
    efforts = caps.efforts
    if "reasoning_effort" in options:
        efforts = (efforts or _ALL_EFFORTS) if options["reasoning_effort"] else ()
    caps = ModelCaps(
        max_output=options.get("max_output_tokens", caps.max_output),
        completion_tokens_param=options.get("max_completion_tokens", caps.completion_tokens_param),
        fixed_sampling=options.get("fixed_temperature", caps.fixed_sampling),
        efforts=efforts,
        stop=caps.stop,
        reasoning_replay=caps.reasoning_replay,
    )
    return Options(
        caps=caps,
        send_reasoning=options.get("send_reasoning", caps.reasoning_replay),
        reasoning_field=options.get("reasoning_field", "reasoning_content"),
        top_k=options.get("top_k", False),
        max_stop_sequences=options.get("max_stop_sequences", 4),
        send_user=options.get("send_user", True),
        structured_output=options.get("structured_output", "json_schema"),
        extra_body=options.get("extra_body"),
    )


def reasoning_effort(
    req: Mapping[str, Any], allowed: tuple[str, ...], *, off_is_lowest: bool = False
) -> str | None:
    """The reasoning effort ``req`` asks for, as the nearest value in ``allowed`` (the model's):
    ``output_config.effort`` (``max`` -> ``xhigh``), else a thinking budget (below 4096 low,
    below 16384 medium, else high); with ``off_is_lowest``, thinking disabled asks for the
    lowest. None when the model takes no effort or the request asks for none.
    (Used by the openai and responses strategies.)"""
    if not allowed:
        return None
    effort = (req.get("output_config") or {}).get("effort")
    thinking = req.get("thinking") or {}
    budget = thinking.get("budget_tokens")
    if isinstance(effort, str):
        wanted = "xhigh" if effort == "max" else effort
        if wanted not in EFFORTS:
            raise InvalidRequest(f"output_config.effort: unknown value {effort!r}")
    elif thinking.get("type") == "enabled" and isinstance(budget, int):
        wanted = budget_effort(budget)
    elif off_is_lowest and thinking.get("type") == "disabled":
        return min(allowed, key=EFFORTS.index)
    else:
        return None
    return nearest_effort(wanted, allowed, EFFORTS)
