#!/usr/bin/env bash
# Installs the Debian packages that only the benchmarks need (on top of scripts/setup.sh): wrk, the HTTP
# load generator, and nginx-light, the plain relay that bench/http_bench.sh compares the gateway with;
# sqlite3 and clickhouse-server/clickhouse-client (Debian's 18.16), the baselines that
# bench/ledger_compare.sh runs the ledger's `who` query against. apt only, nothing else is downloaded.
# Idempotent: packages already present are not reinstalled. No service is enabled or started (the
# benchmarks run nginx and clickhouse-server from generated configs in temp dirs).
set -euo pipefail

packages=(wrk nginx-light sqlite3 libsqlite3-dev clickhouse-server clickhouse-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-bench: installing ${missing[*]}"
  $SUDO apt-get update -qq
  # policy-rc.d exit 101: do not let the packages' postinst start the system nginx or clickhouse service.
  policy=/usr/sbin/policy-rc.d
  created_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    created_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" || {
    [ "$created_policy" = 1 ] && $SUDO rm -f "$policy"
    exit 1
  }
  [ "$created_policy" = 1 ] && $SUDO rm -f "$policy"
fi
exit 0
