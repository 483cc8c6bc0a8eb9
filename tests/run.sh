#!/usr/bin/env bash
# Runs the C unit tests, the fuzz replay (every kept input of tests/fuzz/regressions and
# tests/fuzz/corpus, one test each) and every bats file under tests/cli, then prints one
# closing line "N passed, N failed" that counts all three. Exits non-zero when anything
# failed.
set -u
cd "$(dirname "$0")/.."
log=$(mktemp -d)
# The bats files' scratch directories (TMPDIR) in memory when /dev/shm is a tmpfs: every
# training run fsyncs its checkpoints, which on a disk costs wall time and tests nothing
# the tests look at (the fsync tests trace the calls, which a tmpfs gets too).
scratch=${TMPDIR:-/tmp}
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] && [ -w /dev/shm ]; then
  scratch=$(mktemp -d /dev/shm/dpt-test.XXXXXX) || scratch=${TMPDIR:-/tmp}
fi
# (an interrupted run also stops the unit tests and the replay running beside bats)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$log"; [ "$scratch" = "${TMPDIR:-/tmp}" ] || rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM

# The unit tests and the fuzz replay (one core, about half a minute) run beside the bats
# files; their reports are printed after them.
./build/unit-tests > "$log/unit.txt" 2>&1 &
unit_pid=$!
./build/fuzz-replay tests/fuzz/regressions tests/fuzz/corpus > "$log/replay.txt" 2> "$log/replay.err" &
replay_pid=$!

echo "== bats tests"
# Two files at a time (GNU parallel): most tests keep one core busy or wait on Slurm and
# signals. Tests within a file stay in order: several share their file's set-up. The
# longest files go first (GNU parallel starts them in the order given), so that no long
# file starts last and runs alone; the rest follow in name order.
jobs=(--jobs 2 --no-parallelize-within-files)
command -v parallel >/dev/null || { echo "GNU parallel not found: one file at a time"; jobs=(); }
first=(dpt-train-resume dpt-sweep-slurm compress dpt-train-local build dpt-train-dist resnet streaming)
files=()
for f in "${first[@]}"; do [ ! -f "tests/cli/$f.bats" ] || files+=("tests/cli/$f.bats"); done
for f in tests/cli/*.bats; do
  [[ " ${first[*]} " == *" $(basename "$f" .bats) "* ]] || files+=("$f")
done
TMPDIR=$scratch bats --tap --timing "${jobs[@]}" "${files[@]}" | tee "$log/bats.txt"
bats_status=${PIPESTATUS[0]}
bats_pass=$(grep -c '^ok ' "$log/bats.txt")
bats_fail=$(grep -c '^not ok ' "$log/bats.txt")
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log/bats.txt" | head -n 1)
# A bats file that dies before reporting counts as failures, not as silence.
missing=$(( ${planned:-0} - bats_pass - bats_fail ))
[ "$missing" -gt 0 ] && bats_fail=$((bats_fail + missing))
# So does bats itself failing with nothing to show (before its plan, say).
if [ "$bats_status" -ne 0 ] && [ "$bats_fail" -eq 0 ]; then
  echo "bats exited with $bats_status and no failing test"
  bats_fail=1
fi

# The slowest tests (bats --timing), for whoever keeps make test under its 10 minutes.
echo "== slowest bats tests"
sed -n 's/^\(not \)\{0,1\}ok [0-9]* \(.*\) in \([0-9]*\)ms$/\3 \2/p' "$log/bats.txt" |
  sort -rn | head -n 8 | awk '{ t = $1 / 1000; $1 = ""; printf "%7.1f s %s\n", t, $0 }'

wait "$unit_pid"
echo "== unit tests"
cat "$log/unit.txt"
unit_line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log/unit.txt" | tail -n 1)
unit_pass=$(echo "${unit_line:-0 passed, 1 failed}" | awk '{print $1}')
unit_fail=$(echo "${unit_line:-0 passed, 1 failed}" | awk '{print $3}')

wait "$replay_pid"
echo "== fuzz replay"
cat "$log/replay.err" >&2
grep -E '^(not )?ok ' "$log/replay.txt" | grep -v '^ok ' || true
replay_pass=$(grep -c '^ok ' "$log/replay.txt")
replay_fail=$(grep -c '^not ok ' "$log/replay.txt")
replay_planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log/replay.txt" | head -n 1)
# An input that crashes ends the replay: it and the inputs after it count as failures.
replay_missing=$(( ${replay_planned:-1} - replay_pass - replay_fail ))
if [ "$replay_missing" -gt 0 ]; then
  echo "crashed on: $(grep '^# ' "$log/replay.txt" | tail -n 1 | cut -c3-)"
  replay_fail=$((replay_fail + replay_missing))
fi
echo "$replay_pass of ${replay_planned:-?} inputs replayed without a crash"

passed=$((unit_pass + replay_pass + bats_pass))
failed=$((unit_fail + replay_fail + bats_fail))
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
