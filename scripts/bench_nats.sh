#!/usr/bin/env bash
# NATS benchmark (not a test): requests/s and p50/p99 for bulwark.v1.sentiment with one and
# two `bulwark serve` nodes in queue group `bulwark`, beside a bare async-nats echo responder,
# in one run against one throwaway nats-server.
# Usage: bash scripts/bench_nats.sh [seconds, default 10] [concurrency, default 64]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECS="${1:-10}"
CONCURRENCY="${2:-64}"
command -v nats-server >/dev/null || { echo "nats-server is needed (apt-get install nats-server)"; exit 1; }

cargo build --quiet --release -p bulwark-services --bin bulwark -p bulwark-examples --example nats_bench
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
URL="nats://127.0.0.1:$PORT"
nats-server -js -a 127.0.0.1 -p "$PORT" -sd "$WORK/js" 2>"$WORK/nats.log" &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "Server is ready" "$WORK/nats.log" && break; sleep 0.1; done

BENCH=target/release/examples/nats_bench
node() { # name
    mkdir -p "$WORK/$1"
    printf '[nats]\nurl = "%s"\nnode_name = "%s"\n' "$URL" "$1" >"$WORK/$1.toml"
    target/release/bulwark --config "$WORK/$1.toml" serve --addr 127.0.0.1:0 \
        --data-dir "$WORK/$1" 2>"$WORK/$1.log" &
    PIDS+=($!)
    # Its subscriptions go out right after it connects (the load's warm-up covers the rest).
    for _ in $(seq 1 300); do grep -q "NATS connected" "$WORK/$1.log" && return; sleep 0.1; done
    echo "node $1 did not connect"; exit 1
}

echo "closed loop, $CONCURRENCY requesters, ${SECS}s after a 1 s warm-up, $(nproc) cores, nats-server $(nats-server --version | awk '{print $NF}')"
"$BENCH" echo "$URL" >/dev/null &
PIDS+=($!)
printf '%-10s ' "bare echo"; "$BENCH" load "$URL" bench.echo "$CONCURRENCY" "$SECS"
node one
printf '%-10s ' "1 node"; "$BENCH" load "$URL" bulwark.v1.sentiment "$CONCURRENCY" "$SECS"
node two
printf '%-10s ' "2 nodes"; "$BENCH" load "$URL" bulwark.v1.sentiment "$CONCURRENCY" "$SECS"
