#!/usr/bin/env bats
# dpt-aggregate: usage, tables from run files with known metrics in every format, bad
# files among good ones, pivots, filters, targets, studies, plots, and a real training run.

load helper

AGG() { "$BIN/dpt-aggregate" "$@"; }

# fixture DIR OPT SEED TEST_ACC [KEY=VALUE...]: a complete run with known numbers
fixture() {
  local dir=$1 opt=$2 seed=$3 acc=$4
  shift 4
  "$FIXTURE" "$dir/run.h5" model.optimizer="$opt" experiment.seed="$seed" \
      val_acc=0.5,0.7,0.8 test_acc="$acc" "$@"
}

setup() {
  cd "$BATS_TEST_TMPDIR"
  fixture sweep/a0 SGDM 0 0.91
  fixture sweep/a1 SGDM 1 0.93
  fixture sweep/a2 SGDM 2 0.92
  fixture sweep/b0 AdamW 0 0.88
  fixture sweep/b1 AdamW 1 0.90
}

@test "--help shows usage, formats and exit codes" {
  run "$BIN/dpt-aggregate" --help
  assert_success
  assert_output --partial "usage: dpt-aggregate [OPTIONS] DIR|FILE..."
  assert_output --partial "--include-unfinished"
  assert_output --partial "Exit status: 0 all files aggregated; 4"
}

@test "no path, unknown option, bad format are usage errors" {
  run "$BIN/dpt-aggregate"
  assert_equal "$status" 2
  assert_output --partial "no DIR or FILE given"
  run "$BIN/dpt-aggregate" --bogus sweep
  assert_equal "$status" 2
  assert_output --partial "--bogus"
  run "$BIN/dpt-aggregate" --format xml sweep
  assert_equal "$status" 2
  assert_output --partial "unknown format 'xml'"
  run "$BIN/dpt-aggregate" --target 2 sweep
  assert_equal "$status" 2
}

@test "default table groups by the varying key with mean ± std and n" {
  run "$BIN/dpt-aggregate" --values test_acc sweep
  assert_success
  # SGDM: 0.91 0.93 0.92 -> 0.92 ± 0.01; AdamW: 0.88 0.90 -> 0.89 ± 0.014142
  assert_output --partial "| model.optimizer | n | test acc |"
  assert_output --partial "| AdamW | 2 | 0.8900 ± 0.0141 |"
  assert_output --partial "| SGDM | 3 | **0.9200 ± 0.0100** |"
  assert_output --partial "5 runs in 2 rows"
}

@test "CSV parses back to the same numbers" {
  AGG --values test_acc --format csv sweep > t.csv 2>/dev/null
  head -n 1 t.csv | grep -q '^model.optimizer,n,test_acc_mean,test_acc_std,test_acc_n$'
  # awk recomputes mean and sample std from the inputs and compares to 1e-12
  awk -F, '
    $1 == "SGDM"  { m = (0.91 + 0.93 + 0.92) / 3; s = sqrt(((0.91-m)^2 + (0.93-m)^2 + (0.92-m)^2) / 2); n = 3 }
    $1 == "AdamW" { m = (0.88 + 0.90) / 2;        s = sqrt(((0.88-m)^2 + (0.90-m)^2) / 1); n = 2 }
    NR > 1 { if ((($3 - m)^2 > 1e-24) || (($4 - s)^2 > 1e-24) || $5 != n || $2 != n) bad = 1; rows++ }
    END { exit (bad || rows != 2) }' t.csv
}

@test "LaTeX has booktabs rules and escapes _ % &; a lead it cannot measure is not bold" {
  "$FIXTURE" sweep/c0/run.h5 model.optimizer=LAMB "experiment.name=x_y 5% A&B" test_acc=0.5
  run "$BIN/dpt-aggregate" --group-by experiment.name,model.optimizer --values test_acc --format latex sweep
  assert_success
  assert_output --partial '\toprule'
  assert_output --partial '\midrule'
  assert_output --partial '\bottomrule'
  assert_output --partial 'x\_y 5\% A\&B & LAMB & 1 & 0.5000 \\'
  assert_output --partial 'experiment.name & model.optimizer & n & test acc \\'
  # SGDM's lead over LAMB rests on one shared seed (LAMB has one run): not bold
  refute_output --partial '\textbf'
}

