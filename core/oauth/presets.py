"""OAuth presets shipped with ccrelay: where a subscription logs in, as plain data.

A provider with ``auth: oauth`` takes its endpoints from ``oauth.preset`` (or, without one, the
preset made for its strategy) and may override any field in its ``oauth`` section. What the
requests made with such a token must carry (headers, beta flags, a system prompt prefix) is
the upstream protocol's business and lives in that strategy (``providers/anthropic/``).
"""

from __future__ import annotations

from types import MappingProxyType

from ccrelay.core.oauth.spec import OAuthSpec

# Claude Pro/Max subscription (the login Claude Code itself uses). Learned from public client
# code, nothing copied:
# - the @anthropic-ai/claude-code npm package, version 2.1.197 (its bundled CLI): CLIENT_ID,
#   CLAUDE_AI_AUTHORIZE_URL, TOKEN_URL and MANUAL_REDIRECT_URL, the authorize URL it builds
#   (``code=true``, PKCE S256, ``state``), and token requests sent as JSON bodies with the
#   ``state`` beside the code;
# - github.com/anomalyco/opencode-anthropic-auth (was sst/opencode-anthropic-auth), index.mjs:
#   the same client id and flow ("Claude Pro/Max" method), the pasted ``code#state`` form, and
#   refresh requests without a scope;
# - the scopes: ``user:inference`` (what a relay needs) and ``user:profile``, present in every
#   public client's set; ``org:create_api_key`` is left out because ccrelay creates no keys.
CLAUDE = OAuthSpec(
    preset="claude",
    authorize_url="https://claude.com/cai/oauth/authorize",
    token_url="https://platform.claude.com/v1/oauth/token",
    client_id="9d1c250a-e61b-44d9-88ed-5944d1962f5e",
    redirect_uri="https://platform.claude.com/oauth/code/callback",
    scopes=("user:profile", "user:inference"),
    authorize_params=MappingProxyType({"code": "true"}),
    token_body="json",
    strategy="anthropic",
)

#: every shipped preset by name
PRESETS: dict[str, OAuthSpec] = {CLAUDE.preset: CLAUDE}


def preset_for_strategy(strategy: str) -> OAuthSpec | None:
    """The preset made for a strategy (``anthropic`` -> the Claude subscription), if any."""
    for spec in PRESETS.values():
        if spec.strategy == strategy:
            return spec
    return None
