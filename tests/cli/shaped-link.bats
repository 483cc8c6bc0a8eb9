#!/usr/bin/env bats
# A real slow link (tests/tools/shaped-link: a network namespace whose loopback is
# rate-limited by tc tbf; Open MPI over TCP) changes the time a run takes, never what it
# computes: the ledger, the metrics and the weights are those of the run on the
# machine's own links. make bench (bench/shaped-link.sh) times the same runs against
# the network model.

load helper

teardown() { check_written_files; }

setup() {
  DATA=$(small_fmnist 600)
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

SHAPED_MPI=(mpirun --allow-run-as-root --oversubscribe --mca btl tcp,self
            --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo -np 2)
SYNC=(--set model.epochs=1 --set experiment.output= --set train.measure_wait=true)

# the sum of a /rounds_measured column
measured_sum() {
  h5dump -y -w 0 -d "/rounds_measured/$2" "$1/run.h5" | sed -n '/DATA {/,/}/p' |
    tr -c '0-9.e+-' ' ' | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s + 0 }'
}

@test "a run over a shaped link records the ledger, metrics and weights of an unshaped one" {
  mpi 2 "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --run-dir plain >/dev/null
  "$DPT_ROOT/tests/tools/shaped-link" 400mbit "${SHAPED_MPI[@]}" "$BIN/dpt-train" \
    -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --run-dir shaped >/dev/null
  same_learning plain shaped
  h5diff plain/run.h5 shaped/run.h5 /rounds /rounds
  h5diff plain/run.h5 shaped/run.h5 /metrics/bytes /metrics/bytes
  # the link was slow: 9 reductions, each 3.2 MB each way through the one 400 Mbit/s
  # bucket, take about 1.1 s of communication by the model; the machine's own links far
  # less
  shaped=$(measured_sum shaped comm_s)
  plain=$(measured_sum plain comm_s)
  echo "comm: shaped $shaped s, plain $plain s"
  awk -v s="$shaped" -v p="$plain" 'BEGIN { exit !(s > 0.5 && s > 3 * p) }'
}

@test "shaped-link refuses a rate tc would not take, and removes its namespace" {
  run "$DPT_ROOT/tests/tools/shaped-link" fast true
  assert_failure 2
  assert_output --partial "rate 'fast' is not tc's NUMBER[k|m|g]bit or none"
  before=$(ip netns list | grep -c '^dpt-link-' || true)
  run "$DPT_ROOT/tests/tools/shaped-link" 1gbit false
  assert_failure
  [ "$(ip netns list | grep -c '^dpt-link-' || true)" -eq "$before" ]
}
