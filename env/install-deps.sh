#!/usr/bin/env bash
# Installs, idempotently, every Debian package dpt needs. Does nothing when all are
# present; otherwise names what it installs. Needs root (or sudo) and Debian's archive.
set -euo pipefail

packages=(
  build-essential pkg-config make
  openmpi-bin libopenmpi-dev
  libhdf5-openmpi-dev hdf5-tools
  libopenblas-dev
  libyaml-dev zlib1g-dev
  bats bats-support bats-assert
  slurm-wlm munge
  dataset-fashion-mnist
  gnuplot-nox
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  [ -n "${DPT_QUIET_DEPS:-}" ] || echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${#missing[@]} missing package(s): ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
