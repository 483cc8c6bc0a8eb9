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
  for t in bash cat tr id make pkg-config mpicc mpirun h5dump bats slurmctld munged gnuplot; do
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
