"""Statistics for the report: means over seeds with bootstrap confidence intervals (scipy.stats)."""

from __future__ import annotations

import numpy as np
from scipy import stats


def mean_ci(values: np.ndarray, confidence: float = 0.95, n_resamples: int = 2000,
            seed: int = 0) -> tuple[float, float, float]:
    """Mean of ``values`` (float, shape ``(n,)``) with a percentile-bootstrap CI over them.

    Returns ``(mean, low, high)``; the bounds are NaN with fewer than 2 values (no interval from one seed).
    With identical values the interval collapses to the mean.
    """
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(values.mean())
    if len(values) < 2:
        return m, float("nan"), float("nan")
    if np.allclose(values, values[0]):
        return m, m, m
    res = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                          method="percentile", rng=np.random.default_rng(seed))
    return m, float(res.confidence_interval.low), float(res.confidence_interval.high)


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
