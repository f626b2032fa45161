"""Helpers for the strategies' plain-data tests: a provider folder loaded the way core loads
it, a request context for it, and a small canonical request."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from ccrelay.core.config import ProviderConfig
from ccrelay.core.profiles import ModelProfile
from ccrelay.core.provider import RequestContext

ROOT = Path(__file__).resolve().parent.parent


def load_plugin(folder: str) -> ModuleType:
    """Load ``providers/<folder>`` the way core does: by file path, under a synthetic package
    name (once per test session)."""
    path = ROOT / "providers" / folder
    name = f"ccrelay_plugin_{folder}_under_test"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        name, path / "__init__.py", submodule_search_locations=[str(path)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def context(
    kind: str,
    model: str,
    *,
    name: str = "up",
    base_url: str = "http://upstream/v1",
    api_key: str = "k",
    side: Any = None,
    protocol: str = "anthropic",
    profile: ModelProfile | None = None,
    **options: Any,
) -> RequestContext:
    """A context for a provider ``name`` of type ``kind`` with these ``options``, for a
    ``claude-sonnet-4-5`` client speaking ``protocol`` (its ``side`` fields); the model's
    profile is looked up unless given."""
    cfg = ProviderConfig(
        name=name, type=kind, base_url=base_url, api_key=api_key, options=MappingProxyType(options)
    )
    extra: dict[str, Any] = {"profile": profile} if profile is not None else {}
    return RequestContext(
        cfg,
        model,
        "claude-sonnet-4-5",
        {},
        "req_test",
        client_protocol=protocol,
        side=side or {},
        **extra,
    )


def canonical_request(**fields: Any) -> dict[str, Any]:
    """A one-turn canonical request ("hi", ``max_tokens`` 1024) with ``fields`` set over it."""
    base: dict[str, Any] = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}],
    }
    base.update(fields)
    return base
