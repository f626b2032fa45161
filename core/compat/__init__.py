"""Tool compat mode: tool calling for backends without function calling, on the canonical form.

With ``tool_mode: compat`` (on a provider, or on the call: a group or the ``compat_mode``
path sets ``ClientCall.tool_mode``) the backend never sees ``tools``. The tools are described
in the system prompt with one calling format and an example (``prompt.py``); earlier calls
and results in the history are rendered as text in the same format; the model's answer is
parsed back into ``tool_use`` blocks while it streams (``parser.py``, ``stream.py``). All of
it works on canonical requests, events and responses, so every client dialect and every
provider strategy gets it unchanged. Compat applies per attempt: a fallback from a compat
provider to a native one sends the native one the client's tools as they were.

**The format.** A call is one JSON object inside one tag::

    <tool_call>
    {"name": "Write", "arguments": {"file_path": "/tmp/a.txt", "content": "hi"}}
    </tool_call>

- It is the format open-weight models are trained on (the chat templates of Qwen 2.5 / 3,
  Hermes 2 Pro / 3 and their fine-tunes; vLLM's and llama.cpp's "hermes" tool parsers read
  it), so a model served without tool support still knows it, and others follow it from
  one example.
- One JSON value carries arguments of every shape (nested objects, arrays, numbers,
  booleans) with JSON's escaping; no schema is needed to give values their types.
- It is unambiguous to parse while streaming: JSON has no ``<`` outside strings, so the
  parser tracks string state and bracket depth, and only ``</tool_call>`` after the
  object's closing brace ends a call. ``<``, ``>`` and ``</tool_call>`` inside a string
  (a file that documents this very format) are content.

Rejected: one tag per parameter (``<parameter name="content">...</parameter>``) spares the
model JSON escaping of file contents, but cannot carry a value that contains
``</parameter>`` (an XML or HTML file) and needs each schema to type numbers and arrays;
``<name>`` and ``<arguments>`` tags around JSON parse the same but are one more thing to get
right, in a shape no model was trained on.

Results go back as ``<tool_result id="toolu_.." name="Write">...</tool_result>`` (with
``error="true"`` for a failed tool) in the user turn; the model never has to write them.

**The turn ends at its calls.** A native model stops after its tool_use blocks; a prompted
one often goes on, inventing the result. So calls that follow each other (only whitespace
between) are parallel calls, and the first other text after a call ends the turn: it and
everything after are dropped (logged at INFO with a count). Text before the first call is
kept. The stop reason becomes ``tool_use`` whenever a call was made. The upstream stream is
still read to its end, for its usage figures.

**Malformed calls** (no JSON object, a ``<`` inside the object, no closing tag, JSON that
does not parse, no name, a tool the client did not offer, arguments that are not an
object) reach the client as the text the model wrote, with a WARNING naming the request;
never an error, never a wait past the end of the text block.

**Ids** are ``toolu_<request id>_<n>``: stable across a stream's events, unique per request,
and in Anthropic's id alphabet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ccrelay.core.types import CanonicalEvent, CanonicalRequest, CanonicalResponse

from .parser import CallParser, ToolCall
from .prompt import compat_request, render_call, tools_prompt
from .stream import compat_events, compat_response

if TYPE_CHECKING:
    from ccrelay.core.dialect import ClientCall
    from ccrelay.core.provider import RequestContext

__all__ = [
    "TOOL_MODES",
    "CallParser",
    "ToolCall",
    "applies",
    "compat_events",
    "compat_request",
    "compat_response",
    "events",
    "render_call",
    "request",
    "response",
    "tool_names",
    "tools_prompt",
]

#: the values of ``tool_mode`` (providers, groups, ``ClientCall``)
TOOL_MODES = ("native", "compat")


def applies(call: ClientCall, ctx: RequestContext) -> bool:
    """Whether this attempt runs in compat mode: the call asks for it (a group, the
    ``compat_mode`` path) or the attempt's provider is configured for it."""
    return call.tool_mode == "compat" or ctx.provider.tool_mode == "compat"


def tool_names(req: CanonicalRequest) -> tuple[frozenset[str], bool]:
    """The tools the model may call in compat mode (none when ``tool_choice`` is none),
    and whether only one call is kept (``disable_parallel_tool_use``)."""
    choice: Any = req.get("tool_choice") or {}
    if choice.get("type") == "none":
        return frozenset(), False
    names = frozenset(t["name"] for t in req.get("tools") or () if "name" in t)
    return names, bool(choice.get("disable_parallel_tool_use"))


# --- the relay's three hooks: each a no-op unless compat applies to the attempt -------------


def request(call: ClientCall, ctx: RequestContext) -> CanonicalRequest:
    """The canonical request to convert for this attempt."""
    return compat_request(call.request) if applies(call, ctx) else call.request


def events(
    call: ClientCall, ctx: RequestContext, evs: Iterator[CanonicalEvent]
) -> Iterator[CanonicalEvent]:
    """The attempt's canonical events, calls parsed out of the text in compat mode."""
    if not applies(call, ctx):
        return evs
    names, single = tool_names(call.request)
    if not names:
        return evs
    return compat_events(evs, names, single, ctx.request_id)


def response(call: ClientCall, ctx: RequestContext, resp: CanonicalResponse) -> CanonicalResponse:
    """The attempt's canonical response, calls parsed out of the text in compat mode."""
    if not applies(call, ctx):
        return resp
    names, single = tool_names(call.request)
    if not names:
        return resp
    return compat_response(resp, names, single, ctx.request_id)
