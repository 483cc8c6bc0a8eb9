#!/usr/bin/env bash
# make reproduce [QUICK=1]: the seed's studies on Fashion-MNIST, through the product.
#
# Starts the local Slurm cluster (env/slurm-start.sh) unless a configured one answers,
# then per study (sweeps/fm-*.yaml, one after another so that their array throttles keep
# the 2 cores busy without oversubscribing them): expands it into runs/NAME, submits the
# tasks that are neither done nor queued (dpt-sweep resubmit) and shows its progress
# (dpt-sweep status --summary) until none is queued. Then aggregates every study with
# dpt-aggregate --study analysis/..., writes its figures (SVG and PDF), and assembles
# results/fashion-mnist/REPORT.md from the tables dpt-aggregate printed, a manifest (one
# row per run: config hash, final accuracies, weights_crc32) and the total wall time;
# exits 1 after writing it when some run is not done.
#
# Resuming: a task's directory is the hash of its config, so an interrupted make
# reproduce, run again, re-expands each study keeping its finished runs, submits only the
# rest (an interrupted run continues from its checkpoint) and adds its wall time to the
# earlier invocations' (runs/.../reproduce-times.tsv).
#
# QUICK=1: one seed, 2 epochs, 2,000 images (data.limit) per run, and the grids' ends
# (K in {2, 8}, H in {4, 64}) and batch 64 and 512 where a study spans more, into
# runs/fm-quick/ and results/fashion-mnist-quick/: the whole pipeline in a few minutes.
# The machine's load: every status poll appends the 1-minute load average to
# runs/.../reproduce-load.tsv; the report gives its mean and maximum, and the sum of the
# runs' own wall times next to the total.
# The prose of the report (the findings) goes in results/.../FINDINGS.md, which the
# report includes: regenerating the report never overwrites it.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
start=$(date +%s)
# The version that ran, read before the aggregation rewrites the committed results.
version=$(git describe --always --dirty 2>/dev/null || echo unknown)
quick=${QUICK:-0}
[ "$quick" = 0 ] || [ "$quick" = 1 ] || { echo "reproduce: QUICK=$quick: expected 0 or 1" >&2; exit 2; }

# Study: its spec and its tables (analysis/*.yaml joined by "+": the first is the study's
# own, further ones price the same runs on networks), and the sweeps the tables read beyond
# its own. In the order of the report; the studies run in this order too (the second
# edition ran the large-batch grid first, the centralized study last).
studies=(
  "fm-centralized analysis/centralized.yaml+analysis/centralized-best.yaml"
  "fm-large-batch analysis/large-batch.yaml+analysis/large-batch-adamw.yaml"
  "fm-localsgd analysis/fm-localsgd.yaml"
  "fm-slowmo analysis/fm-slowmo.yaml+analysis/fm-localsgd-network.yaml fm-localsgd"
  "fm-dynamic-h analysis/dynamic.yaml+analysis/dynamic-network.yaml"
  "fm-sharding analysis/fm-sharding.yaml"
  "fm-local-methods analysis/local-methods.yaml+analysis/local-methods-network.yaml"
  "fm-compression analysis/compression.yaml+analysis/compression-network.yaml"
  "fm-outer-compression analysis/outer-compression.yaml+analysis/outer-compression-network.yaml"
)
if [ "$quick" = 1 ]; then
  runs=runs/fm-quick results=results/fashion-mnist-quick
  quick_sets=(--set model.epochs=2 --set data.limit=2000)
else
  runs=runs results=results/fashion-mnist
  quick_sets=()
fi
sweep_dir() { if [ "$quick" = 1 ]; then echo "$runs/$1"; else echo "runs/$1"; fi; }

source env/cluster.bash

# The spec QUICK runs: the study's own with one seed and the thinner grids (its base
# path made absolute, as the copy lives elsewhere).
spec_of() {
  local name=$1
  if [ "$quick" = 0 ]; then echo "sweeps/$name.yaml"; return; fi
  mkdir -p "$runs/specs"
  sed -e "s|^base: \([^/].*\)|base: $PWD/sweeps/\1|" -e 's|^replicates: .*|seeds: [0]|' \
    -e 's|^\(  model.num_workers:\) \[2, 4, 8\]$|\1 [2, 8]|' \
    -e 's|^\(  model.batch_size:\) \[64, 512, 2048\]$|\1 [64, 512]|' \
    "sweeps/$name.yaml" >"$runs/specs/$name.yaml"
  echo "$runs/specs/$name.yaml"
}

