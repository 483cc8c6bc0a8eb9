#!/usr/bin/env bats
# Data-parallel training over MPI: the allocation (P ranks) never changes the answer,
# LocalSGD and SlowMo reduce to the algorithms they generalise, and failures are clear.

load helper

teardown() { check_written_files; }

setup() {
  DATA=$(small_fmnist 600 60) # (60 test images: the tests compare the training)
  SLOWMO="$DPT_ROOT/tests/fixtures/seed/slowmo.yaml"
  CENTRAL="$DPT_ROOT/tests/fixtures/seed/centralized.yaml"
  cd "$BATS_TEST_TMPDIR"
}

# K = 4 workers of 8-image batches: 540 training images, 135 per worker, 17 local steps
LOCAL=(--set model.epochs=2 --set model.num_workers=4 --set model.work.local_steps=8
       --set model.work.batch_size=8 --set experiment.output=)

@test "LocalSGD K=4 H=8 with SlowMo: identical on P = 1, 2 and 4" {
  for p in 1 2 4; do
    mpi $p "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${LOCAL[@]}" --run-dir p$p >/dev/null
  done
  same_learning p1 p2
  same_learning p1 p4
  # 17 local steps per epoch, H = 8: averagings after steps 8, 16 and the epoch's end
  run h5dump -d /metrics/averagings -y p1/run.h5
  assert_output --partial "3, 3"
  run h5dump -a /provenance/mpi_ranks p4/run.h5
  assert_output --partial "(0): 4"
}

@test "LocalSGD K=6: identical on P = 1, 2, 3 and 6 (not only powers of two)" {
  small=$(small_fmnist 480 48)
  # the classic LeNet-5, a third of the seed LeNet's work (which the K = 4 test above runs)
  for p in 1 2 3 6; do
    mpi $p "$BIN/dpt-train" -c "$SLOWMO" --data "$small" --set model.name=LeNet5 --set model.epochs=1 \
        --set model.num_workers=6 --set model.work.local_steps=3 --set model.work.batch_size=16 \
        --set experiment.output= --run-dir k6p$p >/dev/null
  done
  same_learning k6p1 k6p2
  same_learning k6p1 k6p3
  same_learning k6p1 k6p6
}

@test "synchronous data parallel, batch 96 (6 leaves): identical on P = 1 and 3" {
  small=$(small_fmnist 480 48)
  for p in 1 3; do
    mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$small" --set model.name=LeNet5 --set model.epochs=1 \
        --set model.batch_size=96 --set experiment.output= --run-dir b96p$p >/dev/null
  done
  same_learning b96p1 b96p3
}

@test "synchronous data parallel, batch 64: identical on P = 1 and 2" {
  for p in 1 2; do
    mpi $p "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 \
        --set experiment.output= --run-dir s$p >/dev/null
  done
  same_learning s1 s2
}

@test "LocalSGD with K = 1 and H = 1 is centralized SGDM with the same batch" {
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
      --run-dir central >/dev/null
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
      --set model.num_workers=1 --set model.work.local_steps=1 --run-dir k1 >/dev/null
  for m in train_loss val_loss val_acc; do
    h5diff central/run.h5 k1/run.h5 "/metrics/$m" "/metrics/$m"
  done
  [ "$(h5dump -a /results/weights_crc32 central/run.h5 | grep '(0)')" = \
    "$(h5dump -a /results/weights_crc32 k1/run.h5 | grep '(0)')" ]
}

@test "SlowMo with alpha = 1 and beta = 0 is byte-identical to plain LocalSGD" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${LOCAL[@]}" --set model.slowmo.momentum=0 \
      --run-dir slow >/dev/null
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${LOCAL[@]}" --set model.slowmo.enabled=false \
      --run-dir plain >/dev/null
  same_learning slow plain
  # and a real slow momentum changes the run
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${LOCAL[@]}" --run-dir beta >/dev/null
  run h5diff slow/run.h5 beta/run.h5 /metrics/val_loss /metrics/val_loss
  assert_failure
}

@test "SlowMo with H = 1, alpha = 1 on plain SGD is SGD with momentum beta" {
  # x0 - lr*u with u = beta*u + (x0 - xa)/lr, xa = x0 - lr*d: SGDM with mu = beta on d.
  # Equal in exact arithmetic; float32 rounds (x0 - xa)/lr differently, so 0.1% tolerance.
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
      --set optim.momentum=0.6 --run-dir sgdm >/dev/null
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
      --set model.num_workers=1 --set model.work.local_steps=1 --set optim.momentum=0 \
      --set model.slowmo.momentum=0.6 --run-dir slowmo >/dev/null
  h5diff -p 0.001 sgdm/run.h5 slowmo/run.h5 /metrics/val_loss /metrics/val_loss
  h5diff -p 0.001 sgdm/run.h5 slowmo/run.h5 /metrics/train_loss /metrics/train_loss
  # without SlowMo's momentum the two differ clearly
  "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set model.epochs=2 --set experiment.output= \
      --set model.num_workers=1 --set model.work.local_steps=1 --set optim.momentum=0 \
      --run-dir plain >/dev/null
  run h5diff -p 0.001 sgdm/run.h5 plain/run.h5 /metrics/train_loss /metrics/train_loss
  assert_failure
}

