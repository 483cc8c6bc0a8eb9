#!/usr/bin/env bats
# What a newcomer meets first: env/install-deps.sh finds what is present (pkg-config,
# command -v) and never calls apt with DPT_NO_INSTALL=1 or off Debian/Ubuntu, naming what
# is missing and how to get it with Spack or modules instead.

load helper

# A PATH directory holding the tools install-deps.sh looks for, less those named, plus an
# apt-get and a sudo that only leave a mark: the script must never reach them here.
tools_without() {
  local dir="$BATS_TEST_TMPDIR/bin" t
  mkdir -p "$dir"
  for t in bash cat tr id make pkg-config mpicc mpirun h5dump bats slurmctld munged gnuplot clang file strace \
           parallel tc; do
    [[ " $* " == *" $t "* ]] || ln -sf "$(command -v "$t")" "$dir/$t"
  done
  for t in apt-get sudo; do
    printf '#!/bin/sh\necho "%s $*" >> "%s/apt-called"\n' "$t" "$BATS_TEST_TMPDIR" >"$dir/$t"
    chmod +x "$dir/$t"
  done
  echo "$dir"
}

os_release() { # ID ID_LIKE
  printf 'NAME="%s"\nID=%s\nID_LIKE="%s"\n' "$1" "$1" "$2" >"$BATS_TEST_TMPDIR/os-release"
  echo "$BATS_TEST_TMPDIR/os-release"
}

@test "install-deps: everything present: exit 0, nothing installed, even on Debian" {
  run env PATH="$(tools_without):$PATH" DPT_OS_RELEASE="$(os_release debian '')" \
    bash "$DPT_ROOT/env/install-deps.sh"
  assert_success
  assert_output --partial "needs present"
  [ ! -e "$BATS_TEST_TMPDIR/apt-called" ]
}

@test "install-deps: DPT_NO_INSTALL=1 with a tool missing names it and never calls apt" {
  run env PATH="$(tools_without gnuplot)" DPT_NO_INSTALL=1 \
    DPT_OS_RELEASE="$(os_release debian '')" bash "$DPT_ROOT/env/install-deps.sh"
  assert_failure 1
  assert_output --partial "DPT_NO_INSTALL=1, nothing installed"
  assert_output --regexp "gnuplot .*not found \(cmd gnuplot\)"
  assert_output --partial "apt: gnuplot-nox; spack: gnuplot; module: module load gnuplot"
  refute_output --partial "libyaml"
  [ ! -e "$BATS_TEST_TMPDIR/apt-called" ]
}

@test "install-deps --build checks only the build's needs: missing test tools do not stop it" {
  run env PATH="$(tools_without gnuplot bats slurmctld munged)" DPT_NO_INSTALL=1 \
    bash "$DPT_ROOT/env/install-deps.sh" --build
  assert_success
  assert_output "install-deps: all 9 needs present"
  run env PATH="$(tools_without gnuplot bats slurmctld munged)" DPT_NO_INSTALL=1 \
    bash "$DPT_ROOT/env/install-deps.sh"
  assert_failure 1
  assert_output --partial "Slurm (local test cluster)"
  run bash "$DPT_ROOT/env/install-deps.sh" --frobnicate
  assert_failure 2
  [ ! -e "$BATS_TEST_TMPDIR/apt-called" ]
}

