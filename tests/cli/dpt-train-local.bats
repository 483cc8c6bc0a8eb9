#!/usr/bin/env bats
# Local methods beyond the seed (issue 13): any inner optimizer (model.work.optimizer), an
# outer optimizer (model.outer: SlowMo or Nesterov as DiLoCo), post-local SGD
# (model.work.local_from_epoch). Each reduces to the method it generalises, and none
# depends on the number of ranks or on a stop and resume.

load helper

teardown() { check_written_files; }

setup() {
  # a test split of a tenth: the runs here are compared whole, their test accuracies
  # only as part of same_learning
  DATA=$(small_fmnist 480 48)
  LOCALSGD="$DPT_ROOT/tests/fixtures/seed/distributed.yaml"
  SLOWMO="$DPT_ROOT/tests/fixtures/seed/slowmo.yaml"
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

# K = 4 workers of 16-image batches: 432 training images, 7 local steps per epoch.
K4=(--set model.epochs=2 --set model.num_workers=4 --set model.work.local_steps=3
    --set model.work.batch_size=16 --set experiment.output=)
DILOCO=(--set model.work.optimizer=AdamW --set model.learning_rate=0.001
        --set model.outer.type=nesterov --set model.outer.learning_rate=0.7
        --set model.outer.momentum=0.9)

crc() { h5dump -a /results/weights_crc32 "$1/run.h5" | grep '(0)'; }

# workers_agree CKPT: every worker of an AdamW run holds the global parameters and the
# same (non-zero) first and second moments.
workers_agree() {
  "$DPT_ROOT/build/h5craft" --rows-agree "$1" workers/params global/params
  [ "$(h5dump -d workers/params -H "$1" | grep -c 'DATASPACE  SIMPLE { ( 4,')" -eq 1 ]
  "$DPT_ROOT/build/h5craft" --rows-agree "$1" workers/momentum
  "$DPT_ROOT/build/h5craft" --rows-agree "$1" workers/second_moment
}

@test "K = 1, H = 1 with inner AdamW is centralized AdamW on the same batch stream" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
      --set model.optimizer=AdamW --set model.learning_rate=0.001 --run-dir central >/dev/null
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
      --set model.num_workers=1 --set model.work.local_steps=1 --set model.work.optimizer=AdamW \
      --set model.learning_rate=0.001 --run-dir k1 >/dev/null
  for m in train_loss val_loss val_acc; do
    h5diff central/run.h5 k1/run.h5 "/metrics/$m" "/metrics/$m"
  done
  [ "$(crc central)" = "$(crc k1)" ]
  # the workers really stepped AdamW: their checkpoint holds a second moment
  run h5dump -H -d /workers/second_moment k1/checkpoint.h5
  assert_success
}

@test "model.optimizer AdamW with K >= 1 is refused and points at model.work.optimizer" {
  run "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" --set model.optimizer=AdamW --run-dir r
  assert_failure
  assert_output --partial "--set model.optimizer=AdamW: model.optimizer: AdamW cannot be used"
  assert_output --partial "model.work.optimizer: AdamW"
  [ ! -e r/run.h5 ]
}

@test "outer nesterov with momentum 0 and lr 1 is plain averaging, bitwise" {
  trained plain -c "$LOCALSGD" --data "$DATA" "${K4[@]}"
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.outer.type=nesterov \
      --set model.outer.learning_rate=1 --set model.outer.momentum=0 --run-dir nest >/dev/null
  same_learning plain nest
  # with DiLoCo's momentum the run differs
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.outer.type=nesterov \
      --set model.outer.learning_rate=0.7 --set model.outer.momentum=0.9 --run-dir mom >/dev/null
  [ "$(crc plain)" != "$(crc mom)" ]
}

