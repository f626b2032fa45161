#!/bin/bash
# Claude Code, Codex, Gemini CLI and Qwen Code through ccrelay, each asked to create hello.txt,
# against the scripted model (no vendor, no key). Not part of the test run.
#
#   npm install --prefix /tmp/clients @anthropic-ai/claude-code @openai/codex \
#       @google/gemini-cli @qwen-code/qwen-code
#   unshare -n tests/manual/real_clients.sh            # loopback only
#   BACKEND=anthropic unshare -n tests/manual/real_clients.sh
#
# BACKEND picks the strategy ccrelay uses for the scripted model (openai or anthropic); each
# client is pointed at ccrelay with `ccrelay env`, as a user would. Prints one line per client
# (exit status, hello.txt's content) and the token log's dialects. CLIENTS=/path/node_modules.
set -u
ip link set lo up 2>/dev/null
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=$ROOT/.venv/bin/python
CCRELAY=$ROOT/.venv/bin/ccrelay
BIN=${CLIENTS:-/tmp/clients/node_modules}/.bin
BACKEND=${BACKEND:-openai}
WORK=$(mktemp -d)
SUFFIX=/v1
[ "$BACKEND" = anthropic ] && SUFFIX=
cat > "$WORK/config.yaml" <<YAML
server: {host: 127.0.0.1, port: 8080}
provider: {name: scripted}
providers:
  scripted: {type: $BACKEND, base_url: "http://127.0.0.1:9101$SUFFIX", api_key: none, model: scripted-1}
logging: {dir: $WORK/logs}
YAML
(cd "$ROOT" && exec "$PY" -m tests.manual.scripted_model --port 9101 --workdir "$WORK/out") \
    > "$WORK/model.log" 2>&1 &
MODEL=$!
"$CCRELAY" --config "$WORK/config.yaml" > "$WORK/relay.log" 2>&1 &
RELAY=$!
trap 'kill $MODEL $RELAY 2>/dev/null' EXIT
sleep 3
export CCRELAY_CONFIG=$WORK/config.yaml
PROMPT="Create hello.txt containing hi"

try() {  # NAME: runs NAME_client in an empty folder with a fresh HOME
    rm -rf "$WORK/out" && mkdir -p "$WORK/out" && cd "$WORK/out" || return
    export HOME=$(mktemp -d)
    "$1"_client > "$WORK/$1.out" 2>&1
    echo "$1 exit=$? hello.txt=$(cat "$WORK/out/hello.txt" 2>/dev/null)"
}
claude_client() {
    eval "$("$CCRELAY" env claude)"
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_TELEMETRY=1 DISABLE_AUTOUPDATER=1 \
        DISABLE_ERROR_REPORTING=1 IS_SANDBOX=1 timeout 180 "$BIN/claude" -p "$PROMPT" \
        --dangerously-skip-permissions --output-format json
}
codex_client() {
    mkdir -p "$HOME/.codex" && "$CCRELAY" env codex --toml > "$HOME/.codex/config.toml"
    eval "$("$CCRELAY" env codex)"
    timeout 180 "$BIN/codex" exec --skip-git-repo-check \
        --dangerously-bypass-approvals-and-sandbox "$PROMPT"
}
gemini_client() {
    mkdir -p "$HOME/.gemini"
    echo '{"security": {"auth": {"selectedType": "gemini-api-key"}}}' > "$HOME/.gemini/settings.json"
    eval "$("$CCRELAY" env gemini)"
    GEMINI_CLI_TRUST_WORKSPACE=true timeout 180 "$BIN/gemini" -p "$PROMPT" --yolo
}
qwen_client() {
    eval "$("$CCRELAY" env qwen)"
    timeout 180 "$BIN/qwen" -p "$PROMPT" --yolo
}
for client in claude codex gemini qwen; do try $client; done
echo "outputs in $WORK; requests by dialect:"
grep -ho "dialect=[a-z_]*" "$WORK"/logs/proxy_*.log | sort | uniq -c
