#!/usr/bin/env bash
# Builds everything and runs every test: unit (Catch2), integration (the real binary
# against stand-in Segment and Looker servers on 127.0.0.1) and, with --sanitize, the same
# under AddressSanitizer + UndefinedBehaviorSanitizer built with clang, plus the fuzzers;
# with --tsan, the unit and integration tests under ThreadSanitizer (clang).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

mode=${1:-}
# ccache, where installed, makes rebuilds of unchanged files cheap; the build does not need it.
if command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
fi
jobs=$(nproc)
if [ "$mode" = "--sanitize" ]; then
  dir=build-asan
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DLSR_SANITIZE=ON -DLSR_BUILD_FUZZ=ON -DLSR_BUILD_BENCH=OFF -DLSR_FUZZ_SECONDS="${LSR_FUZZ_SECONDS:-20}" >/dev/null
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  export LSR_SANITIZED=1
  export LSR_OVERLOAD_SECONDS=${LSR_OVERLOAD_SECONDS:-20}  # the full 60 s figures come from the plain run
elif [ "$mode" = "--tsan" ]; then
  dir=build-tsan
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DLSR_TSAN=ON -DLSR_BUILD_BENCH=OFF >/dev/null
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/cmake/tsan.suppressions"
  export LSR_SANITIZED=1
  export LSR_OVERLOAD_SECONDS=${LSR_OVERLOAD_SECONDS:-20}
elif [ -n "$mode" ]; then
  echo "usage: $0 [--sanitize|--tsan]" >&2
  exit 2
else
  dir=build
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$dir" -j"$jobs"
cd "$dir"
ctest --output-on-failure -j"$jobs" --timeout 900
