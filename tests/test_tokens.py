"""core.tokens: the local input-token estimate behind count_tokens, with plain data.

The reference counts below were computed once, offline, by tokenizing the same text pieces
with a real BPE (``o200k_base`` and ``cl100k_base`` from the PyPI package ``bpe-openai``
0.1.4, which bundles the vocab files; it is not a dependency) and adding the same fixed
structural costs. Each constant is the larger of the two counts. Re-measure with the script
in docs/tokens.md if the estimator changes.
"""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from ccrelay.core import tokens
from ccrelay.core.tokens import estimate_input_tokens, estimate_text_tokens

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "claude_code"

# The stated error band: estimate / reference - 1 must lie in it. The estimator is tuned to
# err high (an under-count lets Claude Code overflow the window before it compacts).
BAND = (0.0, 0.15)

# --- synthetic samples -------------------------------------------------------------------

PROSE = (
    "The relay sits between the client and the model backend. When a request arrives, it "
    "reads the configuration, picks a provider and converts the messages, the system prompt "
    "and the tool definitions into the shape that the upstream understands. If the upstream "
    "fails before any byte has been streamed, the relay may retry on a fallback provider; "
    "once streaming has started, errors are reported in-band instead, because the HTTP "
    "status has already been sent.\n\n"
    "Token counting is an estimate. Long conversations are compacted by the client when the "
    "count approaches the context window, so a count that is too low lets the conversation "
    "overflow before compaction happens. A count that is a little too high only makes the "
    "client compact slightly earlier, which is harmless. Images are charged by their area, "
    "and documents by their pages, so neither can be counted from their text alone.\n"
)

PYTHON = '''\
def merge_usage(events: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Sum the usage blocks of a stream: message_start gives input, deltas give output."""
    usage = {"input_tokens": 0, "output_tokens": 0, "cache_read_input_tokens": 0}
    for event in events:
        kind = event.get("type")
        if kind == "message_start":
            start = event["message"].get("usage") or {}
            usage["input_tokens"] += int(start.get("input_tokens", 0))
            usage["cache_read_input_tokens"] += int(start.get("cache_read_input_tokens", 0))
        elif kind == "message_delta":
            usage["output_tokens"] = int(event.get("usage", {}).get("output_tokens", 0))
    return usage


class RetryPolicy:
    def __init__(self, attempts: int = 3, backoff: float = 0.5) -> None:
        self.attempts = attempts
        self.backoff = backoff

    def delays(self) -> list[float]:
        return [self.backoff * (2 ** i) for i in range(self.attempts - 1)]
'''

JSON_DOC = json.dumps(
    {
        "id": "chatcmpl-9f2c1a7e",
        "object": "chat.completion",
        "created": 1763683200,
        "model": "deepseek-chat",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_0_4b1d",
                            "type": "function",
                            "function": {
                                "name": "Read",
                                "arguments": '{"file_path": "/home/dev/project/src/main.py", '
                                '"offset": 120, "limit": 80}',
                            },
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 18234, "completion_tokens": 41, "total_tokens": 18275},
    },
    indent=2,
)

CHINESE = (
    "中继服务位于客户端和大语言模型后端之间，负责把请求从一种协议转换为另一种协议。每个请求到达时，"
    "服务会先检查配置文件，确定应该使用哪个上游提供商，然后把消息、系统提示词和工具定义转换成上游能够"
    "理解的格式。如果上游返回错误，中继会根据错误类型决定是否重试，或者切换到备用提供商。\n"
    "令牌计数是一个近似值。对于中文文本，一个汉字通常对应一个或半个令牌，具体取决于分词器的词表大小。"
    "较新的分词器会把常见的词语合并成一个令牌，因此估算时需要留出一定的余量，宁可多算也不要少算。\n"
)


def user(text: str) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": text}]}


def fixture_body(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())["body"]


