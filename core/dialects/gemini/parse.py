"""A Gemini ``generateContent`` body to a canonical request plus side fields.

Every top-level field, what happens to it (C converted, S carried in ``ClientCall.side`` for
a Gemini backend, G only a Gemini backend can serve the call: every other provider answers a
400 naming the field and the fix, R rejected with a 400, D dropped, reason given):

| field | | canonical / notes |
|---|---|---|
| ``contents`` | C | ``messages`` (``contents.py``) |
| ``systemInstruction`` (a content or a string) | C | ``system`` text blocks; non-text parts R |
| ``tools[].functionDeclarations`` | C | ``tools`` (``schemas.py`` turns ``parameters`` into JSON Schema; ``parametersJsonSchema`` kept); both schemas on one function R |
| function ``behavior``, ``response``, ``responseJsonSchema`` | S | the whole ``tools`` list goes to ``side["tools"]`` |
| other tools (``googleSearch``, ``codeExecution``, ``urlContext``, ...) | G, S | they run at Google |
| ``toolConfig.functionCallingConfig`` | C | AUTO -> auto, NONE -> none, ANY -> any, ANY + one allowed name -> tool, ANY + several -> any with ``tools`` cut to those; VALIDATED -> auto (+ S); names not declared R |
| ``toolConfig.retrievalConfig`` | S | |
| ``generationConfig.maxOutputTokens`` | C | ``max_tokens`` |
| ``temperature`` | C | ``temperature``, at most 1 (the canonical range); above 1 also S with the client's value |
| ``topP``, ``topK``, ``stopSequences`` | C | ``top_p``, ``top_k`` (an integer), ``stop_sequences`` |
| ``candidateCount`` | C/R | 1 or absent; more R: ccrelay answers one candidate |
| ``responseMimeType: application/json`` + ``responseSchema`` / ``responseJsonSchema`` | C | ``output_config.format`` json_schema (no schema: ``{type: object}``); both schemas R |
| ``responseMimeType: text/x.enum`` | G, S | Gemini answers the bare enum value; other MIME types R |
| ``thinkingConfig.thinkingBudget`` | C, S | 0 -> disabled, -1 -> adaptive, n -> enabled with ``budget_tokens`` max(n, 1024), kept below ``max_tokens`` (a ``maxOutputTokens`` of 1024 or less leaves thinking off, with a warning); the client's ``thinkingConfig`` also S |
| ``thinkingConfig.thinkingLevel`` | C, S | MINIMAL -> disabled; LOW / MEDIUM / HIGH -> adaptive + ``output_config.effort``; with a budget too R |
| ``thinkingConfig.includeThoughts`` | C | thought parts are rendered only when true (signatures always travel); alone it asks for adaptive thinking |
| ``seed``, ``presencePenalty``, ``frequencyPenalty``, ``responseLogprobs``, ``logprobs``, ``mediaResolution``, unknown generationConfig keys | S | no canonical field; ``side["generationConfig"]`` |
| ``responseModalities`` other than TEXT, ``speechConfig`` | G, S | audio / image output |
| ``safetySettings`` | S | Google's content filters; other backends have no per-request filter to set, so nothing is lost |
| ``cachedContent`` | G, S | names a cache stored at Google: without it the model would miss part of the prompt, so other backends refuse rather than answer from half a prompt |
| ``labels``, unknown top-level fields | S | a warning names unknown ones |
| ``model`` in the body | D | the path names the model |
"""

from __future__ import annotations

from typing import Any

from ccrelay.core.errors import InvalidRequest

from .contents import Notes, to_messages
from .schemas import from_openapi, normalize_json_schema
from .spec import CONVERTED_GENERATION, KNOWN_FIELDS, get, snake

