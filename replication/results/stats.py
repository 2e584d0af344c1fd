"""Statistics for the report: means over seeds with bootstrap confidence intervals (scipy.stats)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def mean_ci(values: np.ndarray, confidence: float = 0.95, n_resamples: int = 2000,
            seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` (float, shape ``(n,)``) with a percentile-bootstrap CI over them.

    Returns ``(mean, low, high)``; the bounds are NaN with fewer than 2 values (no interval from one seed).
    With identical values the interval collapses to the mean.
    """
    m, lo, hi = mean_ci_rows([values], confidence, n_resamples, seed)[0]
    return float(m), float(lo), float(hi)


def mean_ci_rows(rows: list[np.ndarray], confidence: float = 0.95, n_resamples: int = 2000, seed: int = 0,
                 chunk: int = 256) -> np.ndarray:
    """``mean_ci`` of many rows at once (e.g. every frame bin of every learning curve, over seeds): rows with as
    many non-NaN values are stacked and bootstrapped together (``scipy.stats.bootstrap`` over the last axis, up to
    ``chunk`` rows per call, so memory stays ``chunk * n_resamples * n`` floats).

    Returns:
        float ``(len(rows), 3)``: mean, low, high per row, with ``mean_ci``'s rules (NaN bounds with fewer than 2
        values, the mean twice with identical values, all NaN with none).
    """
    out = np.full((len(rows), 3), np.nan)
    clean = [np.asarray(r, dtype=float) for r in rows]
    clean = [r[~np.isnan(r)] for r in clean]
    by_len: dict[int, list[int]] = {}
    for i, r in enumerate(clean):
        if len(r):
            out[i, 0] = r.mean()
        if len(r) >= 2 and np.allclose(r, r[0]):
            out[i, 1:] = out[i, 0]
        elif len(r) >= 2:
            by_len.setdefault(len(r), []).append(i)
    rng = np.random.default_rng(seed)
    for idx in by_len.values():
        for start in range(0, len(idx), chunk):
            part = idx[start:start + chunk]
            data = np.stack([clean[i] for i in part])
            res = stats.bootstrap((data,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                                  method="percentile", axis=-1, rng=rng)
            out[part, 1] = res.confidence_interval.low
            out[part, 2] = res.confidence_interval.high
    return out


def grouped_mean_ci(df: pd.DataFrame, by: list[str], value: str, confidence: float = 0.95) -> pd.DataFrame:
    """Per group of ``df``'s rows by the columns ``by`` (e.g. run group and frame bin, one row per seed): the mean of
    column ``value`` with ``mean_ci``'s percentile-bootstrap CI over the group's rows (``mean_ci_rows``).

    Returns:
        Columns ``by + ["mean", "ci_low", "ci_high"]``, one row per group, sorted by ``by`` (NaN bounds for a group
        of one row, as ``mean_ci``); no rows for an empty ``df``.
    """
    if df.empty:
        return pd.DataFrame(columns=[*by, "mean", "ci_low", "ci_high"])
    groups = df.groupby(by, sort=True)
    out = groups.size().reset_index()[by]
    ci = mean_ci_rows([g[value].to_numpy(dtype=float) for _, g in groups], confidence)
    out["mean"], out["ci_low"], out["ci_high"] = ci[:, 0], ci[:, 1], ci[:, 2]
    return out


def _mean_of_run_means(*runs: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean([np.mean(r, axis=axis) for r in runs], axis=0)


def stratified_mean_ci(runs: list[np.ndarray], confidence: float = 0.95, n_resamples: int = 2000,
                       seed: int = 0) -> tuple[float, float, float]:
    """Mean over runs of each run's mean (float arrays, one per run/seed, any lengths), with a percentile CI from
    a bootstrap stratified by run: each run's values are resampled on their own (``scipy.stats.bootstrap`` with one
    sample per run), so a run with many episodes does not outweigh one with few.

    Returns ``(mean, low, high)``; NaN bounds when a run has fewer than 2 values.

    Raises:
        ValueError: no runs, or a run with no values.
    """
    runs = [np.asarray(r, dtype=float) for r in runs]
    if not runs or any(len(r) == 0 for r in runs):
        raise ValueError(f"every run needs at least one value; got lengths {[len(r) for r in runs]}")
    m = float(_mean_of_run_means(*runs))
    if any(len(r) < 2 for r in runs):
        return m, float("nan"), float("nan")
    if all(np.allclose(r, r[0]) for r in runs):
        return m, m, m
    res = stats.bootstrap(runs, _mean_of_run_means, confidence_level=confidence, n_resamples=n_resamples,
                          method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    return m, float(res.confidence_interval.low), float(res.confidence_interval.high)


def stratified_difference_ci(ours: list[np.ndarray], peer: list[np.ndarray], confidence: float = 0.95,
                             n_resamples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """``mean of ours' run means - mean of the peer's run means`` with a percentile CI from the bootstrap
    stratified by run (every run of either side resampled on its own, as ``stratified_mean_ci``).

    Returns ``(difference, low, high)``; NaN bounds when a run has fewer than 2 values.

    Raises:
        ValueError: a side without runs, or a run with no values.
    """
    ours = [np.asarray(r, dtype=float) for r in ours]
    peer = [np.asarray(r, dtype=float) for r in peer]
    k = len(ours)
    if not ours or not peer or any(len(r) == 0 for r in ours + peer):
        raise ValueError(f"every run needs at least one value; got lengths {[len(r) for r in ours]} (ours), "
                         f"{[len(r) for r in peer]} (peer)")

    def diff(*samples, axis=-1):
        return _mean_of_run_means(*samples[:k], axis=axis) - _mean_of_run_means(*samples[k:], axis=axis)

    d = float(diff(*ours, *peer))
    if any(len(r) < 2 for r in ours + peer):
        return d, float("nan"), float("nan")
    if all(np.allclose(r, r[0]) for r in ours + peer):
        return d, d, d
    res = stats.bootstrap(ours + peer, diff, confidence_level=confidence, n_resamples=n_resamples,
                          method="percentile", vectorized=True, rng=np.random.default_rng(seed))
    return d, float(res.confidence_interval.low), float(res.confidence_interval.high)