# Reference counts: BPE(o200k/cl100k, the larger) of the request's text pieces + the
# estimator's fixed structural costs. Computed once offline (see the module docstring).
# Fixture 00 (the HEAD preflight) has no body, so it has no row.
REFERENCE = [
    # (case, fixture file or request builder, reference tokens)
    ("fixture 01 turn1 stream", "01_messages_turn1_stream", 13477),
    ("fixture 02 turn2 tool_result", "02_messages_turn2_tool_result_stream", 13577),
    ("fixture 03 non-stream", "03_messages_nonstream_fallback", 13481),
    ("fixture 04 bearer auth", "04_messages_bearer_auth", 13478),
    ("fixture 05 sonnet", "05_messages_sonnet", 19486),
    ("fixture 06 haiku", "06_messages_haiku", 19502),
    ("fixture 07 title, structured output", "07_messages_title_generation_structured_output", 308),
    ("English prose", lambda: user(PROSE), 170),
    ("Python code", lambda: user(PYTHON), 256),
    ("JSON (indented)", lambda: user(JSON_DOC), 208),
    ("Chinese", lambda: user(CHINESE), 243),
]


def build_request(source: Any) -> dict[str, Any]:
    return fixture_body(source) if isinstance(source, str) else source()


@pytest.mark.parametrize("case,source,reference", REFERENCE, ids=[r[0] for r in REFERENCE])
def test_estimate_is_within_the_band_of_the_bpe_reference(case, source, reference):
    estimate = estimate_input_tokens(build_request(source))
    error = estimate / reference - 1
    assert BAND[0] <= error <= BAND[1], f"{case}: {estimate} vs {reference} ({error:+.1%})"


# --- behaviour ---------------------------------------------------------------------------


def png(width: int, height: int) -> str:
    """A base64 PNG header big enough for the size probe (the pixels are never read)."""
    ihdr = struct.pack(">II", width, height) + bytes([8, 6, 0, 0, 0])
    raw = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + b"\x00" * 4 + b"\x00" * 64
    return base64.b64encode(raw).decode()


def jpeg(width: int, height: int) -> str:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01" + b"\x00" * 7
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x00" * 9
    return base64.b64encode(b"\xff\xd8" + app0 + sof0 + b"\xff\xd9").decode()


def image(data: str | None = None, media_type: str = "image/png") -> dict[str, Any]:
    if data is None:
        return {"type": "image", "source": {"type": "url", "url": "https://example.com/a.png"}}
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def blocks(*content: dict[str, Any]) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": list(content)}]}


TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {
                "type": "string",
                "description": "The city and state, e.g. San Francisco, CA",
            }
        },
        "required": ["location"],
    },
}

TEXT = {"type": "text", "text": "Describe this."}


def with_(req: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**req, **fields}


def tool_use(**input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": "toolu_1", "name": "Write", "input": input}


def tool_result(content: Any) -> dict[str, Any]:
    return {"type": "tool_result", "tool_use_id": "toolu_1", "content": content}


def document(**source: Any) -> dict[str, Any]:
    return {"type": "document", "source": source}


HI = user("hi")
TWO_TURNS = {
    "model": "m",
    "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "Hello! How can I help?"},
    ],
}
SCHEMA_OUTPUT = {"format": {"type": "json_schema", "schema": TOOL["input_schema"]}}
SEARCH_RESULT = {"type": "search_result", "source": "https://x", "title": "T",
                 "content": [{"type": "text", "text": PROSE}]}  # fmt: skip

# (case, smaller request, larger request, least difference)
MORE_IS_MORE = [
    ("more text", user("hello world " * 10), user("hello world " * 100), 150),
    ("a second message", HI, TWO_TURNS, 8),
    ("system prompt", HI, with_(HI, system="You are a careful senior engineer. " * 20), 100),
    ("system text blocks", HI, with_(HI, system=[{"type": "text", "text": "Be brief. " * 9}]), 30),
    ("tools", HI, with_(HI, tools=[TOOL]), tokens.TOOLS_SYSTEM_PROMPT + 30),
    ("a second tool", with_(HI, tools=[TOOL]), with_(HI, tools=[TOOL, {**TOOL, "name": "t2"}]), 40),
    ("image, size unknown", blocks(TEXT), blocks(TEXT, image()), tokens.IMAGE_TOKENS_UNKNOWN),
    ("tool_use input", blocks(tool_use()), blocks(tool_use(path="/a.py", content=PYTHON)), 200),
    ("tool_result string", blocks(tool_result("")), blocks(tool_result(PROSE)), 150),
    ("tool_result blocks", blocks(tool_result([])),
     blocks(tool_result([{"type": "text", "text": PROSE}, image()])), 150 + 1600),
    ("thinking", blocks(TEXT), blocks({"type": "thinking", "thinking": PROSE}, TEXT), 150),
    ("text document", blocks(TEXT), blocks(document(type="text", data=PROSE), TEXT), 150),
    ("PDF by URL", blocks(TEXT), blocks(document(type="url", url="https://x/a.pdf"), TEXT),
     tokens.PDF_PAGE_TOKENS),
    ("structured output schema", HI, with_(HI, output_config=SCHEMA_OUTPUT), 20),
    ("unknown block kind, counted as JSON", blocks(TEXT), blocks(TEXT, SEARCH_RESULT), 150),
    ("Chinese text", user("你好"), user(CHINESE), 200),
]  # fmt: skip


