"""Learning curves as a faceted grid, one panel per game (Mnih et al. 2016 Figure 1 analogue).

Each panel: the training episode return (unclipped game score, mean per frame bin of ``curves.csv``) of every run
group, its mean over seeds with a 95% bootstrap CI band (``stats.grouped_mean_ci``, the verdict table's CI; no band
with one seed), beside horizontal reference lines: the game's random and human scores (no-op references,
``reference.noop_reference``) and the paper's final score of the column each group is compared with (Table S3,
human starts). The x-axis is emulator frames, or wall-clock training hours in the companion figure; the paper's
frame budget (or training time) is marked with a vertical line when it lies within the panel's view; on the hours
axis, the games Mnih et al. 2016 Figure 1 draws also show its curve of each algorithm run there (DQN, A3C), up to
our runs' last hour. Up to ``PANELS_PER_PAGE`` panels per page.
"""

from __future__ import annotations

import math
from textwrap import fill

import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from replication.peers.sb3 import PEER_PREFIX
from replication.report.page import MIN_PT, PALETTE, text_width
from replication.results import reference
from replication.results.claims import CURVE_BIN_FRAMES, CURVE_MIN_BINS, SOURCES, paper_band, training_curve
from replication.results.stats import grouped_mean_ci
from replication.results.verdict import fmt_frames
from replication.runs.rundir import algorithm_of

PANELS_PER_PAGE = 12
TICK_PT, LABEL_PT, PANEL_TITLE_PT, LEGEND_PT = MIN_PT, 7.5, 8.5, 7.5
X_AXES = ("frames", "hours")


def frames_scale(curves: pd.DataFrame) -> tuple[float, str]:
    """(divisor, axis label) for frames: millions, or thousands when every run is under 1M frames."""
    if len(curves) and float(curves["frames"].max()) < 1e6:
        return 1e3, "emulator frames (thousands)"
    return 1e6, "emulator frames (millions)"


def run_label(group: str, workers) -> str:
    """The legend name of a run group at one worker count, e.g. ``a3c_ff (workers 16)``."""
    return f"{group} (workers {workers})"


def run_colours(labels) -> dict[str, tuple]:
    """A fixed colour per run label (sorted), from the colour-blind-safe palette, shared by every panel."""
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(sorted(set(labels)))}


def game_pages(games: list[str]) -> list[list[str]]:
    """``games`` in chunks of at most ``PANELS_PER_PAGE``, one chunk per page, the chunks as even as possible."""
    n_pages = max(1, math.ceil(len(games) / PANELS_PER_PAGE))
    per = math.ceil(len(games) / n_pages) if games else 0
    return [games[i:i + per] for i in range(0, len(games), per)] or [[]]


def grid_shape(n: int) -> tuple[int, int]:
    """(rows, cols) for ``n`` panels on an A4 landscape page: at most 4 columns and 3 rows."""
    if n <= 3:
        return 1, max(1, n)
    cols = 2 if n == 4 else 3 if n in (5, 6, 9) else 4
    return math.ceil(n / cols), cols


def paper_lines(bands: pd.DataFrame) -> dict[str, str]:
    """run label -> the Table S3 column the run group is compared with (``reference.paper_column`` of its algorithm
    at its largest frames, as the verdict table)."""
    out = {}
    for run, g in bands.groupby("run"):
        column = reference.paper_column(g["algorithm"].iloc[0], float(g["frames"].max()))
        if column:
            out[run] = column
    return out