@test "JSON holds mean, std, n and best" {
  run "$BIN/dpt-aggregate" --values test_acc --format json sweep
  assert_success
  assert_output --partial '"model.optimizer": "AdamW", "n": 2, "test_acc": {"mean": 0.89, "std": 0.014142135623730963, "n": 2, "best": false}'
  assert_output --partial '"best": true'
}

@test "--baseline: paired differences by seed with a 95% t interval, bold only beyond zero" {
  # AdamW - SGDM at seeds 0 and 1: -0.03 and -0.03, the same at both: a zero-width
  # interval away from zero, so bold
  run "$BIN/dpt-aggregate" --values test_acc --baseline model.optimizer=SGDM sweep
  assert_success
  assert_output --partial "| model.optimizer | n | test acc | Δ test acc |"
  assert_output --partial "| AdamW | 2 | 0.8900 ± 0.0141 | **-0.0300 [-0.0300, -0.0300] (2 pairs)** |"
  assert_output --partial "| SGDM | 3 | 0.9200 ± 0.0100 | baseline |"
  # a third AdamW seed: -0.03, -0.03, -0.06: mean -0.04, sd 0.01732, and with t(0.975, 2)
  # = 4.303 from the table, -0.04 ± 4.303 * 0.01732 / sqrt(3) = [-0.0830, +0.0030]
  fixture sweep/b2 AdamW 2 0.86
  run "$BIN/dpt-aggregate" --values test_acc --baseline model.optimizer=SGDM sweep
  assert_success
  assert_output --partial "| AdamW | 3 | 0.8800 ± 0.0200 | -0.0400 [-0.0830, +0.0030] (3 pairs) |"
  refute_output --partial "| **"
  AGG --values test_acc --baseline model.optimizer=SGDM --format csv sweep > t.csv 2>/dev/null
  head -n 1 t.csv | grep -q ',test_acc_diff_mean,test_acc_diff_lo,test_acc_diff_hi,test_acc_diff_n$'
  awk -F, '$1 == "AdamW" { m = -0.04; s = sqrt(0.0003); h = 4.302653 * s / sqrt(3)
                           ok = ($6 - m)^2 < 1e-20 && ($7 - (m - h))^2 < 1e-12 && ($8 - (m + h))^2 < 1e-12 && $9 == 3 }
           END { exit !ok }' t.csv
  # the same from a study file, in LaTeX and as standard errors
  printf 'rows: [model.optimizer]\nvalues: [test_acc]\nbaseline: model.optimizer=AdamW\nspread: se\n' > paired.yaml
  run "$BIN/dpt-aggregate" --study paired.yaml --format latex sweep
  assert_success
  assert_output --partial 'SGDM & 3 & 0.9200 $\pm$ 0.0058 & +0.0400 [-0.0030, +0.0830] (3 pairs) \\'
  run "$BIN/dpt-aggregate" --values test_acc --baseline model.optimizer=LARS sweep
  assert_failure 1
  assert_output --partial "--baseline model.optimizer=LARS: no row of the table is the baseline"
}

@test "pivot: rows x cols with counts and the best of each column" {
  "$FIXTURE" sweep/d0/run.h5 model.optimizer=SGDM model.batch_size=256 test_acc=0.80
  "$FIXTURE" sweep/d1/run.h5 model.optimizer=AdamW model.batch_size=256 test_acc=0.84
  run "$BIN/dpt-aggregate" --rows model.optimizer --cols model.batch_size --value test_acc sweep
  assert_success
  assert_output --partial "| model.optimizer | model.batch_size=64 | model.batch_size=256 |"
  # at 256 one run each: AdamW's lead is not measured, so not bold
  assert_output --partial "| AdamW | 0.8900 ± 0.0141 (n=2) | 0.8400 (n=1) |"
  assert_output --partial "| SGDM | **0.9200 ± 0.0100 (n=3)** | 0.8000 (n=1) |"
}

