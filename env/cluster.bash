# Sourced by env/demo.sh and env/reproduce.sh (in the repository's root): imports
# Fashion-MNIST into data/fashion-mnist.h5 when it is missing, and uses the configured
# Slurm cluster when `sinfo` answers, else starts the local one (env/slurm-start.sh) and
# stops it when the sourcing script exits.
if [ ! -f data/fashion-mnist.h5 ]; then
  echo "== importing Fashion-MNIST into data/fashion-mnist.h5"
  ./bin/dpt-data fashion-mnist
fi

if [ -z "${SLURM_CONF:-}" ] && sinfo -h >/dev/null 2>&1; then
  echo "== using the configured Slurm cluster"
else
  echo "== starting a one-node Slurm cluster on localhost (env/slurm-start.sh)"
  unset SLURM_CONF
  eval "$(env/slurm-start.sh --quiet)"
  trap 'env/slurm-stop.sh --dir "$DPT_SLURM_DIR" 2>/dev/null || true' EXIT
fi