@test "run.h5 records the class make-up of every worker's shard and the communication" {
  "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${LOCAL[@]}" --set data.sharding=classes:3 \
      --run-dir r >/dev/null
  run h5dump -H -d /workers/class_histogram r/run.h5
  assert_output --partial "( 4, 10 )"
  # each worker holds exactly 3 classes
  rows=$(h5dump -d /workers/class_histogram -y r/run.h5 | sed -n '/DATA {/,/}/p' | grep -E '^ *[0-9]')
  [ "$(echo "$rows" | wc -l)" -eq 4 ]
  echo "$rows" | awk -F, '{ n = 0; for (i = 1; i <= NF; i++) if ($i + 0 > 0) n++; if (n != 3) exit 1 }'
  for m in bytes mpi_bytes_sent comm_time compute_time; do
    run h5dump -H -d /metrics/$m r/run.h5
    assert_success
  done
}

@test "dirichlet:0.01 on 100 classes: every worker's shard is a few classes (run.h5 histogram)" {
  # a CIFAR-100-format set of random images, 16 per class on average
  perl -e 'srand(3); for my $f (["train.bin", 1600], ["test.bin", 64]) {
    open(my $o, ">", $f->[0]) or die; binmode $o;
    for (1 .. $f->[1]) { print $o pack("CC", 0, int(rand(100))),
      pack("C*", map { int(rand(256)) } 1 .. 3072) } close $o }'
  "$BIN/dpt-data" cifar100 --src . -o c100.h5 >/dev/null
  "$BIN/dpt-train" -c "$SLOWMO" --data c100.h5 --set model.epochs=1 --set model.num_workers=8 \
      --set data.val_fraction=0 --set data.sharding=dirichlet:0.01 --set experiment.output= \
      --run-dir r >/dev/null
  rows=$(h5dump -d /workers/class_histogram -y r/run.h5 | sed -n '/DATA {/,/}/p' | grep -oE '[0-9]+')
  [ "$(echo "$rows" | wc -l)" -eq 800 ]
  # 200 images per worker need about 12 classes for 90%; dealt partly uniformly (the
  # Gamma draws underflowing) most workers needed 40 and more
  echo "$rows" | awk '{ h[NR - 1] = $1 }
    END { for (k = 0; k < 8; k++) { n = 0; for (c = 0; c < 100; c++) n += h[k * 100 + c]
      held = 0; used = 0; split("", seen)
      while (10 * held < 9 * n) { top = -1
        for (c = 0; c < 100; c++)
          if (!(c in seen) && (top < 0 || h[k * 100 + c] > h[k * 100 + top])) top = c
        seen[top] = 1; held += h[k * 100 + top]; used++ }
      printf "worker %d: %d classes hold 90%% of its %d images\n", k, used, n
      if (used > 20) bad = 1 }
      exit bad }'
}

@test "ranks that do not divide K or the batch are refused before any work" {
  run mpi 3 "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${LOCAL[@]}" --run-dir r
  assert_failure
  assert_output --partial "the number of ranks must divide K"
  [ ! -e r/run.h5 ]
  run mpi 3 "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --set experiment.output= --run-dir r
  assert_failure
  assert_output --partial "the number of ranks must divide the batch"
}

@test "a rank that fails stops the whole job and is named" {
  echo "not a dataset" > bad.h5
  run timeout 120 mpirun --allow-run-as-root --oversubscribe \
      -np 1 "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --run-dir r : \
      -np 1 "$BIN/dpt-train" -c "$CENTRAL" --data bad.h5 --run-dir r
  assert_failure
  assert_output --partial "rank 1: bad.h5"
  [ ! -e r/run.h5 ]
}

@test "under srun, singleton ranks (no PMIx) are an error that says so" {
  run env SLURM_STEP_NUM_TASKS=2 "$BIN/dpt-train" -c "$CENTRAL" --data "$DATA" --run-dir r
  assert_failure
  assert_output --partial "2 tasks but the MPI world has 1 rank"
  assert_output --partial "srun --mpi=pmix"
}

@test "reduction: fast trains on 2 ranks too" {
  run mpi 2 "$BIN/dpt-train" -c "$SLOWMO" --data "$DATA" "${LOCAL[@]}" \
      --set train.reduction=fast --run-dir f
  assert_success
  run h5dump -a /status f/run.h5
  assert_output --partial '"complete"'
}
