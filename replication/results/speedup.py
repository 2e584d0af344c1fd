"""Speed-up of training with more workers (Mnih et al. 2016 Table 2 analogue).

Two measures, both relative to the smallest worker count run for the same (group, game):

* throughput speed-up: ``frames_per_s(w) / frames_per_s(w_min)``;
* time-to-score speed-up (what Table 2 reports): ``t(w_min) / t(w)`` where ``t`` is the wall-clock time at which
  the binned training return first reaches a reference score. The reference of a game is the lowest, over the
  runs compared, of each run's best binned return, so every run reaches it.

Averages are over seeds first, then over games (Table 2 averages over seven games). From run directories:
``speedup_runs.speedup_table``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from replication.results import reference
from replication.results.verdict import first_reaching


def time_to_score(curve: pd.DataFrame, score: float, x: str = "hours", after_lowest: bool = False) -> float:
    """The ``x`` (``hours``, or ``frames``) at which ``curve`` (columns ``frames``, ``hours``, ``episode_return``;
    any order) first reaches ``score`` (game points), in frames order; NaN if it never does. ``after_lowest``: not
    before the curve's lowest point (``verdict.first_reaching``)."""
    c = curve.sort_values("frames")
    return first_reaching(c[x], c["episode_return"], score, after_lowest)


def table2_a3c(threads: int) -> float:
    """Mnih 2016 Table 2's A3C time-to-score speed-up at ``threads`` actor-learners (averaged over seven games, a
    16-core CPU; 1.0 at 1 thread); NaN for a thread count the table does not print."""
    return float(reference.table2_speedup().set_index("method").loc["A3C"].get(f"threads_{int(threads)}", np.nan))


def _seed_mean(values: list[float]) -> float:
    """Mean over the seeds that reached the score; NaN if none did. With ``speedup_rows``' reference (the lowest of
    the runs' best bins) every seed with a curve reaches it, so only a seed with no whole bin yet is left out
    (``parity``'s half-way mark, a score some seeds may never reach, is NaN unless every seed reaches it)."""
    return float(np.nanmean(values)) if not np.all(np.isnan(values)) else np.nan


def speedup_rows(throughput: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """Per (group, game, workers): mean frames/s, time to the reference score and both speed-ups.

    Only (group, game) pairs with at least two worker counts are included. Columns: ``group, game, workers,
    seeds, frames_per_s, reference_score, frames_to_score, hours_to_score, speedup_frames_per_s,
    speedup_time_to_score``. ``frames_to_score`` (emulator frames) is the data-efficiency side of the time: the
    time-to-score speed-up is the frames/s speed-up times ``frames_to_score(w_min) / frames_to_score(w)``, so a
    host's speed and the Hogwild updates' effect on learning can be read apart (Mnih 2016 Figure 3 draws the latter
    against frames).
    """
    rows = []
    for (group, game), tp in throughput.groupby(["group", "game"]):
        if tp["workers"].nunique() < 2:
            continue
        cv = curves[(curves["group"] == group) & (curves["game"] == game)]
        best = cv.groupby(["workers", "seed"])["episode_return"].max()
        ref = float(best.min()) if len(best) else float("nan")
        per = []
        for workers, g in tp.groupby("workers"):
            runs = [cv[(cv["workers"] == workers) & (cv["seed"] == s)] for s in g["seed"]]
            per.append({"group": group, "game": game, "workers": int(workers), "seeds": len(g),
                        "frames_per_s": float(g["frames_per_s"].mean()), "reference_score": ref,
                        "frames_to_score": _seed_mean([time_to_score(c, ref, "frames") for c in runs]),
                        "hours_to_score": _seed_mean([time_to_score(c, ref) for c in runs])})
        per = pd.DataFrame(per).sort_values("workers")
        base = per.iloc[0]
        per["speedup_frames_per_s"] = per["frames_per_s"] / base["frames_per_s"]
        per["speedup_time_to_score"] = base["hours_to_score"] / per["hours_to_score"]
        rows.append(per)
    cols = ["group", "game", "workers", "seeds", "frames_per_s", "reference_score", "frames_to_score",
            "hours_to_score", "speedup_frames_per_s", "speedup_time_to_score"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)


def speedup_summary(rows: pd.DataFrame) -> pd.DataFrame:
    """Table 2 analogue: per (group, workers) the speed-ups averaged over games, beside the paper's A3C row.

    Columns: ``group, workers, games, speedup_frames_per_s, speedup_time_to_score, paper_a3c``
    (Mnih 2016 Table 2, A3C, averaged over seven games; NaN where the paper has no such thread count).
    """
    out = []
    for (group, workers), g in rows.groupby(["group", "workers"]):
        out.append({"group": group, "workers": int(workers), "games": g["game"].nunique(),
                    "speedup_frames_per_s": float(g["speedup_frames_per_s"].mean()),
                    "speedup_time_to_score": float(g["speedup_time_to_score"].mean()),
                    "paper_a3c": table2_a3c(workers)})
    return pd.DataFrame(out, columns=["group", "workers", "games", "speedup_frames_per_s", "speedup_time_to_score",
                                      "paper_a3c"])