@test "install-deps: off Debian a missing library is reported with Spack and modules, no apt" {
  # pkg-config searches only a copy of the system's .pc files without libyaml's.
  local pc="$BATS_TEST_TMPDIR/pc" f
  mkdir -p "$pc"
  for f in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
    [ -d "$f" ] && cp "$f"/*.pc "$pc"/ 2>/dev/null || true
  done
  rm -f "$pc/yaml-0.1.pc"
  run env PATH="$(tools_without):$PATH" PKG_CONFIG_LIBDIR="$pc" PKG_CONFIG_PATH= \
    DPT_OS_RELEASE="$(os_release rocky 'rhel centos fedora')" bash "$DPT_ROOT/env/install-deps.sh"
  assert_failure 1
  assert_output --partial "not Debian or Ubuntu per $BATS_TEST_TMPDIR/os-release"
  assert_output --regexp "libyaml .*not found \(pc yaml-0.1\)"
  assert_output --partial "spack: libyaml; module: module load libyaml"
  assert_output --partial "spack env create dpt env/spack.yaml"
  assert_output --partial "env/modules.lua"
  refute_output --partial "OpenBLAS"
  [ ! -e "$BATS_TEST_TMPDIR/apt-called" ]
}

@test "install-deps: Ubuntu counts as Debian: a missing package goes to apt" {
  run env PATH="$(tools_without gnuplot)" DPT_OS_RELEASE="$(os_release ubuntu debian)" \
    bash "$DPT_ROOT/env/install-deps.sh"
  # The marking apt-get installs nothing, so the script reports gnuplot still missing.
  assert_failure 1
  assert_output --partial "installing 1 missing package(s): gnuplot-nox"
  assert_output --partial "still, after apt"
  run cat "$BATS_TEST_TMPDIR/apt-called"
  assert_output --partial "apt-get install -y -q --no-install-recommends gnuplot-nox"
}

# A 2-task sweep of 3-epoch runs, with and without a validation split: the seed's LeNet,
# whose epochs last long enough to be seen between (LeNet5 on these 1,500 images ran an
# epoch in under the 0.2 s between two looks on an AVX-512 Zen 4).
progress_sweep() {
  local data
  data=$(small_fmnist 1500)
  cat >"$BATS_TEST_TMPDIR/p.yaml" <<YAML
name: p
base: $DPT_ROOT/sweeps/base/fashion-mnist.yaml
set: {model.name: LeNet, model.epochs: 3, data.path: $data}
grid:
  data.val_fraction: [0, 0.2]
resources: {ranks: 1, time: 5, throttle: 1, signal_lead: 30}
YAML
  "$BIN/dpt-sweep" expand "$BATS_TEST_TMPDIR/p.yaml" -o "$1" >/dev/null
}

@test "dpt-train: no validation split prints 'val loss - acc -', never nan" {
  run "$BIN/dpt-train" -c "$DPT_ROOT/sweeps/base/fashion-mnist.yaml" --data "$(small_fmnist 1500)" \
    --limit 200 --set model.epochs=1 --set data.val_fraction=0 --run-dir "$BATS_TEST_TMPDIR/r"
  assert_success
  assert_output --regexp "epoch 1/1  lr [0-9.]+  train loss [0-9.]+ acc [0-9.]+  val loss - acc -  comm"
  refute_output --partial "nan"
}

@test "sweep status: each running task's epoch of E, last val acc (- without validation), ETA" {
  local d="$BATS_TEST_TMPDIR/sw" seen0="" seen1="" total="" out i
  progress_sweep "$d"
  "$BIN/dpt-sweep" run-local "$d" >"$BATS_TEST_TMPDIR/local.log" 2>&1 &
  local pid=$!
  # Watch as a user would until each task has been seen running after an epoch.
  for i in $(seq 1 600); do
    out=$("$BIN/dpt-sweep" status "$d" --summary)
    [ -n "$seen0" ] || seen0=$(grep -E '^task 0  .*  running  epoch [12]/3' <<<"$out" || true)
    [ -n "$total" ] || [ -z "$seen0" ] || total=$(grep -E ' done \(' <<<"$out")
    [ -n "$seen1" ] || seen1=$(grep -E '^task 1  .*  running  epoch [12]/3' <<<"$out" || true)
    [ -n "$seen0" ] && [ -n "$seen1" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.2
  done
  wait $pid
  echo "task 0: $seen0"; echo "task 1: $seen1"; echo "sweep: $total"
  # Task 0 has data.val_fraction 0, task 1 holds out 20%.
  [[ "$seen0" =~ ^task\ 0\ \ a0\[0\]\ \ running\ \ epoch\ [12]/3\ \ val\ acc\ -\ \ ETA\ [0-9]+(s|m[0-9]{2}s)$ ]]
  [[ "$seen1" =~ ^task\ 1\ \ a0\[1\]\ \ running\ \ epoch\ [12]/3\ \ val\ acc\ 0\.[0-9]{4}\ \ ETA\ [0-9]+(s|m[0-9]{2}s)$ ]]
  # The sweep's ETA, known once a run has finished an epoch.
  [[ "$total" =~ \]\ 0/2\ done\ \(0%\)\ \ ETA\ [0-9]+(s|m[0-9]{2}s)$ ]]
  run "$BIN/dpt-sweep" status "$d" --summary
  assert_success
  refute_output --partial "running  epoch"
  assert_output --partial "2/2 done (100%)  ETA 0s"
}

@test "docs/config.md is what make docs generates from the key table, line for line" {
  # After a change to the key table (src/config/config_keys.c), regenerate it: make docs
  run bash "$DPT_ROOT/env/config-doc.sh" "$BIN/dpt-train"
  assert_success
  [ "$(printf '%s\n' "$output" | grep -c '^| `')" -gt 50 ] # a row per key
  diff -u "$DPT_ROOT/docs/config.md" <(printf '%s\n' "$output")
}

@test "README: at most 200 lines, every page of docs/ one link away, every relative link resolves" {
  [ "$(wc -l <"$DPT_ROOT/README.md")" -le 200 ]
  for page in "$DPT_ROOT"/docs/*.md; do
    grep -qF "](docs/${page##*/}" "$DPT_ROOT/README.md" || { echo "not linked: $page"; return 1; }
  done
  for f in "$DPT_ROOT"/README.md "$DPT_ROOT"/docs/*.md; do
    for target in $(grep -oE '\]\([^)#:]+' "$f" | cut -c3-); do
      [ -e "$(dirname "$f")/$target" ] || { echo "$f: broken link $target"; return 1; }
    done
  done
}
