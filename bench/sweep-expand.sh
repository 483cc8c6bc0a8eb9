#!/usr/bin/env bash
# make bench: time `dpt-sweep expand` of a 10,000-task spec (sweeps/bench-10k.yaml), which
# validates and resolves every task's config and writes 10,000 configs, the manifest and
# the array scripts. Target: under 2 seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d "${TMPDIR:-/tmp}/dpt-bench-sweep.XXXXXX")
trap 'rm -rf "$out"' EXIT
t0=$(date +%s.%N)
./bin/dpt-sweep expand sweeps/bench-10k.yaml -o "$out/sw" >/dev/null
t1=$(date +%s.%N)
n=$(grep -vc '^#' "$out/sw/manifest.tsv")
awk -v a="$t0" -v b="$t1" -v n="$((n - 1))" 'BEGIN {
  printf "dpt-sweep expand: %d tasks in %.2f s (target < 2 s)\n", n, b - a }'