_EFFORTS = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH")
_MIN_BUDGET = 1024  # the smallest thinking budget Anthropic-protocol backends take
_MIME_TYPES = ("text/plain", "application/json", "text/x.enum")
#: function declaration fields canonical tools cannot hold, both spellings
_CARRIED = frozenset({"behavior", "response", "responseJsonSchema", "response_json_schema"})


def to_canonical(
    body: dict[str, Any], model: str, notes: Notes, *, count: bool = False
) -> tuple[dict[str, Any], bool]:
    """(canonical request, include thoughts) for a validated generateContent body."""
    contents = body.get("contents") or []
    messages = to_messages(contents, notes)
    if not messages and not count:
        raise InvalidRequest(
            "contents: no content to send (every part was empty); send at least one "
            "{role: 'user', parts: [{text}]}",
            param="contents",
        )
    req: dict[str, Any] = {"model": model, "messages": messages}
    system = _system(get(body, "systemInstruction"))
    if system:
        req["system"] = system
    _tools(body, req, notes)
    include_thoughts = _generation(get(body, "generationConfig") or {}, req, notes)
    for key in ("safetySettings", "cachedContent", "labels"):
        value = get(body, key)
        if value is not None:
            notes.side[key] = value
    if get(body, "cachedContent"):
        notes.gemini_only(
            "cachedContent", "a context cache stored at Google",
            "send the cached contents in the request instead",
        )  # fmt: skip
    for key, value in body.items():
        if key not in KNOWN_FIELDS:
            notes.side[key] = value
            notes.warn(f"{key[:60]}: not a field ccrelay knows; passed on to Gemini backends only")
    return req, include_thoughts


def _system(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "text", "text": value}] if value else []
    blocks = []
    for j, part in enumerate(get(value, "parts") or ()):
        text = part.get("text")
        if text is None:
            raise InvalidRequest(
                f"systemInstruction.parts[{j}]: only text parts can be a system instruction",
                param="systemInstruction",
            )
        if text:
            blocks.append({"type": "text", "text": text})
    return blocks


# --- tools --------------------------------------------------------------------------------


def _tools(body: dict[str, Any], req: dict[str, Any], notes: Notes) -> None:
    tools = get(body, "tools") or []
    out: list[dict[str, Any]] = []
    carry = False
    for i, tool in enumerate(tools):
        for key in tool:
            if key not in ("functionDeclarations", "function_declarations"):
                carry = True
                notes.gemini_only(
                    f"tools[{i}].{key}", "a tool Google runs itself",
                    "remove it, or declare a function the client runs",
                )  # fmt: skip
        for k, decl in enumerate(get(tool, "functionDeclarations") or ()):
            where = f"tools[{i}].functionDeclarations[{k}]"
            if not carry and not _CARRIED.isdisjoint(decl):
                carry = True
            out.append(_declaration(decl, where))
    if carry:
        notes.side["tools"] = tools
    config = get(get(body, "toolConfig") or {}, "functionCallingConfig")
    retrieval = get(get(body, "toolConfig") or {}, "retrievalConfig")
    if retrieval is not None or (config and config.get("mode") == "VALIDATED"):
        notes.side["toolConfig"] = get(body, "toolConfig")
    if out:
        req["tools"] = out
        if config:
            _choice(config, req)


def _declaration(decl: dict[str, Any], where: str) -> dict[str, Any]:
    params = decl.get("parameters")
    json_schema = get(decl, "parametersJsonSchema")
    if params is not None and json_schema is not None:
        raise InvalidRequest(
            f"{where}: parameters and parametersJsonSchema are mutually exclusive; send one",
            param=where,
        )
    if params is not None:
        schema = from_openapi(params, f"{where}.parameters")
    elif json_schema is not None:
        schema = normalize_json_schema(json_schema, f"{where}.parametersJsonSchema")
    else:
        schema = {"type": "object", "properties": {}}
    tool: dict[str, Any] = {"name": decl["name"], "input_schema": schema}
    if decl.get("description"):
        tool["description"] = decl["description"]
    return tool