# lr_grid DIR: SGDM and LARS x batch 64, 256 x learning rate 0.01, 0.1 x seeds 0, 1, with
# a validation peak per cell that makes the best rate differ by batch size (SGDM 64: 0.1,
# SGDM 256: 0.01, LARS 64: 0.01, LARS 256: a tie at 0.78, so 0.01, the smaller), the
# chosen runs' test accuracies seed by seed, every other run's 0.10.
lr_grid() {
  local o b lr s peak acc
  for o in SGDM LARS; do for b in 64 256; do for lr in 0.01 0.1; do for s in 0 1; do
    case $o-$b-$lr in
      SGDM-64-0.01) peak=0.80 ;; SGDM-64-0.1) peak=0.85 ;; SGDM-256-0.01) peak=0.78 ;;
      SGDM-256-0.1) peak=0.70 ;; LARS-64-0.01) peak=0.86 ;; LARS-64-0.1) peak=0.82 ;;
      LARS-256-*) peak=0.78 ;;
    esac
    case $o-$b-$lr-$s in
      SGDM-64-0.1-0) acc=0.80 ;; SGDM-64-0.1-1) acc=0.82 ;; SGDM-256-0.01-0) acc=0.75 ;;
      SGDM-256-0.01-1) acc=0.77 ;; LARS-64-0.01-0) acc=0.84 ;; LARS-64-0.01-1) acc=0.87 ;;
      LARS-256-0.01-0) acc=0.76 ;; LARS-256-0.01-1) acc=0.80 ;; *) acc=0.10 ;;
    esac
    "$FIXTURE" "$1/$o-$b-$lr-$s/run.h5" model.optimizer=$o model.batch_size=$b \
        model.learning_rate=$lr experiment.seed=$s val_acc=0.5,$peak test_acc=$acc
  done; done; done; done
}

@test "--best-of: each optimizer at its best learning rate per batch size, paired by seed" {
  lr_grid lb
  run "$BIN/dpt-aggregate" --rows model.optimizer --cols model.batch_size --best-of model.learning_rate \
      --baseline model.optimizer=SGDM lb
  assert_success
  # LARS - SGDM by seed at 64: 0.04, 0.05 -> 0.045 ± 12.706 * 0.00707 / sqrt(2); at 256
  # (LARS 0.01 against SGDM 0.01): 0.01, 0.03 -> 0.02 ± 12.706 * 0.01414 / sqrt(2)
  assert_output --partial "| LARS | 0.8550 ± 0.0212 (n=2); Δ +0.0450 [-0.0185, +0.1085] (2 pairs) | 0.7800 ± 0.0283 (n=2); Δ +0.0200 [-0.1071, +0.1471] (2 pairs) |"
  assert_output --partial "| SGDM | 0.8100 ± 0.0141 (n=2); Δ baseline | 0.7600 ± 0.0141 (n=2); Δ baseline |"
  assert_output --partial "**model.learning_rate chosen per cell** (highest mean best val acc)"
  assert_output --partial "| LARS | 0.01 | 0.01 |"
  assert_output --partial "| SGDM | 0.1 | 0.01 |"
  assert_output --partial "--best-of model.learning_rate by mean best_val_acc: 8 of 16 runs chosen"
  # a group table: the chosen rate as a column; the same from a study file, and figures of
  # the chosen runs only (2 runs per curve; LARS at 64: 0.86, not the mean with 0.82)
  printf 'rows: [model.optimizer, model.batch_size]\nvalues: [test_acc]\nbest_of: model.learning_rate\n' > b.yaml
  run "$BIN/dpt-aggregate" --study b.yaml --plots figs --plot val_acc_epoch lb
  assert_success
  assert_output --partial "| model.optimizer | model.batch_size | model.learning_rate (chosen) | n | test acc |"
  assert_output --partial "| SGDM | 256 | 0.01 | 2 | 0.7600 ± 0.0141 |"
  for f in figs/data/g*.dat; do
    awk '!/^#/ && $1 == 2 { if ($11 != 2) exit 1 }' "$f"
  done
  grep -l '^# LARS, B=64' figs/data/g*.dat | xargs awk '!/^#/ && $1 == 2 { exit !($3 == 0.86) }'
  # CSV: the chosen rate as a field of each pivot column
  AGG --rows model.optimizer --cols model.batch_size --best-of model.learning_rate --format csv lb > t.csv 2>/dev/null
  head -n 1 t.csv | grep -q '"model.batch_size=256_model.learning_rate"$'
  grep -q '^SGDM,.*,0\.1,.*,0\.01$' t.csv
  # the study of the large-batch sweep chooses so too
  run "$BIN/dpt-aggregate" --study "$DPT_ROOT/analysis/large-batch.yaml" lb
  assert_success
  assert_output --partial "| LARS | 85.50 ± 2.12 (n=2); Δ +4.50 [-1.85, +10.85] (2 pairs) |"
  assert_output --partial "| SGDM | 0.1 | 0.01 |"
}

