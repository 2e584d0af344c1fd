"""``python -m replication.claims``: which of the papers' claims our runs hold (``benchmarks/claims.csv``).

Usage::

    python -m replication.claims --out benchmarks RUN_DIR ...
    python -m replication.claims --update --out benchmarks RUN_DIR ...  # keep the other run groups' rows

Without ``--update`` the files are written from RUN_DIRs alone; with it, the rows of run groups that none of
RUN_DIRs belongs to are kept from the files already in ``--out`` (``results.claims.keep_other_groups``), and their
curve PNGs stay as they are.

A claim's PNG (``claims.FIGURE_CLAIMS``: the curve claims and Table S3's DQN score) also draws the groups set beside
it (``claims.BESIDE``, e.g. A3C LSTM beside A3C FF, the shortened DQN schedule beside Nature's) from the
``claims_training_curves.csv`` written (with ``--update``, the kept ones too), so the FF figure shows the LSTM curve
when the FF run directory is passed (a PNG is drawn only for a group regenerated from its run directories).

``speedup.csv``: Mnih et al. 2016 Table 2's speed-up per worker count for a run group given at 2+ worker counts
(``results.speedup_runs.speedup_table``); with ``--update`` a group and game's rows are regenerated together.

The claims, their measures and verdicts, and the files written: ``replication.results.claims``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from replication.cli.benchmarks import folder_cli
from replication.cli.published import published_csv
from replication.core.errors import UserError, cli_main
from replication.report.curves_figure import curve_figure
from replication.report.pdf_pages import save_png
from replication.results.claims import (FIGURE_CLAIMS, GROUP_KEY, beside_curves, claims_table, keep_other_groups,
                                        published_curves, read_live_run, run_groups)
from replication.results.speedup_runs import speedup_table
from replication.results.verdict import CLAIM_MARGIN_HN
from replication.runs.rundir import atomic_write_bytes


def write_claims(run_dirs: list[str | Path], out: str | Path, update: bool = False) -> pd.DataFrame:
    """Write ``claims.csv``, ``claims_curves.csv``, ``claims_training_curves.csv``, ``speedup.csv`` (Table 2's
    speed-up, for groups run at 2+ worker counts) and the curve PNGs (``replication.results.claims``) into ``out``;
    returns the claims table as written. With ``update``, the rows of other run groups already in ``out``'s files
    are kept (``keep_other_groups``).

    Raises:
        UserError: no run directories, or one without ``config.json``; with ``update``, a file in ``out`` that
            is not a CSV of the columns this command writes.
    """
    if not run_dirs:
        raise UserError("no run directories given; accepted: one or more run directories (finished or training)")
    out = Path(out)
    runs = [read_live_run(p) for p in run_dirs]
    table, points = claims_table(runs)
    files = {"claims.csv": (table, "%.4g"), "claims_curves.csv": (points, "%.5g"),
             "claims_training_curves.csv": (published_curves(runs), "%.5g"),
             "speedup.csv": (speedup_table(runs), "%.4g")}
    members = dict(run_groups(runs))  # (group, game, workers) -> its seeds' runs
    if update:  # speedup.csv: a group and game's rows over all its worker counts are regenerated together
        fresh = {name: (set(members), GROUP_KEY) for name in files} | {
            "speedup.csv": ({(g, game) for g, game, _ in members}, ["group", "game"])}
        files = {name: (keep_other_groups(df, published_csv(out / name, df.columns), *fresh[name]), fmt)
                 for name, (df, fmt) in files.items()}
    for name, (df, fmt) in files.items():
        atomic_write_bytes(out / name, df.to_csv(index=False, float_format=fmt).encode())
    curves = files["claims_training_curves.csv"][0]  # with --update: the kept groups' curves too
    for (claim, game, workers), rows in table[table["claim"].isin(FIGURE_CLAIMS)].groupby(
            ["claim", "game", "workers"], sort=False):
        # one figure per claim, game and worker count: the group at the paper's settings (else the first) judged,
        # the others BESIDE it (the DQN claim's shortened schedules)
        row = rows.sort_values("settings", key=lambda s: s != "paper", kind="stable").iloc[0].to_dict()
        beside = beside_curves(claim, game, int(workers), curves, row["group"])
        save_png(curve_figure(claim, members[(row["group"], game, int(workers))], row, beside),
                 out / f"claims_{claim}_{game}_w{workers}.png")
    return files["claims.csv"][0]


@cli_main
def main(argv: list[str] | None = None) -> int:
    return folder_cli(argv, "python -m replication.claims", __doc__.split("\n")[0], write_claims,
                      ["claim", "game", "workers", "frames", "seeds", "ours", "paper", "verdict"],
                      "run directories, finished or still training",
                      note=f"margin: {CLAIM_MARGIN_HN:g} human-normalized points; ",
                      update_help="keep the rows of run groups that no RUN_DIR belongs to from the files already "
                                  "in --out (their PNGs stay); without it the files hold RUN_DIRs' groups alone")


if __name__ == "__main__":
    sys.exit(main())