@test "SlowMo through model.outer is the seed's model.slowmo keys, bitwise" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${K4[@]}" --run-dir seed >/dev/null
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.outer.type=slowmo \
      --set model.outer.learning_rate=1.0 --set model.outer.momentum=0.6 --run-dir outer >/dev/null
  same_learning seed outer
  trained plain -c "$LOCALSGD" --data "$DATA" "${K4[@]}"
  [ "$(crc seed)" != "$(crc plain)" ]
}

@test "post-local SGD: the switch at epoch 0 is LocalSGD; before it every step averages" {
  trained localsgd -c "$LOCALSGD" --data "$DATA" "${K4[@]}"
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.work.local_from_epoch=0 \
      --run-dir switch0 >/dev/null
  same_learning localsgd switch0
  trained post -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.work.local_from_epoch=1
  # epoch 1 synchronous: 7 steps, 7 gradient averagings, H recorded as 1; epoch 2 local
  # with H = 3: averagings after steps 3, 6 and the epoch's last
  run h5dump -d /metrics/averagings -y post/run.h5
  assert_output --partial "7, 3"
  run h5dump -d /metrics/h -y post/run.h5
  assert_output --partial "1, 3"
  run h5dump -a /results/averagings_total post/run.h5
  assert_output --partial "(0): 10"
  [ "$(crc localsgd)" != "$(crc post)" ]
}

@test "post-local SGD: after a synchronous epoch every worker holds the global model and state" {
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.epochs=1 \
      --set model.work.local_from_epoch=1 --set model.work.optimizer=AdamW \
      --set model.learning_rate=0.001 --run-dir sync >/dev/null
  workers_agree sync/checkpoint.h5
}

@test "post-local SGD with K = 1 in its synchronous phase is LocalSGD with H = 1" {
  one=(--set model.epochs=2 --set model.num_workers=1 --set model.work.batch_size=32
       --set experiment.output=)
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${one[@]}" --set model.work.local_steps=1 \
      --run-dir h1 >/dev/null
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${one[@]}" --set model.work.local_steps=5 \
      --set model.work.local_from_epoch=2 --run-dir sync >/dev/null
  for m in train_loss val_loss val_acc averagings; do
    h5diff h1/run.h5 sync/run.h5 "/metrics/$m" "/metrics/$m"
  done
  [ "$(crc h1)" = "$(crc sync)" ]
}

@test "DiLoCo (AdamW + Nesterov, moments averaged), LAMB + SlowMo and post-local: identical on P = 1, 2 and 4" {
  # the classic LeNet-5, a third of the seed LeNet's work: the methods' steps are the same
  small=(--set model.name=LeNet5)
  for p in 1 2 4; do
    mpi $p "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" "${small[@]}" "${DILOCO[@]}" \
        --set model.work.momentum=average --run-dir diloco$p >/dev/null
    mpi $p "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${K4[@]}" "${small[@]}" --set model.epochs=1 \
        --set model.work.optimizer=LAMB --set model.work.momentum=reset --run-dir lamb$p >/dev/null
    mpi $p "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" "${small[@]}" \
        --set model.work.local_from_epoch=1 --run-dir post$p >/dev/null
  done
  for method in diloco lamb post; do
    same_learning ${method}1 ${method}2
    same_learning ${method}1 ${method}4
  done
  # model.work.momentum: average leaves every worker with the mean of both moments
  workers_agree diloco2/checkpoint.h5
}

# stop_in_epoch2 P DIR ARGS...: runs on P ranks and sends SIGUSR1 once epoch 1's
# checkpoint is written, so the stop lands inside epoch 2; asserts the checkpointed stop
# (exit 3) after a step of epoch 2.
stop_in_epoch2() {
  local p=$1 dir=$2
  shift 2
  mpirun --allow-run-as-root --oversubscribe -np "$p" "$BIN/dpt-train" "$@" --run-dir "$dir" \
      > "$dir.log" 2>&1 &
  local pid=$! rc=0
  for _ in $(seq 1200); do
    [ -e "$dir/checkpoint.h5" ] && break
    sleep 0.05
  done
  sleep 0.1
  kill -USR1 "$pid"
  wait "$pid" || rc=$?
  cat "$dir.log"
  [ "$rc" -eq 3 ]
  grep -q "interrupted at epoch 2, step [1-9]" "$dir.log"
}

