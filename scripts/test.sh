#!/usr/bin/env bash
# The whole test suite: installs missing system packages, then tests, doc tests and docs.
# Usage: bash scripts/test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# System packages the tests need, as "binary:debian-package" pairs. Later suites add theirs here
# (e.g. "nats-server:nats-server" "promtool:prometheus").
REQUIRED_TOOLS=("promtool:prometheus" "chromium:chromium" "nats-server:nats-server")

# Installs, with apt-get, the package of every listed binary that is not on PATH.
ensure_tools() {
    local missing=() entry binary package
    for entry in "$@"; do
        binary="${entry%%:*}"
        package="${entry#*:}"
        if ! command -v "$binary" >/dev/null 2>&1; then
            missing+=("$package")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    echo "installing: ${missing[*]}"
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

if [ "${#REQUIRED_TOOLS[@]}" -gt 0 ]; then
    ensure_tools "${REQUIRED_TOOLS[@]}"
fi

# Operations kit (deploy/, docs/runbooks/): promtool checks the Prometheus rules and runs their unit
# tests; check_deploy.py checks the Grafana dashboard (its queries parsed by promtool), the
# Kubernetes manifest and that every alert has a tested rule and a runbook page. It needs PyYAML.
# (Not deploy/prometheus/*.yml: alerts_test.yml beside the rules is a test file, not a rule file.)
promtool check rules deploy/prometheus/rules.yml deploy/prometheus/alerts.yml
promtool test rules deploy/prometheus/alerts_test.yml
if ! python3 -c 'import yaml' >/dev/null 2>&1; then
    python3 -m pip install --quiet pyyaml
fi
python3 scripts/check_deploy.py

# Auth pipeline (issue 12): the PostgreSQL tests start throwaway clusters with initdb and pg_ctl
# from Debian's `postgresql` package, whose server binaries are not on PATH
# (/usr/lib/postgresql/<major>/bin); install it when no initdb is there.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    echo "installing: postgresql"
    pg_sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        pg_sudo=(sudo)
    fi
    "${pg_sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${pg_sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql
fi

cargo test --workspace --all-targets
# The API contract: schemathesis against a real `bulwark serve` (the binary the tests just built).
bash scripts/schemathesis.sh target/debug/bulwark
# Chaos (issue 14): every built-in scenario, shortened to 12 s, through the binary the tests just
# built, one after the other (they measure latency: never beside other tests). `bulwark chaos`
# exits non-zero when a scenario breaks an SLO, which fails this script.
for scenario in upstream-errors upstream-hang latency-spike actor-panics store-outage overload crash-restart; do
    target/debug/bulwark chaos --scenario "$scenario" --duration 12s
done
cargo test --workspace --doc
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
