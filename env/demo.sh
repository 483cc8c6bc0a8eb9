#!/usr/bin/env bash
# make demo: the whole job on a one-node Slurm cluster. Imports Fashion-MNIST (Debian's
# dataset-fashion-mnist package), expands sweeps/demo.yaml (SGDM vs AdamW x centralized vs
# SGDM LocalSGD with K = 2 and H in {1, 8}: 4 tasks of 3 epochs on the full data), submits it as
# Slurm array jobs with the aggregation queued behind them, shows progress (per running
# task its epoch, validation accuracy and ETA, and the sweep's ETA), and prints the
# comparison table. Uses the configured cluster when `sinfo` answers, else starts the local
# one (env/slurm-start.sh) and stops it at the end. A few minutes on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)

source env/cluster.bash
sinfo

sweep=runs/demo-sweep
echo "== expanding sweeps/demo.yaml -> $sweep (a fresh copy each demo)"
rm -rf "$sweep"
./bin/dpt-sweep expand sweeps/demo.yaml -o "$sweep"
grep -v '^#' "$sweep/manifest.tsv" | cut -f1-4,8- | column -t -s $'\t'

echo "== submitting"
./bin/dpt-sweep submit "$sweep"
jobs=$(awk -F'\t' 'NR > 1 { printf "%s%s", sep, $1; sep = "," }' "$sweep/submitted.tsv")

# Progress from dpt-sweep status --summary (each running task's epoch, validation accuracy
# and ETA, the sweep's ETA), every 5 s: on a terminal redrawn in one screen region; in a
# log (not a terminal) only the lines that changed, one per change, with the time.
show_progress() {
  local now prev="" lines=0
  while [ -n "$(squeue -h -j "$jobs" -o %i 2>/dev/null)" ]; do
    now=$(./bin/dpt-sweep status "$sweep" --summary)
    if [ -t 1 ]; then
      [ "$lines" -gt 0 ] && printf '\033[%dA\033[J' "$lines"
      printf '%s\n' "$now"
      lines=$(printf '%s\n' "$now" | wc -l)
    elif [ "$now" != "$prev" ]; then
      printf '%s\n' "$now" | grep -vxF -f <(printf '%s\n' "$prev") | sed "s/^/$(date +%T) /" || true
    fi
    prev=$now
    sleep 5
  done
}
echo "== progress"
show_progress
echo "== status"
./bin/dpt-sweep status "$sweep"

echo "== results (the aggregation job's $sweep/results.md)"
if [ -s "$sweep/results.md" ]; then
  cat "$sweep/results.md"
elif [ -x bin/dpt-aggregate ]; then
  ./bin/dpt-aggregate "$sweep"
else
  ./bin/dpt-sweep results "$sweep"
fi
echo "== plots"
./bin/dpt-aggregate "$sweep" --plots "$sweep/plots" --format csv >/dev/null || true
ls "$sweep"/plots/*.svg "$sweep"/plots/*.png 2>/dev/null | sed 's/^/  /'
echo "== demo took $(( $(date +%s) - start )) s; logs in $sweep/logs, runs in $sweep/tasks"
