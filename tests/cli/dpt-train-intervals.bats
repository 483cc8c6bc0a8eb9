#!/usr/bin/env bats
# Metrics between epochs (issue 22 item 2): metrics.every_steps records /intervals,
# eval.every_rounds records /evals, optim.schedule_unit: step runs the LR schedule per
# optimizer step. Like /metrics, the same on every P; the interval means add up to the
# epoch's; dpt-aggregate --long and dpt-inspect show them. (Across a stop and resume:
# dpt-train-resume.bats.)

load helper

teardown() { check_written_files; }

setup() {
  DATA=$(small_fmnist 600 60) # (the test split: 60 images, which nothing here looks at)
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

# 540 training images, 60 validation images. Centralized batch 64: 9 steps per epoch
# (the last of 28 images). K = 4 LocalSGD workers of 16-image batches: shards of 135,
# 9 steps per epoch (the last of 7 images each), an averaging after steps 2, 4, 6, 8, 9.
SYNC=(--set model.epochs=2 --set model.batch_size=64 --set experiment.output=)
K4=(--set model.epochs=2 --set model.num_workers=4 --set model.work.batch_size=16
    --set model.work.local_steps=2 --set experiment.output=)
BETWEEN=(--set metrics.every_steps=2 --set eval.every_rounds=3)

# col RUN DATASET: the dataset's values, one per line, in full precision.
col() {
  h5dump -m '%.17g' -y -w0 -d "$2" "$1/run.h5" | sed -n '/^ *DATA {/{n;p;q}' | tr -d ' ' | tr ',' '\n'
}
# joined RUN DATASET: the values on one line, comma-separated.
joined() { col "$@" | paste -sd, -; }

# same_between A B [GROUPS...]: the groups (default /intervals and /evals) byte-identical.
same_between() {
  local a=$1 b=$2 g
  shift 2
  local groups=("$@")
  [ $# -gt 0 ] || groups=(intervals evals)
  for g in "${groups[@]}"; do
    h5diff "$a/run.h5" "$b/run.h5" "/$g" "/$g" || { echo "differs: /$g"; return 1; }
  done
}

@test "intervals and evals are bitwise the same on P = 1, 2 and 4 (K = 4 LocalSGD, batch 64)" {
  # the classic LeNet-5, a third of the seed LeNet's work: the rows are the same
  small=(--set model.name=LeNet5)
  for p in 1 2 4; do
    mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" "${BETWEEN[@]}" "${small[@]}" \
        --run-dir "sync$p" >/dev/null
    mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${K4[@]}" "${BETWEEN[@]}" "${small[@]}" \
        --run-dir "k4$p" >/dev/null
  done
  for p in 2 4; do
    same_between sync1 "sync$p"
    same_between k41 "k4$p"
    same_learning k41 "k4$p"
  done
  # every 2 global steps and at each epoch's end (steps 9 and 18); synchronous: a round
  # per step; K = 4, H = 2: averagings after steps 2, 4, 6, 8, 9; evals every 3 rounds
  while read -r run dataset want; do
    [ "$(joined "$run" "$dataset")" = "$want" ] || { echo "$run $dataset: $(joined "$run" "$dataset")"; false; }
  done <<'ROWS'
sync1 /intervals/step 2,4,6,8,9,10,12,14,16,18
sync1 /intervals/epoch 1,1,1,1,1,2,2,2,2,2
sync1 /intervals/images_total 128,256,384,512,540,604,732,860,988,1080
sync1 /intervals/rounds_total 2,4,6,8,9,10,12,14,16,18
k41 /intervals/step 2,4,6,8,9,10,12,14,16,18
k41 /intervals/rounds_total 1,2,3,4,5,5,6,7,8,10
sync1 /evals/step 3,6,9,12,15,18
sync1 /evals/rounds_total 3,6,9,12,15,18
k41 /evals/step 6,11,17
k41 /evals/rounds_total 3,6,9
k41 /evals/images_total 384,668,1052
ROWS
  # the eval at the epoch's end evaluates what the epoch's validation does
  [ "$(col sync1 /evals/val_acc | sed -n 3p)" = "$(col sync1 /metrics/val_acc | sed -n 1p)" ]
}

# weighted_equals RUN: for each epoch, the images-weighted mean of its intervals' loss and
# accuracy is the epoch's train loss and accuracy, to rounding (1e-12 relative).
weighted_equals() {
  paste <(col "$1" /intervals/epoch) <(col "$1" /intervals/images_total) \
        <(col "$1" /intervals/train_loss) <(col "$1" /intervals/train_acc) > iv.txt
  paste <(col "$1" /metrics/train_loss) <(col "$1" /metrics/train_acc) > ep.txt
  awk 'NR == FNR { loss[NR] = $1; acc[NR] = $2; next }
       { w = $2 - prev; prev = $2; L[$1] += w * $3; A[$1] += w * $4; N[$1] += w }
       END {
         bad = 0
         for (e in N) {
           l = L[e] / N[e]; a = A[e] / N[e]
           if ((l - loss[e]) ^ 2 > (1e-12 * loss[e]) ^ 2 || (a - acc[e]) ^ 2 > 1e-24) {
             printf "epoch %d: intervals %.17g %.17g, epoch %.17g %.17g\n", e, l, a, loss[e], acc[e]
             bad = 1
           }
         }
         exit bad || length(N) != 2
       }' ep.txt iv.txt
}

@test "interval means weighted by their images are the epoch's train loss and accuracy" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --set metrics.every_steps=4 \
      --run-dir sync >/dev/null
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${K4[@]}" --set metrics.every_steps=4 \
      --set eval.every_rounds=1 --run-dir k4 >/dev/null
  weighted_equals sync
  weighted_equals k4
  # recording changes nothing of the training: the weights of the run without
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${K4[@]}" --run-dir k4off >/dev/null
  same_learning k4 k4off
  # eval.every_rounds off: no /evals
  run h5dump -H -g /evals sync/run.h5
  assert_failure
}

@test "optim.schedule_unit: step with a warm-up of 5 steps gives the hand-computed rate per step" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --set metrics.every_steps=1 \
      --set optim.schedule_unit=step --set model.warmup=5 --set model.learning_rate=0.1 \
      --run-dir step >/dev/null
  # 18 steps: lr(i) = 0.1 (0.1 + 0.9 i / 5) for i < 5, then 0.1 (1 + cos(pi (i - 5) / 13)) / 2
  col step /intervals/lr > lr.txt
  [ "$(wc -l < lr.txt)" -eq 18 ]
  awk 'BEGIN { pi = atan2(0, -1) }
       { i = NR - 1
         want = i < 5 ? 0.1 * (0.1 + 0.9 * i / 5) : 0.1 * (1 + cos(pi * (i - 5) / 13)) / 2
         if (($1 - want) ^ 2 > (1e-15 * want) ^ 2) { printf "step %d: %.17g, want %.17g\n", i, $1, want; bad = 1 } }
       END { exit bad }' lr.txt
  # /metrics lr is each epoch's first step's: steps 0 and 9
  [ "$(col step /metrics/lr | sed -n 1p)" = "$(sed -n 1p lr.txt)" ]
  [ "$(col step /metrics/lr | sed -n 2p)" = "$(sed -n 10p lr.txt)" ]
  # the per-epoch default: one rate per epoch, as before
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --set metrics.every_steps=1 \
      --set model.learning_rate=0.1 --run-dir epoch >/dev/null
  [ "$(col epoch /intervals/lr | sort -u | wc -l)" -eq 2 ]
}

