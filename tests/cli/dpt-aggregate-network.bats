#!/usr/bin/env bats
# dpt-aggregate --network: runs priced under a network model from their communication
# ledger (/rounds), networks by preset, file and study, and runs without a ledger.

load helper
bats_require_minimum_version 1.5.0

AGG() { "$BIN/dpt-aggregate" "$@"; }

setup() {
  cd "$BATS_TEST_TMPDIR"
  # runs as files written before the ledger have them: no /rounds
  for s in 0 1; do
    "$FIXTURE" old/s$s/run.h5 model.num_workers=4 experiment.seed=$s val_acc=0.5,0.7,0.9 \
        averagings=10,10,10
  done
}

@test "--network on runs without /rounds: a note names them, the values stay empty" {
  run --separate-stderr AGG --network 1gbe --target 0.85 --format csv old
  assert_success
  [[ "$stderr" == *"note: 2 runs without a simulated time"* ]]
  [[ "$stderr" == *"old/s0: no /rounds (written before dpt recorded its communication ledger)"* ]]
  assert_line --index 0 --partial "network,n,"
  assert_line --index 0 --partial "sim_time_mean"
  assert_line --index 0 --partial "time_to_target_mean"
  # the network column says 1gbe; no number in sim_time (n = 0)
  local header row col
  header=$(head -1 <<<"$output")
  row=$(sed -n 2p <<<"$output")
  col=$(tr , '\n' <<<"$header" | grep -n '^sim_time_n$' | cut -d: -f1)
  [ "$(cut -d, -f1 <<<"$row")" = 1gbe ]
  [ "$(cut -d, -f"$col" <<<"$row")" = 0 ]
}

@test "--network names: presets, comma lists, and a name that is neither preset nor file" {
  run --separate-stderr AGG --network 1gbe,wan --network ib100 old
  assert_success
  assert_line --partial "| 1gbe |"
  assert_line --partial "| wan |"
  assert_line --partial "| ib100 |"
  run AGG --network 2gbe old
  assert_equal "$status" 1
  assert_output --partial "--network 2gbe: neither a preset (1gbe, 10gbe, 25gbe, ib100, wan) nor a file"
}

@test "a network file: its name heads the rows; a mistake names file, line, key and value" {
  printf 'name: lab\nlatency_us: 5\nbandwidth_gbps: 40\nper_node: 2\n' > lab.yaml
  run --separate-stderr AGG --network lab.yaml old
  assert_success
  assert_line --partial "| lab |"
  printf 'latency_us: 5\nbandwidth_gbps: fast\n' > bad.yaml
  run AGG --network bad.yaml old
  assert_equal "$status" 1
  assert_output --partial "bad.yaml:2: bandwidth_gbps: expected a number > 0, got 'fast'"
  printf 'latency_us: 5\n' > short.yaml
  run AGG --network short.yaml old
  assert_equal "$status" 1
  assert_output --partial "short.yaml: bandwidth_gbps: missing; expected a number > 0"
  mkfifo fifo
  run timeout 10 "$BIN/dpt-aggregate" --network fifo old
  assert_equal "$status" 1
  assert_output --partial "--network fifo: not a regular file"
}

@test "a study's network, replicas and compute; --replicas and --compute are checked" {
  printf 'network: [10gbe, wan]\nreplicas: 8\ncompute: 1500\n' > s.yaml
  run --separate-stderr AGG --study s.yaml old
  assert_success
  assert_line --partial "| 10gbe |"
  assert_line --partial "| wan |"
  printf 'network: 1gbe\nreplicas: 2.5\n' > bad.yaml
  run AGG --study bad.yaml old
  assert_equal "$status" 1
  assert_output --partial "bad.yaml:2: 'replicas' wants an integer from 1 to 1e9"
  run AGG --network 1gbe --replicas 0 old
  assert_equal "$status" 2
  assert_output --partial "--replicas wants an integer from 1 to 1e9, not '0'"
  run AGG --network 1gbe --compute fast old
  assert_equal "$status" 2
  assert_output --partial "--compute wants images per second > 0, not 'fast'"
}