@test "--best-of: a key no run has is an error, one that does not vary a note" {
  run "$BIN/dpt-aggregate" --help
  assert_output --partial "--best-of KEY"
  lr_grid lb
  run "$BIN/dpt-aggregate" --best-of model.lr lb
  assert_failure 1
  assert_output --partial "--best-of: no run has the config key 'model.lr'"
  run "$BIN/dpt-aggregate" --rows model.learning_rate --best-of model.learning_rate lb
  assert_failure 1
  assert_output --partial "is also a row or column key"
  run "$BIN/dpt-aggregate" --best-of model.learning_rate --select-by accuracy lb
  assert_failure 1
  assert_output --partial "--select-by: unknown field 'accuracy'"
  run "$BIN/dpt-aggregate" --select-by val_loss lb
  assert_failure 1
  assert_output --partial "--select-by val_loss needs --best-of KEY"
  run "$BIN/dpt-aggregate" --values test_acc --best-of model.weight_decay lb
  assert_success
  assert_output --partial "note: --best-of model.weight_decay: no group has more than one value of it, nothing to choose"
  assert_output --partial "16 of 16 runs chosen"
}

@test "--where, --sort and --percent" {
  run "$BIN/dpt-aggregate" --values test_acc --where model.optimizer=AdamW sweep
  assert_success
  refute_output --partial "SGDM"
  run "$BIN/dpt-aggregate" --values test_acc --sort -test_acc --percent --digits 1 sweep
  assert_success
  assert_line --index 2 "| SGDM | 3 | **92.0 ± 1.0** |"
  run "$BIN/dpt-aggregate" --where model.optimizr=SGDM sweep
  assert_failure 1
  assert_output --partial "no run has the config key 'model.optimizr'"
  run "$BIN/dpt-aggregate" --where model.optimizer=LARS sweep
  assert_failure 1
  assert_output --partial "no run matches the filters"
}

@test "--per-run and --target: epochs and rounds to the target accuracy" {
  "$FIXTURE" k2/run.h5 model.num_workers=2 val_acc=0.5,0.7,0.86,0.9 averagings=10,20,30,40 H=4,8,16,8
  run "$BIN/dpt-aggregate" --per-run --target 0.85 --values epochs_to_target,rounds_to_target,averagings --format csv k2
  assert_success
  # the run, its config hash and seed, then the values
  assert_line --index 0 --partial "run,hash,experiment.seed,n,epochs_to_target_mean,"
  assert_line --index 1 --regexp '^k2,[0-9a-f]{16},0,1,3,,1,60,,1,100,,1$'
}

