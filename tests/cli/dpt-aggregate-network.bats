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
  [[ "$stderr" == *"old/s0/run.h5: no /rounds (written before dpt recorded its communication ledger)"* ]]
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

# LocalSGD-like ledgers: K = 4 workers, 100 steps of 256 images per epoch, a round every
# H steps of 62006 floats; and a synchronous run (participants 0: the network's 4
# replicas) with a reduction per step of 64 images. 1000 images/s on 1 rank.
ledgers() {
  for s in 0 1; do
    "$FIXTURE" new/h10s$s/run.h5 model.num_workers=4 model.work.local_steps=10 \
        experiment.seed=$s val_acc=0.5,0.7,0.9 rounds=10
  done
  "$FIXTURE" new/h20s0/run.h5 model.num_workers=4 model.work.local_steps=20 \
      experiment.seed=0 val_acc=0.5,0.7,0.9 rounds=20
  "$FIXTURE" new/sync/run.h5 model.num_workers=0 experiment.seed=0 val_acc=0.5,0.7,0.9 rounds=1
}

# value CSV ROW-MATCH COLUMN: the cell of the first row containing ROW-MATCH
value() {
  local col
  col=$(head -1 "$1" | tr , '\n' | grep -n "^$3\$" | cut -d: -f1)
  grep -m1 -- "$2" "$1" | cut -d, -f"$col"
}

# near X Y: |X - Y| <= 1e-6 |Y|
near() { awk -v x="$1" -v y="$2" 'BEGIN { d = x - y; exit !(d * d <= 1e-12 * y * y) }'; }

@test "--network 1gbe --target 0.85 on LocalSGD runs prints simulated time and time to target per row" {
  ledgers
  run --separate-stderr AGG --network 1gbe --target 0.85 new
  assert_success
  # a round of H = 10: 10 x 256 / 4 images at 1000/s, plus a ring allreduce of 248024
  # bytes on 4: 6 x (30 us + 62006 B / 1.25e8 B/s) = 0.643156288 s; 30 rounds. The target
  # lies between epoch 2 (0.7, round 20) and 3 (0.9, round 30): round 28 reaches 0.86.
  assert_line --regexp '^\| LocalSGD \| 4 \| 10 \| 1gbe \| 2 \|.*\| 19\.3 ± 0\.0 \|.*\| 18\.0 ± 0\.0 \|'
  # H = 20: 15 rounds of 1.283156288 s; round 14 of 15 reaches 0.86
  assert_line --regexp '^\| LocalSGD \| 4 \| 20 \| 1gbe \| 1 \|.*\| 19\.2 \|.*\| 18\.0 \|'
  AGG --network 1gbe --target 0.85 --format csv new > t.csv 2>/dev/null
  near "$(value t.csv ',10,1gbe,' sim_time_mean)" 19.29468864
  near "$(value t.csv ',10,1gbe,' time_to_target_mean)" 18.008376064
  near "$(value t.csv ',10,1gbe,' bytes_to_target_mean)" 10417008
  near "$(value t.csv ',20,1gbe,' time_to_target_mean)" 17.964188032
  near "$(value t.csv ',10,1gbe,' comm_efficiency_mean)" 1
  # synchronous: 300 rounds of 64 / 4 images and the same allreduce
  near "$(value t.csv '^centralized' sim_time_mean)" 5.7468864
  # with 2 replicas: 32 images each, a ring of 2: 2 x (30 us + 124012 B / 1.25e8 B/s)
  AGG --network 1gbe --replicas 2 --format csv new > r.csv 2>/dev/null
  near "$(value r.csv '^centralized' sim_time_mean)" 10.2132576
}

@test "--network: a slower network costs more; runs with and without /rounds mix" {
  ledgers
  run --separate-stderr AGG --network 1gbe,wan --format csv --values sim_time new old
  assert_success
  [[ "$stderr" == *"old/s1/run.h5: no /rounds"* ]]
  local g w
  g=$(grep -m1 ',10,1gbe,' <<<"$output" | awk -F, '{ print $(NF-2) }')
  w=$(grep -m1 ',10,wan,' <<<"$output" | awk -F, '{ print $(NF-2) }')
  # wan: 6 x (50 ms + 62006 / 1.25e8) per round, 30 rounds
  near "$w" "$(awk 'BEGIN { print 30 * (0.64 + 6 * (0.05 + 62006 / 1.25e8)) }')"
  awk -v g="$g" -v w="$w" 'BEGIN { exit !(w > g) }'
}