@test "DiLoCo and post-local SGD stopped by SIGUSR1 on P = 2 resume exactly on P = 4 and 1" {
  # 600 images: 9 steps of 16 images per worker and epoch, room for the stop in epoch 2
  fm600=$(small_fmnist 600 60)
  diloco=(-c "$LOCALSGD" --data "$fm600" "${K4[@]}" --set model.epochs=3 "${DILOCO[@]}")
  post=(-c "$LOCALSGD" --data "$fm600" "${K4[@]}" --set model.epochs=3
        --set model.work.local_from_epoch=2 --set model.work.optimizer=LARS
        --set optim.lars_variant=larc --set model.learning_rate=0.5)
  for method in diloco post; do
    declare -n args=$method
    "$BIN/dpt-train" "${args[@]}" --run-dir ref-$method >/dev/null
    stop_in_epoch2 2 stop-$method "${args[@]}"
    for p in 4 1; do
      rm -rf "$method$p" && cp -r "stop-$method" "$method$p"
      run mpi $p "$BIN/dpt-train" "${args[@]}" --run-dir "$method$p" --resume auto
      assert_success
      assert_output --partial "resuming from $method$p/checkpoint.h5"
      same_learning "ref-$method" "$method$p"
    done
  done
}

@test "dpt-aggregate groups by the method: LocalSGD, SlowMo, DiLoCo, post-local, the inner optimizer" {
  fx() { "$FIXTURE" "$1/run.h5" model.num_workers=4 "${@:2}" >/dev/null; }
  fx r/local test_acc=0.80
  fx r/slowmo model.outer.type=slowmo model.outer.momentum=0.6 test_acc=0.81
  fx r/diloco model.work.optimizer=AdamW model.outer.type=nesterov test_acc=0.82
  fx r/post model.work.local_from_epoch=1 test_acc=0.83
  fx r/lamb model.work.optimizer=LAMB test_acc=0.84
  run "$BIN/dpt-aggregate" --values test_acc r
  assert_success
  assert_line --regexp '^\| method \| model\.outer\.momentum \|'
  for m in "LocalSGD" "SlowMo" "DiLoCo" "post-local LocalSGD" "LocalSGD \(LAMB\)"; do
    assert_line --regexp "^\| $m \|"
  done
  # the study table of sweeps/fm-local-methods.yaml reads these runs
  run "$BIN/dpt-aggregate" --study "$DPT_ROOT/analysis/local-methods.yaml" r
  assert_success
  assert_output --partial "| DiLoCo | AdamW | nesterov | 0 |"
}

@test "a DiLoCo run is named once, in run.h5: the banner, dpt-inspect and dpt-aggregate all say DiLoCo" {
  run "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.epochs=1 \
      "${DILOCO[@]}" --run-dir r/diloco
  assert_success
  assert_line --regexp '^dpt-train: LeNet .* parameters, DiLoCo, 1 epochs, '
  h5dump -a /provenance/method r/diloco/run.h5 | grep -q '(0): "DiLoCo"'
  run "$BIN/dpt-inspect" r/diloco/run.h5
  assert_success
  assert_output --partial "K = 4 DiLoCo workers, H = 3 local steps, worker batch 16"
  # the readers show the name the file records ...
  cp -r r/diloco r/recorded
  "$DPT_ROOT/build/h5craft" --set-str r/recorded/run.h5 /provenance method "as recorded"
  run "$BIN/dpt-aggregate" --values test_acc r
  assert_success
  assert_line --regexp '^\| DiLoCo \| 1 \|'
  assert_line --regexp '^\| as recorded \| 1 \|'
  # ... and name a file written before it was recorded from its config
  "$DPT_ROOT/build/h5craft" --delete-attr r/recorded/run.h5 /provenance method
  run "$BIN/dpt-aggregate" --values test_acc r
  assert_success
  assert_output --partial "2 runs in 1 row" # one method: DiLoCo
  run "$BIN/dpt-inspect" r/recorded/run.h5
  assert_output --partial "K = 4 DiLoCo workers"
  # a centralized run's banner names its optimizer
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=1 \
      --set experiment.output= --set model.optimizer=AdamW --set model.learning_rate=0.001 \
      --run-dir central
  assert_line --regexp '^dpt-train: LeNet .* parameters, centralized AdamW, 1 epochs, '
}

