"""Learning parity with Stable-Baselines3 at matched settings: the table and curves (the command is
``python -m replication.parity``, ``replication.cli.parity``).

Commands and usage: ``replication.cli.parity``.

The measure (per algorithm and game, per seed and over seeds): the mean training score (unclipped, whole games)
of the episodes that ended in the last 10% of the frame budget, averaged over runs; its 95% CI and the CI of
ours minus the peer come from a bootstrap stratified by run (``replication.results.stats``). The verdict:

* ``not informative``: the peer's CI reaches the game's random score (the peer has not clearly learned,
  so agreement would say nothing about learning speed); never ``parity``;
* ``parity``: the CI of the difference contains 0; ``ours ahead`` / ``ours behind``: it lies above / below 0.

The CI covers the episodes' spread within the runs given, not the spread of seeds beyond them; each seed's own
line is in the table too.

Beside the verdict, how soon each side got there (``with_half_gain``): the frames at which each side's curve (the
20 frame bins of ``parity_curves``) first reaches halfway from the game's random score to the peer's final score,
after its lowest bin.
Where learning has only begun at the end of the budget (the DQN pair on Pong) the final score turns on when each
side began, which these columns show per seed.
"""

from __future__ import annotations


import numpy as np
import pandas as pd

from replication.core.errors import UserError
from replication.peers.sb3 import PEER_PREFIX
from replication.results import reference
from replication.results.speedup import time_to_score
from replication.results.stats import stratified_difference_ci, stratified_mean_ci
from replication.runs.read import curve_rows
from replication.runs.rundir import algorithm_of

FINAL_FRACTION = 0.1  # the last 10% of the frame budget (the parity issue's measure)
COLUMNS = ["group", "algorithm", "game", "seeds", "frames", "ours_mean", "ours_low", "ours_high", "peer_mean",
           "peer_low", "peer_high", "difference", "difference_low", "difference_high", "random", "verdict",
           "ours_episodes", "peer_episodes", "ours_wall_time_s", "peer_wall_time_s", "ours_frames_per_s",
           "peer_frames_per_s"]
HALF_GAIN_COLUMNS = ["ours_half_gain_at", "peer_half_gain_at"]  # frames; see ``with_half_gain``
PARITY_COLUMNS = COLUMNS + HALF_GAIN_COLUMNS  # what parity.csv holds


def final_window(episodes: pd.DataFrame, total_frames: int, fraction: float = FINAL_FRACTION) -> np.ndarray:
    """float ``(k,)``: ``episode_return`` of the games that ended after ``(1 - fraction) * total_frames``."""
    return episodes.loc[episodes["frames"] > (1.0 - fraction) * total_frames, "episode_return"].to_numpy(float)


def verdict(difference_ci: tuple[float, float, float], peer_ci: tuple[float, float, float],
            random_score: float) -> str:
    """``not informative`` / ``parity`` / ``ours ahead`` / ``ours behind`` from ``(estimate, low, high)`` CIs
    (module docstring); a CI with NaN bounds (too few episodes) is ``not informative``."""
    _, peer_low, _ = peer_ci
    _, low, high = difference_ci
    if not np.isfinite([peer_low, low, high]).all() or peer_low <= random_score:
        return "not informative"
    if low <= 0.0 <= high:
        return "parity"
    return "ours ahead" if low > 0 else "ours behind"


def is_peer(run: dict) -> bool:
    """A peer (SB3) run: its label starts with ``sb3_``."""
    return run["config"]["group"].startswith(PEER_PREFIX)


def _row(label: str, game: str, ours: list[dict], peer: list[dict]) -> dict:
    frames = int(max(r["done"]["frames"] for r in ours + peer))
    ow = [final_window(r["episodes"], r["done"]["frames"]) for r in ours]
    pw = [final_window(r["episodes"], r["done"]["frames"]) for r in peer]
    ref = reference.noop_reference(game)
    rnd = ref[0] if ref else float("nan")
    seeds = sorted({r["config"]["seed"] for r in ours + peer})
    algorithm = algorithm_of(ours[0]["config"])
    row = {"group": label, "algorithm": algorithm, "game": game, "seeds": " ".join(map(str, seeds)), "frames": frames,
           "random": rnd, "ours_episodes": sum(map(len, ow)), "peer_episodes": sum(map(len, pw)),
           "ours_wall_time_s": sum(r["done"]["wall_time_s"] for r in ours),
           "peer_wall_time_s": sum(r["done"]["wall_time_s"] for r in peer),
           "ours_frames_per_s": float(np.mean([r["done"]["frames_per_s"] for r in ours])),
           "peer_frames_per_s": float(np.mean([r["done"]["frames_per_s"] for r in peer]))}
    if any(len(w) == 0 for w in ow + pw):
        nan = (float("nan"),) * 3
        oc, pc, dc = nan, nan, nan
    else:
        oc, pc, dc = stratified_mean_ci(ow), stratified_mean_ci(pw), stratified_difference_ci(ow, pw)
    for name, ci in (("ours", oc), ("peer", pc), ("difference", dc)):
        row[f"{name}_mean" if name != "difference" else name], row[f"{name}_low"], row[f"{name}_high"] = ci
    row["verdict"] = verdict(dc, pc, rnd)
    return row