@test "LocalSGD with optim.schedule_unit: step warms up per local step, the same on P = 1 and 2" {
  for p in 1 2; do
    mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${K4[@]}" --set metrics.every_steps=1 \
        --set optim.schedule_unit=step --set model.warmup=3 --set model.scheduler=constant \
        --set model.learning_rate=0.1 --run-dir "r$p" >/dev/null
  done
  same_learning r1 r2
  same_between r1 r2 intervals
  # one row per step: 0.1 (0.1 + 0.9 i / 3) for i < 3, then 0.1
  col r1 /intervals/lr > lr.txt
  [ "$(wc -l < lr.txt)" -eq 18 ]
  awk '{ i = NR - 1; want = i < 3 ? 0.1 * (0.1 + 0.9 * i / 3) : 0.1
         if (($1 - want) ^ 2 > (1e-15 * want) ^ 2) { printf "step %d: %.17g, want %.17g\n", i, $1, want; bad = 1 } }
       END { exit bad }' lr.txt
}

@test "config errors of the keys between epochs are named" {
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set metrics.every_steps=-1 --run-dir r
  assert_failure
  assert_output --partial "metrics.every_steps: must be >= 0, got -1"
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set eval.every_rounds=-3 --run-dir r
  assert_failure
  assert_output --partial "eval.every_rounds: must be >= 0, got -3"
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set eval.every_rounds=x --run-dir r
  assert_failure
  assert_output --partial "eval.every_rounds: expected an integer, got 'x'"
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set optim.schedule_unit=hour --run-dir r
  assert_failure
  assert_output --partial "optim.schedule_unit: expected one of: epoch, step, got 'hour'"
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set eval.every_rounds=5 \
      --set data.val_fraction=0 --run-dir r
  assert_failure
  assert_output --partial "eval.every_rounds: = 5 evaluates on the validation split, but data.val_fraction is 0"
  # a warm-up in steps must end before the run does: 2 epochs of 9 steps
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --set optim.schedule_unit=step \
      --set model.warmup=18 --run-dir r
  assert_failure
  assert_output --partial "model.warmup = 18 steps (optim.schedule_unit: step) must be less than the run's 18 optimizer steps (model.epochs 2 x 9 steps per epoch)"
  # in steps, a warm-up longer than model.epochs is fine
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --set optim.schedule_unit=step \
      --set model.warmup=17 --run-dir ok
  assert_success
  [ ! -e r/run.h5 ]
}

