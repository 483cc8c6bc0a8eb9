#!/usr/bin/env bash
# Aggregation speed: writes 1,000 run files of 150 epochs (a sweep over optimizers, batch
# sizes, workers and 10 seeds, with communication metrics) and times dpt-aggregate on them:
# a group table and a pivot, best of three. The target is under 2 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${AGG_BENCH_RUNS:-1000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
./build/run-fixture --sweep "$n" "$dir" 150
# Microseconds from bash's EPOCHREALTIME: no bc, no python.
now() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }
best() {
  local b=0 t0 t1
  for _ in 1 2 3; do
    t0=$(now); "$@" >/dev/null 2>&1 || { echo "bench: failed: $*" >&2; exit 1; }; t1=$(now)
    if [ "$b" -eq 0 ] || [ $((t1 - t0)) -lt "$b" ]; then b=$((t1 - t0)); fi
  done
  printf '%d.%03d' $((b / 1000000)) $((b / 1000 % 1000))
}
g=$(best ./bin/dpt-aggregate "$dir")
p=$(best ./bin/dpt-aggregate --rows model.optimizer --cols model.batch_size --value test_acc "$dir")
size=$(du -sh "$dir" | cut -f1)
echo "dpt-aggregate: $n run files ($size): group table ${g} s, pivot ${p} s (target < 2 s)"
