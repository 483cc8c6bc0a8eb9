#!/usr/bin/env bats
# The CIFAR ResNets with ghost-batch batch norm: the allocation (P ranks) never changes
# the weights or the running statistics, a stopped run resumes exactly, and a ghost
# batch that does not divide the batch is refused by name. Runs of a few steps on 160
# Fashion-MNIST images (ResNet-20 is about 3x LeNet's work per image), tested on 16.

load helper

teardown() { check_written_files; }

setup() {
  DATA=$(small_fmnist 160 16)
  SLOWMO="$DPT_ROOT/tests/fixtures/seed/slowmo.yaml"
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

RESNET=(--set model.name=ResNet20 --set model.epochs=1 --set experiment.output=)

@test "ResNet20 LocalSGD K=4 (ghost batch 16 of worker batch 32): identical on P = 1, 2 and 4" {
  for p in 1 2 4; do
    mpi $p "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${RESNET[@]}" --set model.num_workers=4 \
        --set model.work.batch_size=32 --set model.work.local_steps=2 \
        --set model.bn.ghost_batch=16 --run-dir l$p >/dev/null
  done
  same_learning l1 l2
  same_learning l1 l4
}

@test "ResNet20 synchronous batch 128 (4 ghost batches of 32): identical on P = 1, 2 and 4" {
  for p in 1 2 4; do
    mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${RESNET[@]}" \
        --set model.batch_size=128 --run-dir s$p >/dev/null
  done
  same_learning s1 s2
  same_learning s1 s4
  # PyTorch's state_dict from the checkpoint: running statistics, and num_batches_tracked
  # counting the ghost batches (144 training images: 4 + 1 per epoch)
  "$BIN/dpt-inspect" --export-torch s1/checkpoint.h5 -o torch.h5 >/dev/null
  run "$BIN/dpt-inspect" --check torch.h5
  assert_output "torch.h5: ok"
  run h5ls torch.h5
  assert_line --regexp '^layer3\.2\.bn2\.running_var +Dataset \{64\}$'
  assert_line --regexp '^layer2\.0\.conv1\.weight +Dataset \{32, 16, 3, 3\}$'
  assert_line --regexp '^fc\.weight +Dataset \{10, 64\}$'
  run h5dump -d /layer1.1.bn2.num_batches_tracked torch.h5
  assert_output --partial "(0): 5"
  # the running variance left its initial 1
  run h5dump -d /bn1.running_var torch.h5
  refute_output --partial "(0): 1, 1, 1, 1"
}

@test "ResNet20 post-local SGD and DiLoCo with dynamic H: identical on P = 1 and 2" {
  for p in 1 2; do
    mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${RESNET[@]}" --set model.epochs=2 \
        --set model.num_workers=2 --set model.work.batch_size=32 --set model.work.local_from_epoch=1 \
        --run-dir pl$p >/dev/null
    mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${RESNET[@]}" --set model.num_workers=2 \
        --set model.work.batch_size=32 --set model.outer.type=nesterov \
        --set model.outer.learning_rate=0.7 --set model.outer.momentum=0.9 --set model.epochs=2 \
        --set model.work.dynamic.strategy=Deviation --set model.work.dynamic.h_min=1 \
        --run-dir dl$p >/dev/null
  done
  same_learning pl1 pl2
  same_learning dl1 dl2
}

@test "ResNet20 LocalSGD stopped mid-epoch resumes exactly, on P = 2 as on 1" {
  local args=(-c "$SLOWMO" --data "$DATA" "${RESNET[@]}" --set model.epochs=2
              --set model.num_workers=2 --set model.work.batch_size=16 --set model.bn.ghost_batch=16)
  "$BIN/dpt-train" "${args[@]}" --run-dir ref >/dev/null
  DELAYS="1.0 0.5 2.0 0.3 3.0" stop_mid_epoch 1 stopped "${args[@]}"
  cp -r stopped r2
  run "$BIN/dpt-train" "${args[@]}" --run-dir stopped --resume auto
  assert_success
  same_learning ref stopped
  run mpi 2 "$BIN/dpt-train" "${args[@]}" --run-dir r2 --resume auto
  assert_success
  same_learning ref r2
}

@test "a ghost batch that does not divide the batch is refused by name" {
  run "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" "${RESNET[@]}" --set model.batch_size=64 \
      --set model.bn.ghost_batch=24 --run-dir x
  assert_failure
  assert_output --partial "model.bn.ghost_batch"
  assert_output --partial "24 does not divide model.batch_size = 64"
  run "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${RESNET[@]}" --set model.num_workers=2 \
      --set model.work.batch_size=20 --run-dir x
  assert_failure
  assert_output --partial "32 does not divide model.work.batch_size = 20"
  [ ! -e x/run.h5 ]
}

@test "ResNet20: every kernel path this CPU runs (scalar, avx2, avx512) gives the same weights" {
  # 20 training images (batch 16: a whole step and a short one), 4 test images
  d16=$(small_fmnist 20 4)
  mapfile -t ran < <(kernel_paths)
  for k in "${ran[@]}"; do
    DPT_KERNEL=$k "$BIN/dpt-train" -c "$CENTRAL" --data "$d16" "${RESNET[@]}" \
        --set model.batch_size=16 --set model.bn.ghost_batch=8 --set data.val_fraction=0 \
        --run-dir k$k >/dev/null
  done
  # x86-64 CPUs with AVX2 are the ones dpt is built for: the AVX2 path must have run
  if [ "$(uname -m)" = x86_64 ]; then [ "${ran[1]}" = avx2 ]; fi
  for k in "${ran[@]:1}"; do same_learning kscalar "k$k"; done
  echo "# paths: ${ran[*]}" >&3
}
