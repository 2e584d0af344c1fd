#!/bin/bash
# Land what the long runs (benchmarks/longruns.sh) show so far into benchmarks/: the claims files of the named run
# groups and the progress table of every long-run directory present, unfinished runs with their frames so far.
#
#   bash benchmarks/land.sh ROOT GROUP...     # e.g. bash benchmarks/land.sh ../longruns a3c_lstm_lr_0p002 dqn_nature
#   LAND_OUT=DIR PYTHON=python3 bash benchmarks/land.sh ROOT   # another folder than benchmarks/, another interpreter
#
# Each named group's runs present under ROOT are first kept as run records in OUT/runs/ (their config.json,
# done.json, eval.csv and episodes.csv; replication/runs/record.py: a record is replaced only by a run that has gone
# as far), then the group's claims rows are regenerated from all its records (`replication.claims --update` keeps
# the other groups' rows): the runs landed before count as well as the directories on this machine, so a new seed
# lands beside the published ones without training them again. Rows landed before records existed (2026-12-06)
# have none: such a group is regenerated from its records alone, so name it only once all its runs are recorded.
# longruns_progress.csv keeps the rows of runs whose directories are gone and replaces those of the runs present.
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
  "$py" - "$out" "${dirs[@]}" <<'EOF'
import sys

from replication.core.errors import cli_main
from replication.runs.record import record_run


@cli_main
def main(out, run_dirs):
    for d in run_dirs:
        record, written = record_run(d, out)
        print(f"recorded {record}" if written else f"kept {record}: it has gone further than {d}")


main(sys.argv[1], sys.argv[2:])
EOF
  mapfile -t records < <(find "$out/runs/$group" -path "*/w*/s*/config.json" -printf '%h\n' 2>/dev/null | sort)
  [ ${#records[@]} -gt 0 ] || {
    echo "no run of group $group under $root (runs/$group/*/w*/s*/config.json) nor in $out/runs/$group" >&2; exit 2; }
  "$py" -m replication.claims --update --out "$out" "${records[@]}"
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
