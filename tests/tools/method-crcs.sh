#!/usr/bin/env bash
# method-crcs.sh [BIN_DIR]: short runs of every training method on 1 and 2 ranks, and
# stop/resume runs, each printed as "NAME P weights_crc32". Run it before and after a
# refactoring and diff the outputs: a change of any line is a change of behaviour.
set -euo pipefail
BIN="${1:-$(cd "$(dirname "$0")/../.." && pwd)/bin}"
SRC="${FMNIST_SRC:-/usr/share/datasets/fashion-mnist}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
WORK=$(mktemp -d /tmp/method-crcs.XXXXXX)
CFG="$WORK/base.yaml"; printf "experiment:\n  name: crcs\n" > "$CFG"
trap 'rm -rf "$WORK"' EXIT
"$BIN/dpt-data" fashion-mnist --src "$SRC" --limit 400 -o "$WORK/d.h5" >/dev/null
COMMON=(--data "$WORK/d.h5" --set model.epochs=2 --set experiment.output=
        --set model.learning_rate=0.05 --set model.batch_size=32 --set model.work.batch_size=16
        --set model.work.local_steps=3)
crc() { h5dump -a /results/weights_crc32 "$1/run.h5" | sed -n 's/.*(0): *//p'; }

# name|settings (space-separated KEY=VALUE)
METHODS=(
  "central-SGDM|model.optimizer=SGDM"
  "central-AdamW|model.optimizer=AdamW model.learning_rate=0.001"
  "central-LARS|model.optimizer=LARS optim.lars_variant=larc"
  "central-LAMB|model.optimizer=LAMB model.learning_rate=0.001"
  "LocalSGD|model.num_workers=2"
  "LocalSGD-avgmom-AdamW|model.num_workers=2 model.work.optimizer=AdamW model.work.momentum=average model.learning_rate=0.001"
  "LocalSGD-reset-LARS|model.num_workers=2 model.work.optimizer=LARS model.work.momentum=reset"
  "LocalSGD-resetepoch-LAMB|model.num_workers=2 model.work.optimizer=LAMB model.work.momentum=reset_epoch model.learning_rate=0.001"
  "SlowMo|model.num_workers=2 model.outer.type=slowmo model.outer.momentum=0.5"
  "SlowMo-reset-each-epoch|model.num_workers=2 model.slowmo.momentum=0.5 model.slowmo.reset_each_epoch=true"
  "DiLoCo|model.num_workers=2 model.outer.type=nesterov model.outer.learning_rate=0.7 model.outer.momentum=0.9 model.work.optimizer=AdamW model.learning_rate=0.001"
  "post-local|model.num_workers=2 model.work.local_from_epoch=1"
  "dynH-Deviation|model.num_workers=2 model.work.dynamic.strategy=Deviation model.work.dynamic.h_min=1"
  "dynH-ALin|model.num_workers=2 model.work.dynamic.strategy=ALin model.work.dynamic.h_min=1 model.work.dynamic.h_max=4"
  "dynH-ImprLS|model.num_workers=2 model.work.dynamic.strategy=ImprLS model.epochs=3"
  "shard-random|model.num_workers=2 data.sharding=random"
  "shard-classes|model.num_workers=2 data.sharding=classes:5"
  "shard-dirichlet|model.num_workers=2 data.sharding=dirichlet:0.5"
)

args_of() {
  local a=() kv
  for kv in $1; do a+=(--set "$kv"); done
  echo "${a[@]}"
}

for m in "${METHODS[@]}"; do
  name=${m%%|*}
  read -r -a extra <<< "$(args_of "${m#*|}")"
  for p in 1 2; do
    dir="$WORK/$name-$p"
    mpirun -np "$p" "$BIN/dpt-train" -c "$CFG" "${COMMON[@]}" "${extra[@]}" --run-dir "$dir" \
      > "$dir.log" 2>&1 || { echo "$name $p FAILED"; cat "$dir.log"; continue; }
    echo "$name $p $(crc "$dir")"
  done
done

# Stop/resume: SIGUSR1 once the first epoch's line is out (it lands in the second of three
# epochs or between them), resume on 2 ranks; the weights must be the uninterrupted run's.
for m in "central-SGDM|model.optimizer=SGDM model.epochs=3" \
         "SlowMo|model.num_workers=2 model.outer.type=slowmo model.outer.momentum=0.5 model.epochs=3" \
         "DiLoCo|model.num_workers=2 model.outer.type=nesterov model.outer.learning_rate=0.7 model.outer.momentum=0.9 model.work.optimizer=AdamW model.learning_rate=0.001 model.epochs=3"; do
  name=${m%%|*}
  read -r -a extra <<< "$(args_of "${m#*|}")"
  dir="$WORK/resume-$name"
  mpirun -np 2 "$BIN/dpt-train" -c "$CFG" "${COMMON[@]}" "${extra[@]}" --run-dir "$dir-ref" \
    > "$dir-ref.log" 2>&1 || { echo "uninterrupted-$name FAILED"; cat "$dir-ref.log"; }
  echo "uninterrupted-$name 2 $(crc "$dir-ref")"
  mpirun -np 2 "$BIN/dpt-train" -c "$CFG" "${COMMON[@]}" "${extra[@]}" --run-dir "$dir" \
    > "$dir.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q "^epoch 1/" "$dir.log" 2>/dev/null && break; sleep 0.05; done
  kill -USR1 "$pid" 2>/dev/null || true
  rc=0; wait "$pid" || rc=$?
  mpirun -np 2 "$BIN/dpt-train" -c "$CFG" "${COMMON[@]}" "${extra[@]}" --run-dir "$dir" \
    --resume auto >> "$dir.log" 2>&1 || { echo "resume-$name FAILED"; cat "$dir.log"; continue; }
  echo "resume-$name 2 $(crc "$dir") (first run exit $rc)"
done
