#!/usr/bin/env bash
# Checks what dpt needs (pkg-config for libraries, `command -v` for tools, files for the
# bats libraries and the dataset) and installs only what is missing, with apt, and only on
# Debian or Ubuntu. Elsewhere, or with DPT_NO_INSTALL=1, it installs nothing: it names
# what is missing and how to get it with Spack (env/spack.yaml) or modules
# (env/modules.lua), and exits 1. Exits 0 when everything is present.
#   --build            check only what building dpt needs (not the tests' and demo's needs)
#   DPT_NO_INSTALL=1   never call apt (clusters, shared machines)
#   DPT_QUIET_DEPS=1   say nothing when everything is present
#   DPT_OS_RELEASE     the os-release file to read (default /etc/os-release)
set -euo pipefail

# One row per need: what | how to check (cmd NAME, pc MODULE, file PATH) | Debian package |
# Spack spec (- = the site provides it) | module (- = none). The first nine are the build's.
needs=(
  "C compiler and make|cmd make|build-essential|-|gcc"
  "pkg-config|cmd pkg-config|pkg-config|pkgconf|-"
  "MPI compiler wrapper|cmd mpicc|libopenmpi-dev|openmpi|openmpi/4.1"
  "MPI launcher|cmd mpirun|openmpi-bin|openmpi|openmpi/4.1"
  "parallel HDF5|pc hdf5-openmpi|libhdf5-openmpi-dev|hdf5 +mpi|hdf5/1.10-mpi"
  "HDF5 tools (h5dump, h5diff)|cmd h5dump|hdf5-tools|hdf5 +mpi|hdf5/1.10-mpi"
  "OpenBLAS (dpt-bench's sgemm reference, the unit tests' oracle; dpt itself never calls it)|pc openblas|libopenblas-dev|openblas|openblas/0.3"
  "libyaml|pc yaml-0.1|libyaml-dev|libyaml|libyaml"
  "zlib|pc zlib|zlib1g-dev|zlib|zlib"
  "bats (tests)|cmd bats|bats|bats|-"
  "bats-support (tests)|file /usr/lib/bats/bats-support/load.bash|bats-support|-|-"
  "bats-assert (tests)|file /usr/lib/bats/bats-assert/load.bash|bats-assert|-|-"
  "Slurm (local test cluster)|cmd slurmctld|slurm-wlm|-|-"
  "munge (local test cluster)|cmd munged|munge|-|-"
  "gnuplot (PNG plots)|cmd gnuplot|gnuplot-nox|gnuplot|gnuplot"
  "Fashion-MNIST (demo)|file /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz|dataset-fashion-mnist|-|-"
  "clang (tests: the aarch64 compile check; make fuzz)|cmd clang|clang|llvm|llvm"
  "file (tests: object file types)|cmd file|file|file|-"
  "GNU parallel (tests: two bats files at a time)|cmd parallel|parallel|parallel|parallel"
  "strace (tests: each rank fsyncs the checkpoint before rank 0 renames it)|cmd strace|strace|-|-"
  "iproute2 (tests, make bench: a rate-limited link, ip netns + tc tbf)|cmd tc|iproute2|-|-"
)

if [ "${1:-}" = --build ]; then
  needs=("${needs[@]:0:9}")
elif [ $# -gt 0 ]; then
  echo "usage: install-deps.sh [--build]" >&2
  exit 2
fi

present() { # KIND ARG
  case "$1" in
    cmd) command -v "$2" >/dev/null 2>&1 ;;
    pc) command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$2" ;;
    file) [ -e "$2" ] ;;
  esac
}

missing=()
check_all() {
  missing=()
  local row what check
  for row in "${needs[@]}"; do
    IFS='|' read -r what check _ <<<"$row"
    present ${check% *} "${check#* }" || missing+=("$row")
  done
}

# The distribution's ID and ID_LIKE words, lower case.
os_words() {
  local f=${DPT_OS_RELEASE:-/etc/os-release}
  [ -r "$f" ] || return 0
  ( . "$f"; echo "${ID:-} ${ID_LIKE:-}" | tr '[:upper:]' '[:lower:]' )
}

is_debian() {
  local w
  for w in $(os_words); do
    case "$w" in debian | ubuntu) return 0 ;; esac
  done
  return 1
}

report_missing() { # WHY
  local row what check deb spack module
  echo "install-deps: missing ($1):" >&2
  for row in "${missing[@]}"; do
    IFS='|' read -r what check deb spack module <<<"$row"
    printf '  %-30s not found (%s %s)\n' "$what" "${check% *}" "${check#* }" >&2
    printf '  %-30s apt: %s; spack: %s; module: %s\n' "" "$deb" \
      "$([ "$spack" = - ] && echo 'from the site' || echo "$spack")" \
      "$([ "$module" = - ] && echo 'none' || echo "module load $module")" >&2
  done
  cat >&2 <<'EOF'
  Spack:   spack env create dpt env/spack.yaml && spack env activate dpt && spack install
  Modules: env/modules.lua lists the modules (Lmod); copy it as dpt.lua, `module load dpt`
  Debian:  sudo apt-get install PACKAGE...  (or run this script without DPT_NO_INSTALL)
EOF
}

check_all
if [ ${#missing[@]} -eq 0 ]; then
  [ -n "${DPT_QUIET_DEPS:-}" ] || echo "install-deps: all ${#needs[@]} needs present"
  exit 0
fi

if [ "${DPT_NO_INSTALL:-}" = 1 ]; then
  report_missing "DPT_NO_INSTALL=1, nothing installed"
  exit 1
fi
if ! is_debian; then
  report_missing "not Debian or Ubuntu per ${DPT_OS_RELEASE:-/etc/os-release}, nothing installed"
  exit 1
fi

pkgs=()
for row in "${missing[@]}"; do
  IFS='|' read -r _ _ deb _ <<<"$row"
  [[ " ${pkgs[*]} " == *" $deb "* ]] || pkgs+=("$deb")
done
echo "install-deps: installing ${#pkgs[@]} missing package(s): ${pkgs[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${pkgs[@]}"
check_all
if [ ${#missing[@]} -ne 0 ]; then
  report_missing "still, after apt"
  exit 1
fi
echo "install-deps: done"
