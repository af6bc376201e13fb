#!/usr/bin/env bash
# Installs the Debian packages that only the benchmarks need (on top of scripts/setup.sh): wrk, the HTTP
# load generator, and nginx-light, the plain relay that bench/http_bench.sh compares the gateway with.
# Idempotent: packages already present are not reinstalled. No service is enabled or started (the
# benchmark runs nginx from a generated config in a temp dir).
set -euo pipefail

packages=(wrk nginx-light)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-bench: installing ${missing[*]}"
  $SUDO apt-get update -qq
  # policy-rc.d exit 101: do not let the package's postinst start the system nginx service.
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
