#!/usr/bin/env bash
# Golden layout files: `h5dump -H` of the files dpt writes, normalised, in tests/golden/.
#
#   tests/golden/update.sh          regenerate dataset.txt, run.txt and run-localsgd.txt
#   tests/golden/update.sh --check  compare instead (exit 1 with a diff when they differ);
#                                   tests/cli/dpt-inspect.bats runs this
#
# The files come from bin/dpt-data fashion-mnist --limit 100 and a 1-epoch dpt-train of
# tests/fixtures/seed/centralized.yaml (and the same with K = 4 LocalSGD workers, H = 4).
# Normalised away: the file name, and the string sizes of attributes whose values vary
# from build to build or machine to machine (creator_version, hdf5_version, file_time,
# source_dir, config, hostname, start/end times, Slurm ids). The /config group holds one
# typed attribute per config key (an open group in hdf5-schema/run.yaml, documented by the
# config reference) and is shown as one line. Regenerate after an intended layout change,
# check the diff with `git diff tests/golden`, and update hdf5-schema/ to match.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
golden="$root/tests/golden"
src="${FMNIST_SRC:-/usr/share/datasets/fashion-mnist}"
mode=update
[ "${1:-}" = "--check" ] && mode=check
[ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ] && { sed -n '2,16p' "$0"; exit 0; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

normalise() {
  h5dump -H "$1" | awk '
    BEGIN {
      split("creator_version hdf5_version file_time source_dir config hostname " \
            "start_time end_time slurm_job_id slurm_array_job_id slurm_array_task_id", v, " ")
      for (i in v) vary[v[i]] = 1
    }
    NR == 1 { print "HDF5 \"FILE\" {"; next }
    skipping { if ($0 == "   }") { skipping = 0; print } ; next }
    $0 == "   GROUP \"config\" {" {
      print; print "      (one typed attribute per config key, not compared)"; skipping = 1; next
    }
    match($0, /ATTRIBUTE "[^"]*"/) { attr = substr($0, RSTART + 11, RLENGTH - 12) }
    /STRSIZE [0-9]+;/ && (attr in vary) { sub(/STRSIZE [0-9]+;/, "STRSIZE *;") }
    { print }'
}

"$root/bin/dpt-data" fashion-mnist --src "$src" --limit 100 -o "$work/data.h5" >/dev/null
train() {
  "$root/bin/dpt-train" -c "$root/tests/fixtures/seed/centralized.yaml" --data "$work/data.h5" \
    --set model.epochs=1 --set experiment.output= --run-dir "$work/$1" "${@:2}" >/dev/null 2>&1
}
train run
train run-localsgd --set model.num_workers=4 --set model.work.local_steps=4

status=0
for kind in dataset run run-localsgd; do
  case $kind in dataset) file="$work/data.h5" ;; *) file="$work/$kind/run.h5" ;; esac
  normalise "$file" >"$work/$kind.txt"
  if [ $mode = update ]; then
    cp "$work/$kind.txt" "$golden/$kind.txt"
    echo "wrote tests/golden/$kind.txt"
  elif ! diff -u "$golden/$kind.txt" "$work/$kind.txt"; then
    echo "tests/golden/$kind.txt: the layout changed (regenerate with tests/golden/update.sh)" >&2
    status=1
  fi
done
exit $status