@test "dpt-aggregate --long lists interval and eval rows with their granularity; dpt-inspect names them" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" "${BETWEEN[@]}" --run-dir runs/a >/dev/null
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${SYNC[@]}" --run-dir runs/b >/dev/null
  run "$BIN/dpt-aggregate" --long -o long.csv runs
  assert_success
  assert_output --partial "2 runs in 20 rows (one per epoch, and 16 between epochs: intervals and evals)"
  head -1 long.csv | grep -q ',compute_time,granularity,step,rounds_total,bytes_total,images_total$'
  [ "$(grep -c ',epoch,,,,$' long.csv)" -eq 4 ]
  [ "$(grep -c ',interval,' long.csv)" -eq 10 ]
  [ "$(grep -c ',eval,' long.csv)" -eq 6 ]
  # an interval row: epoch 1, its lr, loss and accuracy, then step 2, round 2, the bytes
  # of two rounds of the ledger, 128 images
  bytes=$(h5dump -d /rounds/bytes -s 0 -c 1 runs/a/run.h5 | sed -n 's/.*(0): \([0-9]*\).*/\1/p')
  [ "$bytes" -gt 0 ]
  grep ",interval,2,2,$((2 * bytes)),128\$" long.csv | grep -q '^runs/a,'
  run "$BIN/dpt-aggregate" --long --format json runs
  assert_output --partial '"granularity": "eval", "step": 3, "rounds_total": 3'
  # runs without records between epochs keep the table they had
  run "$BIN/dpt-aggregate" --long runs/b
  refute_output --partial granularity
  run "$BIN/dpt-inspect" runs/a/run.h5
  assert_output --partial "intervals   10 rows, every 2 steps (metrics.every_steps); last: step 18"
  assert_output --partial "evals       6 rows, every 3 rounds (eval.every_rounds); last: round 18 (step 18)"
}
