#!/usr/bin/env bash
# make bench, part 3: the network model (dpt-aggregate --network) against a real slow
# link. Trains the seed LeNet on P = 2 ranks over a rate-limited loopback (a network
# namespace of its own with tc tbf on lo: tests/tools/shaped-link; Open MPI over TCP),
# synchronous (batch 64: 20 gradient reductions) and LocalSGD (K = 2 workers, H = 2:
# 10 averagings), at two rates, and prints the communication time the run measured
# (the sum of /rounds_measured comm_s, with train.measure_wait so that the wait for the
# slower rank is apart) next to the model's prediction for that link (sim_comm_time) and
# their ratio.
#
# The link in the model: both ranks send at once and both directions of the one loopback
# pass the one token bucket, so each rank's data travels at half the rate
# (bandwidth_gbps = RATE / 2); two participants, one per node, a ring allreduce (for
# N = 2 what dpt's own reduction sends: half the vector each way, then the other half),
# and the latency of MPI over TCP on a loopback (about 50 us; it is under 0.1% of a
# round here). Needs root (ip netns).
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=${FMNIST_SRC:-/usr/share/datasets/fashion-mnist}
./bin/dpt-data fashion-mnist --src "$src" --limit 1280 -o "$work/fm.h5" >/dev/null
common=(--data "$work/fm.h5" --set model.epochs=1 --set data.val_fraction=0
        --set experiment.output= --set checkpoint.every_epochs=0 --set train.measure_wait=true)
sync=(-c tests/fixtures/seed/centralized.yaml --set model.batch_size=64)
local=(-c tests/fixtures/seed/distributed.yaml --set model.num_workers=2
       --set model.work.local_steps=2 --set model.work.batch_size=32)
mpi=(mpirun --allow-run-as-root --oversubscribe --mca btl tcp,self
     --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo -np 2)

# the sum of a /rounds_measured column of DIR/run.h5
measured() {
  h5dump -y -w 0 -d "/rounds_measured/$2" "$1/run.h5" |
    sed -n '/DATA {/,/}/p' | tr -c '0-9.e+-' ' ' | awk '{ for (i = 1; i <= NF; i++) s += $i } END { printf "%.3f", s }'
}

echo
echo "(e) the network model against a real link: seed LeNet, P = 2 over a shaped loopback"
printf '  %-26s %-8s %6s %11s %11s %7s %8s\n' run link rounds "measured s" "model s" ratio "wait s"
for rate in 200mbit 1gbit; do
  gbps=$(awk -v r="$rate" 'BEGIN { n = r + 0; if (r ~ /mbit$/) n /= 1000; printf "%g", n / 2 }')
  cat > "$work/link-$rate.yaml" <<YAML
name: loopback-$rate
latency_us: 50
bandwidth_gbps: $gbps
per_node: 1
algorithm: ring
replicas: 2
YAML
  for mode in sync local; do
    dir="$work/$mode-$rate"
    if [ "$mode" = sync ]; then args=("${sync[@]}"); label="synchronous, batch 64"; else
      args=("${local[@]}"); label="LocalSGD K=2 H=2 b=32"; fi
    tests/tools/shaped-link "$rate" "${mpi[@]}" ./bin/dpt-train "${args[@]}" "${common[@]}" \
      --run-dir "$dir" >"$dir.log" 2>&1 || { cat "$dir.log"; exit 1; }
    comm=$(measured "$dir" comm_s)
    wait=$(measured "$dir" wait_s)
    rounds=$(h5dump -d /rounds/step "$dir/run.h5" | sed -n 's/.*DATASPACE.*( \([0-9]*\) ).*/\1/p')
    model=$(./bin/dpt-aggregate --per-run --network "$work/link-$rate.yaml" \
      --values sim_comm_time --format csv "$dir" 2>/dev/null |
      awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "sim_comm_time_mean") c = i }
               NR == 2 { print $c }')
    awk -v l="$label" -v k="$rate" -v n="$rounds" -v c="$comm" -v m="$model" -v w="$wait" \
      'BEGIN { printf "  %-26s %-8s %6d %11.3f %11.3f %7.2f %8.3f\n", l, k, n, c, m, c / m, w }'
  done
done
echo "  (ratio: measured / model; the model's link is half the shaped rate, both directions"
echo "   sharing the one loopback)"
