"""The report's own figures drawn into a rect of a page: the parity curves (``parity_figure`` also as a PNG),
the performance profile, learning rates (Figure 2) and speed-up (Table 2)."""

from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from replication.report.curves_figure import plot_bands
from replication.report.page import PAGE, fit_grid
from replication.results import reference
from replication.results.speedup import table2_a3c
from replication.results.summary import performance_profile


def draw_parity(fig, rect, curves: pd.DataFrame, table: pd.DataFrame) -> None:
    """One panel per (run group, game) of the parity check into ``rect`` of ``fig``: training return vs frames for
    ours and the SB3 peer (mean and 95% CI over seeds per frame bin), the game's random score dashed, and the pooled
    verdict in the panel title."""
    keys = sorted({(a, g) for a, g in zip(curves["group"], curves["game"]) if not str(a).startswith("sb3_")})
    cols = min(3, max(1, len(keys)))
    rows = -(-max(1, len(keys)) // cols)
    gs = fig.add_gridspec(rows, cols)
    for i, (label, game) in enumerate(keys):
        ax = fig.add_subplot(gs[i // cols, i % cols])
        c = curves[(curves["game"] == game) & curves["group"].isin([label, f"sb3_{label}"])].copy()
        c["frames (millions)"] = c["frames"] / 1e6
        c["side"] = np.where(c["side"] == "sb3", f"Stable-Baselines3 (sb3_{label})", f"ours ({label})")
        plot_bands(ax, c, "side", "frames (millions)")
        ref = reference.noop_reference(game)
        if ref:
            ax.axhline(ref[0], ls="--", color="grey", lw=1, label="random (no-op)")
        rows_ = table[(table["group"] == label) & (table["game"] == game)]
        pooled = rows_.loc[rows_["seeds"].astype(str).str.len().idxmax()] if len(rows_) else None
        verdict = f": {pooled['verdict']} (seeds {pooled['seeds']})" if pooled is not None else ""
        ax.set_title(f"{label}, {game}{verdict}", fontsize=9)
        ax.set_xlabel("emulator frames (millions)")
        ax.set_ylabel("training episode return")
        ax.legend(fontsize=7)
    fit_grid(gs, fig, rect)


def parity_figure(curves: pd.DataFrame, table: pd.DataFrame):
    """``draw_parity`` on a standalone A4 landscape figure with its title; returns the figure (for a PNG)."""
    fig = plt.figure(figsize=PAGE)
    fig.suptitle("Learning parity with Stable-Baselines3 at matched settings (band: 95% CI over seeds)", fontsize=12)
    draw_parity(fig, (0.02, 0.02, 0.98, 0.93), curves, table)
    return fig


def _single_axes(fig, rect, n: int = 1):
    gs = fig.add_gridspec(1, n)
    return gs, [fig.add_subplot(gs[0, i]) for i in range(n)]


def draw_profile(fig, rect, normalized: pd.DataFrame) -> None:
    """Performance profile (Agarwal et al. 2021): fraction of runs above each human-normalized threshold."""
    gs, (ax,) = _single_axes(fig, rect)
    taus = np.linspace(0, max(200.0, float(normalized["human_normalized_pct"].max())), 200)
    for (group, workers), g in normalized.groupby(["group", "workers"]):
        ax.plot(taus, performance_profile(g["human_normalized_pct"].to_numpy(), taus),
                label=f"{group} (workers {workers}), {g['game'].nunique()} games, {len(g)} runs")
    ax.set_xlabel("human-normalized score threshold tau (%)")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.legend(fontsize=7.5)
    fit_grid(gs, fig, rect)


def draw_lr(fig, rect, scores: pd.DataFrame, swept) -> None:
    """Mnih et al. 2016 Figure 2 analogue: final score (unclipped, evaluation mean) vs initial learning rate, one
    panel per game of the swept groups. ``swept``: Series indexed by ``(group, game)`` of distinct learning rates,
    only entries with 2 or more."""
    games = sorted({g for _, g in swept.index})
    gs, axes = _single_axes(fig, rect, len(games))
    for ax, game in zip(axes, games):
        g = scores[(scores["game"] == game) & scores["group"].isin([a for a, gg in swept.index if gg == game])]
        sns.scatterplot(data=g, x="learning_rate", y="eval_mean", hue="group", ax=ax)
        ax.set_xscale("log")
        ax.set_xlabel("initial learning rate")
        ax.set_ylabel("final mean evaluation score")
        ax.set_title(game, fontsize=9)
    fit_grid(gs, fig, rect)


def draw_speedup(fig, rect, summary: pd.DataFrame) -> None:
    """Mnih et al. 2016 Table 2 drawn: our speed-up vs workers (frames/s and time to score) beside its A3C row."""
    gs, (ax,) = _single_axes(fig, rect)
    for group, g in summary.groupby("group"):
        ax.plot(g["workers"], g["speedup_frames_per_s"], marker="o", label=f"{group}: frames/s")
        ax.plot(g["workers"], g["speedup_time_to_score"], marker="s", ls="--", label=f"{group}: time to score")
    threads = [1, 2, 4, 8, 16]
    ax.plot(threads, [table2_a3c(t) for t in threads], marker="^", color="black",
            label="A3C, Mnih et al. 2016 Table 2")
    ax.plot(threads, threads, color="grey", ls=":", label="ideal (linear)")
    ax.set_xlabel("workers (actor-learner processes)")
    ax.set_ylabel("speed-up relative to the fewest workers")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.legend(fontsize=7.5)
    fit_grid(gs, fig, rect)