def _choice(config: dict[str, Any], req: dict[str, Any]) -> None:
    mode = config.get("mode") or "AUTO"
    allowed = get(config, "allowedFunctionNames") or []
    declared = {t["name"] for t in req["tools"]}
    for name in allowed:
        if name not in declared:
            raise InvalidRequest(
                f"toolConfig.functionCallingConfig.allowedFunctionNames: {name[:64]!r} is not "
                "a declared function; name functions from tools[].functionDeclarations",
                param="toolConfig.functionCallingConfig.allowedFunctionNames",
            )
    if mode == "NONE":
        req["tool_choice"] = {"type": "none"}
        return
    if allowed and mode in ("ANY", "VALIDATED"):
        # "Call one of these" is "call any" with only these offered.
        req["tools"] = [t for t in req["tools"] if t["name"] in allowed]
    if mode == "ANY":
        if len(allowed) == 1:
            req["tool_choice"] = {"type": "tool", "name": allowed[0]}
        else:
            req["tool_choice"] = {"type": "any"}
    else:
        req["tool_choice"] = {"type": "auto"}


# --- generation config ------------------------------------------------------------------


def _generation(cfg: dict[str, Any], req: dict[str, Any], notes: Notes) -> bool:
    """Fill the canonical sampling, output and thinking fields; True when the client asked
    for thought parts."""
    side: dict[str, Any] = {}
    count = get(cfg, "candidateCount")
    if count is not None and count > 1:
        raise InvalidRequest(
            f"generationConfig.candidateCount: {count} asked, but ccrelay answers with one "
            "candidate; send 1 or leave it out",
            param="generationConfig.candidateCount",
        )
    max_tokens = get(cfg, "maxOutputTokens")
    if max_tokens is not None:
        req["max_tokens"] = max_tokens
    temperature = get(cfg, "temperature")
    if temperature is not None:
        req["temperature"] = min(temperature, 1)
        if temperature > 1:
            side["temperature"] = temperature
    if get(cfg, "topP") is not None:
        req["top_p"] = get(cfg, "topP")
    top_k = get(cfg, "topK")
    if top_k is not None:
        req["top_k"] = round(top_k)
    stops = get(cfg, "stopSequences")
    if stops:
        req["stop_sequences"] = stops
    _response_format(cfg, req, side, notes)
    include = _thinking(get(cfg, "thinkingConfig"), req, side, notes)
    for key, value in cfg.items():
        camel = _camel(key)
        if camel in CONVERTED_GENERATION or camel == "thinkingConfig":
            continue
        side[camel] = value
    modalities = get(cfg, "responseModalities") or []
    if any(str(m).upper() != "TEXT" for m in modalities):
        notes.gemini_only("generationConfig.responseModalities", f"output as {modalities!s:.80}",
                          "ask for TEXT only")  # fmt: skip
    if get(cfg, "speechConfig") is not None:
        notes.gemini_only("generationConfig.speechConfig", "spoken output",
                          "leave speechConfig out")  # fmt: skip
    if side:
        notes.side["generationConfig"] = side
    return include


