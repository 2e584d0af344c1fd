"""The report's DQN page: how the schedule changes the curve a user sees.

DQN's Nature schedule (Mnih et al. 2015: epsilon annealed over 1M agent steps, learning from 50k, target copied
every 10k; ``configs/dqn_nature_pong.yaml``) and the shortened one of ``configs/parity.yaml`` (100k, 10k, 2k: the
RL Zoo's, so the pair with SB3 leaves the random score within 3M frames) learn the same game at different paces.
Per game, this page draws each DQN run group of the report's runs (mean and 95% CI over seeds per frame bin of
``curves.csv``) beside the suite's published DQN curves (``claims.published_curves`` from
``benchmarks/claims_training_curves.csv``: the Nature-settings run and both sides of the shortened pair), under
Table S3's DQN score, and tabulates each curve's settings, frames and where it leaves the random score
(``verdict.leaves_random_at``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replication.report.curves_figure import finish_band_panel, game_pages, grid_shape, plot_band, run_colours
from replication.report.layout import Document
from replication.report.page import fit_grid
from replication.results import reference
from replication.results.claims import curve_band, settings_of
from replication.results.verdict import CLAIM_MARGIN_HN, fmt_frames, leaves_random_at

BAND_COLUMNS = ["source", "group", "game", "settings", "seeds", "frames", "mean", "ci_low", "ci_high"]


def dqn_bands(curves: pd.DataFrame, runs: list[dict], published: pd.DataFrame | None) -> pd.DataFrame:
    """Every DQN curve to draw, on the games with two or more (a comparison of schedules): ``source`` (``this
    run`` or ``published``), ``group, game, settings`` (``paper`` or the keys that differ: ``claims.settings_of``),
    ``seeds``, and per frame bin ``frames, mean, ci_low, ci_high`` (over seeds). Ours from ``curves``
    (``curves.csv`` rows, one per seed and bin; ``runs``: their configs, for the settings), the published ones
    (``published``, or none) on the games ours ran."""
    settings = {r["config"]["group"]: settings_of(r["config"]) for r in runs if "config" in r}
    out = []
    for (group, game), g in curves[curves["algorithm"] == "dqn"].groupby(["group", "game"]):
        band = curve_band(g)
        out.append(band.assign(source="this run", group=group, game=game, settings=settings.get(group, "?"),
                               seeds=g["seed"].nunique()))
    games = {b["game"].iloc[0] for b in out}
    if published is not None and len(published):
        pub = published[(published["algorithm"] == "dqn") & published["game"].isin(games)]
        if len(pub):
            out.append(pub.assign(source="published"))
    if not out:
        return pd.DataFrame(columns=BAND_COLUMNS)
    bands = pd.concat(out, ignore_index=True)[BAND_COLUMNS]
    curves_per_game = bands.drop_duplicates(["game", "source", "group"])["game"].value_counts()
    return bands[bands["game"].isin(curves_per_game[curves_per_game > 1].index)].reset_index(drop=True)


def schedule_table(bands: pd.DataFrame) -> pd.DataFrame:
    """Per curve of ``dqn_bands``: ``source, group, game, seeds, settings``, ``frames`` (its last bin's end),
    ``leaves random at`` (frames, ``verdict.leaves_random_at`` of its mean: random + 10 human-normalized points),
    ``last bin`` (its last bin's mean score)."""
    rows = []
    for (source, group, game), b in bands.groupby(["source", "group", "game"], sort=True):
        b = b.sort_values("frames")
        left = leaves_random_at(b["frames"], b["mean"], game)
        rows.append({"source": source, "group": group, "game": game, "seeds": int(b["seeds"].iloc[0]),
                     "settings": b["settings"].iloc[0], "frames": fmt_frames(float(b["frames"].max())),
                     "leaves random at": "not yet" if np.isnan(left) else fmt_frames(left),
                     "last bin": f"{b['mean'].iloc[-1]:.1f}"})
    return pd.DataFrame(rows)


def draw_dqn_panels(fig, rect, bands: pd.DataFrame, games: list[str]) -> None:
    """One panel per game of ``games`` (at most ``curves_figure.PANELS_PER_PAGE``), from ``bands``
    (``dqn_bands``): each curve (this run's solid, the published dash-dot) with its CI band, the game's random
    score, Table S3's DQN score and the Nature paper's (Extended Data Table 2); x in emulator frames (millions)."""
    labels = [f"{s}: {g} ({n} seed{'s' if n > 1 else ''})"
              for s, g, n in zip(bands["source"], bands["group"], bands["seeds"])]
    bands = bands.assign(label=labels)
    colours = run_colours(bands["label"])
    s3, nature = reference.table_s3().set_index("game"), reference.nature_dqn().set_index("game")
    budget = fmt_frames(reference.PAPER_FRAME_BUDGET['dqn'])
    rows, cols = grid_shape(len(games))
    gs = fig.add_gridspec(rows, cols)
    for i, game in enumerate(games):
        ax = fig.add_subplot(gs[i // cols, i % cols])
        for label, b in bands[bands["game"] == game].groupby("label", sort=True):
            b = b.sort_values("frames")
            plot_band(ax, b["frames"] / 1e6, b, colours[label], label=label)
            if b["source"].iloc[0] == "published":
                ax.lines[-1].set_linestyle("-.")
        ref = reference.noop_reference(game)
        if ref:
            ax.axhline(ref[0], ls="--", color="grey", lw=0.8, label="random (no-op)")
        if game in s3.index and pd.notna(s3.loc[game, "dqn"]):
            ax.axhline(float(s3.loc[game, "dqn"]), ls=":", color="#e69f00", lw=1.2,
                       label=f"Table S3 DQN ({reference.TABLE_S3_PROTOCOL}, after {budget} frames)")
        if game in nature.index:
            ax.axhline(float(nature.loc[game, "dqn_noop_mnih2015"]), ls="-.", color="#d55e00", lw=1.2,
                       label=f"Nature DQN ({reference.NATURE_DQN_PROTOCOL}, after {budget} frames)")
        finish_band_panel(ax, game, "emulator frames (millions)")
    fit_grid(gs, fig, rect)


def dqn_section(doc: Document, curves: pd.DataFrame, runs: list[dict],
                published: pd.DataFrame | None = None) -> list[str]:
    """The DQN page (module docstring) added to ``doc``: the figure and the schedule table; returns what is not
    drawn (no game with two DQN curves)."""
    bands = dqn_bands(curves, runs, published)
    if bands.empty:
        return ["DQN schedules: no game with two DQN curves (this report's DQN run groups and the suite's published "
                "ones) to set side by side"]
    table = schedule_table(bands)
    caption = ("Training games' mean unclipped score per frame bin, mean and 95% CI over seeds; solid: this "
               "report's runs, dash-dot: the suite's published DQN runs on the same game (benchmarks/), whose "
               "settings the table below gives: 'paper' is Nature's schedule (Mnih et al. 2015, the defaults of "
               "replication/algorithms/dqn.py), the others name what they shorten. Dotted: Table S3's DQN score "
               "(Nair et al. 2015's, human starts); dash-dot orange: the Nature paper's (Mnih et al. 2015 Extended "
               "Data Table 2, no-op starts as ours); both reached after the paper's budget, far past these runs.")
    for i, games in enumerate(game_pages(sorted(bands["game"].unique()))):
        doc.figure(lambda fig, rect, games=games: draw_dqn_panels(fig, rect, bands, games),
                   "DQN: the schedule and the curve a user sees" + (" (continued)" if i else ""), caption,
                   contents=i == 0)
    doc.table(table, "DQN curves: settings and where each leaves the random score",
              f"'leaves random at': the end of the first frame bin whose mean is at least the random score + "
              f"{CLAIM_MARGIN_HN:g} human-normalized points (no-op references; Pong: -20.7 + 3.0); 'last bin': its "
              "mean score. Exploration: Nature's epsilon falls from 1 to 0.1 over 1M agent steps after a 50k-step "
              "replay start (at 4.2M frames), configs/parity.yaml's over 100k after 10k (0.44M frames).",
              size=7.5)
    return []
