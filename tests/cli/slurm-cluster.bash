# Shared by the bats files that need Slurm: start a private one-node cluster
# (env/slurm-start.sh) in setup_file and stop it in teardown_file. A cluster that does
# not come up fails the file's tests; they never skip.
slurm_cluster_start() {
  unset SLURM_CONF DPT_SLURM_DIR
  local env
  env=$("$DPT_ROOT/env/slurm-start.sh" --quiet --dir "$BATS_FILE_TMPDIR/slurm") || {
    echo "local Slurm cluster did not start" >&2
    return 1
  }
  eval "$env"
  export SLURM_CONF DPT_SLURM_DIR
}

slurm_cluster_stop() {
  [ -n "${DPT_SLURM_DIR:-}" ] || return 0
  "$DPT_ROOT/env/slurm-stop.sh" --dir "$DPT_SLURM_DIR" 2>/dev/null || true
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