def curve_bands(curves: pd.DataFrame) -> pd.DataFrame:
    """Per (run group, workers, game, frame bin): the mean training return over seeds with its 95% bootstrap CI
    (``stats.grouped_mean_ci``; NaN bounds with one seed) and the bin's wall-clock training hours averaged over seeds
    (each seed has its own clock).

    Args:
        curves: ``curves.csv`` rows (group, algorithm, game, workers, seed, frames, hours, episode_return).

    Returns:
        Columns ``run, algorithm, game, frames, hours, mean, ci_low, ci_high, seeds``, sorted by run, game, frames.
    """
    cols = ["run", "algorithm", "game", "frames", "hours", "mean", "ci_low", "ci_high", "seeds"]
    if curves.empty:
        return pd.DataFrame(columns=cols)
    c = curves.assign(run=[run_label(a, w) for a, w in zip(curves["group"], curves["workers"])])
    by = ["run", "algorithm", "game", "frames"]
    out = c.groupby(by, sort=True).agg(hours=("hours", "mean"), seeds=("seed", "nunique")).reset_index()
    return out.merge(grouped_mean_ci(c, by, "episode_return"), on=by)[cols]


def clip_curve(curve: pd.DataFrame, x: str, end: float, columns: list[str]) -> pd.DataFrame:
    """``curve`` up to ``end`` on its column ``x``: its rows with ``x < end`` and one more at ``x = end`` with each of
    ``columns`` linearly interpolated (``np.interp``), so a drawn line stops where ours does; the whole curve where it
    ends at or before ``end``, none of it where it starts after. Returns columns ``x`` and ``columns``, in ``x``
    order."""
    c = curve.sort_values(x)[[x, *columns]]
    xs = c[x].to_numpy(float)
    if not len(c) or end >= xs[-1] or end < xs[0]:
        return c[c[x] <= end].reset_index(drop=True)
    last = pd.DataFrame([{x: end, **{k: float(np.interp(end, xs, c[k].to_numpy(float))) for k in columns}}])
    return pd.concat([c[c[x] < end], last], ignore_index=True)


FIGURE1_COLUMNS = ["score", "score_band_low", "score_band_high"]
FIGURE1_STYLE = dict(ls=(0, (4, 1.5)), lw=1.1)


def figure1_label(method: str) -> str:
    """The legend entry of Mnih et al. 2016 Figure 1's curve of ``method``, with the host its hours are from."""
    return f"paper: {method}, {reference.FIGURE1_HOST[method]} (Mnih et al. 2016 Figure 1)"


