#!/usr/bin/env bash
# Runs dpt-bench on the seed's LeNet (arguments passed on) and on ResNet-20, shows their
# output, and records each training-step throughput (line "(a)": images/s of one core) in
# build/throughput.txt, which `dpt-sweep expand` reads to estimate a sweep's core-hours per
# model (src/sweep/estimate.h): "images_per_s_per_core V" for LeNet and
# "images_per_s_per_core.ResNet20 V" (deeper ResNets are scaled from it by depth).
# Where /usr/bin/python3 has PyTorch, it then times the same two steps in PyTorch
# (bench/torch_step.py: batch 64, one thread, its best allocator settings) in paired
# rounds, each dpt's step (dpt-bench --step-only) then PyTorch's in the same minute
# (DPT_BENCH_ROUNDS, default 3, a model), and prints each round's ratio and their median:
# on a shared host one round's ratio can be off by a quarter. Without PyTorch it says so
# and goes on.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${DPT_THROUGHPUT:-build/throughput.txt}
# checked before any timing, so a bad value costs nothing
rounds=${DPT_BENCH_ROUNDS:-3}
case $rounds in '' | *[!0-9]* | 0) echo "bench/throughput.sh: DPT_BENCH_ROUNDS must be a positive integer, not '$rounds'" >&2; exit 2 ;; esac
log=$(mktemp)
rlog=$(mktemp)
trap 'rm -f "$log" "$rlog" "$out.tmp"' EXIT
# The images/s of the "(a) training step" block of dpt-bench's output in file $1.
step_ips() {
  awk '/^\(a\) training step/ { getline; for (i = 1; i < NF; i++) if ($(i + 1) == "images/s") print $i }' "$1"
}
./bin/dpt-bench "$@" | tee "$log"
./bin/dpt-bench -m ResNet20 --sgemm 0 | tee "$rlog" | sed -n '1,/^(e)/p' | sed '$d'
ips=$(step_ips "$log")
rips=$(step_ips "$rlog")
[ -n "$ips" ] && [ -n "$rips" ] || { echo "bench/throughput.sh: no images/s in dpt-bench's output" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
{
  echo "# training images/s of one core: dpt-bench's step ($(head -1 "$log" | cut -c1-120))"
  echo "# written by make bench on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "images_per_s_per_core $ips"
  echo "images_per_s_per_core.ResNet20 $rips"
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "recorded $ips (LeNet) and $rips (ResNet20) training images/s per core in $out"

# PyTorch's figure for the same steps, from the same machine in the same minutes.
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import torch' 2>/dev/null; then
  echo "PyTorch: not measured ($py cannot import torch; Debian's python3-torch provides it)"
  exit 0
fi
tlog=$(mktemp)
trap 'rm -f "$log" "$rlog" "$out.tmp" "$tlog"' EXIT
echo
echo "dpt and PyTorch $("$py" -c 'import torch; print(torch.__version__)'), paired: $rounds rounds a model, each dpt's step then PyTorch's"
printf '%-10s %6s %12s %12s %10s\n' model round "dpt img/s" "torch img/s" "dpt/torch"
for m in LeNet ResNet20; do
  ratios=()
  for r in $(seq 1 "$rounds"); do
    ./bin/dpt-bench -m "$m" --sgemm 0 --step-only -s 3 >"$tlog"
    d=$(step_ips "$tlog")
    "$py" bench/torch_step.py --model "$m" --seconds 3 >"$tlog"
    t=$(awk -v m="$m:" '$3 == m { print $(NF - 1) }' "$tlog")
    [ -n "$d" ] && [ -n "$t" ] || { echo "bench/throughput.sh: no images/s for $m in round $r" >&2; exit 1; }
    ratio=$(awk -v d="$d" -v t="$t" 'BEGIN { printf "%.2f", (t > 0 ? d / t : 0) }')
    ratios+=("$ratio")
    printf '%-10s %6d %12.1f %12.1f %9sx\n' "$m" "$r" "$d" "$t" "$ratio"
  done
  median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
  printf '%-10s %6s %12s %12s %9sx\n' "$m" median "" "" "$median"
done