@test "communication columns: reductions for centralized runs, payload in MB for reading and in bytes in CSV, no H without one" {
  "$FIXTURE" c/run.h5 model.num_workers=0 averagings=100,100 bytes=318000000,318000000
  run "$BIN/dpt-aggregate" c
  assert_success
  assert_line --index 0 --partial "| reductions | payload per worker |"
  assert_output --partial "| 200 | 636 MB |"
  run "$BIN/dpt-aggregate" --format csv --values payload_bytes,H_last c
  assert_line --index 1 --regexp ',636000000,,1,,,0$'
  "$FIXTURE" l/run.h5 model.num_workers=2 averagings=10,10 bytes=1270000,1270000 H=4,4
  run "$BIN/dpt-aggregate" l c
  assert_line --index 0 --partial "| rounds | payload per worker |"
  assert_output --partial "| 20 | 2.54 MB |"
}

@test "--long: one row per run and epoch, with a header, hash, seed and method" {
  "$FIXTURE" sweep/a5/run.h5 model.optimizer=SGDM experiment.seed=5 val_acc=0.5,0.6,0.7,0.75,0.8 test_acc=0.9
  run "$BIN/dpt-aggregate" --long sweep
  assert_success
  assert_line --index 0 "run,hash,experiment.seed,method,model.optimizer,epoch,lr,train_loss,train_acc,val_loss,val_acc,epoch_time,images_per_s,h,averagings,bytes,mpi_bytes_sent,comm_time,compute_time"
  # five runs of 3 epochs and one of 5: 20 rows after the header
  AGG --long -o long.csv sweep 2>/dev/null
  [ "$(wc -l < long.csv)" = 21 ]
  [ "$(grep -c '^sweep/a5,[0-9a-f]\{16\},5,centralized,SGDM,' long.csv)" = 5 ]
  # every (run, epoch) once, epochs 1..N in order
  [ "$(tail -n +2 long.csv | cut -d, -f1,6 | sort -u | wc -l)" = 20 ]
  grep -q '^sweep/a5,[0-9a-f]*,5,centralized,SGDM,4,.*,0.75,' long.csv
  # JSON: an array of the same records
  run "$BIN/dpt-aggregate" --long --format json sweep
  assert_success
  [ "$(grep -c '^ {"run": ' <<<"$output")" = 20 ]
  assert_output --partial '"experiment.seed": "5", "method": "centralized", "model.optimizer": "SGDM", "epoch": 4,'
  run "$BIN/dpt-aggregate" --long --format md sweep
  assert_failure 1
  assert_output --partial "--long writes csv or json"
}

@test "--long and --per-run: a sweep task's hash is its directory's name" {
  DATA=$(small_fmnist 600)
  cat > s.yaml <<YAML
name: t
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.name: LeNet5, model.epochs: 2, data.path: $DATA, data.limit: 300}
grid:
  model.learning_rate: [0.01, 0.02]
resources: {ranks: 1, time: 5}
YAML
  "$BIN/dpt-sweep" expand s.yaml -o sw >/dev/null
  "$BIN/dpt-sweep" run-local sw >/dev/null
  AGG --long -o long.csv sw 2>/dev/null
  [ "$(wc -l < long.csv)" = 5 ]
  # column 1 is sw/tasks/HASH, column 2 the hash
  awk -F, 'NR > 1 { n++; if ($1 != "sw/tasks/" $2) bad = 1 } END { exit bad || n != 4 }' long.csv
  run "$BIN/dpt-aggregate" --per-run --values test_acc sw
  for h in $(ls sw/tasks); do assert_output --partial "| sw/tasks/$h | $h | 0 |"; done
}

