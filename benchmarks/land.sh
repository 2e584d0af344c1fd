#!/bin/bash
# Land what the long runs (benchmarks/longruns.sh) show so far into benchmarks/: the claims files of the named run
# groups and the progress table of every long-run directory present, unfinished runs with their frames so far.
#
#   bash benchmarks/land.sh ROOT GROUP...     # e.g. bash benchmarks/land.sh ../longruns a3c_lstm_lr_0p002 dqn_nature
#   LAND_OUT=DIR PYTHON=python3 bash benchmarks/land.sh ROOT   # another folder than benchmarks/, another interpreter
#
# Only the named groups' claims rows are regenerated (`replication.claims --update` keeps the others'): a group is
# regenerated from the run directories present alone, so name one only when all its published runs are there (a new
# machine loses the run directories; the rows landed before stay in the files). longruns_progress.csv keeps the
# rows of runs whose directories are gone and replaces those of the runs present.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: bash benchmarks/land.sh ROOT [GROUP...]" >&2; exit 2; }
[ -d "$1" ] || { echo "$1 is not a folder; accepted: the ROOT given to benchmarks/longruns.sh" >&2; exit 2; }
root=$(cd "$1" && pwd)  # ROOT and LAND_OUT as the caller names them, before the cd below
shift
out=$(mkdir -p "${LAND_OUT:-$here/benchmarks}" && cd "${LAND_OUT:-$here/benchmarks}" && pwd)
py=${PYTHON:-$here/.venv/bin/python}
cd "$here"
for group in "$@"; do
  mapfile -t dirs < <(find "$root" -path "*/runs/$group/*/w*/s*/config.json" -printf '%h\n' | sort)
  [ ${#dirs[@]} -gt 0 ] || { echo "no run of group $group under $root (no runs/$group/*/w*/s*/config.json)" >&2; exit 2; }
  "$py" -m replication.claims --update --out "$out" "${dirs[@]}"
done
"$py" - "$root" "$out/longruns_progress.csv" <<'EOF'
import sys
from pathlib import Path

import pandas as pd

from replication.report.progress_report import progress_table, run_progress
from replication.results.claims import keep_other_groups
from replication.runs.rundir import atomic_write_bytes

root, out = Path(sys.argv[1]), Path(sys.argv[2])
runs = [r for p in sorted(root.glob("*/runs/*/*/w*/s*")) if (r := run_progress(p)) is not None]
now = progress_table(runs)
key = ["group", "game", "workers", "seed"]  # one run; the rows of runs not present now are kept as landed before
old = pd.read_csv(out) if out.exists() else now.iloc[:0]
table = keep_other_groups(now, old, set(now[key].itertuples(index=False, name=None)), key)
atomic_write_bytes(out, table.to_csv(index=False, float_format="%.6g").encode())  # -20.3103, not -20.310344827586206
print(now.to_string(index=False))
EOF