def parity_table(runs: list[dict], require: bool = True) -> pd.DataFrame:
    """One row per (run group, game, seed) where our group ``L`` and its peer ``sb3_L`` both ran that seed (at
    the same ``workers``), and one per (group, game) over the seeds both ran (``seeds`` lists them).
    ``runs`` are ``replication.runs.read.read_run`` dicts.

    Raises:
        UserError: ``require`` and no pair of ours and a peer run at the same group, game, workers and seed.
    """
    def key(r):
        c = r["config"]
        return c["group"], c["game"], c["workers"]

    by_key = {}
    for r in runs:
        by_key.setdefault(key(r), {})[r["config"]["seed"]] = r
    rows = []
    for (label, game, workers), ours in sorted(by_key.items()):
        if label.startswith(PEER_PREFIX) or (PEER_PREFIX + label, game, workers) not in by_key:
            continue
        peer = by_key[(PEER_PREFIX + label, game, workers)]
        seeds = sorted(set(ours) & set(peer))
        for s in seeds:
            rows.append(_row(label, game, [ours[s]], [peer[s]]))
        if len(seeds) > 1:
            rows.append(_row(label, game, [ours[s] for s in seeds], [peer[s] for s in seeds]))
    if not rows and require:
        raise UserError("no (ours, sb3_*) pair of finished runs at the same run group, game, workers and seed "
                        f"among the {len(runs)} run directories given")
    return pd.DataFrame(rows, columns=COLUMNS)


def paired_runs(runs: list[dict]) -> list[dict]:
    """The runs of groups that have a peer among ``runs``: ours ``L`` with some ``sb3_L`` run, and those peers."""
    labels = {r["config"]["group"] for r in runs}
    paired = {lab for lab in labels if PEER_PREFIX + lab in labels}
    paired |= {PEER_PREFIX + lab for lab in paired}
    return [r for r in runs if r["config"]["group"] in paired]


def parity_curves(runs: list[dict], bins: int = 20) -> pd.DataFrame:
    """Training returns binned by frames (``replication.runs.read.curve_rows``) for every run, with ``side``
    (``ours`` / ``sb3``) and ``algorithm`` columns: the curves of the parity page."""
    parts = [pd.DataFrame(columns=["side", "group", "algorithm", "game", "workers", "seed", "frames", "hours",
                                   "episode_return", "episodes"])]
    for r in runs:
        c = curve_rows(r, bins)  # its ids include the algorithm
        c.insert(0, "side", "sb3" if is_peer(r) else "ours")
        parts.append(c)
    return pd.concat(parts, ignore_index=True)


def with_half_gain(table: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    """``table`` (``parity_table`` rows) with ``HALF_GAIN_COLUMNS`` added: per row and side, the frames at which each
    of the row's seeds' binned curve (``parity_curves`` rows: ``group, game, seed, frames, episode_return``) first
    reaches ``random + (peer_mean - random) / 2`` (game points: halfway from the row's random score to the peer's final
    score) at or after its lowest bin (``verdict.first_reaching(..., after_lowest=True)``: where the peer gained
    little, the mark lies within a random policy's first bins), averaged over the row's seeds. NaN where a seed's curve
    never does, or the peer's final score is not above the random score (or either is NaN).

    Example: Pong (random -20.7) with the peer at -17.7 at the end: the curves are timed to -19.2.
    """
    def frames_to(group: str, game: str, seeds: list[int], score: float) -> float:
        at = []
        for s in seeds:
            c = curves[(curves["group"] == group) & (curves["game"] == game) & (curves["seed"] == s)]
            at.append(time_to_score(c, score, "frames", after_lowest=True))
        return float(np.mean(at)) if at and np.isfinite(at).all() else float("nan")

    out = table.copy()
    targets = table["random"] + (table["peer_mean"] - table["random"]) / 2.0
    targets = targets.where(table["peer_mean"] > table["random"])  # NaN: no gain to time
    for column, prefix in zip(HALF_GAIN_COLUMNS, ("", PEER_PREFIX)):
        out[column] = [frames_to(prefix + str(group), str(game), [int(s) for s in str(seeds).split()], score)
                       if np.isfinite(score) else float("nan")
                       for group, game, seeds, score in zip(table["group"], table["game"], table["seeds"], targets)]
    return out


def keep_other_pairs(table: pd.DataFrame, curves: pd.DataFrame, published_table: pd.DataFrame,
                     published_curves: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``parity_table`` and ``parity_curves`` output with the published rows (``parity.csv`` and its
    ``_curves.csv`` as written before) of every (run group, game) pair not in ``table`` put back: what
    ``python -m replication.parity table --update`` writes, so that a pair whose run directories are gone (another
    host, a machine since replaced) keeps its published rows while the regenerated pairs' rows are all replaced.
    A curve row belongs to the pair of its group's label without the peer's ``sb3_`` prefix. Rows are sorted by
    group and game (stable: each pair's per-seed rows keep their order before its pooled row); columns are
    ``table``'s and ``curves``'."""
    fresh = set(zip(table["group"].astype(str), table["game"].astype(str)))

    def ours(group: str) -> str:
        return group[len(PEER_PREFIX):] if group.startswith(PEER_PREFIX) else group

    def merged(new: pd.DataFrame, old: pd.DataFrame, label) -> pd.DataFrame:
        kept = old[[(label(str(g)), str(game)) not in fresh for g, game in zip(old["group"], old["game"])]]
        both = pd.concat([d for d in (kept.reindex(columns=new.columns), new) if len(d)] or [new], ignore_index=True)
        return both.sort_values(["group", "game"], kind="stable", key=lambda c: c.astype(str)).reset_index(drop=True)

    return merged(table, published_table, str), merged(curves, published_curves, ours)
