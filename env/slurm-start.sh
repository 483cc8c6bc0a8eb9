#!/usr/bin/env bash
# slurm-start.sh - start a one-node Slurm cluster on localhost for tests and the demo.
#
#   eval "$(env/slurm-start.sh)"          # prints: export SLURM_CONF=...; DPT_SLURM_DIR=...
#   env/slurm-start.sh --dir /tmp/mine    # state, logs and slurm.conf in that directory
#   env/slurm-stop.sh                     # stops it (reads DPT_SLURM_DIR or --dir)
#
# Everything lives in one temporary directory: slurm.conf, a private munged (its own
# socket, the system's key), slurmctld and slurmd state, pid files and logs. Nothing
# outside it is written, so a real cluster's configuration is never touched. The node is
# "localhost" with this machine's cores, one partition "debug" (OverSubscribe=FORCE:4),
# accounting off, proctrack/linuxproc, task/none, and `srun --mpi=pmix` works.
# Refuses when SLURM_CONF already points at another cluster's file (--force to ignore it).
set -euo pipefail

usage() {
  cat <<'EOF'
usage: env/slurm-start.sh [--dir DIR] [--cpus N] [--force] [--quiet]
Starts munged, slurmctld and slurmd on localhost with state in DIR (default: a new
mktemp directory) and prints shell lines that point Slurm's commands at it:
  export SLURM_CONF=DIR/slurm.conf DPT_SLURM_DIR=DIR
--force starts even when SLURM_CONF names a configuration that is not a dpt local one.
EOF
}

dir="" cpus="" force=0 quiet=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a directory}"; shift 2 ;;
    --cpus) cpus="${2:?--cpus needs a number}"; shift 2 ;;
    --force) force=1; shift ;;
    --quiet) quiet=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "slurm-start: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "slurm-start: $*" >&2; }
die() { echo "slurm-start: $*" >&2; exit 1; }

if [ -n "${SLURM_CONF:-}" ] && [ "$force" != 1 ]; then
  if [ ! -f "$(dirname "$SLURM_CONF")/.dpt-local-slurm" ]; then
    die "SLURM_CONF=$SLURM_CONF is not a dpt local cluster; refusing to start another one
  (unset SLURM_CONF to start a local cluster, or pass --force)"
  fi
fi
[ "$(id -u)" -eq 0 ] || die "needs root: slurmd and munged run as root here (SlurmUser=root)"
for b in munged slurmctld slurmd sinfo; do
  command -v "$b" >/dev/null || die "$b not found; run env/install-deps.sh (slurm-wlm, munge)"
done
[ -r /etc/munge/munge.key ] || die "/etc/munge/munge.key missing; reinstall the munge package"

if [ -z "$dir" ]; then
  dir=$(mktemp -d "${TMPDIR:-/tmp}/dpt-slurm.XXXXXX")
else
  mkdir -p "$dir"
  [ -z "$(ls -A "$dir" 2>/dev/null)" ] || [ -f "$dir/.dpt-local-slurm" ] ||
    die "$dir is not empty and not a dpt local cluster directory"
  [ ! -f "$dir/slurmctld.pid" ] || ! kill -0 "$(cat "$dir/slurmctld.pid")" 2>/dev/null ||
    die "a cluster already runs in $dir (env/slurm-stop.sh --dir $dir)"
fi
dir=$(cd "$dir" && pwd)
touch "$dir/.dpt-local-slurm"
mkdir -p "$dir/state" "$dir/spool" "$dir/log" "$dir/tmp"

cpus=${cpus:-$(nproc)}
mem_mb=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)

# Two free TCP ports next to each other, away from Slurm's defaults (6817/6818).
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
port=$(( 20000 + ($$ * 7) % 20000 ))
while ! { port_free "$port" && port_free $((port + 1)); }; do port=$((port + 2)); done

cat >"$dir/slurm.conf" <<EOF
# dpt local one-node cluster (env/slurm-start.sh); state and logs in $dir
ClusterName=dptlocal
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/slurmd-%n
TmpFS=$dir/tmp
# Job ids unique across local clusters running at once (PMIx names its files by job id).
FirstJobId=$(( (port % 10000) * 1000 + 1 ))
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
MpiDefault=none
ReturnToService=2
JobRequeue=1
MinJobAge=600
KillWait=10
InactiveLimit=0
SlurmdTimeout=60
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF

export SLURM_CONF="$dir/slurm.conf"

say "munged (socket $dir/munge.sock)"
munged --force --socket="$dir/munge.sock" --key-file=/etc/munge/munge.key \
  --pid-file="$dir/munged.pid" --log-file="$dir/log/munged.log" \
  --seed-file="$dir/munged.seed" ||
  die "munged failed to start; see $dir/log/munged.log"

say "slurmctld (port $port)"
slurmctld -f "$SLURM_CONF" -i ||
  die "slurmctld failed to start; see $dir/log/slurmctld.log"
say "slurmd (port $((port + 1)))"
slurmd -f "$SLURM_CONF" ||
  die "slurmd failed to start; see $dir/log/slurmd.log"

# The node is usable once sinfo reports it idle.
for _ in $(seq 1 60); do
  state=$(sinfo -h -n localhost -o %t 2>/dev/null | head -n 1 || true)
  case "$state" in idle|mix|alloc) break ;; esac
  sleep 0.5
done
case "$state" in
  idle|mix|alloc) ;;
  *) tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
     "$(dirname "$0")/slurm-stop.sh" --dir "$dir" --keep >/dev/null 2>&1 || true
     die "node not idle after 30 s (state '${state:-none}'); logs in $dir/log" ;;
esac

printf 'export SLURM_CONF=%q DPT_SLURM_DIR=%q\n' "$SLURM_CONF" "$dir" >"$dir/env.sh"
say "up: $cpus CPUs, partition debug; stop with env/slurm-stop.sh --dir $dir"
cat "$dir/env.sh"
