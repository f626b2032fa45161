"""The model catalog in Ollama's shapes: ``/api/tags``, ``/api/show``, ``/api/ps`` (ollama.md §5).

ccrelay's models are remote, so the local-file facts Ollama reports are filled plausibly:

| field | value |
|---|---|
| ``name``, ``model`` | the configured id, with ``:latest`` added when it has no tag (as Ollama lists) |
| ``modified_at`` | when ccrelay started |
| ``size``, ``size_vram`` | 0: nothing is stored or loaded here |
| ``digest`` | sha256 of the id: stable, and distinct per model |
| ``details.family`` / ``families`` | the id's first word (``claude``, ``gpt``, ``qwen`` ...) |
| ``details.format``, ``parameter_size``, ``quantization_level``, ``parent_model`` | ``""``: unknown for a remote model (clients require the strings) |
| ``details.context_length``, ``model_info["<family>.context_length"]``, ``parameters`` ``num_ctx`` | the context window when the catalog knows it |
| ``capabilities`` | ``completion``, then ``tools``, ``vision`` and ``thinking`` unless the catalog says the model lacks them: clients hide what is not listed (llm-ollama refuses ``think``, Zed image attachments), and a backend that cannot do it says so in a clear error |
| ``template`` | ``{{ .Prompt }}``: no ``.Suffix``, so clients know fill-in-the-middle is not offered |
| ``expires_at`` (``ps``) | a day from now: remote models stay available |
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import Any

from ccrelay.core.dialect import ModelEntry

from .render import iso

_WORD = re.compile(r"[a-z]+")
_TEMPLATE = "{{ .Prompt }}"


def listed_name(model_id: str) -> str:
    """The name Ollama lists for a model: tagged ``:latest`` when it has no tag."""
    last = model_id.rsplit("/", 1)[-1]
    return model_id if ":" in last else f"{model_id}:latest"


def find(entries: Sequence[ModelEntry], name: str) -> ModelEntry | None:
    """The entry an Ollama name means: ``x`` and ``x:latest`` are the configured ``x``."""
    for entry in entries:
        if name in (entry.id, listed_name(entry.id)):
            return entry
    if name.endswith(":latest"):
        return find(entries, name[:-7]) if name[:-7] else None
    return None


def family(model_id: str) -> str:
    match = _WORD.search(model_id.rsplit("/", 1)[-1].lower())
    return match.group(0) if match else "unknown"


def capabilities(entry: ModelEntry) -> list[str]:
    known = (("tools", entry.tools), ("vision", entry.vision), ("thinking", entry.thinking))
    return ["completion", *(name for name, can in known if can is not False)]


def details(entry: ModelEntry) -> dict[str, Any]:
    fam = family(entry.id)
    out: dict[str, Any] = {
        "parent_model": "",
        "format": "",
        "family": fam,
        "families": [fam],
        "parameter_size": "",
        "quantization_level": "",
    }
    if entry.context_window:
        out["context_length"] = entry.context_window
    return out


def tag(entry: ModelEntry) -> dict[str, Any]:
    """One ``/api/tags`` item."""
    name = listed_name(entry.id)
    return {
        "name": name,
        "model": name,
        "modified_at": iso(entry.created),
        "size": 0,
        "digest": hashlib.sha256(entry.id.encode()).hexdigest(),
        "details": details(entry),
        "capabilities": capabilities(entry),
    }


def tags(entries: Sequence[ModelEntry]) -> dict[str, Any]:
    return {"models": [tag(e) for e in entries]}


def show(entry: ModelEntry) -> dict[str, Any]:
    """The ``/api/show`` answer for one model."""
    fam = family(entry.id)
    info: dict[str, Any] = {"general.architecture": fam, "general.basename": entry.id}
    parameters = []
    if entry.context_window:
        info[f"{fam}.context_length"] = entry.context_window
        parameters.append(f"num_ctx {entry.context_window}")
    out: dict[str, Any] = {
        "modelfile": f"# Served by ccrelay from provider {entry.provider}\nFROM {entry.id}\n",
        "parameters": "\n".join(parameters),
        "template": _TEMPLATE,
        "details": details(entry),
        "model_info": info,
        "capabilities": capabilities(entry),
        "modified_at": iso(entry.created),
    }
    return out


def ps(entries: Sequence[ModelEntry]) -> dict[str, Any]:
    """``/api/ps``: every configured model, available for a day from now."""
    expires = iso(time.time() + 86400)
    models = []
    for entry in entries:
        item = tag(entry)
        del item["modified_at"], item["capabilities"]
        item.update(expires_at=expires, size_vram=0, context_length=entry.context_window or 0)
        models.append(item)
    return {"models": models}
