#!/usr/bin/env bats
# Large-batch optimizers, learning-rate scaling with warm-up, large batches over ranks,
# and dynamic local steps, end to end through dpt-train.

load helper

teardown() { check_written_files; }

setup() {
  DATA=$(small_fmnist 1200 120) # (120 test images: the tests look at training and validation)
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

# values NAME FILE: /metrics/NAME, one per line
values() {
  h5dump -m '%.10g' -d "/metrics/$1" -y "$2" | sed -n '/DATA {/,/}/p' | grep -E '^ *[-0-9]' |
    tr ',' '\n' | tr -d ' ' | awk NF
}

@test "every optimizer and variant trains: the loss falls" {
  for spec in "SGDM 0.01 -" "AdamW 0.001 -" "LARS 2 paper" "LARS 2 larc" "LARS 0.02 seed" \
              "LAMB 0.01 paper" "LAMB 0.01 apex" "LAMB 0.01 seed"; do
    set -- $spec
    variant=()
    [ "$3" != - ] && variant=(--set "optim.$(echo "$1" | tr A-Z a-z)_variant=$3")
    # the classic LeNet-5, a tenth of the seed LeNet's work: every optimizer steps the same
    # layer kinds (conv, linear, biases) whatever their sizes
    "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
        --set model.name=LeNet5 --set model.optimizer=$1 --set model.learning_rate=$2 \
        "${variant[@]}" --run-dir "r-$1-$3" >/dev/null
    first=$(values train_loss "r-$1-$3/run.h5" | sed -n 1p)
    second=$(values train_loss "r-$1-$3/run.h5" | sed -n 2p)
    val=$(values val_loss "r-$1-$3/run.h5" | sed -n 1p)
    echo "$spec: train loss $first -> $second, val loss $val"
    # falls over the epochs, and below the untrained ln(10) = 2.3026 after one epoch
    awk -v a="$first" -v b="$second" -v v="$val" 'BEGIN { exit !(b < a && v < 2.3026) }'
  done
}

@test "a batch of 512 gives the same run on 1, 2 and 4 ranks" {
  for p in 1 2 4; do
    # 540 training images: a full batch of 512 and a last one of 28, on every P
    mpirun --allow-run-as-root --oversubscribe -np $p "$BIN/dpt-train" -c "$CENTRAL" \
        --data "$DATA" --limit 600 --set model.epochs=2 --set model.batch_size=512 \
        --set model.optimizer=LAMB --set experiment.output= --run-dir b$p >/dev/null
  done
  for p in 2 4; do
    for m in train_loss val_loss val_acc; do
      h5diff b1/run.h5 b$p/run.h5 /metrics/$m /metrics/$m
    done
    [ "$(h5dump -a /results/weights_crc32 b1/run.h5 | grep '(0)')" = \
      "$(h5dump -a /results/weights_crc32 b$p/run.h5 | grep '(0)')" ]
  done
}

@test "linear LR scaling from a reference batch, with warm-up" {
  # the learning rates do not depend on the model: the classic LeNet-5, cheaper
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=3 --set model.warmup=1 \
      --set model.batch_size=256 --set optim.lr_scaling=linear --set optim.lr_ref_batch=64 \
      --set model.name=LeNet5 --set experiment.output= --run-dir r >/dev/null
  # lr0 = 0.01 * 256/64 = 0.04; epoch 0 warms up at 0.1 * lr0; then cosine over 2 epochs
  run values lr r/run.h5
  assert_line --index 0 0.004
  assert_line --index 1 0.04
  assert_line --index 2 0.02
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=1 --set model.batch_size=256 \
      --set model.name=LeNet5 --set optim.lr_scaling=sqrt --set experiment.output= --run-dir s >/dev/null
  run values lr s/run.h5
  assert_line --index 0 0.02
}

# dyn_run DIR EPOCHS [--set ...]: the seed's dynamic example (local_steps 8, LossLS with
# n_losses 3) with 16-image worker batches: 270 images per worker, T = 17 local steps. On
# the classic LeNet-5: H follows the epochs and the loss history, not the model's size.
dyn_run() {
  local dir=$1 epochs=$2
  shift 2
  "$BIN/dpt-train" -c "$DPT_ROOT/tests/fixtures/seed/dynamic.yaml" --data "$DATA" \
      --set model.name=LeNet5 \
      --set model.epochs="$epochs" --set model.work.batch_size=16 --set experiment.output= \
      "$@" --run-dir "$dir" >/dev/null
}

@test "dynamic H, the seed's timing: epoch 0 runs local_steps, epoch e+1 the value from e" {
  dyn_run r 5 --set model.work.dynamic.strategy=DBin
  # local_steps 8, then DBin's f(0..3) for E = 5: 2^(floor((floor(8(4-e)/4)+1)/2)+2) =
  # 64, 32, 16, 8; an epoch has 17 steps, so 64 and 32 run (and are recorded) as 17
  run values h r/run.h5
  assert_output "$(printf '8\n17\n17\n16\n8')"
  # averagings = ceil(17 / H): the recorded H is the one the epoch ran with
  run values averagings r/run.h5
  assert_output "$(printf '3\n1\n1\n2\n3')"
  run h5dump -a /results/averagings_total r/run.h5
  assert_output --partial "(0): 10"
  # ALin, E = 3: 8, then floor((floor(120e/2)+1)/2)+4 for e = 0, 1: 4, 34 (run as 17)
  dyn_run a 3 --set model.work.dynamic.strategy=ALin
  run values h a/run.h5
  assert_output "$(printf '8\n4\n17')"
  run values averagings a/run.h5
  assert_output "$(printf '3\n5\n1')"
  # LossLS with n_losses 3 decides first after 4 validation losses: epochs 0-3 run with 8
  dyn_run l 4
  run values h l/run.h5
  assert_output "$(printf '8\n8\n8\n8')"
}

@test "dynamic H: Deviation runs across ranks identically" {
  # on the classic LeNet-5 H goes 8, 4, 4, 4 as on the seed LeNet, at a tenth of the work
  for p in 1 2; do
    mpirun --allow-run-as-root --oversubscribe -np $p "$BIN/dpt-train" \
        -c "$DPT_ROOT/tests/fixtures/seed/dynamic.yaml" --data "$DATA" --set model.epochs=4 \
        --set model.name=LeNet5 \
        --set model.work.batch_size=16 --set model.work.dynamic.strategy=Deviation \
        --set experiment.output= --run-dir d$p >/dev/null
  done
  h5diff d1/run.h5 d2/run.h5 /metrics/h /metrics/h
  h5diff d1/run.h5 d2/run.h5 /metrics/val_loss /metrics/val_loss
}

@test "LocalSGD refuses a centralized optimizer other than SGDM, naming where it was set" {
  run "$BIN/dpt-train" -c "$DPT_ROOT/tests/fixtures/seed/distributed.yaml" \
      --set model.optimizer=LAMB --check-config
  assert_failure 1
  assert_output --partial "--set model.optimizer=LAMB: model.optimizer: LAMB cannot be used with model.num_workers = 4"
  assert_output --partial "set model.work.optimizer: LAMB for the local workers"
}