@test "a checkpoint whose workers' second moments are missing, mis-sized or damaged is refused" {
  run2=(-c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.epochs=1 "${DILOCO[@]}")
  "$BIN/dpt-train" "${run2[@]}" --run-dir good >/dev/null
  for craft in "/workers/second_moment 3x794768" "/workers/second_moment 4x5"; do
    cp good/checkpoint.h5 bad.h5
    "$DPT_ROOT/build/h5craft" bad.h5 $craft
    run "$BIN/dpt-train" "${run2[@]}" --run-dir r --resume bad.h5
    assert_failure 1
    assert_output --partial "workers/second_moment"
    refute_output --partial "Segmentation"
  done
  # one flipped value: the worker's checksum covers its second moment too
  cp good/checkpoint.h5 bad.h5
  np=$(h5dump -d workers/second_moment -H bad.h5 | sed -n 's/.*SIMPLE { ( [0-9]*, \([0-9]*\) ).*/\1/p')
  "$DPT_ROOT/build/h5craft" --flip bad.h5 workers/second_moment $((np + 7))
  run "$BIN/dpt-train" "${run2[@]}" --run-dir r --resume bad.h5
  assert_failure 1
  assert_output --partial "worker 1: checksum mismatch"
  # the dataset deleted
  cp good/checkpoint.h5 bad.h5
  "$DPT_ROOT/build/h5craft" --delete bad.h5 workers/second_moment
  run "$BIN/dpt-train" "${run2[@]}" --run-dir r --resume bad.h5
  assert_failure 1
  assert_output --partial "workers/second_moment"
  [ ! -e r/run.h5 ]
}

@test "post-local SGD with a feedback dynamic H: H stays local_steps until local steps begin" {
  # ImprLS doubles H after every epoch whose validation accuracy is a new best, as the
  # first is: through two synchronous epochs it would reach 6 or 12
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.epochs=3 \
      --set model.work.local_from_epoch=2 --set model.work.dynamic.strategy=ImprLS \
      --run-dir post >/dev/null
  run h5dump -d /metrics/h -y post/run.h5
  assert_output --partial "1, 1, 3"
}

@test "an H above the steps of an epoch runs as T, is recorded as T and is named on the progress line" {
  # T = 7 steps per epoch: H = 50 averages once, at the epoch's end, as H = 7 does
  run "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.work.local_steps=50 \
      --run-dir h50
  assert_success
  assert_output --partial "H 7 (H 50 > the epoch's 7 steps) avg 1"
  "$BIN/dpt-train" -c "$LOCALSGD" --data "$DATA" "${K4[@]}" --set model.work.local_steps=7 \
      --run-dir h7 >/dev/null
  same_learning h7 h50
  run h5dump -d /metrics/h -y h50/run.h5
  assert_output --partial "7, 7"
}

@test "model.slowmo.reset_each_epoch is the seed's SlowMo: the local optimizers restart each epoch too" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${K4[@]}" --set model.slowmo.reset_each_epoch=true \
      --run-dir seed >/dev/null
  # the same as resetting the local optimizer state at every epoch start explicitly
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${K4[@]}" --set model.slowmo.reset_each_epoch=true \
      --set model.work.momentum=reset_epoch --run-dir both >/dev/null
  same_learning seed both
  [ "$(crc seed)" = "$(crc both)" ]
}
