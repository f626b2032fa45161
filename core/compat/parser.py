"""The incremental parser of compat mode: model text in, text segments and tool calls out.

The model writes calls as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
(the format is argued in ``core/compat/__init__.py``). ``CallParser.feed`` takes text in
chunks split at any character and returns what is settled so far:

- text is released at once, except the shortest tail that could still become a call: a
  partial ``<tool_call>`` tag, plus the whitespace just before it (whitespace before a call
  is dropped, so no whitespace-only text block is opened in front of every call);
- a call is released the moment its ``</tool_call>`` arrives. The body is scanned once, as it
  arrives, for JSON string state (quotes, backslash escapes) and bracket depth, so ``<``,
  ``>`` and even ``</tool_call>`` inside a JSON string never end a call, and the end of the
  object is known without re-parsing;
- a malformed call is released as the literal text the model wrote, with a log warning, as
  soon as it is known to be malformed: no ``{`` after the tag, a ``<`` outside a JSON
  string, something other than ``</tool_call>`` after the object, JSON that does not parse,
  no ``name``, an unknown tool, or ``arguments`` that are not an object.

The model's turn ends at its calls: whitespace between calls is dropped, and once a call has
been made the first other text ends the turn; everything after it (hallucinated tool results,
more prose, later calls) is dropped and counted in ``dropped``. With ``single`` the turn
ends right after the first call (``disable_parallel_tool_use``).

``flush`` ends a text block: a held tail is released as text, and an unterminated call (cut
by ``max_tokens``, or never closed) is released as text with a warning. The segments are a
function of the whole text only, never of where it was split (tests/test_compat_parser.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from typing import Any, NamedTuple

from ccrelay.core.jsonutil import JSONDecodeError, loads

log = logging.getLogger("ccrelay.compat")

OPEN = "<tool_call>"
CLOSE = "</tool_call>"
_OPEN_LEN = len(OPEN)
_CLOSE_LEN = len(CLOSE)
# Outside a JSON string only these matter: a string starts, depth changes, or a tag begins.
_OUTSIDE = re.compile(r'["{}\[\]<]')
_INSIDE = re.compile(r'["\\]')
_NOT_SPACE = re.compile(r"\S")


class ToolCall(NamedTuple):
    """A complete, well-formed call: the tool's name and its arguments object."""

    name: str
    input: dict[str, Any]


Segment = str | ToolCall


