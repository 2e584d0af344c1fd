"""``python -m replication.claims``: which of the papers' claims our runs hold (``benchmarks/claims.csv``).

Usage::

    python -m replication.claims --out benchmarks RUN_DIR ...

The claims, their measures and verdicts, and the files written: ``replication.results.claims``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from replication.cli.benchmarks import folder_cli
from replication.core.errors import UserError, cli_main
from replication.report.curves_figure import curve_figure
from replication.report.pdf_pages import save_png
from replication.results.claims import claims_table, published_curves, read_live_run, run_groups
from replication.results.verdict import CLAIM_MARGIN_HN
from replication.runs.rundir import atomic_write_bytes


def write_claims(run_dirs: list[str | Path], out: str | Path) -> pd.DataFrame:
    """Write ``claims.csv``, ``claims_curves.csv`` and the curve PNGs (``replication.results.claims``) into
    ``out``; returns the claims table.

    Raises:
        UserError: no run directories, or one without ``config.json``.
    """
    if not run_dirs:
        raise UserError("no run directories given; accepted: one or more run directories (finished or training)")
    out = Path(out)
    runs = [read_live_run(p) for p in run_dirs]
    table, points = claims_table(runs)
    atomic_write_bytes(out / "claims.csv", table.to_csv(index=False, float_format="%.4g").encode())
    atomic_write_bytes(out / "claims_curves.csv", points.to_csv(index=False, float_format="%.5g").encode())
    atomic_write_bytes(out / "claims_training_curves.csv",
                       published_curves(runs).to_csv(index=False, float_format="%.5g").encode())
    members = dict(run_groups(runs))  # (group, game, workers) -> its seeds' runs
    for row in table[table["claim"].isin(["clemente2017_fig3", "mnih2016_fig3"])].to_dict("records"):
        key = (row["group"], row["game"], int(row["workers"]))
        save_png(curve_figure(row["claim"], members[key], row),
                 out / f"claims_{row['claim']}_{row['game']}_w{row['workers']}.png")
    return table


@cli_main
def main(argv: list[str] | None = None) -> int:
    return folder_cli(argv, "python -m replication.claims", __doc__.split("\n")[0], write_claims,
                      ["claim", "game", "workers", "frames", "seeds", "ours", "paper", "verdict"],
                      "run directories, finished or still training",
                      note=f"margin: {CLAIM_MARGIN_HN:g} human-normalized points; ")


if __name__ == "__main__":
    sys.exit(main())