@test "damaged, unfinished, foreign and missing files are named and left out (exit 4)" {
  "$FIXTURE" sweep/running/run.h5 model.optimizer=SGDM status=running test_acc=0.1
  mkdir -p sweep/damaged sweep/foreign
  head -c 3000 sweep/a0/run.h5 > sweep/damaged/run.h5
  cp "$(small_fmnist 600)" sweep/foreign/run.h5
  run "$BIN/dpt-aggregate" --values test_acc sweep nowhere
  assert_equal "$status" 4
  assert_output --partial "4 files left out of the numbers"
  assert_output --partial "sweep/damaged/run.h5: cannot open HDF5 file (damaged?)"
  assert_output --partial "sweep/running/run.h5: running, 3 epochs recorded"
  assert_output --partial "sweep/foreign/run.h5: is a 'dpt-dataset' file, expected 'dpt-run'"
  assert_output --partial "nowhere: No such file or directory"
  # the good ones are aggregated, the running one is not in the numbers
  assert_output --partial "| SGDM | 3 | **0.9200 ± 0.0100** |"
  # --include-unfinished counts it, in a row of its own
  run "$BIN/dpt-aggregate" --values test_acc --include-unfinished sweep
  assert_equal "$status" 4
  assert_output --partial "| SGDM | running | 1 |"
  assert_output --partial "| SGDM | complete | 3 |"
  assert_output --partial "1 unfinished"
}

