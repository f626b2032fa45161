"""Helpers shared by test modules: canned Anthropic answers, clients, waiting on events.

Fixtures live in ``conftest.py``; plain functions and data live here, so no test module
imports another.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anthropic

#: a non-streaming Anthropic answer whose text says which provider gave it
ANSWER = {"id": "msg_1", "type": "message", "role": "assistant", "model": "x",
          "content": [{"type": "text", "text": "from second"}], "stop_reason": "end_turn",
          "stop_sequence": None, "usage": {"input_tokens": 7, "output_tokens": 3}}  # fmt: skip
MSGS = [{"role": "user", "content": "hi"}]


def answer(text: str) -> dict[str, Any]:
    """``ANSWER`` with another text."""
    return {**ANSWER, "content": [{"type": "text", "text": text}]}


def sse_events(text: str) -> list[dict[str, Any]]:
    """A complete Anthropic stream (as event dicts) whose one text block is ``text``."""
    return [
        {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
         "model": "x", "content": [], "stop_reason": None, "stop_sequence": None,
         "usage": {"input_tokens": 11, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": 4}},
        {"type": "message_stop"},
    ]  # fmt: skip


def two(first_url: str, second_url: str) -> dict[str, Any]:
    """A config with providers ``first`` (active, 2 s timeout) and ``second`` (fallback)."""
    return {
        "provider": {"name": "first", "fallback_providers": ["second"]},
        "providers": {
            "first": {"type": "anthropic", "base_url": first_url, "api_key": "k1", "model": "m1",
                      "timeout": 2},
            "second": {"type": "anthropic", "base_url": second_url, "api_key": "k2", "model": "m2"},
        },
    }  # fmt: skip


def client(relay: Any, **kw: Any) -> anthropic.Anthropic:
    """An Anthropic SDK client for ``relay``, retries off unless ``max_retries`` is given."""
    return anthropic.Anthropic(base_url=relay.url, api_key="k", **{"max_retries": 0, **kw})


def stream_in_background(relay: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Start a streaming request in a thread; ``result["text"]`` holds the answer when done,
    ``result["error"]`` the SDK's exception if it raised one."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            with client(relay).messages.stream(model="c", max_tokens=5, messages=MSGS) as s:
                result["text"] = s.get_final_message().content[0].text
        except anthropic.APIError as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def fields(line: str) -> dict[str, str]:
    """The ``key=value`` fields of one token-log line."""
    return dict(p.split("=", 1) for p in line.split(" | ") if "=" in p)


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy (returned); fail after
    ``timeout`` seconds. The deadline is generous on purpose: it bounds a hang, it does
    not measure speed (that is ``bench/``'s job)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {what or predicate}")
        time.sleep(0.02)


def write_plugin(folder: Path, name: str, files: dict[str, str] | str) -> Path:
    """Write a plugin package ``folder/name`` (``files``: ``__init__.py``'s source, or file
    name -> source); returns its folder. Files are written to a temporary name and renamed,
    as editors save."""
    pkg = folder / name
    pkg.mkdir(parents=True, exist_ok=True)
    for fname, source in ({"__init__.py": files} if isinstance(files, str) else files).items():
        tmp = pkg / f".{fname}.tmp"
        tmp.write_text(textwrap.dedent(source))
        tmp.replace(pkg / fname)
    return pkg


def tagged_plugin(name: str, tag: str | None = None, *, tag_from_module: bool = False) -> str:
    """The source of a complete strategy plugin: strategy ``name`` speaks Anthropic upstream
    and prefixes every answer's text with ``[tag]`` (default: the name), so a test can see
    which plugin, and which version of its code, served a request.

    :param tag_from_module: read the tag from the plugin's submodule ``tag.py`` (``TAG``)
        instead, to test that a changed submodule is imported again.
    """
    if tag_from_module:
        tag_line = "from .tag import TAG"
    else:
        tag_line = f"TAG = {tag or name!r}"
    return f"""
from ccrelay.core.hookspecs import hookimpl
from ccrelay.core.provider import Provider, UpstreamRequest
{tag_line}


class Tagged(Provider):
    name = {name!r}

    def convert_request(self, req, ctx):
        return UpstreamRequest("/v1/messages", {{**req, "model": ctx.model}}, False)

    def convert_response(self, body, ctx):
        body["content"][0]["text"] = f"[{{TAG}}] " + body["content"][0]["text"]
        return body

    def stream(self, events, ctx):
        raise NotImplementedError


@hookimpl
def ccrelay_register_providers(register):
    register(Tagged)
"""
