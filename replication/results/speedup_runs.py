"""``speedup.csv``: Mnih et al. 2016 Table 2's speed-up per worker count from run directories, finished or still
training (``claims.read_live_run``), what ``python -m replication.claims`` writes beside ``claims.csv``: each run's
``claims.training_curve`` and frames/s through ``speedup.speedup_rows``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replication.results.claims import GROUP_KEY, run_groups, training_curve
from replication.results.parity import is_peer
from replication.results.speedup import speedup_rows, table2_a3c
from replication.runs.rundir import algorithm_of


SPEEDUP_COLUMNS = ["group", "game", "workers", "seeds", "frames", "state", "frames_per_s", "reference_score",
                   "frames_to_score", "hours_to_score", "speedup_frames_per_s", "speedup_time_to_score", "paper_a3c"]


def speedup_table(runs: list[dict]) -> pd.DataFrame:
    """``speedup.csv``: Mnih et al. 2016 Table 2's time-to-score speed-up per worker count
    (``results.speedup.speedup_rows`` on each run's ``training_curve``; ``frames_per_s``: its frames over its
    training seconds) for every run group of ours run at 2+ worker counts on a game, one row per worker count.
    Beside those columns: ``frames`` (mean over seeds of the frames trained so far), ``state`` (``running`` while a
    seed of any worker count of the group and game trains: the reference score, the lowest of the runs' best bins,
    may still rise and each time to it with it; else ``finished``) and ``paper_a3c`` (Table 2's A3C row at that
    thread count, averaged over seven games on a 16-core CPU; for A3C groups, else NaN). Columns
    ``SPEEDUP_COLUMNS``; no rows where no group ran 2+ worker counts."""
    throughput, curves, groups = [], [], []
    for (group, game, workers), rs in run_groups(runs):
        if is_peer(rs[0]):
            continue
        for r in rs:
            ids = {"group": group, "game": game, "workers": workers, "seed": r["config"]["seed"]}
            throughput.append({**ids, "frames_per_s": r["frames"] / r["wall_time_s"] if r["wall_time_s"] else np.nan})
            curves.append(training_curve(r).rename(columns={"score": "episode_return"}).assign(**ids))
        groups.append({"group": group, "game": game, "workers": workers, "algorithm": algorithm_of(rs[0]["config"]),
                       "frames": float(np.mean([r["frames"] for r in rs])), "training": any(not r["done"] for r in rs)})
    rows = speedup_rows(pd.DataFrame(throughput, columns=["group", "game", "workers", "seed", "frames_per_s"]),
                        pd.concat(curves, ignore_index=True) if curves else pd.DataFrame())
    if rows.empty:
        return pd.DataFrame(columns=SPEEDUP_COLUMNS)
    rows = rows.merge(pd.DataFrame(groups), on=GROUP_KEY)
    rows["state"] = np.where(rows.groupby(["group", "game"])["training"].transform("any"), "running", "finished")
    rows["paper_a3c"] = [table2_a3c(w) if a.startswith("a3c") else np.nan for w, a in zip(rows["workers"],
                                                                                           rows["algorithm"])]
    return rows[SPEEDUP_COLUMNS]