@test "every study in analysis/ prints its table" {
  for k in 0 2 4; do
    for h in 4 16; do
      "$FIXTURE" "st/k$k-h$h/run.h5" model.num_workers=$k model.work.local_steps=$h \
          model.optimizer=SGDM test_acc=0.8$k averagings=5,5,5 H=$h,$h,$h
    done
  done
  "$FIXTURE" st/slowmo/run.h5 model.num_workers=2 model.slowmo.momentum=0.6 test_acc=0.85
  "$FIXTURE" st/dyn/run.h5 model.num_workers=2 model.work.dynamic.strategy=LossLS \
      test_acc=0.86 averagings=3,2,1 H=4,8,16
  "$FIXTURE" st/shard/run.h5 model.num_workers=2 data.sharding=dirichlet:0.1 test_acc=0.7
  for s in "$DPT_ROOT"/analysis/*.yaml; do
    run "$BIN/dpt-aggregate" --study "$s" st
    assert_success
    assert_output --partial "**$(sed -n 's/^title: "\(.*\)"$/\1/p' "$s")**"
  done
  run "$BIN/dpt-aggregate" --study "$DPT_ROOT/analysis/localsgd.yaml" st
  # the dirichlet run (K=2, default H=1) is plain LocalSGD too
  assert_output --partial "| model.num_workers | model.work.local_steps=1 (%) | model.work.local_steps=4 (%) | model.work.local_steps=16 (%) |"
  # one run per cell: no lead is measured, so none is bold
  assert_output --partial "| 2 | 70.00 (n=1) | 82.00 (n=1) | 82.00 (n=1) |"
  assert_output --partial "| 4 | – | 84.00 (n=1) | 84.00 (n=1) |"
  run "$BIN/dpt-aggregate" --study "$DPT_ROOT/analysis/dynamic.yaml" st
  assert_output --partial "| LossLS | 1 |"
  printf 'title: x\nrowz: [a]\n' > bad.yaml
  run "$BIN/dpt-aggregate" --study bad.yaml st
  assert_failure 1
  assert_output --partial "bad.yaml:2: unknown key 'rowz'"
}

@test "--plots writes gnuplot scripts, SVG and PNG" {
  "$FIXTURE" dyn/a/run.h5 model.num_workers=2 model.work.dynamic.strategy=LossLS averagings=3,2,1 H=4,8,16
  "$FIXTURE" dyn/b/run.h5 model.num_workers=2 model.work.dynamic.strategy=ALin averagings=4,4,4 H=4,4,4
  run "$BIN/dpt-aggregate" --plots plots dyn
  assert_success
  for p in val_acc_epoch val_acc_rounds H_epoch; do
    [ -s "plots/$p.gp" ]
    grep -q '<svg' "plots/$p.svg"
    file "plots/$p.png" 2>/dev/null | grep -q PNG || head -c 4 "plots/$p.png" | grep -q PNG
  done
  grep -q "set xlabel 'epoch'" plots/val_acc_epoch.gp
  grep -q "title 'LossLS'" plots/H_epoch.gp
}

@test "--plots: curves past gnuplot's eight colours are dashed" {
  for i in 1 2 3 4 5 6 7 8 9; do
    "$FIXTURE" many/r$i/run.h5 model.learning_rate=0.0$i test_acc=0.8
  done
  run "$BIN/dpt-aggregate" --plots plots --plot val_acc_epoch many
  assert_success
  [ "$(grep -c ' lw 2 dt 1 title ' plots/val_acc_epoch.gp)" = 8 ]
  grep -q "lw 2 dt 2 title 'lr=0.09'" plots/val_acc_epoch.gp
}

# grid DIR: LocalSGD runs, K in {2, 4} x H in {4, 16} x seeds {0, 1}, three epochs.
grid() {
  local k h s
  for k in 2 4; do for h in 4 16; do for s in 0 1; do
    "$FIXTURE" "$1/k$k-h$h-s$s/run.h5" model.num_workers=$k model.work.local_steps=$h \
      experiment.seed=$s val_acc=0.5$s,0.6$s,0.7$s averagings=3,2,1 test_acc=0.8
  done; done; done
}

@test "figures: legend outside the plot, integer epoch ticks, bands over seeds, short labels" {
  grid g
  run "$BIN/dpt-aggregate" --plots p g
  assert_success
  gp=p/val_acc_epoch.gp
  grep -q '^set key outside right' "$gp"
  ! grep -q 'set key below' "$gp"
  grep -qx 'set xtics 1' "$gp"
  # one band (mean ± spread) per curve, drawn before the lines
  [ "$(grep -c 'with filledcurves' "$gp")" = 4 ]
  # labels name only the keys that vary, by their short names
  grep -qF "title 'K=2, H=4'" "$gp"
  grep -qF "title 'K=4, H=16'" "$gp"
  ! grep -q "title '[^']*num_workers" "$gp"
  # loss too, by default
  grep -q "set ylabel 'validation loss'" p/val_loss_epoch.gp
  [ -s p/val_loss_epoch.png ]
  # rounds: the averagings summed over epochs, integer ticks
  grep -qx 'set xtics 1' p/val_acc_rounds.gp
  [ "$(sed -n 3p p/data/g000.dat | cut -d' ' -f1,2)" = "1 3" ]
  [ "$(sed -n 5p p/data/g000.dat | cut -d' ' -f1,2)" = "3 6" ]
  # a key the others determine says nothing: DiLoCo always runs AdamW here
  for s in 0 1; do
    "$FIXTURE" m/l$s/run.h5 model.num_workers=2 model.work.local_steps=4 experiment.seed=$s
    "$FIXTURE" m/d$s/run.h5 model.num_workers=2 model.work.local_steps=4 experiment.seed=$s \
      model.work.optimizer=AdamW model.outer.type=nesterov
  done
  run "$BIN/dpt-aggregate" --rows method,model.work.optimizer --plots pm --plot val_acc_epoch m
  assert_success
  grep -qF "title 'DiLoCo'" pm/val_acc_epoch.gp
  grep -qF "title 'LocalSGD'" pm/val_acc_epoch.gp
}

@test "figures: bands are ± sd, or ± se with --spread se" {
  grid g
  run "$BIN/dpt-aggregate" --plots p --plot val_acc_epoch g
  assert_success
  # seeds 0 and 1 at epoch 1: 0.50 and 0.51
  grep -q ' val_acc_mean val_acc_sd ' p/data/g000.dat
  [ "$(sed -n 3p p/data/g000.dat | awk '{ printf "%.4f %.6f", $3, $4 }')" = "0.5050 0.007071" ]
  run "$BIN/dpt-aggregate" --spread se --plots q --plot val_acc_epoch g
  assert_success
  grep -q ' val_acc_mean val_acc_se ' q/data/g000.dat
  [ "$(sed -n 3p q/data/g000.dat | awk '{ printf "%.4f %.6f", $3, $4 }')" = "0.5050 0.005000" ]
  grep -qF 'bands: ± standard error' q/val_acc_epoch.gp
}

@test "figures: --facet KEY draws a panel per value; past 8 curves panels come unasked" {
  grid g
  run "$BIN/dpt-aggregate" --facet model.num_workers --plots p --plot val_acc_epoch g
  assert_success
  gp=p/val_acc_epoch.gp
  grep -q '^  set multiplot layout 1,2 ' "$gp"
  grep -qF "set title 'K=2'" "$gp"
  grep -qF "set title 'K=4'" "$gp"
  # within a panel the label leaves the panel's key out
  grep -qF "title 'H=16'" "$gp"
  ! grep -qF "title 'K=2, H=16'" "$gp"
  run "$BIN/dpt-aggregate" --facet model.nothing --plots p g
  assert_failure 1
  assert_output --partial "facet 'model.nothing' is not one of the plot's keys (model.num_workers, model.work.local_steps)"
  # refused before any output: no table printed
  refute_output --partial "| model.num_workers |"
  # 3 x 4 = 12 curves: split by the key that leaves at most 8 per panel in fewest panels
  for k in 2 4 8; do for h in 4 8 16 32; do
    "$FIXTURE" many/k$k-h$h/run.h5 model.num_workers=$k model.work.local_steps=$h averagings=4,4,4
  done; done
  run "$BIN/dpt-aggregate" --plots pm --plot val_acc_epoch many
  assert_success
  grep -q '^  set multiplot layout 1,3 ' pm/val_acc_epoch.gp
  grep -qF "set title 'K=8'" pm/val_acc_epoch.gp
  # a study says it too
  printf 'facet: model.work.local_steps\nplot_format: [png]\nplots: [val_acc_rounds]\n' > f.yaml
  run "$BIN/dpt-aggregate" --study f.yaml --plots ps g
  assert_success
  grep -qF "set title 'H=16'" ps/val_acc_rounds.gp
  [ -s ps/val_acc_rounds.png ] && [ ! -e ps/val_acc_rounds.svg ]
}

@test "figures: --plot-format pdf writes a vector PDF" {
  grid g
  run "$BIN/dpt-aggregate" --plot-format svg,png,pdf --plots p --plot val_acc_epoch g
  assert_success
  assert_output --partial "wrote p/val_acc_epoch.svg p/val_acc_epoch.png p/val_acc_epoch.pdf"
  [ "$(head -c 5 p/val_acc_epoch.pdf)" = "%PDF-" ]
  grep -q '<svg' p/val_acc_epoch.svg
  run "$BIN/dpt-aggregate" --plot-format pdf --plots q --plot val_acc_epoch g
  assert_success
  [ "$(head -c 5 q/val_acc_epoch.pdf)" = "%PDF-" ]
  [ ! -e q/val_acc_epoch.svg ] && [ ! -e q/val_acc_epoch.png ]
  run "$BIN/dpt-aggregate" --plot-format eps --plots q g
  assert_failure 2
  assert_output --partial "unknown figure format 'eps' (svg, png, pdf)"
}

@test "a run made by dpt-train aggregates" {
  DATA=$(small_fmnist 600)
  "$BIN/dpt-train" -c "$DPT_ROOT/tests/fixtures/seed/centralized.yaml" --data "$DATA" \
    --set model.epochs=2 --set experiment.output= --run-dir real/r1 >/dev/null
  run "$BIN/dpt-aggregate" --per-run --format csv real
  assert_success
  assert_line --index 0 --partial "run,hash,experiment.seed,n,val_acc_mean"
  assert_line --index 1 --regexp '^real/r1,[0-9a-f]{16},[0-9]+,1,'
  # the test accuracy in the table is the one in the file
  acc=$(h5dump -a /results/test_acc_last -y real/r1/run.h5 | sed -n 's/^ *\([0-9.e-]*\) *$/\1/p' | head -1)
  run "$BIN/dpt-aggregate" --values test_acc --format json real
  assert_output --partial "\"mean\": $(awk -v a="$acc" 'BEGIN { printf "%.4f", a }' | sed 's/0*$//')"
}
