#!/usr/bin/env bash
# Runs schemathesis against a real `bulwark serve`: every operation of /openapi.json, with
# schemathesis' conformance checks plus our own (scripts/schemathesis_hooks.py: every non-2xx body
# is the standard error JSON with the response's correlation ID). Bounded in time.
# Usage: bash scripts/schemathesis.sh [path/to/bulwark]   (default: builds target/debug/bulwark)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN="${1:-}"
if [ -z "$BIN" ]; then
    cargo build --quiet -p bulwark-services --bin bulwark
    BIN="target/debug/bulwark"
fi

# Debian's Python is externally managed: schemathesis lives in a venv under target/.
VENV="target/schemathesis-venv"
if [ ! -x "$VENV/bin/schemathesis" ]; then
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        echo "installing: python3-venv"
        sudo=()
        if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
        "${sudo[@]}" apt-get update -qq
        DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends python3-venv
        rm -rf "$VENV"
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install --quiet "schemathesis>=4.32,<5"
fi

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
# The fuzzer is one client sending fast: lift the per-client rate so it tests the routes, not
# the limiter (the limiter has its own tests).
cat >"$WORK/bulwark.toml" <<TOML
[server.rate_limit]
enabled = false
TOML
"$BIN" serve --config "$WORK/bulwark.toml" --addr "127.0.0.1:$PORT" --data-dir "$WORK/data" \
    --log-format json 2>"$WORK/serve.log" &
SERVER=$!
cleanup() {
    kill "$SERVER" 2>/dev/null || true
    wait "$SERVER" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

status=0
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH=scripts \
    timeout 300 "$VENV/bin/schemathesis" --config-file scripts/schemathesis.toml run "http://127.0.0.1:$PORT/openapi.json" \
    --wait-for-schema 60 \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance,standard_error_format \
    --max-examples 40 \
    --seed 1 \
    --no-color || status=$?
if [ "$status" -ne 0 ]; then
    echo "schemathesis failed; the server's log:" >&2
    grep -v "\"level\":\"INFO\"" "$WORK/serve.log" | tail -n 20 >&2
fi
exit "$status"
