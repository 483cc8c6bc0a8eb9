# Shared by the bats files that need Slurm: start a private one-node cluster
# (env/slurm-start.sh) in setup_file and stop it in teardown_file. A cluster that does
# not come up fails the file's tests; they never skip. One file's cluster at a time in a
# bats run (make test runs two files at once): the second waits for the first's stop.
slurm_cluster_start() {
  exec {SLURM_CLUSTER_LOCK}>"$BATS_RUN_TMPDIR/slurm-cluster.lock"
  flock "$SLURM_CLUSTER_LOCK"
  unset SLURM_CONF DPT_SLURM_DIR
  local env
  # (the daemons do not inherit the lock)
  env=$("$DPT_ROOT/env/slurm-start.sh" --quiet --dir "$BATS_FILE_TMPDIR/slurm" {SLURM_CLUSTER_LOCK}>&-) || {
    echo "local Slurm cluster did not start" >&2
    return 1
  }
  eval "$env"
  export SLURM_CONF DPT_SLURM_DIR
}

slurm_cluster_stop() {
  if [ -n "${DPT_SLURM_DIR:-}" ]; then
    "$DPT_ROOT/env/slurm-stop.sh" --dir "$DPT_SLURM_DIR" 2>/dev/null || true
  fi
  flock -u "$SLURM_CLUSTER_LOCK"
}

# Waits (up to $2 seconds, default 120) until no job of this cluster is pending or running.
slurm_wait_idle() {
  local limit=${1:-120} i
  for ((i = 0; i < limit * 2; i++)); do
    [ -z "$(squeue -h -o %i 2>/dev/null)" ] && return 0
    sleep 0.5
  done
  squeue >&2
  return 1
}
