"""The replication verdict (report page 1): our score per (run group, game) beside the paper's Table S3 number.

``per_game_summary`` averages each run group's final evaluation over seeds (95% bootstrap CI, ``stats.mean_ci``);
``verdict_table`` sets it beside the Table S3 column of the group's algorithm at its budget
(``reference.paper_column``) and says reproduced / below paper / above paper / not comparable, with the reasons;
``verdict_shown`` is the table as printed (missing values in words).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from replication.results import reference
from replication.results.fmt import fmt_cell as num
from replication.results.stats import mean_ci

BUDGET_TOLERANCE = 0.05  # frames within 5% of the paper's count as its budget (A3C workers overshoot a little)
VERDICTS = ("reproduced", "below paper", "above paper", "not comparable")
# colour-blind-safe light tints (Okabe-Ito bluish green, orange, sky blue; grey); the word is always printed too
VERDICT_FILLS = {"reproduced": "#cdeee3", "below paper": "#fbe3c4", "above paper": "#d3e9f7",
                 "not comparable": "#e8e8e8"}
NO_CI = "1 seed: no CI"


def per_game_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Mean final evaluation score per (group, game, workers) over seeds, with a 95% bootstrap CI (NaN bounds with
    one seed): the "ours" side of Mnih et al. 2016 Table S3. Scores are unclipped game scores under the run's
    evaluation protocol (no-op starts); ``frames`` is emulator frames (frame skip included), the most of any seed.

    Args:
        scores: ``scores.csv`` rows with ``group, algorithm, game, workers, eval_mean, frames, protocol``.

    Returns:
        columns ``group, algorithm, game, workers, seeds, frames, mean, ci_low, ci_high, protocol``.

    Raises:
        KeyError: a required column is missing.
    """
    rows = []
    for (group, game, workers), g in scores.groupby(["group", "game", "workers"]):
        m, lo, hi = mean_ci(g["eval_mean"].to_numpy(dtype=float))
        rows.append({"group": group, "algorithm": g["algorithm"].iloc[0], "game": game, "workers": workers,
                     "seeds": len(g), "frames": int(g["frames"].max()),
                     "mean": m, "ci_low": lo, "ci_high": hi, "protocol": g["protocol"].iloc[0]})
    return pd.DataFrame(rows)


def pct(fraction: float) -> str:
    """A fraction as a percentage: 2 significant digits below 10%, whole percent above."""
    return f"{100 * fraction:.2g}%" if fraction < 0.1 else f"{100 * fraction:.0f}%"


