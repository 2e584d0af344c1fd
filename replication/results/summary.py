"""Across-game summaries of human-normalized scores (Mnih 2016 Table 1 analogue), after Agarwal et al. 2021.

Definitions (rliable's, computed with scipy rather than the archived rliable package, see docs/design.md, "Statistics"):

* ``mean`` and ``median``: over games of each game's mean score over its runs (Mnih 2016 Table 1 style);
* ``iqm``: interquartile mean of all runs of all games pooled, ``scipy.stats.trim_mean(x, 0.25)``;
* ``optimality_gap``: mean over all runs of ``max(0, 100 - score)`` (percent, human = 100);
* 95% CIs from the stratified bootstrap: ``scipy.stats.bootstrap`` given one sample per game resamples each
  game's runs independently. With one run per game there is nothing to resample and the CI is NaN.

Scores are human-normalized percentages, ``100 * (score - random) / (human - random)``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

METRICS = ("mean", "median", "iqm", "optimality_gap")


def _metric(name: str, per_game: list[np.ndarray]) -> np.ndarray:
    """``name`` over ``per_game`` arrays ``(..., runs_i)``: float array of the leading (resample) shape, so
    ``scipy.stats.bootstrap`` can evaluate all resamples at once (``vectorized=True``, ``axis=-1``)."""
    batch = np.broadcast_shapes(*(g.shape[:-1] for g in per_game))
    per_game = [np.broadcast_to(g, (*batch, g.shape[-1])) for g in per_game]  # fixed games: the same each resample
    if name == "mean":
        return np.mean([g.mean(axis=-1) for g in per_game], axis=0)
    if name == "median":
        return np.median([g.mean(axis=-1) for g in per_game], axis=0)
    pooled = np.concatenate(per_game, axis=-1)
    if name == "iqm":
        return stats.trim_mean(pooled, 0.25, axis=-1)
    if name == "optimality_gap":
        return np.mean(np.maximum(0.0, 100.0 - pooled), axis=-1)
    raise ValueError(f"unknown metric {name!r}; accepted: {', '.join(METRICS)}")


def summarize(per_game: dict[str, np.ndarray], confidence: float = 0.95, n_resamples: int = 2000,
              seed: int = 0) -> pd.DataFrame:
    """Across-game metrics with stratified-bootstrap CIs.

    Args:
        per_game: game -> float array ``(runs,)`` of human-normalized scores (%) of that game's runs.
        confidence, n_resamples, seed: bootstrap settings.

    Returns:
        One row per metric: ``metric, value, ci_low, ci_high, games, runs``.

    Raises:
        ValueError: no games, or a game without runs.
    """
    if not per_game or any(len(v) == 0 for v in per_game.values()):
        raise ValueError("summarize needs at least one game and one run per game")
    samples = [np.asarray(v, dtype=float) for v in per_game.values()]
    # a game with one run resamples to itself, so it is held fixed (scipy needs 2+ observations per sample)
    varied = [s for s in samples if len(s) > 1]
    fixed = [s for s in samples if len(s) == 1]
    resamplable = any(not np.allclose(s, s[0]) for s in varied)
    rows = []
    for name in METRICS:
        value = float(_metric(name, samples))
        lo = hi = float("nan")
        if resamplable:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # games with one run resample to themselves
                # vectorized: scipy passes every resample at once, resamples on the leading axes (axis=-1)
                res = stats.bootstrap(tuple(varied), lambda *s, axis=-1: _metric(name, list(s) + fixed),
                                      vectorized=True, paired=False, confidence_level=confidence,
                                      n_resamples=n_resamples, method="percentile", rng=np.random.default_rng(seed))
            lo, hi = float(res.confidence_interval.low), float(res.confidence_interval.high)
        rows.append({"metric": name, "value": value, "ci_low": lo, "ci_high": hi, "games": len(samples),
                     "runs": int(sum(len(s) for s in samples))})
    return pd.DataFrame(rows)


def summarize_normalized(normalized: pd.DataFrame) -> pd.DataFrame:
    """``summarize`` per (group, workers) of a ``normalized.csv`` table; adds ``group`` and ``workers`` columns."""
    out = []
    for (group, workers), g in normalized.groupby(["group", "workers"]):
        per_game = {game: gg["human_normalized_pct"].to_numpy(dtype=float) for game, gg in g.groupby("game")}
        s = summarize(per_game)
        s.insert(0, "workers", workers)
        s.insert(0, "group", group)
        out.append(s)
    cols = ["group", "workers", "metric", "value", "ci_low", "ci_high", "games", "runs"]
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def performance_profile(scores: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Fraction of runs whose normalized score exceeds each threshold: float ``(len(taus),)`` in [0, 1]."""
    scores = np.asarray(scores, dtype=float)
    return np.array([(scores > t).mean() for t in taus])
