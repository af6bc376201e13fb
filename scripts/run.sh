#!/usr/bin/env bash
# Installs what is missing, builds the release preset and starts the gateway on its embedded default
# config: 127.0.0.1:8080, shadow mode (what the `mixpanel` vendor would receive goes to
# ./vendorguard-data/outbox/mixpanel.jsonl). Extra arguments go to `vendorguard serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target vendorguard
exec ./build/release/src/vendorguard serve "$@"
