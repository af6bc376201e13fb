#!/usr/bin/env bash
# Installs what is missing, builds the debug preset (ASan + UBSan, with the fuzz targets) and runs every
# test with ctest: unit tests, CLI tests, the end-to-end tests with the official SDKs, and the fuzzer.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset debug >/dev/null
cmake --build --preset debug
ctest --preset debug -j2 "$@"