def verdict_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Our score beside the paper's comparable Table S3 column (``reference.paper_column``: the algorithm's column
    whose frame budget is nearest the run's), per ``per_game_summary`` row, with a verdict.

    Rules: "not comparable" when there is no paper value (no column for the algorithm, the game not in Table S3,
    or a cell Table S3 leaves blank), when the evaluation caps games at other than Table S3's 30 minutes
    (108,000 frames), when the run's frames are not the paper's budget (``reference.PAPER_FRAME_BUDGET``, within
    ``BUDGET_TOLERANCE``), or with one seed (no CI); ``reason`` lists every one that applies. Otherwise
    "reproduced" when the paper's number lies in our 95% CI over seeds, "below paper" / "above paper" when the CI
    lies wholly below / above it. The paper's human starts differ from our no-op starts in every row (said in the
    report, not a reason here: no human-start states are available).

    Returns:
        One row per summary row: ``group, algorithm, game, workers, seeds, frames, paper_frames,
        budget_fraction`` (frames / paper_frames), ``mean, ci_low, ci_high, paper_column`` (Table S3's header),
        ``paper, ratio`` (mean / paper), ``protocol, verdict, reason`` (empty unless not comparable).
    """
    s3 = reference.table_s3().set_index("game")
    rows = []
    for _, r in summary.iterrows():
        col = reference.paper_column(r["algorithm"], r["frames"])
        header = reference.TABLE_S3_COLUMNS.get(col, "")
        paper = float(s3.loc[r["game"], col]) if (col and r["game"] in s3.index) else np.nan
        budget = reference.PAPER_FRAME_BUDGET.get(col, np.nan)
        fraction = r["frames"] / budget if budget == budget else np.nan
        reasons = []
        if col is None:
            reasons.append(f"no paper value: Table S3 has no column for algorithm {r['algorithm']}")
        elif r["game"] not in s3.index:
            reasons.append(f"no paper value: {r['game']} is not in Table S3")
        elif np.isnan(paper):
            reasons.append(f"no paper value: Table S3 prints none for {header} on {r['game']}")
        cap = reference.protocol_frame_cap(str(r["protocol"]))
        if cap is None:
            reasons.append(f"protocol: {r['protocol']!r} names no evaluation frame cap")
        elif cap != reference.TABLE_S3_FRAME_CAP:  # a shorter cap biases long games low
            reasons.append(f"protocol: evaluation cap {cap:,} frames (Table S3: {reference.TABLE_S3_FRAME_CAP:,})")
        if fraction == fraction and abs(fraction - 1.0) > BUDGET_TOLERANCE:
            reasons.append(f"budget: {pct(fraction)} of the paper's {budget / 1e6:,.0f}M frames")
        if r["seeds"] < 2 or np.isnan(r["ci_low"]):
            reasons.append(NO_CI)
        if reasons:
            verdict = "not comparable"
        elif r["ci_low"] <= paper <= r["ci_high"]:
            verdict = "reproduced"
        else:
            verdict = "below paper" if r["ci_high"] < paper else "above paper"
        rows.append({"group": r["group"], "algorithm": r["algorithm"], "game": r["game"], "workers": r["workers"],
                     "seeds": r["seeds"], "frames": r["frames"], "paper_frames": budget, "budget_fraction": fraction,
                     "mean": r["mean"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "paper_column": header,
                     "paper": paper, "ratio": r["mean"] / paper if paper and not np.isnan(paper) else np.nan,
                     "protocol": r["protocol"], "verdict": verdict, "reason": "; ".join(reasons)})
    cols = ["group", "algorithm", "game", "workers", "seeds", "frames", "paper_frames", "budget_fraction", "mean",
            "ci_low", "ci_high", "paper_column", "paper", "ratio", "protocol", "verdict", "reason"]
    return pd.DataFrame(rows, columns=cols)


def fmt_frames(f: float) -> str:
    """Frames as printed: 4,000 / 2.5M / 320M / 1,000M."""
    if f < 1e6:
        return f"{f:,.0f}"
    return f"{f / 1e6:,.0f}M" if f >= 1e8 else f"{f / 1e6:.3g}M"


def verdict_shown(v: pd.DataFrame) -> pd.DataFrame:
    """``verdict_table`` as printed, one column per question, missing values said in words."""
    return pd.DataFrame({
        "run group": [f"{a} w{w}" for a, w in zip(v["group"], v["workers"])], "game": v["game"], "seeds": v["seeds"],
        "frames (of paper's)": [f"{fmt_frames(f)} ({pct(q)})" if pd.notna(q) else f"{fmt_frames(f)} (no paper budget)"
                                for f, q in zip(v["frames"], v["budget_fraction"])],
        "ours: mean [95% CI]": [f"{num(m)} [{NO_CI}]" if pd.isna(lo) else f"{num(m)} [{num(lo)}, {num(hi)}]"
                                for m, lo, hi in zip(v["mean"], v["ci_low"], v["ci_high"])],
        "paper (Table S3 column)": [f"{num(p)} ({c})" if pd.notna(p) else f"none ({c or 'no column'})"
                                    for p, c in zip(v["paper"], v["paper_column"])],
        "ours / paper": v["ratio"], "verdict": v["verdict"], "why": [r or "-" for r in v["reason"]]})


# Claims (benchmarks/claims.csv): a paper's number or curve held or not by our runs. The rule is fixed before the
# runs it judges have finished (committed with the PAAC Pong run still training, issue 27) and is fair near a score
# ceiling: a margin in human-normalized units, so 10 points of Pong's random-to-human range (-20.7 .. 9.3, 30
# points) is 3.0 game points, whatever the score's scale.
CLAIM_MARGIN_HN = 10.0  # percentage points of the human-normalized score (100 = human - random)
CURVE_MIN_SHARE = 0.8  # a curve claim holds when at least this share of the paper's points is inside or above
CLAIM_VERDICTS = ("held", "not held", "running", "not comparable")


def claim_ci(seed_means: np.ndarray, one_seed_ci: tuple[float, float] | None = None) -> tuple[float, float, float, str]:
    """The score a claim is judged on: ``(mean, low, high, what the CI is over)``. With 2+ seeds, the mean of the
    seeds' scores ``seed_means`` with its 95% bootstrap CI over them (``stats.mean_ci``); with one, its score and
    ``one_seed_ci`` (the 95% bootstrap CI over its evaluation games) when given, else NaN bounds."""
    seed_means = np.asarray(seed_means, dtype=float)
    if len(seed_means) >= 2:
        return (*mean_ci(seed_means), f"{len(seed_means)} seeds")
    mean = float(seed_means[0]) if len(seed_means) else np.nan
    if one_seed_ci is not None and not np.isnan(one_seed_ci[0]):
        return mean, float(one_seed_ci[0]), float(one_seed_ci[1]), "1 seed: its evaluation games"
    return mean, np.nan, np.nan, NO_CI


def leaves_random_at(frames, scores, game: str, margin_hn: float = CLAIM_MARGIN_HN) -> float:
    """Where a learning curve leaves ``game``'s random score: the first ``frames`` (ascending, e.g. the ends of a
    curve's bins) whose score is at least random + ``margin_points(game, margin_hn)`` (no-op reference; Pong:
    -20.7 + 3.0 = -17.7); NaN if none is, or the game has no reference score.

    Args:
        frames: emulator frames, ascending, one per point.
        scores: the curve's score (game points) at each of ``frames``.
    """
    ref = reference.noop_reference(game)
    if ref is None:
        return float("nan")
    return first_reaching(frames, scores, ref[0] + margin_points(game, margin_hn))


def first_reaching(x, scores, score: float, after_lowest: bool = False) -> float:
    """The first of ``x`` (in the order given: a curve's frames or hours) whose ``scores`` entry is at least ``score``
    (game points); NaN if none is. E.g. ``first_reaching([1, 2, 3], [-21, -18, -15], -18) == 2``.

    With ``after_lowest``, the first at or after the curve's lowest entry, so that a curve touching a mark near its
    start by chance (a random policy's first bins on Pong score -20.0 to -20.4, above the reference random score
    -20.7, before DQN's greedier policy drops to -20.9) is not timed there: ``first_reaching([1, 2, 3, 4], [-20, -21,
    -19, -18], -20, after_lowest=True) == 3``.
    """
    values = np.asarray(scores, dtype=float)
    reached = values >= score
    if after_lowest and reached.any():
        reached[:int(np.nanargmin(values))] = False
    above = np.flatnonzero(reached)
    return float(np.asarray(x, dtype=float)[above[0]]) if len(above) else float("nan")


def margin_points(game: str, margin_hn: float = CLAIM_MARGIN_HN) -> float:
    """``margin_hn`` human-normalized percentage points in ``game``'s own points: ``margin_hn / 100 * (human -
    random)`` with the no-op reference scores (``reference.noop_reference``); 3.0 for Pong at 10.

    Raises:
        KeyError: ``game`` has no random/human reference score.
    """
    ref = reference.noop_reference(game)
    if ref is None:
        raise KeyError(f"no random/human reference score for {game!r}")
    return margin_hn / 100.0 * (ref[1] - ref[0])


def score_claim_verdict(ci_low: float, paper: float, margin: float) -> str:
    """Non-inferiority of our score to the paper's: ``held`` when our 95% CI's lower bound is at least ``paper -
    margin`` (we cannot be more than the margin below it), else ``not held``. Scoring above the paper holds the
    claim (a ceiling such as Pong's 21 leaves no room to exceed a 20.6 by much). A NaN bound is ``not held``."""
    return "held" if ci_low >= paper - margin else "not held"


def band_position(score: float, low: float, high: float, margin: float) -> str:
    """Where ``score`` lies against a paper's drawn band ``[low, high]`` widened by ``margin`` on each side:
    ``inside``, ``above`` or ``below``."""
    if score < low - margin:
        return "below"
    return "above" if score > high + margin else "inside"


def curve_claim_verdict(positions: list[str], min_share: float = CURVE_MIN_SHARE) -> str:
    """A learning curve against a paper's band at the paper's evaluation points (``band_position`` per point, in
    order): ``held`` when at least ``min_share`` of them are inside or above and the last is not below; ``not held``
    otherwise (and with no points)."""
    if not positions:
        return "not held"
    share = sum(p != "below" for p in positions) / len(positions)
    return "held" if share >= min_share and positions[-1] != "below" else "not held"
