#!/usr/bin/env bash
# Builds the relay (Release) and runs it. Without arguments it serves on the embedded
# defaults (127.0.0.1:8080, spool under ./var); arguments go to the binary, e.g.
#   scripts/run.sh serve --config config/relay.example.yaml
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DLSR_BUILD_TESTS=OFF -DLSR_BUILD_BENCH=OFF >/dev/null
cmake --build build-release -j"$(nproc)" --target looker-segment-relay
if [ "$#" -eq 0 ]; then set -- serve; fi
exec ./build-release/app/looker-segment-relay "$@"
