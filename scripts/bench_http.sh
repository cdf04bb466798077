#!/usr/bin/env bash
# HTTP benchmark (not a test): wrk against the same handlers served bare by axum and through
# Bulwark's whole gateway, in one run. Prints req/s and p99 per route and the ratio.
#
# The machine's own throughput drifts by ±20 % within a minute (a shared VM), so one run of each
# server back to back compares different machine states. The servers are measured in rounds
# instead, bare → server → bulwark in every round, and the summary is the median of the rounds'
# ratios.
# Usage: bash scripts/bench_http.sh [duration per run, default 5s] [connections, default 64]
#        [rounds, default 7]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

DURATION="${1:-5s}"
CONNECTIONS="${2:-64}"
ROUNDS="${3:-7}"
if ! command -v wrk >/dev/null 2>&1; then
    echo "installing: wrk"
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends wrk
fi

cargo build --quiet --release -p bulwark-examples --example http_bench
OUT="$(mktemp)"
target/release/examples/http_bench 127.0.0.1:0 127.0.0.1:0 >"$OUT" 2>/dev/null &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -f "$OUT"' EXIT
for _ in $(seq 1 100); do
    grep -q "bulwark=" "$OUT" && break
    sleep 0.1
done
BARE="$(sed -n 's/.*bare=\([^ ]*\).*/\1/p' "$OUT")"
BULWARK="$(sed -n 's/.*bulwark=\([^ ]*\).*/\1/p' "$OUT")"
SERVER_ONLY="$(sed -n 's/.*server_only=\([^ ]*\).*/\1/p' "$OUT")"

run() { # name url -> "req/s p99"
    local text rps p99
    text="$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$2")"
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$text")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$text")"
    printf '%-8s %-9s %12s req/s   p99 %s\n' "$1" "$3" "$rps" "$p99" >&2
    echo "$rps"
}

median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "wrk -t2 -c$CONNECTIONS -d$DURATION, $ROUNDS rounds, same process, same handlers" >&2
for route in /livez /guarded; do
    server_ratios=()
    bulwark_ratios=()
    for round in $(seq 1 "$ROUNDS"); do
        echo "round $round" >&2
        bare="$(run bare "http://$BARE$route" "$route")"
        server="$(run server "http://$SERVER_ONLY$route" "$route")"
        full="$(run bulwark "http://$BULWARK$route" "$route")"
        server_ratios+=("$(awk -v s="$server" -v b="$bare" 'BEGIN {printf "%.3f", s / b}')")
        bulwark_ratios+=("$(awk -v f="$full" -v b="$bare" 'BEGIN {printf "%.3f", f / b}')")
    done
    printf '%-9s bulwark/bare per round: %s\n' "$route" "${bulwark_ratios[*]}" >&2
    printf '%-9s median server/bare = %.2f   median bulwark/bare = %.2f\n' "$route" \
        "$(printf '%s\n' "${server_ratios[@]}" | median)" \
        "$(printf '%s\n' "${bulwark_ratios[@]}" | median)" >&2
done