def figure1_curves(g: pd.DataFrame, game: str, figure1: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """Mnih et al. 2016 Figure 1's curves for ``game``'s panel on the hours axis.

    Args:
        g: the panel's ``curve_bands`` rows (``run, algorithm, hours``, ...).
        figure1: ``reference.mnih_figure1()``.

    Returns:
        ``(run label, method, curve)`` per algorithm run in ``g`` whose curve Figure 1 draws for ``game``
        (``reference.FIGURE1_METHOD``): the run label is that algorithm's first (the curve takes its colour), the
        curve (``hours`` and ``FIGURE1_COLUMNS``, game points) the paper's, cut at the last hour of that
        algorithm's runs in the panel (``clip_curve``): how far the paper's host was after the same wall-clock
        time. Empty for a game Figure 1 does not draw.
    """
    out = []
    for algorithm, method in reference.FIGURE1_METHOD.items():
        runs = g[g["algorithm"] == algorithm]
        curve = figure1[(figure1["method"] == method) & (figure1["game"] == game)]
        if len(runs) and len(curve):
            out.append((sorted(runs["run"])[0], method,
                        clip_curve(curve, "hours", float(runs["hours"].max()), FIGURE1_COLUMNS)))
    return out


def plot_band(ax, xs, band: pd.DataFrame, colour, label: str | None = None, marker_size: float = 2.5) -> None:
    """One run group's curve on ``ax``: its ``mean`` (a line with point markers) at ``xs`` (the axis' units, one per
    row of ``band``) and the ``ci_low`` .. ``ci_high`` band behind it (``grouped_mean_ci`` columns); the band is
    absent where the bounds are NaN (one seed). The one way every figure of the suite draws a mean over seeds with
    its CI."""
    ax.plot(xs, band["mean"], color=colour, lw=1.2, marker="o", markersize=marker_size, label=label)
    ax.fill_between(xs, band["ci_low"], band["ci_high"], color=colour, alpha=0.2, lw=0)


def finish_band_panel(ax, title: str, xlabel: str) -> None:
    """A band panel's text and grid (the Figure 3/4 pages, the DQN page): ``title``, ``xlabel``, "training
    return" on the y-axis, the axes' legend, at the pages' panel type sizes."""
    ax.set_title(title, fontsize=8.5)
    ax.set_xlabel(xlabel, fontsize=7.5)
    ax.set_ylabel("training return", fontsize=7.5)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def plot_bands(ax, rows: pd.DataFrame, hue: str, x: str, value: str = "episode_return") -> None:
    """Every group of ``rows`` by column ``hue`` (one row per seed and bin) as a ``plot_band`` over column ``x``:
    the mean of ``value`` over the seeds per bin with its 95% bootstrap CI (``grouped_mean_ci``), each group in its
    ``run_colours`` colour and labelled by its ``hue`` value (for the axes' legend)."""
    bands = grouped_mean_ci(rows, [hue, x], value)
    colours = run_colours(bands[hue])
    for group, band in bands.groupby(hue):
        plot_band(ax, band[x], band, colours[group], label=group, marker_size=3)


def draw_curves(fig, rect, bands: pd.DataFrame, games: list[str], x: str = "frames") -> None:
    """Draw one panel per game of ``games`` into ``rect`` (left, bottom, right, top; figure fractions) of ``fig``,
    with one legend above the panels.

    Args:
        bands: ``curve_bands`` of the curves (mean and 95% CI over seeds per frame bin).
        x: ``"frames"`` (emulator frames, in millions or thousands: ``frames_scale``) or ``"hours"`` (wall-clock
            training hours).

    Raises:
        ValueError: an unknown ``x``.
    """
    if x not in X_AXES:
        raise ValueError(f"unknown x {x!r}; accepted: {', '.join(X_AXES)}")
    colours = run_colours(bands["run"])
    columns = paper_lines(bands)
    s3 = reference.table_s3().set_index("game")
    scale, frames_label = frames_scale(bands)
    xlabel = frames_label if x == "frames" else "wall-clock training time (hours)"
    rows, cols = grid_shape(len(games))
    handles: dict[str, Line2D] = {label: Line2D([], [], color=colours[label], lw=1.6) for label in sorted(colours)}
    references = {game: _panel_references(bands[bands["game"] == game], game, columns, colours, s3, x, scale)
                  for game in games}
    figure1 = reference.mnih_figure1() if x == "hours" else None
    papers = {game: figure1_curves(bands[bands["game"] == game], game, figure1) for game in games if x == "hours"}
    for lines in references.values():  # the legend shows each reference line drawn in any panel, once
        for label, _, _, style in lines:
            handles.setdefault(label, Line2D([], [], **style))
    for curves in papers.values():
        for run, method, _ in curves:
            handles.setdefault(figure1_label(method), Line2D([], [], color=colours[run], **FIGURE1_STYLE))
    left, bottom, right, top = rect
    gs = _panel_grid(fig, (left, bottom, right, _legend(fig, handles, left, right, top)), rows, cols)
    for i, game in enumerate(games):
        ax = fig.add_subplot(gs[i // cols, i % cols])
        g = bands[bands["game"] == game]
        for run, r in g.groupby("run"):
            xs = r["frames"].to_numpy(float) / scale if x == "frames" else r["hours"].to_numpy(float)
            plot_band(ax, xs, r, colours[run])
        for run, _, c in papers.get(game, []):
            ax.fill_between(c["hours"], c["score_band_low"], c["score_band_high"], color=colours[run], alpha=0.12, lw=0)
            ax.plot(c["hours"], c["score"], color=colours[run], **FIGURE1_STYLE)
        for _, axis, position, style in references[game]:
            (ax.axhline if axis == "h" else ax.axvline)(position, **style)
        ax.set_title(game, fontsize=PANEL_TITLE_PT, pad=3)
        ax.set_xlabel(xlabel if i + cols >= len(games) else "", fontsize=LABEL_PT)
        ax.set_ylabel("training return" if i % cols == 0 else "", fontsize=LABEL_PT)
        ax.tick_params(labelsize=TICK_PT, pad=1.5)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5 if cols < 4 else 4))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5))
        ax.xaxis.get_offset_text().set_fontsize(TICK_PT)
        ax.yaxis.get_offset_text().set_fontsize(TICK_PT)
        ax.grid(alpha=0.3)
    if not games:
        ax = fig.add_subplot(gs[0, 0])
        ax.axis("off")
        ax.text(0.5, 0.5, "no training curves: no run finished a training episode", ha="center", fontsize=9)