class CallParser:
    """Splits one assistant message's text into text and tool calls (see the module doc).

    :param tools: the names of the tools the client offered; any other name is malformed.
    :param single: end the turn after the first call.
    :param request_id: named in log lines.
    """

    __slots__ = (
        "tools", "single", "request_id", "calls", "dropped", "over", "_buf", "_lead",
        "_in_call", "_parts", "_started", "_depth", "_in_str", "_esc", "_after",
    )  # fmt: skip

    def __init__(self, tools: Collection[str], single: bool = False, request_id: str = "-") -> None:
        self.tools = tools
        self.single = single
        self.request_id = request_id
        #: calls released so far
        self.calls = 0
        #: characters dropped after the turn ended
        self.dropped = 0
        #: the turn is over: everything fed from now on is dropped
        self.over = False
        self._buf = ""  # text mode: the held tail
        self._lead = ""  # the whitespace between the text and an open call
        self._in_call = False
        self._parts: list[str] = []  # call mode: the body so far, up to the object's end
        self._started = False  # the body's "{" was seen
        self._depth = 0
        self._in_str = False
        self._esc = False  # a backslash in a string ended the last chunk
        self._after: str | None = None  # what follows the object (whitespace, </tool_call>)

    # --- the public surface -------------------------------------------------------------

    def feed(self, chunk: str) -> list[Segment]:
        """Segments settled by ``chunk`` (often just ``[chunk]``)."""
        if self.over:
            self.dropped += len(chunk)
            return []
        out: list[Segment] = []
        if self._in_call:
            rest = self._feed_call(chunk, out)
            if rest is None:
                return out
            chunk = rest
        elif not self._buf and "<" not in chunk and not chunk[-1:].isspace():
            self._text(chunk, out)  # the common case: plain text, nothing held
            return out
        self._scan_text(self._buf + chunk if self._buf else chunk, out)
        return out

    def flush(self) -> list[Segment]:
        """End of a text block: release what is held; an unterminated call becomes text."""
        out: list[Segment] = []
        if self.over:
            self.dropped += len(self._buf)
        elif self._in_call:
            raw = OPEN + "".join(self._parts) + (self._after or "")
            self._malformed(raw, "the call is not closed with </tool_call>", out)
        else:
            self._text(self._buf, out)
        self._buf = ""
        return out

    # --- text mode ------------------------------------------------------------------------

    def _scan_text(self, s: str, out: list[Segment]) -> None:
        while True:
            if self.over:
                self.dropped += len(s)
                self._buf = ""
                return
            p = s.find(OPEN)
            if p < 0:
                # Hold a tail that could still grow into <tool_call>: the tag has a single
                # "<", so only the last "<" can start it; and the whitespace before it.
                k = s.rfind("<")
                if k < 0 or not OPEN.startswith(s[k:]):
                    k = len(s)
                while k and s[k - 1].isspace():
                    k -= 1
                self._buf = s[k:]
                self._text(s[:k], out)
                return
            text = s[:p].rstrip()
            self._text(text, out)
            if self.over:
                s = s[p:]
                continue
            self._lead = s[len(text) : p]
            self._buf = ""
            self._in_call = True
            rest = self._feed_call(s[p + _OPEN_LEN :], out)
            if rest is None:
                return
            s = rest

    def _text(self, text: str, out: list[Segment]) -> None:
        if not text:
            return
        if self.calls:
            if not text.isspace():  # the turn ends at the first text after a call
                self.over = True
                self.dropped += len(text)
            return
        out.append(text)

    # --- call mode --------------------------------------------------------------------------

    def _feed_call(self, c: str, out: list[Segment]) -> str | None:
        """Scan ``c`` as more of the call body. None: all taken, waiting for more; else the
        call is settled (released as a call or as text) and the rest of ``c`` is text."""
        if self._after is None:
            end = self._scan_object(c, out)
            if not isinstance(end, int):
                return end
            self._after = c[end:]
        else:
            self._after += c
        after = self._after
        m = _NOT_SPACE.search(after)
        if m is None:
            return None
        i = m.start()
        tail = after[i : i + _CLOSE_LEN]
        if tail != CLOSE:
            if len(tail) < _CLOSE_LEN and CLOSE.startswith(tail):
                return None
            raw = OPEN + "".join(self._parts) + after[:i]
            return self._malformed(raw, "no </tool_call> after the JSON object", out, after[i:])
        j = i + _CLOSE_LEN
        body = "".join(self._parts)
        call, problem = self._call(body)
        if call is None:
            return self._malformed(OPEN + body + after[:j], problem, out, after[j:])
        self._end_call()
        self.calls += 1
        out.append(call)
        if self.single:
            self.over = True
        return after[j:]

    def _scan_object(self, c: str, out: list[Segment]) -> int | str | None:
        """Track JSON string state and depth over ``c``: the index just after the object's
        closing bracket, None when the object goes on, or (malformed) the text after the
        point where it went wrong."""
        n = len(c)
        pos = 0
        if not self._started:
            m = _NOT_SPACE.search(c)
            if m is None:
                self._parts.append(c)
                return None
            if m.group() != "{":
                raw = OPEN + "".join(self._parts) + c[: m.start()]
                return self._malformed(raw, "no JSON object after <tool_call>", out, c[m.start() :])
            self._started = True
            self._depth = 1
            pos = m.end()
        depth = self._depth
        in_str = self._in_str
        if self._esc:
            if not n:
                return None
            pos = 1  # the escaped character
            self._esc = False
        while True:
            if in_str:
                m = _INSIDE.search(c, pos)
                if m is None:
                    break
                pos = m.end()
                if m.group() == '"':
                    in_str = False
                elif pos < n:
                    pos += 1  # skip the escaped character
                else:
                    self._esc = True
                    break
                continue
            m = _OUTSIDE.search(c, pos)
            if m is None:
                break
            ch = m.group()
            pos = m.end()
            if ch == '"':
                in_str = True
            elif ch == "{" or ch == "[":
                depth += 1
            elif ch == "}" or ch == "]":
                depth -= 1
                if depth == 0:
                    self._parts.append(c[:pos])
                    return pos
            else:  # "<" outside a string: JSON has none
                raw = OPEN + "".join(self._parts) + c[: m.start()]
                return self._malformed(raw, "'<' inside the JSON object", out, c[m.start() :])
        self._depth = depth
        self._in_str = in_str
        self._parts.append(c)
        return None

    def _call(self, text: str) -> tuple[ToolCall | None, str]:
        try:
            obj = loads(text)
        except JSONDecodeError as exc:
            return None, f"the JSON does not parse ({exc})"
        name = obj.get("name") if isinstance(obj, dict) else None
        if not isinstance(name, str):
            return None, 'the JSON object has no "name" string'
        if name not in self.tools:
            return None, f"unknown tool {name[:80]!r}"
        args = obj.get("arguments", obj.get("parameters"))
        if args is None:
            args = {}
        elif isinstance(args, str):  # some models send the arguments as a JSON text
            try:
                args = loads(args) if args.strip() else {}
            except JSONDecodeError:
                pass
        if not isinstance(args, dict):
            return None, f"the arguments of {name} are not a JSON object"
        return ToolCall(name, args), ""

    def _end_call(self) -> None:
        self._in_call = False
        self._lead = ""
        self._parts = []
        self._started = False
        self._depth = 0
        self._in_str = False
        self._esc = False
        self._after = None

    def _malformed(self, raw: str, problem: str, out: list[Segment], rest: str = "") -> str:
        """Release the malformed call's text (``raw``, as the model wrote it, with the
        whitespace before it); scanning goes on at ``rest`` in text mode, where a new
        ``<tool_call>`` is still found."""
        log.warning(
            "request %s: tool compat: malformed tool call passed on as text: %s: %.200r",
            self.request_id,
            problem,
            raw,
        )
        raw = self._lead + raw
        self._end_call()
        if self.calls:
            self.over = True
            self.dropped += len(raw)
        else:
            out.append(raw)
        return rest
