#!/usr/bin/env bash
# slurm-stop.sh - stop a local cluster that env/slurm-start.sh started and remove its
# directory (--keep leaves the logs and state). The directory is --dir, else
# $DPT_SLURM_DIR, else the directory of $SLURM_CONF. Refuses any directory that
# slurm-start.sh did not make, so it never stops a real cluster.
set -euo pipefail

dir="" keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) echo "usage: env/slurm-stop.sh [--dir DIR] [--keep]"; exit 0 ;;
    *) echo "slurm-stop: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if [ -z "$dir" ]; then
  if [ -n "${DPT_SLURM_DIR:-}" ]; then dir=$DPT_SLURM_DIR
  elif [ -n "${SLURM_CONF:-}" ]; then dir=$(dirname "$SLURM_CONF")
  else echo "slurm-stop: which cluster? pass --dir DIR (or set DPT_SLURM_DIR)" >&2; exit 2
  fi
fi
[ -d "$dir" ] || { echo "slurm-stop: $dir: no such directory" >&2; exit 1; }
[ -f "$dir/.dpt-local-slurm" ] ||
  { echo "slurm-stop: $dir is not a dpt local cluster (no .dpt-local-slurm); not touching it" >&2; exit 1; }

# Cancel the jobs first so their steps end cleanly, then the daemons, newest first.
if [ -f "$dir/slurmctld.pid" ] && kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null; then
  SLURM_CONF="$dir/slurm.conf" scancel --quiet --user=root 2>/dev/null || true
fi
stop_pid() { # name pidfile
  local f="$dir/$2" pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  echo "slurm-stop: $1 ($pid) did not stop; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
}
stop_pid slurmd slurmd.pid
stop_pid slurmctld slurmctld.pid
stop_pid munged munged.pid
if [ "$keep" = 1 ]; then
  echo "slurm-stop: stopped; state and logs kept in $dir" >&2
else
  rm -rf "$dir"
  echo "slurm-stop: stopped and removed $dir" >&2
fi