def _paper_mark(column: str, x: str, scale: float) -> float:
    """Where the paper's budget of ``column`` lies on the x-axis: frames / ``scale``, or training hours."""
    if x == "frames":
        return reference.PAPER_FRAME_BUDGET.get(column, np.inf) / scale
    return reference.PAPER_TRAINING_HOURS.get(column, np.inf)


def _panel_references(g: pd.DataFrame, game: str, columns: dict, colours: dict, s3: pd.DataFrame, x: str,
                      scale: float) -> list[tuple[str, str, float, dict]]:
    """The reference lines of ``game``'s panel (``g``: its rows of the curve bands), each as ``(legend label,
    "h" or "v", position on that axis, line style)``: random and human scores with no-op starts, and for each
    paper column a run group is set beside (the first group per column), the paper's score and, where the
    panel's x-axis reaches it, the paper's budget (frames / ``scale``, or training hours)."""
    out = []
    ref = reference.noop_reference(game)
    if ref:
        out.append(("random (no-op starts)", "h", ref[0], dict(color="#555555", ls=":", lw=1.0)))
        out.append(("human (no-op starts)", "h", ref[1], dict(color="#555555", ls="--", lw=1.0)))
    xs = g["frames"] / scale if x == "frames" else g["hours"]
    xmax = float(xs.max()) if len(g) else 0.0
    runs, drawn = set(g["run"]), set()
    for label, column in sorted(columns.items()):
        if label not in runs or column in drawn:
            continue
        drawn.add(column)
        header = reference.TABLE_S3_COLUMNS[column]
        value = s3.loc[game, column] if game in s3.index else np.nan
        if pd.notna(value):
            out.append((f"paper: {header} (Table S3, {reference.TABLE_S3_PROTOCOL})", "h", float(value),
                        dict(color=colours[label], ls="-.", lw=1.1)))
        mark = _paper_mark(column, x, scale)
        if mark <= xmax:
            what = "frame budget" if x == "frames" else "training time"
            out.append((f"paper's {what}: {header}", "v", mark, dict(color=colours[label], ls=(0, (1, 2)), lw=1.2)))
    return out


def _panel_grid(fig, rect, rows: int, cols: int):
    """A ``rows`` x ``cols`` GridSpec in ``rect`` with fixed room (inches) for tick labels, axis labels and panel
    titles, so no panel's text leaves ``rect`` (measured layouts such as tight_layout cost seconds per page)."""
    w, h = fig.get_figwidth(), fig.get_figheight()
    left, bottom, right, top = rect
    pad_l, pad_b, pad_t, pad_r, gap_w, gap_h = 0.62, 0.42, 0.22, 0.12, 0.55, 0.48
    avail_w = (right - left) * w - pad_l - pad_r
    avail_h = (top - bottom) * h - pad_b - pad_t
    panel_w = (avail_w - (cols - 1) * gap_w) / cols
    panel_h = (avail_h - (rows - 1) * gap_h) / rows
    return fig.add_gridspec(rows, cols, left=left + pad_l / w, right=right - pad_r / w, bottom=bottom + pad_b / h,
                            top=top - pad_t / h, wspace=gap_w / panel_w, hspace=gap_h / panel_h)


