#!/usr/bin/env bash
# Runs dpt-bench (arguments passed on), shows its output, and records its training-step
# throughput (line "(a)": images/s of one core) in build/throughput.txt, which
# `dpt-sweep expand` reads to estimate a sweep's core-hours (src/sweep/estimate.h).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${DPT_THROUGHPUT:-build/throughput.txt}
log=$(mktemp)
trap 'rm -f "$log" "$out.tmp"' EXIT
./bin/dpt-bench "$@" | tee "$log"
ips=$(awk '/^\(a\) training step/ { getline; for (i = 1; i < NF; i++) if ($(i + 1) == "images/s") print $i }' "$log")
[ -n "$ips" ] || { echo "bench/throughput.sh: no images/s in dpt-bench's output" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
{
  echo "# training images/s of one core: dpt-bench's step ($(head -1 "$log" | cut -c1-120))"
  echo "# written by make bench on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "images_per_s_per_core $ips"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "recorded $ips training images/s per core in $out"