def _response_format(
    cfg: dict[str, Any], req: dict[str, Any], side: dict[str, Any], notes: Notes
) -> None:
    mime = (get(cfg, "responseMimeType") or "text/plain").lower()
    schema = get(cfg, "responseSchema")
    json_schema = get(cfg, "responseJsonSchema")
    where = "generationConfig"
    if schema is not None and json_schema is not None:
        raise InvalidRequest(
            f"{where}: responseSchema and responseJsonSchema are mutually exclusive; send one",
            param=where,
        )
    if mime not in _MIME_TYPES:
        raise InvalidRequest(
            f"{where}.responseMimeType: {mime[:60]!r} is not supported; use text/plain, "
            "application/json or text/x.enum",
            param=f"{where}.responseMimeType",
        )
    if mime == "text/x.enum":
        side["responseMimeType"] = get(cfg, "responseMimeType")
        if schema is not None:
            side["responseSchema"] = schema
        if json_schema is not None:
            side["responseJsonSchema"] = json_schema
        notes.gemini_only(f"{where}.responseMimeType", "text/x.enum (a bare enum value)",
                          "use application/json with a schema instead")  # fmt: skip
        return
    if mime == "text/plain":
        if schema is not None or json_schema is not None:
            raise InvalidRequest(
                f"{where}.responseMimeType: a response schema needs responseMimeType "
                "'application/json'",
                param=f"{where}.responseMimeType",
            )
        return
    if schema is not None:
        out = from_openapi(schema, f"{where}.responseSchema")
    elif json_schema is not None:
        if not isinstance(json_schema, dict):
            raise InvalidRequest(
                f"{where}.responseJsonSchema: expected a JSON Schema object",
                param=f"{where}.responseJsonSchema",
            )
        out = normalize_json_schema(json_schema, f"{where}.responseJsonSchema")
    else:
        out = {"type": "object"}  # JSON mode without a schema: any JSON object
    req["output_config"] = {"format": {"type": "json_schema", "schema": out}}


def _thinking(
    cfg: dict[str, Any] | None, req: dict[str, Any], side: dict[str, Any], notes: Notes
) -> bool:
    if cfg is None:
        return False
    side["thinkingConfig"] = cfg
    include = get(cfg, "includeThoughts") is True
    budget = get(cfg, "thinkingBudget")
    level = get(cfg, "thinkingLevel")
    where = "generationConfig.thinkingConfig"
    if budget is not None and level is not None:
        raise InvalidRequest(
            f"{where}: thinkingBudget and thinkingLevel are mutually exclusive; send one",
            param=where,
        )
    if level is not None:
        upper = level.upper()
        if upper == "THINKING_LEVEL_UNSPECIFIED":
            level = None
        elif upper not in _LEVELS:
            raise InvalidRequest(
                f"{where}.thinkingLevel: {level[:40]!r} is not a level; use MINIMAL, LOW, "
                "MEDIUM or HIGH",
                param=f"{where}.thinkingLevel",
            )
        elif upper == "MINIMAL":
            req["thinking"] = {"type": "disabled"}
        else:
            req["thinking"] = {"type": "adaptive"}
            req["output_config"] = {**req.get("output_config", {}), "effort": _EFFORTS[upper]}
    if budget is not None:
        if budget < -1:
            raise InvalidRequest(
                f"{where}.thinkingBudget: {budget} is not a budget; use 0 (off), -1 "
                "(dynamic) or a number of tokens",
                param=f"{where}.thinkingBudget",
            )
        if budget == 0:
            req["thinking"] = {"type": "disabled"}
        elif budget == -1:
            req["thinking"] = {"type": "adaptive"}
        else:
            req["thinking"] = _budget(budget, req.get("max_tokens"), notes)
    if budget is None and level is None and include:
        req["thinking"] = {"type": "adaptive"}
    return include


def _budget(budget: int, max_tokens: int | None, notes: Notes) -> dict[str, Any]:
    tokens = max(budget, _MIN_BUDGET)
    if max_tokens is not None and tokens >= max_tokens:
        if max_tokens <= _MIN_BUDGET:
            notes.warn(
                "generationConfig.thinkingConfig.thinkingBudget: maxOutputTokens "
                f"{max_tokens} leaves no room for the smallest thinking budget "
                f"({_MIN_BUDGET}); thinking is off"
            )
            return {"type": "disabled"}
        tokens = max_tokens - 1
    return {"type": "enabled", "budget_tokens": tokens}


def _camel(key: str) -> str:
    if "_" not in key:
        return key
    head, *rest = key.split("_")
    camel = head + "".join(w[:1].upper() + w[1:] for w in rest)
    return camel if snake(camel) == key else key
