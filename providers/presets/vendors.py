"""The built-in presets: what each vendor's own documentation says about reaching it.

Each preset sets the strategy ``type``, ``base_url``, the key's usual environment variable and
only those quirks the vendor documents (or its API states in an error message, where noted),
as options of the strategy it uses (``providers/openai`` options: ``send_reasoning``,
``reasoning_field``, ``structured_output``, ``top_k``; ``providers/azure``: ``api_version``
...). The source of every value is the comment above its preset. No preset sets ``model``:
vendors rename their models faster than ccrelay is released, and a stale default would fail
every request; set ``model`` in the section (``docs/presets.md`` links each vendor's list).

How each vendor switches thinking on is documented in ``docs/presets.md``; where it is a
request field (DeepSeek ``thinking``, DashScope ``enable_thinking``, Zhipu ``thinking``),
``options.extra_body`` sends it on every request.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ccrelay.core.presets import Preset


def _p(name: str, type: str, base_url: str, api_key: str, *docs: str, description: str = "",
       **options: Any) -> Preset:  # fmt: skip
    return Preset(name=name, type=type, base_url=base_url, api_key=api_key,
                  options=MappingProxyType(options), description=description, docs=docs)  # fmt: skip


PRESETS: tuple[Preset, ...] = (
    # OpenAI: base URL and OPENAI_API_KEY from the API reference / quickstart.
    # https://platform.openai.com/docs/api-reference/introduction
    _p("openai", "openai", "https://api.openai.com/v1", "${OPENAI_API_KEY}",
       "https://platform.openai.com/docs/api-reference/introduction",
       description="OpenAI Chat Completions (set type: responses for codex-class models)"),
    # Anthropic: https://api.anthropic.com with x-api-key, ANTHROPIC_API_KEY.
    # https://docs.anthropic.com/en/api/getting-started
    _p("anthropic", "anthropic", "https://api.anthropic.com", "${ANTHROPIC_API_KEY}",
       "https://docs.anthropic.com/en/api/getting-started", description="Anthropic Messages"),
    # Gemini API: REST root https://generativelanguage.googleapis.com/v1beta, key in
    # x-goog-api-key from GEMINI_API_KEY. https://ai.google.dev/gemini-api/docs/api-key
    _p("gemini", "gemini", "https://generativelanguage.googleapis.com/v1beta", "${GEMINI_API_KEY}",
       "https://ai.google.dev/gemini-api/docs/api-key",
       "https://ai.google.dev/api/generate-content", description="Google Gemini API"),
    # xAI: OpenAI-compatible at https://api.x.ai/v1, XAI_API_KEY.
    # https://docs.x.ai/docs/overview  (xAI recommends its Responses API: type: responses)
    _p("xai", "openai", "https://api.x.ai/v1", "${XAI_API_KEY}", "https://docs.x.ai/docs/overview",
       description="xAI Grok"),
    # DeepSeek: base_url https://api.deepseek.com, DEEPSEEK_API_KEY (Your First API Call);
    # JSON Output supports only response_format {type: json_object} (JSON Output guide);
    # thinking mode requires reasoning_content back on tool-calling assistant turns
    # (Thinking Mode guide, "Tool Calls").
    _p("deepseek", "openai", "https://api.deepseek.com", "${DEEPSEEK_API_KEY}",
       "https://api-docs.deepseek.com/",
       "https://api-docs.deepseek.com/guides/json_mode",
       "https://api-docs.deepseek.com/guides/thinking_mode",
       description="DeepSeek", structured_output="json_object",
       reasoning_field="reasoning_content", send_reasoning=True),
    # OpenRouter: https://openrouter.ai/api/v1, OPENROUTER_API_KEY (Quickstart); reasoning
    # comes back as `reasoning` (Reasoning Tokens); top_k is an accepted parameter
    # (API Reference, Parameters).
    _p("openrouter", "openai", "https://openrouter.ai/api/v1", "${OPENROUTER_API_KEY}",
       "https://openrouter.ai/docs/quickstart",
       "https://openrouter.ai/docs/use-cases/reasoning-tokens",
       "https://openrouter.ai/docs/api-reference/parameters",
       description="OpenRouter", reasoning_field="reasoning", top_k=True),
    # Groq: https://api.groq.com/openai/v1 with GROQ_API_KEY (OpenAI Compatibility); fields
    # it does not support are a 400, and it answers "property 'reasoning_content' is
    # unsupported" to assistant turns that carry reasoning, so none is sent back.
    _p("groq", "openai", "https://api.groq.com/openai/v1", "${GROQ_API_KEY}",
       "https://console.groq.com/docs/openai", description="Groq", send_reasoning=False),
    # Mistral: https://api.mistral.ai/v1, MISTRAL_API_KEY.
    # https://docs.mistral.ai/api/  (tool call ids must be 9 alphanumerics: see docs/presets.md)
    _p("mistral", "openai", "https://api.mistral.ai/v1", "${MISTRAL_API_KEY}",
       "https://docs.mistral.ai/api/", description="Mistral AI"),
    # Moonshot (Kimi): https://api.moonshot.ai/v1 (api.moonshot.cn in China), MOONSHOT_API_KEY;
    # thinking models need reasoning_content on tool-call messages ("thinking is enabled but
    # reasoning_content is missing in assistant tool call message").
    # https://platform.moonshot.ai/docs/guide/use-kimi-k2-thinking-model
    _p("moonshot", "openai", "https://api.moonshot.ai/v1", "${MOONSHOT_API_KEY}",
       "https://platform.moonshot.ai/docs/guide/use-kimi-k2-thinking-model",
       description="Moonshot Kimi", send_reasoning=True),
    # Alibaba Model Studio (DashScope): OpenAI-compatible mode, international endpoint
    # https://dashscope-intl.aliyuncs.com/compatible-mode/v1 (dashscope.aliyuncs.com in China),
    # DASHSCOPE_API_KEY; top_k is accepted; thinking via enable_thinking.
    # https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope
    # https://www.alibabacloud.com/help/en/model-studio/deep-thinking
    _p("dashscope", "openai", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
       "${DASHSCOPE_API_KEY}",
       "https://www.alibabacloud.com/help/en/model-studio/compatibility-of-openai-with-dashscope",
       "https://www.alibabacloud.com/help/en/model-studio/deep-thinking",
       description="Alibaba Model Studio (Qwen)", top_k=True),
    # Zhipu BigModel (GLM): https://open.bigmodel.cn/api/paas/v4, ZHIPUAI_API_KEY (official
    # SDK); thinking via thinking: {type: enabled|disabled}.
    # https://docs.bigmodel.cn/cn/guide/develop/openai/introduction
    _p("zhipu", "openai", "https://open.bigmodel.cn/api/paas/v4", "${ZHIPUAI_API_KEY}",
       "https://docs.bigmodel.cn/cn/guide/develop/openai/introduction",
       description="Zhipu GLM"),
    # MiniMax: https://api.minimax.io/v1 (api.minimaxi.com in China). Multi-turn tool use must
    # keep the whole assistant message, <think> content included, which ccrelay's text does.
    # https://platform.minimax.io/docs/api-reference/text-openai-api
    _p("minimax", "openai", "https://api.minimax.io/v1", "${MINIMAX_API_KEY}",
       "https://platform.minimax.io/docs/api-reference/text-openai-api", description="MiniMax"),
    # Together AI: https://api.together.xyz/v1, TOGETHER_API_KEY; top_k accepted.
    # https://docs.together.ai/docs/openai-api-compatibility
    _p("together", "openai", "https://api.together.xyz/v1", "${TOGETHER_API_KEY}",
       "https://docs.together.ai/docs/openai-api-compatibility",
       description="Together AI", top_k=True),
    # Fireworks AI: https://api.fireworks.ai/inference/v1, FIREWORKS_API_KEY; top_k accepted.
    # https://docs.fireworks.ai/tools-sdks/openai-compatibility
    _p("fireworks", "openai", "https://api.fireworks.ai/inference/v1", "${FIREWORKS_API_KEY}",
       "https://docs.fireworks.ai/tools-sdks/openai-compatibility",
       description="Fireworks AI", top_k=True),
    # Cerebras: https://api.cerebras.ai/v1, CEREBRAS_API_KEY (OpenAI Compatibility); it answers
    # "property 'messages.N.assistant.reasoning_content' is unsupported", so none is sent back.
    # https://inference-docs.cerebras.ai/resources/openai
    _p("cerebras", "openai", "https://api.cerebras.ai/v1", "${CEREBRAS_API_KEY}",
       "https://inference-docs.cerebras.ai/resources/openai", description="Cerebras",
       send_reasoning=False),
    # vLLM: `vllm serve` listens on port 8000 under /v1; the key is optional (--api-key or
    # VLLM_API_KEY); top_k is one of its extra sampling parameters.
    # https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html
    _p("vllm", "openai", "http://localhost:8000/v1", "${VLLM_API_KEY:-}",
       "https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html",
       description="vLLM server", top_k=True),
    # LM Studio: local server on port 1234 under /v1, no key unless authentication is turned on.
    # https://lmstudio.ai/docs/api/openai-api
    _p("lmstudio", "openai", "http://localhost:1234/v1", "",
       "https://lmstudio.ai/docs/api/openai-api", description="LM Studio local server"),
    # Ollama: native API at http://localhost:11434; no key locally (OLLAMA_API_KEY for
    # ollama.com). https://docs.ollama.com/api
    _p("ollama", "ollama", "http://localhost:11434", "${OLLAMA_API_KEY:-}",
       "https://docs.ollama.com/api", description="Ollama (native API)"),
    # Azure OpenAI: endpoint and key in AZURE_OPENAI_ENDPOINT / AZURE_OPENAI_API_KEY, the
    # variables the openai SDK's Azure client reads; deployment URLs with api-version.
    # https://learn.microsoft.com/azure/ai-foundry/openai/reference
    # https://github.com/openai/openai-python/blob/main/README.md#microsoft-azure-openai
    _p("azure", "azure", "${AZURE_OPENAI_ENDPOINT}", "${AZURE_OPENAI_API_KEY}",
       "https://learn.microsoft.com/azure/ai-foundry/openai/reference",
       "https://github.com/openai/openai-python/blob/main/README.md#microsoft-azure-openai",
       description="Azure OpenAI (set model to the deployment name)"),
)  # fmt: skip