@pytest.mark.parametrize("case,small,large,least", MORE_IS_MORE, ids=[r[0] for r in MORE_IS_MORE])
def test_more_content_means_more_tokens(case, small, large, least):
    assert estimate_input_tokens(large) - estimate_input_tokens(small) >= least


# (case, image data, expected image tokens): width * height / 750, longest edge scaled to
# 1,568 px, at most 1,600; unreadable or unknown → 1,600.
IMAGES = [
    ("PNG 200x100", png(200, 100), 27),
    ("PNG 1092x1092, the documented ~1,600 example", png(1092, 1092), 1590),
    ("PNG 4000x3000, scaled down and capped", png(4000, 3000), 1600),
    ("PNG 3000x200, long edge scaled to 1,568", png(3000, 200), 219),
    ("JPEG 640x480", jpeg(640, 480), 410),
    ("not an image", base64.b64encode(b"hello, not an image").decode(), 1600),
    ("URL image", None, 1600),
]


@pytest.mark.parametrize("case,data,expected", IMAGES, ids=[r[0] for r in IMAGES])
def test_images_cost_their_area(case, data, expected):
    with_image = estimate_input_tokens(blocks(TEXT, image(data)))
    without = estimate_input_tokens(blocks(TEXT))
    assert with_image - without == expected + tokens.BLOCK_OVERHEAD


def test_pdf_pages_are_counted_from_the_page_objects():
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Pages /Count 3 >> endobj\n" + 3 * (
        b"2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n"
    )
    doc = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                          "data": base64.b64encode(pdf).decode()}}  # fmt: skip
    assert estimate_input_tokens(blocks(doc)) - estimate_input_tokens(blocks()) == (
        3 * tokens.PDF_PAGE_TOKENS + tokens.BLOCK_OVERHEAD
    )


GUIDE_SYSTEM_EXAMPLE = with_(user("Hello, Claude"), system="You are a scientist")
GUIDE_TOOL_EXAMPLE = with_(user("What's the weather like in San Francisco?"), tools=[TOOL])
MALFORMED = {"messages": [None, {"role": "user"}, {"content": [1, None]}]}

# (case, request, lowest, highest)
SMALL = [
    ("empty request", {}, 1, 10),
    ("no messages", {"model": "m", "messages": []}, 1, 10),
    ("one short message", user("Hello, Claude"), 5, 15),
    # Anthropic's token-counting guide: this request counts 14 on Claude.
    ("the guide's system example", GUIDE_SYSTEM_EXAMPLE, 10, 20),
    # Anthropic's token-counting guide: this request counts 403 on Claude.
    ("the guide's tool example", GUIDE_TOOL_EXAMPLE, 390, 440),
    ("malformed pieces are skipped, not fatal", MALFORMED, 1, 20),
]


@pytest.mark.parametrize("case,req,lowest,highest", SMALL, ids=[r[0] for r in SMALL])
def test_small_requests_are_small_but_never_zero(case, req, lowest, highest):
    assert lowest <= estimate_input_tokens(req) <= highest


# (text, lowest, highest): the text estimate on its own
TEXTS = [
    ("", 0, 0),
    ("hello", 1, 1),
    ("Hello, world!", 3, 5),
    ("internationalization", 2, 3),
    ("getUserName", 3, 4),
    ("1234567", 3, 4),
    ("中文测试", 4, 5),
]


@pytest.mark.parametrize("text,lowest,highest", TEXTS, ids=[repr(t[0]) for t in TEXTS])
def test_text_pieces(text, lowest, highest):
    assert lowest <= estimate_text_tokens(text) <= highest


def test_the_request_is_not_mutated():
    req = fixture_body("02_messages_turn2_tool_result_stream")
    before = json.dumps(req, sort_keys=True)
    estimate_input_tokens(req)
    assert json.dumps(req, sort_keys=True) == before
