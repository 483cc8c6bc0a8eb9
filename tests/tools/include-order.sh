#!/usr/bin/env bash
# include-order.sh [ROOT] - every src/ folder includes only folders listed before it in the
# folder table of docs/ARCHITECTURE.md ("| `src/NAME/` | ..."), so the includes have no
# cycles. Prints each offending include; exits 1 if there is one, 0 otherwise.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
mapfile -t order < <(sed -n 's/^| `src\/\([a-z0-9_]*\)\/` |.*/\1/p' "$root/docs/ARCHITECTURE.md")
[ ${#order[@]} -gt 0 ] || { echo "no folder table in docs/ARCHITECTURE.md"; exit 1; }
declare -A rank
for i in "${!order[@]}"; do rank[${order[$i]}]=$i; done
bad=0
for f in "$root"/src/*/*.[ch]; do
  dir=$(basename "$(dirname "$f")")
  [ -n "${rank[$dir]:-}" ] || { echo "src/$dir/ is not in the folder table"; bad=1; continue; }
  while read -r to; do
    if [ -z "${rank[$to]:-}" ] || [ "${rank[$to]}" -gt "${rank[$dir]}" ]; then
      echo "${f#"$root"/}: includes ../$to/, not listed before src/$dir/"
      bad=1
    fi
  done < <(sed -n 's/^#include "\.\.\/\([a-z0-9_]*\)\/.*/\1/p' "$f" | sort -u)
done
exit $bad