def _legend(fig, handles: dict[str, Line2D], left: float, right: float, top: float) -> float:
    """A legend across the top of the region; returns the figure fraction its bottom leaves for the panels."""
    if not handles:
        return top
    width_in = (right - left) * fig.get_figwidth()
    entry = max(text_width(label, LEGEND_PT) for label in handles) + 0.55
    ncol = max(1, min(len(handles), int(width_in / entry)))
    nrows = math.ceil(len(handles) / ncol)
    fig.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=((left + right) / 2, top),
               ncol=ncol, fontsize=LEGEND_PT, frameon=False, handlelength=2.6, columnspacing=1.2,
               borderaxespad=0.0)
    return top - (nrows * LEGEND_PT * 1.55 / 72 + 0.08) / fig.get_figheight()


def curves_caption(curves: pd.DataFrame, x: str = "frames") -> str:
    """The caption of the curves figure: what is drawn, the seeds per run group, and the reference lines' sources."""
    seeds = curves.groupby(["group", "workers"])["seed"].nunique()
    per = "; ".join(f"{run_label(a, w)}: {n} seed{'s' if n > 1 else ''}" + ("" if n > 1 else " (1 seed: no CI band)")
                    for (a, w), n in seeds.items()) or "none"
    xs = ("x: emulator frames (frame skip included) at the end of each of the run's frame bins" if x == "frames" else
          "x: wall-clock training hours at each frame bin, averaged over seeds (each seed has its own clock)")
    budget = {k: fmt_frames(v) for k, v in reference.PAPER_FRAME_BUDGET.items()}
    mark = (f"paper's frame budget ({budget['a3c_ff_1_day']} frames for 1 day, {budget['a3c_ff']} for 4 days, "
            f"{budget['dqn']} for DQN)" if x == "frames"
            else "paper's training time (1 day, 4 days, DQN 8 days; Table 1)")
    return (f"Training episode return (unclipped score of whole games, mean per frame bin): line = mean over seeds, "
            f"band = 95% bootstrap CI over seeds. {xs}. Seeds per run group: {per}. Horizontal lines: random (dotted) "
            "and human (dashed) no-op reference scores (van Hasselt et al. 2016 Table 3; Wang et al. 2016 for the 8 "
            "other games); dash-dot, in the group's colour: the paper's final score of the column the group is "
            f"compared with (Mnih et al. 2016 Table S3, {reference.TABLE_S3_PROTOCOL}: another protocol than our "
            f"training returns, shown as the target). Vertical dotted line: the {mark}, drawn only where it lies "
            "within the panel's x-range." + (FIGURE1_CAPTION if x == "hours" else ""))


FIGURE1_CAPTION = (
    " Dashed, in the group's colour, with a light band (Beamrider, Breakout, Pong, Q*bert and Space Invaders only): "
    "Mnih et al. 2016 Figure 1's curve of the group's algorithm (DQN; A3C, feed-forward), digitized (SOURCES.md "
    "section E), up to the group's last hour: the paper's hours are its hosts' (DQN on "
    f"{reference.FIGURE1_HOST['DQN']}, the asynchronous methods on {reference.FIGURE1_HOST['A3C']}; each curve "
    "averages 5 runs), so it says how far such a host was after the same wall-clock time, not a verdict.")


