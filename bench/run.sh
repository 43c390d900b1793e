#!/usr/bin/env bash
# Builds the benchmarks and runs them all in one go, each figure printed beside the machine's
# own limit measured in the same run (so the ratios hold on any machine):
#   mapping_bench     the core's rows/s beside RapidJSON's raw parse of the same bytes
#   gzip_bench        the relay's gzip of real batch bodies beside zlib level 1 on the same bodies
#   e2e_bench.py      pushed and download_url executes through the real relay: CPU-s, system
#                     calls, peak RSS and page faults per 1,000,000 rows, beside a plain
#                     socket-to-file copy of the same bytes
#   sync_bench.py     cohort sync: a schedule run twice, the second run's answer time beside a
#                     plain `all` run of the same rows, and the relay's peak RSS
#
#   bench/run.sh [--quick]        (--quick: 100,000 rows instead of 1,000,000)
#
# Installs what it needs (scripts/install-deps.sh, strace included), then uses build/
# (BUILD_DIR=... for another), configured like the README's build command if it does not exist.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
rows=1000000
if [ "${1:-}" = "--quick" ]; then
  rows=100000
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--quick]" >&2
  exit 2
fi
build=${BUILD_DIR:-build}
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
elif grep -q '^LSR_BUILD_BENCH:BOOL=OFF' "$build/CMakeCache.txt"; then
  cmake -S . -B "$build" -DLSR_BUILD_BENCH=ON >/dev/null
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! cmake --build "$build" -j"$(nproc)" --target looker-segment-relay mapping_bench gzip_bench copy_limit_bench \
  >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(nproc) cores"
echo
echo "## core: mapping_bench $rows (standard), beside RapidJSON's raw parse"
"$build/bench/mapping_bench" "$rows"
echo
echo "## core: mapping_bench $rows hub, beside RapidJSON's raw parse"
"$build/bench/mapping_bench" "$rows" hub
echo
echo "## gzip of batch bodies: the relay's compression beside zlib level 1"
"$build/bench/gzip_bench" --rows "$rows"
echo
echo "## end to end: $rows rows, chunked 16384, pushed and download_url, beside a plain socket-to-file copy"
syscalls=strace
command -v strace >/dev/null 2>&1 || syscalls=off
python3 bench/e2e_bench.py --binary "$build/app/looker-segment-relay" --rows "$rows" --chunked 16384 \
  --source push,download --full --syscalls "$syscalls"
echo
echo "## cohort sync: $rows rows run twice in audience mode (1% changed, 0.1% new, 0.1% gone), beside a plain all run"
python3 bench/sync_bench.py --binary "$build/app/looker-segment-relay" --rows "$rows"