# "R P": running and pending tasks of a sweep, from dpt-sweep status --summary.
busy() {
  ./bin/dpt-sweep status "$1" --summary |
    sed -n 's/^total .*: [0-9]* done, \([0-9]*\) running, \([0-9]*\) pending.*/\1 \2/p'
}

# Until no task of the sweep is queued: the status lines, redrawn on a terminal, else
# printed (with the time) whenever they change.
wait_sweep() {
  local dir=$1 now prev="" drawn=0
  while read -r r p < <(busy "$dir") && [ $((r + p)) -gt 0 ]; do
    now=$(./bin/dpt-sweep status "$dir" --summary)
    if [ -t 1 ]; then
      [ "$drawn" -gt 0 ] && printf '\033[%dA\033[J' "$drawn"
      printf '%s\n' "$now"
      drawn=$(wc -l <<<"$now")
    elif [ "$now" != "$prev" ]; then
      printf '%s %s\n' "$(date +%T)" "$(tail -1 <<<"$now")"
    fi
    prev=$now
    printf '%s\t%s\n' "$(date +%s)" "$(cut -d' ' -f1 /proc/loadavg)" >>"$runs/reproduce-load.tsv"
    sleep 5
  done
  ./bin/dpt-sweep status "$dir" --summary | tail -2
}

mkdir -p "$runs"
for s in "${studies[@]}"; do
  read -r name _ <<<"$s"
  [ -f "sweeps/$name.yaml" ] || { echo "== $name: no sweeps/$name.yaml; skipped"; continue; }
  dir=$(sweep_dir "$name")
  spec=$(spec_of "$name")
  echo "== $name -> $dir"
  rp=$(busy "$dir" 2>/dev/null || true)
  read -r r p <<<"${rp:-0 0}"
  if [ -f "$dir/manifest.tsv" ] && [ $((r + p)) -gt 0 ]; then
    echo "  $r running, $p pending from an earlier run: waiting for them"
  else
    force=()
    [ -f "$dir/manifest.tsv" ] && force=(--force)
    ./bin/dpt-sweep expand "$spec" -o "$dir" "${force[@]}" "${quick_sets[@]}" | grep -v '^  a[0-9]'
  fi
  ./bin/dpt-sweep resubmit "$dir"
  wait_sweep "$dir"
done

