"""``providers.<name>.options`` of the ``responses`` strategy, checked once and merged over
what the model's name tells.

Model facts come from the OpenAI strategy's small table (``providers/openai/capabilities.py``:
output caps, which models reason and take only default sampling) so the two strategies agree
on a model; the options override any of them. Values are checked when the config loads
(``check``), so a request never meets a bad value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ccrelay.providers.openai.capabilities import lookup

#: reasoning efforts every Responses reasoning model takes (o-series, gpt-5, codex)
COMMON_EFFORTS = ("low", "medium", "high")
SUMMARIES = ("auto", "concise", "detailed", "none")
# Codex-class models answer only on /v1/responses, reason, and take low/medium/high efforts
# (gpt-5-codex rejects the "minimal" that other gpt-5 models take).
_CODEX = re.compile(r"(^|[/-])codex")

OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "max_output_tokens": (int,),
    "reasoning": (bool,),
    "reasoning_summary": (str,),
    "fixed_temperature": (bool,),
    "send_user": (bool,),
    "extra_body": (dict,),
}
OPTION_KEYS = frozenset(OPTION_TYPES)


@dataclass(frozen=True)
class Options:
    """What one request to one model may carry.

    :param max_output: largest ``max_output_tokens`` (None: no clamp).
    :param efforts: ``reasoning.effort`` values the model takes; empty = not a reasoning
        model, so no ``reasoning`` and no ``include`` (non-reasoning models reject
        ``reasoning.encrypted_content``: "Encrypted content is not supported with this model").
    :param summary: ``reasoning.summary`` to ask for (None: none).
    :param fixed_sampling: drop ``temperature`` / ``top_p`` (reasoning models reject them).
    :param send_user: send a hash of ``metadata.user_id`` as ``safety_identifier``.
    :param extra_body: merged into the body last.
    """

    max_output: int | None = None
    efforts: tuple[str, ...] = ()
    summary: str | None = "auto"
    fixed_sampling: bool = False
    send_user: bool = True
    extra_body: Mapping[str, Any] | None = None


def check(options: Mapping[str, Any]) -> list[str]:
    """Problems with option values, each ``"<key>: what is wrong; what is expected"``."""
    problems = []
    for key, kinds in OPTION_TYPES.items():
        if key not in options:
            continue
        value = options[key]
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            problems.append(f"{key}: got {value!r}; expected {kinds[0].__name__}")
    mot = options.get("max_output_tokens")
    if isinstance(mot, int) and not isinstance(mot, bool) and mot < 16:
        problems.append(f"max_output_tokens: got {mot}; expected 16 or more (the API minimum)")
    summary = options.get("reasoning_summary")
    if isinstance(summary, str) and summary not in SUMMARIES:
        problems.append(
            f"reasoning_summary: got {summary!r}; expected one of {', '.join(SUMMARIES)}"
        )
    return problems


def resolve(model: str, options: Mapping[str, Any], max_output: int | None = None) -> Options:
    """The options for ``model``: its table row, then the provider's ``options`` (already
    checked by ``check`` when the config loaded).

    :param max_output: the model profile's output limit (``RequestContext.profile``), where
        output caps live (``core/profiles.py``).
    """
    caps = lookup(model)
    efforts = caps.efforts
    fixed = caps.fixed_sampling
    if _CODEX.search(model.lower()):  # codex models take no "minimal" effort
        efforts, fixed = COMMON_EFFORTS, True
    if "reasoning" in options:
        efforts = (efforts or COMMON_EFFORTS) if options["reasoning"] else ()
    summary = options.get("reasoning_summary", "auto")
    return Options(
        max_output=options.get("max_output_tokens", max_output or caps.max_output),
        efforts=efforts,
        summary=None if summary == "none" else summary,
        fixed_sampling=options.get("fixed_temperature", fixed),
        send_user=options.get("send_user", True),
        extra_body=options.get("extra_body"),
    )
