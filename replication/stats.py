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