echo "== aggregating into $results"
rm -rf "$results/tables" "$results/plots"
mkdir -p "$results/tables" "$results/plots"
manifest=$results/manifest.tsv
printf 'study\ttask\thash\tconfig\tstate\tbest_val_acc\ttest_acc_last\ttest_acc_best\tweights_crc32\twall_time\n' >"$manifest.tmp"
# The run file of every task of sweep directory $1's manifest.tsv that has one.
listed_runs() {
  awk -F'\t' '$1 ~ /^[0-9]+$/ { print $6 }' "$1/manifest.tsv" |
    while read -r r; do [ -f "$1/$r/run.h5" ] && echo "$1/$r/run.h5"; done
  return 0
}
# /results attribute $2 of run file $1 as h5dump prints it ("-" when absent).
attr() { h5dump -a "/results/$2" "$1" 2>/dev/null | awk '/\(0\):/ { print $2; found = 1 } END { if (!found) print "-" }'; }
# weights_crc32 in hex, as dpt-sweep verify prints it.
crc() { local c; c=$(attr "$1" weights_crc32); [ "$c" = - ] && echo - || printf '%08x\n' "$c"; }
for s in "${studies[@]}"; do
  read -r name table extra <<<"$s"
  dir=$(sweep_dir "$name")
  [ -f "$dir/manifest.tsv" ] || continue
  dirs=("$dir")
  for e in $extra; do [ -f "$(sweep_dir "$e")/manifest.tsv" ] && dirs+=("$(sweep_dir "$e")"); done
  # The run files the manifests list, not every run.h5 below the directories: expand
  # --force after a spec edit keeps the task directories of combinations the spec no
  # longer has, which must not leak into the tables.
  files=()
  for d in "${dirs[@]}"; do
    while IFS= read -r f; do files+=("$f"); done < <(listed_runs "$d")
  done
  rm -rf "$dir/plots"
  # Its tables: the first into tables/NAME.md, each further one (a study's "+" list, such
  # as the same runs priced on networks) into tables/NAME.N.md; their figures together.
  i=0
  for t in ${table//+/ }; do
    rc=0
    [ -f "$t" ] || t=""
    out=$results/tables/$name.md
    [ "$i" = 0 ] || out=$results/tables/$name.$i.md
    ./bin/dpt-aggregate ${t:+--study "$t"} --plots "$dir/plots" --plot-format svg,pdf \
      -o "$out" "${files[@]}" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 4 ] || { echo "reproduce: dpt-aggregate failed on $name ($rc)" >&2; exit 1; }
    i=$((i + 1))
  done
  mkdir -p "$results/plots/$name"
  cp "$dir"/plots/*.svg "$dir"/plots/*.pdf "$results/plots/$name/" 2>/dev/null || true
  # One manifest row per task: its axis values as the config, its run file's results.
  ./bin/dpt-sweep status "$dir" | awk -F'\t' 'NR > 1 && NF >= 4 && $1 ~ /^[0-9]+$/ { print $1 "\t" $3 }' >"$dir/.states"
  while IFS=$'\t' read -r task _ _ _ _ run_dir hash vals; do
    [[ "$task" =~ ^[0-9]+$ ]] || continue
    state=$(awk -F'\t' -v t="$task" '$1 == t { print $2 }' "$dir/.states")
    f=$dir/$run_dir/run.h5
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$task" "$hash" \
      "$(paste -d= <(head -2 "$dir/manifest.tsv" | tail -1 | cut -f8- | tr '\t' '\n') \
                   <(tr '\t' '\n' <<<"$vals") | paste -sd' ')" \
      "$state" "$(attr "$f" best_val_acc)" "$(attr "$f" test_acc_last)" \
      "$(attr "$f" test_acc_best)" "$(crc "$f")" "$(attr "$f" wall_time)" >>"$manifest.tmp"
  done <"$dir/manifest.tsv"
  rm -f "$dir/.states"
done
mv "$manifest.tmp" "$manifest"
notdone=$(awk -F'\t' 'NR > 1 && $5 != "done"' "$manifest" | wc -l)

elapsed=$(( $(date +%s) - start ))
times=$runs/reproduce-times.tsv
printf '%s\t%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$elapsed" >>"$times"
total=$(awk -F'\t' '{ s += $2 } END { print s }' "$times")
invocations=$(wc -l <"$times")
runs_wall=$(awk -F'\t' 'NR > 1 && $10 != "-" { s += $10 } END { printf "%.0f", s }' "$manifest")
load="not sampled"
[ -s "$runs/reproduce-load.tsv" ] && load=$(awk -F'\t' '{ s += $2; n++; if ($2 > m) m = $2 }
  END { printf "mean %.1f, max %.1f over %d polls", s / n, m, n }' "$runs/reproduce-load.tsv")

report=$results/REPORT.md
{
  echo "# dpt reproduces the seed's study on Fashion-MNIST$([ "$quick" = 1 ] && echo " (QUICK: 1 seed, 2 epochs, 2,000 images, the grids' ends)")"
  echo
  echo "Made by \`make reproduce$([ "$quick" = 1 ] && echo " QUICK=1")\` (env/reproduce.sh) with dpt $version"
  echo "on $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(date -u +%Y-%m-%d)."
  echo "Total wall time: $total s over $invocations invocation(s) of make reproduce; the runs' own"
  echo "wall times (manifest column wall_time) add up to $runs_wall s. 1-minute load average of"
  echo "the machine while the runs were waited for: $load."
  echo "Every table below is dpt-aggregate's output; every run is a row of [manifest.tsv](manifest.tsv)"
  echo "($(($(wc -l <"$manifest") - 1)) runs: config hash, final accuracies, weights_crc32; $notdone not done);"
  echo "\`dpt-sweep verify $runs/STUDY HASH\` reruns one and compares it bitwise."
  if [ -f "$results/FINDINGS.md" ]; then echo; cat "$results/FINDINGS.md"; fi
  for s in "${studies[@]}"; do
    read -r name table _ <<<"$s"
    [ -f "$results/tables/$name.md" ] || continue
    echo
    echo "## $name"
    echo
    echo "Sweep [sweeps/$name.yaml](../../sweeps/$name.yaml), tables ${table//+/, }."
    echo
    cat "$results/tables/$name.md"
    for more in "$results/tables/$name".[0-9]*.md; do
      [ -f "$more" ] && { echo; cat "$more"; }
    done
    for svg in "$results/plots/$name"/*.svg; do
      [ -f "$svg" ] && printf '\n![%s](plots/%s/%s)\n' "$(basename "$svg" .svg)" "$name" "$(basename "$svg")"
    done
  done
} >"$report.tmp"
mv "$report.tmp" "$report"
echo "== wrote $report ($total s in all, this invocation $elapsed s)"
if [ "$notdone" -gt 0 ]; then
  echo "reproduce: $notdone run(s) not done (state column of $manifest); see dpt-sweep status" >&2
  exit 1
fi
