"""``python -m replication.progress_report``: a PDF of every run directory present, finished or not.

Usage::

    python -m replication.progress_report --runs results/runs --out reports/progress.pdf
    snakemake --cores 1 progress        # the same, as a workflow target (never starts or waits for training)

Unlike the report (``replication.report.build``), which waits for every planned run to finish, this reads whatever the
run directories hold right now: a table of each run's frames so far against its budget (with its state: finished,
training, or stopped with a checkpoint to resume from), the papers' claims the runs test with the verdict so far
(``claims_so_far``: what ``benchmarks/claims.csv`` would say of them now), and per game the training returns binned
by frames, with each unfinished run's curve ending in a marker at its frames so far. Logs are read while trainings
append to them, with the reader resume and aggregate use (``logs.read_log_rows``): a half-written last row is
skipped, any other damage is named in one line. Nothing in a run directory is changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import seaborn as sns

from replication.core.errors import UserError, cli_main
from replication.report.layout import Document
from replication.report.page import fit_grid
from replication.report.pdf_pages import report_pdf
from replication.results.claims import claims_table, read_live_run, verdict_so_far
from replication.runs.read import PROGRESS_REMEDY, curve_rows, read_live_log, training_now
from replication.runs.rundir import CONFIG_KEYS, algorithm_of, read_config, read_json_file


RATE_WINDOW_S = 600.0  # the recent rate of an unfinished run: its last 10 minutes of training


def recent_frames_per_s(updates: pd.DataFrame, window_s: float = RATE_WINDOW_S) -> float:
    """Training rate (frames/s) over the last ``window_s`` seconds of an ``updates.csv`` log.

    ``(frames[-1] - frames[i]) / (wall_time_s[-1] - wall_time_s[i])`` for the first row ``i`` with ``wall_time_s``
    within ``window_s`` of the last row's (the run's own clock, which a resume continues); the last row's logged
    ``frames_per_s`` where the window holds one row alone; NaN for an empty log. One row's rate moves with each
    checkpoint and evaluation (a DQN checkpoint writes 7 GB), ten minutes' does not.
    """
    if updates.empty:
        return float("nan")
    t, f = updates["wall_time_s"].to_numpy(float), updates["frames"].to_numpy(float)
    first = int((t >= t[-1] - window_s).argmax())
    if t[-1] <= t[first]:
        return float(updates["frames_per_s"].iloc[-1])
    return float((f[-1] - f[first]) / (t[-1] - t[first]))


def run_progress(path: str | Path) -> dict | None:
    """One run directory's state, or None if it has no ``config.json`` (nothing started there yet).

    Returns a dict with ``group``, ``algorithm``, ``game``, ``workers``, ``seed``, ``frames`` (so far),
    ``total_frames`` (the budget), ``done_pct``, ``state`` (``finished``, ``training`` or ``stopped``),
    ``frames_per_s`` (a finished run's whole-run average from ``done.json``, else ``recent_frames_per_s``),
    ``hours_left`` (the frames left at that rate: 0 when finished, NaN without a rate), ``score_last100`` (mean
    unclipped return of the last 100 finished games, NaN before the first), ``games`` (finished training games)
    and ``episodes`` (the episode log).

    Raises:
        UserError: a damaged ``config.json``, ``done.json`` or log (``read_log``), naming it and what to do.
    """
    path = Path(path)
    if not (path / "config.json").exists():
        return None
    cfg = read_config(path, (*CONFIG_KEYS, "total_frames"), PROGRESS_REMEDY)
    episodes = read_live_log(path / "episodes.csv")
    updates = read_live_log(path / "updates.csv")
    done = (read_json_file(path / "done.json", ("frames", "frames_per_s"), PROGRESS_REMEDY)
            if (path / "done.json").exists() else None)
    logged = [int(df["frames"].max()) for df in (episodes, updates) if len(df)]
    frames = int(done["frames"]) if done else max(logged, default=0)
    total = int(cfg["total_frames"])
    state = "finished" if done else "training" if training_now(path) else "stopped"
    last = episodes["episode_return"].tail(100) if len(episodes) else pd.Series(dtype=float)
    rate = float(done["frames_per_s"]) if done else recent_frames_per_s(updates)
    hours_left = max(total - frames, 0) / rate / 3600 if rate > 0 else float("nan")  # finished: 0 frames left
    return {"group": cfg["group"], "algorithm": algorithm_of(cfg), "game": cfg["game"],
            "workers": int(cfg["workers"]), "seed": int(cfg["seed"]), "frames": frames, "total_frames": total,
            "done_pct": 100.0 * frames / total, "state": state,
            "frames_per_s": rate, "hours_left": hours_left,
            "score_last100": float(last.mean()) if len(last) else float("nan"), "games": len(episodes),
            "episodes": episodes, "config": cfg, "path": path}


def find_runs(runs_root: str | Path) -> list[dict]:
    """``run_progress`` of every ``{group}/{game}/w{workers}/s{seed}`` directory under ``runs_root``.

    Raises:
        UserError: ``runs_root`` does not exist or holds no started run.
    """
    root = Path(runs_root)
    if not root.is_dir():
        raise UserError(f"{str(root)!r} is not a folder; accepted: the runs folder of a workflow (results/runs)")
    runs = [r for p in sorted(root.glob("*/*/w*/s*")) if (r := run_progress(p)) is not None]
    if not runs:
        raise UserError(f"no run has started under {str(root)!r} yet (no */*/w*/s*/config.json)")
    return runs


def progress_table(runs: list[dict]) -> pd.DataFrame:
    """One row per run: ids, frames so far, budget, percent, state, frames/s, hours left, last-100 score, games
    (``run_progress``)."""
    cols = ["group", "algorithm", "game", "workers", "seed", "frames", "total_frames", "done_pct", "state",
            "frames_per_s", "hours_left", "score_last100", "games"]
    return pd.DataFrame([{c: r[c] for c in cols} for r in runs], columns=cols)


def claims_so_far(runs: list[dict]) -> pd.DataFrame:
    """The papers' claims the runs present test (``results.claims.claims_table`` of each run directory as it is
    now): ``claim, group, game, workers``, ``frames`` (the group's least so far), ``seeds``, ``ours``, ``paper``,
    ``verdict`` (``running`` while a seed trains) and ``so_far`` (for a running claim, the verdict its frames so
    far give; ``nothing to judge yet`` before its first evaluation or paper point). No rows where no run tests a
    claim.

    Raises:
        UserError: a damaged ``config.json`` or ``done.json``; two runs of one seed in one group.
    """
    table, _ = claims_table([read_live_run(r["path"]) for r in runs])
    so_far = [verdict_so_far(v, d) for v, d in zip(table["verdict"], table["detail"])]
    return table.assign(so_far=so_far)[["claim", "group", "game", "workers", "frames", "seeds", "ours", "paper",
                                        "verdict", "so_far"]]


def progress_curves(runs: list[dict]) -> pd.DataFrame:
    """Training returns binned over each run's budget (``aggregate.curve_rows``), with ``state`` per row."""
    parts = []
    for r in runs:
        binned = curve_rows({"episodes": r["episodes"], "done": {"frames": r["total_frames"]},
                             "config": r["config"]})
        parts.append(binned.assign(state=r["state"], frames_so_far=r["frames"]))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def build_progress_report(runs_root: str | Path, out: str | Path) -> list[str]:
    """Write the progress PDF for the runs under ``runs_root`` to ``out`` (atomically); returns the page titles.

    Raises:
        UserError: no started run under ``runs_root``.
    """
    runs = find_runs(runs_root)
    table = progress_table(runs)
    curves = progress_curves(runs)
    counts = table["state"].value_counts().to_dict()
    doc = Document("Training progress", contents=False)
    shown = table.assign(frames=table["frames"].map(lambda f: f"{f / 1e6:.2f}M"),
                         total_frames=table["total_frames"].map(lambda f: f"{f / 1e6:.2f}M"))
    doc.table(shown, "Progress: every run directory present",
              f"{len(table)} runs: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
              + f" (read from {runs_root}). frames: emulator frames so far (frame skip included); done_pct: of "
              "the run's budget; state: finished (done.json), training (a process holds the run's lock) or "
              "stopped (rerun the train job to resume from checkpoint.pt); frames_per_s: a finished run's "
              f"average, else the rate over its last {RATE_WINDOW_S / 60:.0f} minutes of training; hours_left: "
              "the frames left at that rate; score_last100: mean unclipped score of the last 100 finished "
              "training games.",
              missing={"score_last100": "no games yet", "frames_per_s": "not logged yet",
                       "hours_left": "not logged yet"})
    claims = claims_so_far(runs)
    if len(claims):
        doc.table(claims.assign(frames=claims["frames"].map(lambda f: f"{f / 1e6:.2f}M")),
                  "The papers' claims so far",
                  "Each claim a run group present tests (benchmarks/README.md gives the rules): ours and the paper's "
                  "score (a curve claim: both at the paper's last point reached), the verdict, 'running' until every "
                  "seed has finished, and so_far: the verdict the frames so far give. A score short of the paper's "
                  "before the paper's budget says nothing about that budget ('not comparable', so far and finished).",
                  missing={"ours": "no evaluation yet", "paper": "none"})
    palette = sns.color_palette("colorblind")
    groups = sorted(table["group"].unique())

    def draw(fig, rect, game):
        gs = fig.add_gridspec(1, 1)
        ax = fig.add_subplot(gs[0, 0])
        g = curves[curves["game"] == game] if len(curves) else curves
        for (group, workers, seed), run in g.groupby(["group", "workers", "seed"]):
            colour = palette[groups.index(group) % len(palette)]
            unfinished = run["state"].iloc[0] != "finished"
            label = f"{group} w{workers} s{seed}" + (f" ({run['state'].iloc[0]})" if unfinished else "")
            ax.plot(run["frames"] / 1e6, run["episode_return"], color=colour, alpha=0.9,
                    linestyle="--" if unfinished else "-", marker="o", markersize=2.5, label=label)
            if unfinished:  # where the run stands now
                ax.plot(run["frames"].iloc[-1] / 1e6, run["episode_return"].iloc[-1], marker="X", markersize=9,
                        color=colour, linestyle="none")
        ax.set_xlabel("emulator frames (millions); each run's bins span its own budget")
        ax.set_ylabel("training episode return (unclipped game score, mean per bin)")
        if len(g):
            ax.legend(fontsize=7, ncol=2, loc="best")
        fit_grid(gs, fig, rect)

    for game in sorted(table["game"].unique()):
        doc.figure(lambda fig, rect, game=game: draw(fig, rect, game), f"Progress curves: {game}",
                   f"{game}: training returns so far, mean per frame bin of each run; dashed, ending in X: "
                   "unfinished runs, at their frames so far.", png=False)
    with report_pdf(out) as pdf:
        doc.render(pdf)
    return pdf.pages


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m replication.progress_report", description=__doc__.split("\n")[0])
    p.add_argument("--runs", default="results/runs", help="the runs folder (default: results/runs)")
    p.add_argument("--out", required=True, help="the PDF to write")
    args = p.parse_args(argv)
    pages = build_progress_report(args.runs, args.out)
    print(f"wrote {args.out}: {len(pages)} pages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
