#!/usr/bin/env bats
# The communication ledger (issue 22): run.h5 /rounds holds one row per communication
# round, an algorithmic record bitwise the same on every P that divides the work (the
# resume tests in dpt-train-resume.bats check it across a mid-epoch stop with
# same_ledger); /metrics/bytes follows from it and does not depend on the placement,
# /metrics/mpi_bytes_sent is what MPI carried. Crafted /rounds: hostile-files.bats.

load helper

CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
# the classic LeNet-5 (a third of the seed LeNet's work): what is asserted here is
# counted in its parameters, whatever their number
RUN=(-c "$CENTRAL" --set model.name=LeNet5 --set model.epochs=2 --set experiment.output=)
LOCAL4=(--set model.num_workers=4 --set model.work.local_steps=3 --set model.work.batch_size=16)

setup() {
  # 180 training images: synchronous batch 64 makes 3 steps an epoch, the last short;
  # K = 4 LocalSGD an averaging an epoch. No property here depends on the size (nor on
  # the test split's 20 images).
  DATA=$(small_fmnist 200 20)
  cd "$BATS_TEST_TMPDIR"
}

teardown() { check_written_files; }

# column RUN NAME: the values of /rounds/NAME (or another dataset path), one per line.
column() {
  local path=$2
  [[ $path == /* ]] || path=/rounds/$path
  h5dump -y -d "$path" "$1/run.h5" | awk '/DATA \{/ { on = 1; next } on && /\}/ { exit } on' |
    tr ',' '\n' | awk 'NF { print $1 + 0 }'
}
crc() { h5dump -a /results/weights_crc32 "$1/run.h5" | sed -n 's/.*(0): *//p'; }

@test "K = 4 LocalSGD: /rounds and the weights are bitwise the same on P = 1, 2 and 4" {
  trained p1 "${RUN[@]}" "${LOCAL4[@]}" --data "$DATA"
  for p in 2 4; do
    mpi $p "$BIN/dpt-train" "${RUN[@]}" "${LOCAL4[@]}" --data "$DATA" --run-dir "p$p" >/dev/null
  done
  for p in 2 4; do
    same_ledger p1 "p$p"
    [ "$(crc p1)" = "$(crc "p$p")" ]
  done
  # one row per averaging, each of the 4 workers' parameters (SGDM state not averaged)
  rows=$(column p1 step | wc -l)
  [ "$rows" -eq "$(h5dump -a /results/averagings_total p1/run.h5 | sed -n 's/.*(0): *//p')" ]
  [ "$(column p1 participants | sort -u)" = 4 ]
  [ "$(column p1 kind | sort -u)" = 1 ]  # average
  run h5dump -a /rounds/kind/names p1/run.h5
  assert_output --partial '"gradient", "average", "outer"'
}

@test "synchronous batch 64: /rounds and the weights are bitwise the same on P = 1, 2 and 4" {
  # (batch 64 is the config's: on one rank, the centralized run of the test below)
  trained p1 "${RUN[@]}" --data "$DATA"
  for p in 2 4; do
    mpi $p "$BIN/dpt-train" "${RUN[@]}" --set model.batch_size=64 --data "$DATA" \
        --run-dir "p$p" >/dev/null
  done
  for p in 2 4; do
    same_ledger p1 "p$p"
    [ "$(crc p1)" = "$(crc "p$p")" ]
  done
  # one gradient reduction per step, per replica (participants 0), steps 1, 2, 3, ...
  [ "$(column p1 kind | sort -u)" = 0 ]
  [ "$(column p1 participants | sort -u)" = 0 ]
  [ "$(column p1 step | awk '$1 != NR' | wc -l)" -eq 0 ]
  # each epoch's rounds carry its training images, the last batch short
  train=$(h5dump -a /provenance/train_images p1/run.h5 | sed -n 's/.*(0): *//p')
  paste <(column p1 epoch) <(column p1 images) |
    awk -v n="$train" '{ s[$1] += $2 } END { for (e in s) if (s[e] != n) exit 1; exit length(s) != 2 }'
}

@test "centralized on 1 and on 2 ranks: the same /metrics/bytes (rounds x 4 x parameters), MPI bytes apart" {
  trained p1 "${RUN[@]}" --data "$DATA"
  mpi 2 "$BIN/dpt-train" "${RUN[@]}" --data "$DATA" --run-dir p2 >/dev/null
  [ "$(column p1 /metrics/bytes)" = "$(column p2 /metrics/bytes)" ]
  # the epoch's payload: its reductions times the gradient's bytes
  floats=$(column p1 floats | sort -u)
  [ "$(column p1 /metrics/bytes | head -1)" -eq $(( $(column p1 /metrics/averagings | head -1) * 4 * floats )) ]
  [ "$(column p1 /metrics/mpi_bytes_sent | sort -u)" = 0 ]
  [ "$(column p2 /metrics/mpi_bytes_sent | head -1)" -gt 0 ]
  run h5dump -a /rounds_measured/measured p2/run.h5
  assert_output --partial "measured on this run's placement"
}

@test "SlowMo's rounds are outer steps; momentum: average sends the optimizer state too" {
  trained plain "${RUN[@]}" "${LOCAL4[@]}" --data "$DATA"
  "$BIN/dpt-train" "${RUN[@]}" "${LOCAL4[@]}" --set model.outer.type=slowmo \
      --set model.outer.momentum=0.5 --data "$DATA" --run-dir slowmo >/dev/null
  "$BIN/dpt-train" "${RUN[@]}" "${LOCAL4[@]}" --set model.work.momentum=average \
      --data "$DATA" --run-dir avg >/dev/null
  [ "$(column slowmo kind | sort -u)" = 2 ]
  floats=$(column plain floats | sort -u)
  [ "$(column avg floats | sort -u)" -eq $((2 * floats)) ]  # SGDM: one buffer
  [ "$(column avg bytes | sort -u)" -eq $((8 * floats)) ]
}

@test "post-local SGD: a gradient round per synchronous step, then averagings; images add up" {
  "$BIN/dpt-train" "${RUN[@]}" "${LOCAL4[@]}" --set model.work.local_from_epoch=1 \
      --data "$DATA" --run-dir pl >/dev/null
  paste <(column pl epoch) <(column pl kind) | sort -u > kinds
  [ "$(cat kinds)" = "$(printf '1\t0\n2\t1')" ]
  # the 4 workers' images of an epoch, by round or by step alike
  paste <(column pl epoch) <(column pl images) |
    awk '{ s[$1] += $2 } END { exit !(s[1] == s[2] && s[1] > 0) }'
}

@test "dpt-inspect's summary of a run names its rounds and payload bytes" {
  trained r "${RUN[@]}" "${LOCAL4[@]}" --data "$DATA"
  run "$BIN/dpt-inspect" r/run.h5
  assert_success
  rows=$(column r step | wc -l)
  assert_output --regexp "rounds +$rows \(average\), [0-9.]+ [kMG]B per worker"
}
