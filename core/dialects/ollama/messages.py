"""Ollama chat messages to canonical ones: roles, images, tool calls paired with results.

C = converted, R = rejected with a 400 naming the message (as in ``parse.py``).

| message | | what happens |
|---|---|---|
| ``system`` before any other message | C | ``system`` (one text block each) |
| ``system`` later | C | a ``role: system`` message at its place (each strategy decides); one that arrives between tool calls and their results follows the results |
| ``user`` ``content`` / ``images`` | C | image blocks (media type from the data's magic bytes; PNG, JPEG, GIF, WebP) then text |
| ``assistant`` ``content`` / ``thinking`` | C | text / a leading unsigned ``thinking`` block |
| a tool-calling turn ccrelay answered | C | its thinking blocks as the backend gave them, signatures and positions included (``vault``), around the client's text and calls |
| ``assistant`` ``tool_calls`` | C | ``tool_use`` blocks; ``arguments`` an object (a JSON string is parsed); ids synthesized (``ids.py``) or the client's |
| ``assistant`` ``images`` | R | no backend takes images from the assistant |
| an empty assistant message, or one with only thinking | C | left out: it carries nothing a backend accepts |
| ``tool`` | C | a ``tool_result`` for the pending call with the same ``tool_call_id``, else the first with the same ``tool_name``, else (no name) the first pending; images go into the result |
| consecutive ``tool`` messages, and a ``user`` message right after them | C | one user turn: the results in order, then the user's blocks |
| a call without a result before the next message | C | an error result "tool call was not executed", with a warning |
| a ``tool`` message answering no pending call | C | user text ``Result of tool <name>: ...`` |
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from typing import Any

from ccrelay.core.errors import InvalidRequest
from ccrelay.core.jsonutil import JSONDecodeError, loads

from .ids import call_id, clean_id

_NOT_EXECUTED = "Error: tool call was not executed (no result in the conversation)"
_ROLES = ("system", "user", "assistant", "tool")
_DATA_URL = re.compile(r"^data:(image/[\w.+-]+)?(?:;[\w=.+-]+)*;base64,", re.ASCII)
_THINKING = ("thinking", "redacted_thinking")
#: the turn ccrelay kept for its first tool call id (``core/vault.py``): thinking blocks as
#: the backend gave them, ``{"type": "text"}`` and ``{"type": "tool_use"}`` marking where its
#: text and calls were; None when unknown
Kept = Callable[[str], "list[dict[str, Any]] | None"]


class Conversation:
    """Walks Ollama messages in order, pairing tool results with the calls before them."""

    def __init__(self, kept: Kept) -> None:
        self.kept = kept
        self.out: list[dict[str, Any]] = []
        self.system: list[dict[str, Any]] = []
        self.used: set[str] = set()
        self.warnings: list[str] = []
        self.pending: list[tuple[str, str]] = []  # (id, name) of calls awaiting a result
        self.results: dict[str, Any] | None = None  # the user turn holding their results
        self.held: list[dict[str, Any]] = []  # system messages that came among the results
        #: False when the last tool-calling turn's thinking is unknown (see ``_thinking``)
        self.replayable = True

    def convert(self, messages: list[dict[str, Any]]) -> None:
        for i, msg in enumerate(messages):
            role = msg["role"].lower()
            if role == "tool":
                self._tool(i, msg)
                continue
            if role == "system" and (self.pending or self.results is not None) and self.out:
                self.held.append({"role": "system", "content": msg.get("content") or ""})
                continue
            self._close(merge_next=role == "user")
            if role == "system":
                text = msg.get("content") or ""
                if not self.out:
                    if text:
                        self.system.append({"type": "text", "text": text})
                else:
                    self.out.append({"role": "system", "content": text})
            elif role == "user":
                self._user(i, msg)
            elif role == "assistant":
                self._assistant(i, msg)
            else:
                raise InvalidRequest(
                    f"messages.{i}.role: expected one of {', '.join(_ROLES)}, got {role!r}",
                    param=f"messages.{i}.role",
                )
        if self.results is not None:  # answered in part: the rest get error results
            self._close(merge_next=False)
        self.out.extend(self.held)

    def _close(self, merge_next: bool) -> None:
        """End the current tool round: unanswered calls get error results."""
        if self.pending:
            results = self._results_turn()
            for cid, name in self.pending:
                results["content"].append(
                    {
                        "type": "tool_result",
                        "tool_use_id": cid,
                        "content": _NOT_EXECUTED,
                        "is_error": True,
                    }
                )
                self.warnings.append(
                    f"tool call {name} ({cid}) has no result in the conversation; it was "
                    "answered with an error result"
                )
            self.pending = []
        if self.held:
            self.out.extend(self.held)
            self.held = []
        if not merge_next:
            self.results = None

    def _results_turn(self) -> dict[str, Any]:
        if self.results is None:
            self.results = {"role": "user", "content": []}
            self.out.append(self.results)
        return self.results

    def _user(self, i: int, msg: Mapping[str, Any]) -> None:
        text = msg.get("content") or ""
        images = msg.get("images") or []
        turn = self.results
        self.results = None
        if turn is not None and self.out and self.out[-1] is turn:
            # A user message right after tool results joins their turn, after them.
            turn["content"].extend(
                image(d, f"messages.{i}.images.{j}") for j, d in enumerate(images)
            )
            if text:
                turn["content"].append({"type": "text", "text": text})
            return
        if not images:
            self.out.append({"role": "user", "content": text})
            return
        blocks = [image(d, f"messages.{i}.images.{j}") for j, d in enumerate(images)]
        if text:
            blocks.append({"type": "text", "text": text})
        self.out.append({"role": "user", "content": blocks})

    def _assistant(self, i: int, msg: Mapping[str, Any]) -> None:
        if msg.get("images"):
            raise InvalidRequest(
                f"messages.{i}.images: no backend takes images in an assistant message; "
                "send them in a user message",
                param=f"messages.{i}.images",
            )
        text = msg.get("content") or ""
        thinking = msg.get("thinking") or ""
        calls = msg.get("tool_calls") or []
        uses = [self._tool_use(i, j, c) for j, c in enumerate(calls)]
        if not text and not uses:
            return  # empty, or thinking alone: nothing a backend accepts as a turn
        self.pending = [(u["id"], u["name"]) for u in uses]
        turn = self.kept(uses[0]["id"]) if uses else None
        if uses:
            self.replayable = turn is not None and any(b["type"] in _THINKING for b in turn)
        else:
            self.replayable = True
        if turn:
            self.out.append({"role": "assistant", "content": _replay(turn, text, uses)})
            return
        blocks: list[dict[str, Any]] = []
        if thinking:
            blocks.append({"type": "thinking", "thinking": thinking})
        if text:
            blocks.append({"type": "text", "text": text})
        blocks.extend(uses)
        if len(blocks) == 1 and not uses:
            self.out.append({"role": "assistant", "content": text})
        else:
            self.out.append({"role": "assistant", "content": blocks})

    def _tool_use(self, i: int, j: int, call: Mapping[str, Any]) -> dict[str, Any]:
        fn = call["function"]
        name = fn["name"]
        args = fn.get("arguments")
        where = f"messages.{i}.tool_calls.{j}.function.arguments"
        if args is None:
            args = {}
        elif isinstance(args, str):
            try:
                args = loads(args) if args.strip() else {}
            except JSONDecodeError:
                args = None
            if not isinstance(args, dict):
                raise InvalidRequest(f"{where}: expected a JSON object", param=where)
        if call.get("id"):
            cid = clean_id(call["id"])
            self.used.add(cid)
        else:
            cid = call_id(name, args, j, self.used)
        return {"type": "tool_use", "id": cid, "name": name, "input": args}

    def _tool(self, i: int, msg: Mapping[str, Any]) -> None:
        name = msg.get("tool_name") or ""
        text = msg.get("content") or ""
        images = [
            image(d, f"messages.{i}.images.{j}") for j, d in enumerate(msg.get("images") or [])
        ]
        match = self._match(msg.get("tool_call_id") or "", name)
        if match is None:
            # No call of the turn before answers to it: plain text, so nothing is lost.
            label = f"Result of tool {name}" if name else "Tool result"
            blocks: list[dict[str, Any]] = [{"type": "text", "text": f"{label}: {text}"}, *images]
            last = self.out[-1] if self.out else None
            if last is not None and last["role"] == "user" and isinstance(last["content"], list):
                last["content"].extend(blocks)
            else:
                self.out.append({"role": "user", "content": blocks})
            return
        cid = self.pending.pop(match)[0]
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": cid}
        if images:
            result["content"] = [*([{"type": "text", "text": text}] if text else []), *images]
        else:
            result["content"] = text
        self._results_turn()["content"].append(result)

    def _match(self, tool_call_id: str, name: str) -> int | None:
        if tool_call_id:
            wanted = clean_id(tool_call_id)
            for k, (cid, _) in enumerate(self.pending):
                if cid == wanted:
                    return k
        for k, (_, cname) in enumerate(self.pending):
            if not name or cname == name:
                return k
        return None


def _replay(turn: list[dict[str, Any]], text: str, uses: list[dict[str, Any]]) -> list[Any]:
    """The assistant turn as the backend gave it: its thinking blocks where they were (a
    signature can belong to the block after it), the client's text and calls in the places
    of the markers ``{"type": "text"}`` and ``{"type": "tool_use"}`` the vault holds."""
    out: list[dict[str, Any]] = []
    calls = iter(uses)
    pending_text = bool(text)
    for block in turn:
        kind = block["type"]
        if kind in _THINKING:
            out.append(dict(block))
            continue
        if pending_text and kind in ("text", "tool_use"):
            out.append({"type": "text", "text": text})
            pending_text = False
        if kind == "tool_use":
            use = next(calls, None)
            if use is not None:
                out.append(use)
    if pending_text:
        out.append({"type": "text", "text": text})
    out.extend(calls)
    return out


# --- images ------------------------------------------------------------------------------

_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))


def image(data: str, where: str) -> dict[str, Any]:
    """An image block for one of Ollama's base64 images; a ``data:`` URL is accepted too."""
    media = None
    m = _DATA_URL.match(data)
    if m is not None:
        media, data = m.group(1), data[m.end() :]
    head = data[:16]
    try:
        raw = base64.b64decode(head + "=" * (-len(head) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if media is None:
        for magic, kind in _MAGIC:
            if raw.startswith(magic):
                media = kind
                break
        else:
            if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
                media = "image/webp"
    if media is None:
        raise InvalidRequest(
            f"{where}: not a base64 PNG, JPEG, GIF or WebP image (the formats every backend takes)",
            param=where,
        )
    return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