@test "--plots with --network: accuracy against simulated time and bytes sent" {
  ledgers
  run AGG --network 1gbe --plots p --plot val_acc_time --plot val_acc_bytes new
  assert_success
  [ -s p/val_acc_time.svg ]
  [ -s p/val_acc_bytes.svg ]
  grep -q ' runs time bytes$' p/data/g000.dat
  # each epoch's end: the H = 10 runs' time and bytes after rounds 10, 20, 30
  local last
  last=$(grep -v '^#' "$(grep -l 'H=10' p/data/*.dat | head -1)" | tail -1)
  near "$(awk '{ print $(NF-1) }' <<<"$last")" 19.29468864
  near "$(awk '{ print $NF }' <<<"$last")" "$(awk 'BEGIN { print 30 * 6 * 62006 }')"
}

@test "--network on crafted /rounds: huge counts give a finite number, an impossible epoch a note" {
  "$FIXTURE" c/huge/run.h5 model.num_workers=4 val_acc=0.5,0.7,0.9 rounds=100
  "$FIXTURE" c/epoch/run.h5 model.num_workers=4 val_acc=0.5,0.7,0.9 rounds=100
  for i in 0 1 2; do
    "$DPT_ROOT/build/h5craft" --set c/huge/run.h5 /rounds/participants $i 4611686018427387904
    "$DPT_ROOT/build/h5craft" --set c/huge/run.h5 /rounds/bytes $i 4611686018427387904
  done
  "$DPT_ROOT/build/h5craft" --set c/epoch/run.h5 /rounds/epoch 0 1099511627776
  run --separate-stderr timeout 20 "$BIN/dpt-aggregate" --network 1gbe --format csv \
      --values sim_time --per-run c
  assert_success
  [[ "$stderr" == *"c/epoch/run.h5: not priced under 1gbe: round 0: epoch 1099511627776, expected 1 .. 100000"* ]]
  local t
  t=$(grep '^c/huge,' <<<"$output" | awk -F, '{ print $(NF-2) }')
  awk -v t="$t" 'BEGIN { exit !(t > 1e10 && t < 1e300) }'
}

@test "device_gflops: compute from the model's FLOPs per image over the device's speed" {
  "$BIN/dpt-data" fashion-mnist --src "$FMNIST_SRC" --limit 100 -o fm.h5 >/dev/null
  "$FIXTURE" d/run.h5 model.num_workers=4 data.path=fm.h5 val_acc=0.5,0.7,0.9 rounds=10
  "$FIXTURE" nodata/run.h5 model.num_workers=4 data.path=missing.h5 val_acc=0.5,0.7,0.9 \
      rounds=10
  printf 'name: g1\nlatency_us: 30\nbandwidth_gbps: 1\ndevice_gflops: 1\n' > g1.yaml
  printf 'name: g2\nlatency_us: 30\nbandwidth_gbps: 1\ndevice_gflops: 2\n' > g2.yaml
  run --separate-stderr AGG --network g1.yaml,g2.yaml --format csv --per-run \
      --values sim_time,sim_comm_time d nodata
  assert_success
  [[ "$stderr" == *"nodata/run.h5: not priced under g1: device_gflops needs the model's shape from its dataset"* ]]
  local c1 c2
  c1=$(grep '^d,.*,g1,' <<<"$output" | awk -F, '{ print $(NF-5) - $(NF-2) }')
  c2=$(grep '^d,.*,g2,' <<<"$output" | awk -F, '{ print $(NF-5) - $(NF-2) }')
  # twice the device speed, half the compute
  awk -v a="$c1" -v b="$c2" 'BEGIN { exit !(a > 0 && (a - 2 * b) ^ 2 < 1e-12 * a * a) }'
}