def _bin_frames(total_frames: int) -> float:
    """The frames per bin of ``claims.training_curve`` for a run of ``total_frames``."""
    return total_frames / max(CURVE_MIN_BINS, total_frames // CURVE_BIN_FRAMES)


def curve_figure(claim: str, runs: list[dict], row: dict, beside: pd.DataFrame | None = None):
    """Ours (``training_curve``: mean and 95% CI over seeds per bin; each evaluation's mean as a marker) over the
    paper's band and line for a curve claim, or under the paper's final score (``row["paper"]``, a dash-dot line)
    for a score claim (``claims.FIGURE_CLAIMS``: Table S3's DQN); x in frames (millions), with epochs (4M frames)
    on the top axis. ``beside``: other run groups' curves drawn with it, unjudged (``claims.beside_curves``:
    ``group, seeds, frames, mean, ci_low, ci_high`` per bin, and ``settings`` where given: those that differ from
    ours are printed under the axes), each in its own colour; a peer's group (``sb3_*``) is named as SB3's."""
    c0 = runs[0]["config"]
    game, workers = c0["game"], int(c0["workers"])
    band = paper_band(claim, game, workers)
    fig, ax = plt.subplots(figsize=(8, 5))
    if band is not None:
        ax.fill_between(band["frames"] / 1e6, band["low"], band["high"], color="#e69f00", alpha=0.35, lw=0,
                        label=f"{SOURCES[claim]}, {'n_e' if claim.startswith('clemente') else 'threads'} = {workers}")
        ax.plot(band["frames"] / 1e6, band["line"], color="#e69f00", lw=1.2)
    else:  # a score claim: the paper's score at the end of its budget
        paper_budget = reference.PAPER_FRAME_BUDGET[reference.PAPER_COLUMN_FOR_ALGORITHM[algorithm_of(c0)]]
        ax.axhline(float(row["paper"]), color="#e69f00", lw=1.4, ls="-.",
                   label=f"{SOURCES[claim]}: {float(row['paper']):g} after {fmt_frames(paper_budget)} frames")
    budget = max(int(r["config"]["total_frames"]) for r in runs)  # the paper's band up to our budget
    curves = pd.concat([training_curve(r).assign(seed=r["config"]["seed"]) for r in runs], ignore_index=True)
    if len(curves):
        ours = grouped_mean_ci(curves, ["frames"], "score")
        plot_band(ax, ours["frames"] / 1e6, ours, "#0072b2",
                  label=f"ours ({c0['group']}, {len(runs)} seed(s)): training games per "
                        f"{_bin_frames(budget) / 1e6:g}M frames")
    others = beside if beside is not None else pd.DataFrame(columns=["group", "frames"])
    notes = []
    for colour, (group, b) in zip(("#cc79a7", "#56b4e9", "#d55e00"), others.groupby("group", sort=True)):
        who = "SB3" if group.startswith(PEER_PREFIX) else "ours"
        plot_band(ax, b["frames"] / 1e6, b, colour,
                  label=f"{who} ({group}, {int(b['seeds'].iloc[0])} seed(s)) beside it: no paper curve, not judged")
        if "settings" in b and b["settings"].iloc[0] != row["settings"]:
            notes.append(f"{group}: {b['settings'].iloc[0]}")
    evals = pd.concat([r["eval"] for r in runs], ignore_index=True)
    if len(evals):
        means = evals.groupby(["frames"], as_index=False)["episode_return"].mean()
        ax.plot(means["frames"] / 1e6, means["episode_return"], "D", color="#009e73", markersize=4,
                label=f"ours: evaluation ({evals['protocol'].iloc[0]}), mean of its games and seeds")
    ref = reference.noop_reference(game)
    if ref:
        ax.axhline(ref[0], ls="--", color="grey", lw=1, label="random (no-op)")
        ax.axhline(ref[1], ls=":", color="grey", lw=1, label="human (no-op)")
    ax.set_xlim(0, max(budget, float(others["frames"].max()) if len(others) else 0) / 1e6)
    top = ax.secondary_xaxis("top", functions=(lambda m: m * 1e6 / reference.FRAMES_PER_EPOCH,
                                               lambda e: e * reference.FRAMES_PER_EPOCH / 1e6))
    top.set_xlabel("epochs (1M global steps = 4M frames)")
    ax.set_xlabel("emulator frames (millions)")
    ax.set_ylabel("score (unclipped)")
    fig.suptitle(f"{game}, {c0['group']} w{workers}: {row['verdict']} at {row['frames'] / 1e6:.1f}M frames", fontsize=9)
    ax.legend(fontsize=8, loc="upper left")  # the band rises from lower left to upper right
    ax.grid(alpha=0.3)
    note = fill(f"settings beside ours ({row['settings']}): " + "; ".join(notes), 135) if notes else ""
    if note:  # the settings of the groups beside that differ from ours, under the axes
        fig.text(0.01, 0.01, note, fontsize=MIN_PT, va="bottom")
    fig.tight_layout(rect=(0, (0.025 * (note.count("\n") + 1) + 0.02) if note else 0, 1, 1))
    return fig