# Synchronous runs (K = 0: the network's replicas) of 2 epochs x 10 reductions, seeds 0, 1:
# dense 1000 floats by allreduce (80 kB a run), int8 250 floats (20 kB: 4x), top-k 200
# floats by allgather (16 kB: 5x). Under a ring of N = 16 a row sends per participant
# 2 (N - 1) / N x 4000 B (allreduce) or (N - 1) x 800 B (allgather): 150 kB against
# 240 kB, 1.60 x the dense ring; at N = 2, 80 kB against 16 kB, 0.20 x.
compressed_runs() {
  local s
  for s in 0 1; do
    "$FIXTURE" cr/none-$s/run.h5 model.num_workers=0 comm.compress=none experiment.seed=$s \
        epochs=2 steps_per_epoch=10 rounds=1 rounds_floats=1000 val_acc=0.5,0.9
    "$FIXTURE" cr/int8-$s/run.h5 model.num_workers=0 comm.compress=int8 experiment.seed=$s \
        epochs=2 steps_per_epoch=10 rounds=1 rounds_floats=250 val_acc=0.5,0.9
    "$FIXTURE" cr/topk-$s/run.h5 model.num_workers=0 comm.compress=topk:0.01 \
        experiment.seed=$s epochs=2 steps_per_epoch=10 rounds=1 rounds_floats=200 \
        rounds_collective=allgather val_acc=0.5,0.9
  done
  printf 'name: ring\nlatency_us: 5\nbandwidth_gbps: 10\nalgorithm: ring\n' > ring.yaml
}

@test "payload_ratio: the baseline's payload over each row's, by seed; a note without a baseline" {
  compressed_runs
  run --separate-stderr AGG --values payload_bytes,payload_ratio --baseline comm.compress=none \
      --value payload_bytes cr
  assert_success
  assert_line --index 0 "| comm.compress | n | payload per worker | Δ payload per worker | compression (x) |"
  assert_line --regexp '^\| int8 \| 2 \| 20.0 kB ± 0 B \| .* \| 4.00 ± 0.00 \|$'
  assert_line --regexp '^\| none \| 2 \| 80.0 kB ± 0 B \| baseline \| 1.00 ± 0.00 \|$'
  assert_line --regexp '^\| topk:0.01 \| 2 \| 16.0 kB ± 0 B \| .* \| 5.00 ± 0.00 \|$'
  run --separate-stderr AGG --values payload_ratio --format csv cr
  assert_success
  assert_line "int8,2,,,0"
  [[ "$stderr" == *"note: payload_ratio compares each row with the baseline row"*"its cells are empty"* ]]
  [ "$(grep -c 'note: payload_ratio' <<<"$stderr")" = 1 ]
  run AGG --fields
  assert_output --partial "payload_ratio"
  assert_output --partial "vs_dense_bytes"
}

@test "vs_dense_bytes: top-k sends more than the dense ring at N = 16, less at N = 2" {
  compressed_runs
  run --separate-stderr AGG --values vs_dense_bytes,sim_bytes --baseline comm.compress=none \
      --network ring.yaml --replicas 16 cr
  assert_success
  assert_line --regexp '^\| topk:0.01 \| ring \| 2 \| 1.60 ± 0.00 \| .* \| 240 kB ± 0 B \|$'
  assert_line --regexp '^\| int8 \| ring \| 2 \| 0.25 ± 0.00 \| .* \| 37.5 kB ± 0 B \|$'
  assert_line --regexp '^\| none \| ring \| 2 \| 1.00 ± 0.00 \| baseline \| 150 kB ± 0 B \|$'
  run --separate-stderr AGG --values vs_dense_bytes --baseline comm.compress=none \
      --network ring.yaml --replicas 2 --format csv cr
  assert_success
  assert_line --partial '"topk:0.01",ring,2,0.2,0,2,'
  # a study file: values and baseline as keys
  printf 'values: [test_acc, payload_ratio, vs_dense_bytes]\nbaseline: [comm.compress=none]\nnetwork: [ring.yaml]\nreplicas: 16\n' > s.yaml
  run --separate-stderr AGG --study s.yaml cr
  assert_success
  assert_line --regexp '^\| topk:0.01 \| ring \| 2 \| .* \| 5.00 ± 0.00 \| 1.60 ± 0.00 \|$'
}
