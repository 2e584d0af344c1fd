"""``python -m replication.report``: tables -> one PDF (pages laid out by ``report_layout``, seaborn figures).

Usage::

    python -m replication.report --tables results/tables --out reports/replication.pdf \\
        [--figures reports/replication/figures] [--verdict reports/replication/verdict.csv]

Answers first: page 1 says what was run (games, algorithms, seeds, frames, hardware, total time) and starts the
verdict table (per run group and game: our score with its 95% CI over seeds beside the paper's, and reproduced /
below paper / above paper / not comparable, with why); then the contents; then the papers' tables and figures in
the papers' order: Mnih et al. 2016 Figure 1 (learning curves vs frames, and vs wall-clock hours), Table 1
(human-normalized summary, performance profile with 3+ games), Figure 2 (score vs learning rate, when swept),
Table 2 (speed-up vs workers, when several worker counts ran), Figures 3 and 4 with our A3C FF curves over the
paper's band for the same thread count, Table S3 (scores per game); Clemente et
al. 2017 (Table 1 with ours and its verdicts, Figures 3 and 4 with our curves over the paper's bands, Figure 2 on this
host; replication/report_clemente.py); then what the papers do not have (parity with Stable-Baselines3,
per-run tables); then protocol and provenance. Every number names its seeds and protocol; every paper number its
source. ``--figures`` also writes every figure page as a PNG, ``--verdict`` the verdict table as CSV (Snakemake's
``--report`` collects both).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from replication import reference
from replication.curves_figure import curve_bands, curves_caption, draw_curves, game_pages, plot_bands
from replication.errors import ArgumentParser, UserError, check_output, cli_main
from replication.pdf_pages import atomic_write_folder, report_pdf
from replication.report_clemente import clemente_lines, clemente_section, draw_paper_throughput, mnih_figure3_section
from replication.report_layout import PAGE, Document, fit_grid
from replication.rundir import algorithm_of, atomic_write_bytes
from replication.speedup import speedup_rows, speedup_summary
from replication.summary import performance_profile, summarize_normalized
from replication.verdict import (BUDGET_TOLERANCE, NO_CI, VERDICT_FILLS, VERDICTS, fmt_frames,  # noqa: F401
                                 pct, per_game_summary, verdict_shown, verdict_table)

# where each algorithm's hyperparameters and their paper sources live (the provenance page cites them)
ALGORITHM_SOURCES = {"a2c": "replication/a2c.py (A2CConfig)", "a3c_ff": "replication/a3c.py (A3CConfig)",
                     "a3c_lstm": "replication/a3c.py (A3CLSTMConfig)", "dqn": "replication/dqn.py (DQNConfig)"}
S3_SOURCE = f"Mnih et al. 2016, Table S3 ({reference.TABLE_S3_PROTOCOL} of emulator time)"
PER_RUN_ROWS = 60  # longer per-run tables stay in the CSVs (results/tables), not the PDF


def s3_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Mnih et al. 2016 Table S3 analogue: per game, our scores (columns ``ours <algo> w<workers>``: unclipped mean
    evaluation score, no-op starts) beside the paper's columns (``reference.TABLE_S3_COLUMNS``, human starts)."""
    s3 = reference.table_s3().set_index("game")
    out = []
    for game, g in summary.groupby("game"):
        row = {"game": game}
        for _, r in g.iterrows():
            row[f"ours {r['algo']} w{r['workers']}"] = r["mean"]
        for col, header in reference.TABLE_S3_COLUMNS.items():
            row[header] = s3.loc[game, col] if game in s3.index else np.nan
        out.append(row)
    return pd.DataFrame(out)


# ------------------------------------------------------------------------------------------------------ figures


def draw_parity(fig, rect, curves: pd.DataFrame, table: pd.DataFrame) -> None:
    """One panel per (run group, game) of the parity check into ``rect`` of ``fig``: training return vs frames for
    ours and the SB3 peer (mean and 95% CI over seeds per frame bin), the game's random score dashed, and the pooled
    verdict in the panel title."""
    keys = sorted({(a, g) for a, g in zip(curves["algo"], curves["game"]) if not str(a).startswith("sb3_")})
    cols = min(3, max(1, len(keys)))
    rows = -(-max(1, len(keys)) // cols)
    gs = fig.add_gridspec(rows, cols)
    for i, (label, game) in enumerate(keys):
        ax = fig.add_subplot(gs[i // cols, i % cols])
        c = curves[(curves["game"] == game) & curves["algo"].isin([label, f"sb3_{label}"])].copy()
        c["frames (millions)"] = c["frames"] / 1e6
        c["side"] = np.where(c["side"] == "sb3", f"Stable-Baselines3 (sb3_{label})", f"ours ({label})")
        plot_bands(ax, c, "side", "frames (millions)")
        ref = reference.noop_reference(game)
        if ref:
            ax.axhline(ref[0], ls="--", color="grey", lw=1, label="random (no-op)")
        rows_ = table[(table["algo"] == label) & (table["game"] == game)]
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
    for (algo, workers), g in normalized.groupby(["algo", "workers"]):
        ax.plot(taus, performance_profile(g["human_normalized_pct"].to_numpy(), taus),
                label=f"{algo} (workers {workers}), {g['game'].nunique()} games, {len(g)} runs")
    ax.set_xlabel("human-normalized score threshold tau (%)")
    ax.set_ylabel("fraction of runs with score > tau")
    ax.legend(fontsize=7.5)
    fit_grid(gs, fig, rect)


def draw_lr(fig, rect, scores: pd.DataFrame, swept) -> None:
    """Mnih et al. 2016 Figure 2 analogue: final score (unclipped, evaluation mean) vs initial learning rate, one
    panel per game of the swept groups. ``swept``: Series indexed by ``(algo, game)`` of distinct learning rates,
    only entries with 2 or more."""
    games = sorted({g for _, g in swept.index})
    gs, axes = _single_axes(fig, rect, len(games))
    for ax, game in zip(axes, games):
        g = scores[(scores["game"] == game) & scores["algo"].isin([a for a, gg in swept.index if gg == game])]
        sns.scatterplot(data=g, x="learning_rate", y="eval_mean", hue="algo", ax=ax)
        ax.set_xscale("log")
        ax.set_xlabel("initial learning rate")
        ax.set_ylabel("final mean evaluation score")
        ax.set_title(game, fontsize=9)
    fit_grid(gs, fig, rect)


def draw_speedup(fig, rect, summary: pd.DataFrame) -> None:
    """Figure 3 analogue: speed-up vs workers (frames/s and time to score) beside Mnih 2016 Table 2's A3C row."""
    gs, (ax,) = _single_axes(fig, rect)
    for algo, g in summary.groupby("algo"):
        ax.plot(g["workers"], g["speedup_frames_per_s"], marker="o", label=f"{algo}: frames/s")
        ax.plot(g["workers"], g["speedup_time_to_score"], marker="s", ls="--", label=f"{algo}: time to score")
    paper = reference.table2_speedup().set_index("method").loc["A3C"]
    threads = [1, 2, 4, 8, 16]
    ax.plot(threads, [paper[f"threads_{t}"] for t in threads], marker="^", color="black",
            label="A3C, Mnih et al. 2016 Table 2")
    ax.plot(threads, threads, color="grey", ls=":", label="ideal (linear)")
    ax.set_xlabel("workers (actor-learner processes)")
    ax.set_ylabel("speed-up relative to the fewest workers")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log", base=2)
    ax.legend(fontsize=7.5)
    fit_grid(gs, fig, rect)


# ----------------------------------------------------------------------------------------------------- sections


PARITY_NOTE = ("Measure: mean training score (unclipped, whole games) of the episodes that ended in the last 10% of "
               "the frame budget, averaged over runs; 95% CIs from a bootstrap stratified by run (each run's episodes "
               "resampled on their own, scipy.stats.bootstrap). Verdict: 'not informative' when the peer's CI reaches "
               "the game's random score (no-op random, van Hasselt et al. 2016 / Wang et al. 2016), else 'parity' when "
               "the CI of ours - peer contains 0, else 'ours ahead' / 'ours behind'. Peer: Stable-Baselines3 at the same "
               "settings (replication/peer.py lists where the protocols cannot match). Wall times are not a speed "
               "benchmark (see the bench).")


def parity_section(doc: Document, tables: Path) -> bool:
    """The parity table (``parity.csv``) and its curves (``parity_curves.csv``), when the tables hold peer runs;
    returns whether there were any.

    Raises:
        FileNotFoundError: ``parity.csv`` lists pairs but ``parity_curves.csv`` is missing.
    """
    path = tables / "parity.csv"
    table = pd.read_csv(path) if path.exists() and path.stat().st_size > 1 else pd.DataFrame()
    if table.empty:
        return False
    curves = pd.read_csv(tables / "parity_curves.csv")

    def ci(prefix, mean):
        return [f"{m:.1f} [{lo:.1f}, {hi:.1f}]" if pd.notna(lo) else f"{m:.1f} ({NO_CI})"
                for m, lo, hi in zip(table[mean], table[f"{prefix}_low"], table[f"{prefix}_high"])]

    shown = pd.DataFrame({"group": table["algo"], "game": table["game"], "seeds": table["seeds"].astype(str),
                          "frames": [f"{f / 1e6:.2f}M" for f in table["frames"]],
                          "ours (95% CI)": ci("ours", "ours_mean"), "SB3 (95% CI)": ci("peer", "peer_mean"),
                          "ours - SB3 (95% CI)": ci("difference", "difference"), "random": table["random"],
                          "verdict": table["verdict"]})
    doc.heading("Learning parity with Stable-Baselines3", new_page=True)
    doc.table(shown, "Parity verdicts per run group and game", PARITY_NOTE)
    doc.figure(lambda fig, rect: draw_parity(fig, rect, curves, table), "Learning parity: curves",
               "Training return vs frames of ours and the Stable-Baselines3 peer at matched settings: mean over seeds "
               "per frame bin, band = 95% CI over seeds; dashed: the game's no-op random score; panel titles: the "
               "pooled verdict of the table above.")
    return True


def curves_section(doc: Document, curves: pd.DataFrame) -> None:
    """Figure 1 analogue: faceted learning curves vs frames, then the companion vs wall-clock hours."""
    games = sorted(curves["game"].unique())
    chunks = game_pages(games)
    bands = curve_bands(curves)
    for x, name in (("frames", "emulator frames"), ("hours", "wall-clock hours")):
        for k, chunk in enumerate(chunks):
            part = f", games {chunk[0]} to {chunk[-1]} ({k + 1} of {len(chunks)})" if len(chunks) > 1 else ""
            title = f"Learning curves vs {name} (Mnih et al. 2016 Figure 1 analogue){part}"
            doc.figure(lambda fig, rect, chunk=chunk, x=x: draw_curves(fig, rect, bands, chunk, x), title,
                       curves_caption(curves, x), contents=title.removesuffix(part) if k == 0 else False)


def table1_section(doc: Document, normalized: pd.DataFrame) -> list[str]:
    """Table 1 analogue beside the paper's Table 1; a performance profile with 3+ games. Returns what is not drawn."""
    ours = summarize_normalized(normalized) if len(normalized) else pd.DataFrame()
    paper = reference.table1_summary()[["method", "training_time_as_printed", "mean_human_normalized_pct",
                                        "median_human_normalized_pct"]]
    doc.table(ours, "Human-normalized summary (Mnih et al. 2016 Table 1 analogue): ours",
              "Ours: no-op starts evaluation over the games run ('games'); mean/median over games of each game's mean "
              "over seeds; IQM and optimality gap over all runs pooled; 95% CIs by the stratified bootstrap over each "
              "game's runs ('no CI': no game has 2+ runs that differ). Paper: Table 1 below, human starts over 57 "
              "games (DQN/Gorila rows: 49 games). Not the same protocol or game set: compare with care.",
              missing={"ci_low": "no CI", "ci_high": "no CI"})
    doc.table(paper, "Mnih et al. 2016 Table 1 (as printed)",
              "Mean and median human-normalized scores (%) over 57 games, human starts. Source: "
              "replication/data/SOURCES.md section 3.")
    if len(normalized) and normalized["game"].nunique() >= 3:
        doc.figure(lambda fig, rect: draw_profile(fig, rect, normalized), "Performance profile",
                   "Fraction of runs whose human-normalized final score exceeds each threshold (Agarwal et al. 2021), "
                   "per run group, no-op starts; not in Mnih et al. 2016.")
        return []
    return [f"performance profile: {normalized['game'].nunique() if len(normalized) else 0} game(s) with "
            "reference scores, 3 needed"]


def lr_section(doc: Document, scores: pd.DataFrame) -> list[str]:
    """Figure 2 analogue, for the run groups that swept learning rates (2+ values). Returns what is not drawn."""
    if "learning_rate" in scores:
        swept = scores.groupby(["algo", "game"])["learning_rate"].nunique()
        swept = swept[swept >= 2]
        if not swept.empty:
            doc.figure(lambda fig, rect: draw_lr(fig, rect, scores, swept),
                       "Final score vs learning rate (Figure 2 analogue)",
                       "One point per run: the mean final evaluation score (no-op starts) against the run's initial "
                       "learning rate (log scale), for each run group that sweeps learning rates; Mnih et al. 2016 "
                       "Figure 2 draws 50 runs per game, learning rates ~ LogUniform(1e-4, 1e-2).")
            return []
    return ["Figure 2 analogue (score vs learning rate): no run group sweeps learning rates (lr_samples / "
            "learning_rates)"]


def speedup_section(doc: Document, throughput: pd.DataFrame, curves: pd.DataFrame) -> list[str]:
    """Table 2 / Figure 3 analogue when a run group ran several worker counts. Returns what is not drawn."""
    rows = speedup_rows(throughput, curves)
    if rows.empty:
        return ["Table 2 / Figure 3 analogues (speed-up vs workers): no run group ran 2+ worker counts on a game"]
    summary = speedup_summary(rows)
    doc.table(summary, "Speed-up vs number of workers (Mnih et al. 2016 Table 2 analogue)",
              "Speed-ups relative to the smallest worker count run, averaged over seeds then over the games listed; "
              "time to score: wall-clock hours until the binned training return first reaches the lowest best "
              "return among the compared runs. paper_a3c: Mnih et al. 2016 Table 2, A3C row (time-to-score "
              "speed-up averaged over seven games, 16-core CPU).", missing="not in Table 2")
    doc.table(rows, "Speed-up per game", "Per game and worker count; frames/s over the whole run.",
              missing="not reached")
    doc.figure(lambda fig, rect: draw_speedup(fig, rect, summary), "Speed-up vs workers (Figure 3 analogue)",
               "Speed-up of frames/s and of time to score relative to the fewest workers, beside Mnih et al. 2016 "
               "Table 2's A3C row and the ideal linear speed-up (log-log).")
    return []


def throughput_summary(throughput: pd.DataFrame) -> pd.DataFrame:
    """Training speed per (run group, workers, device): runs, games, emulator frames per run, mean [min, max]
    training frames/s (emulator frames, frame skip included) and mean wall-clock hours per run."""
    rows = []
    for (algo, workers, device), g in throughput.groupby(["algo", "workers", "device"], dropna=False):
        fps = g["frames_per_s"]
        rows.append({"group": algo, "workers": workers, "device": device if isinstance(device, str) else "none",
                     "runs": len(g), "games": g["game"].nunique(), "frames per run": fmt_frames(g["frames"].max()),
                     "frames/s (mean)": fps.mean(), "frames/s [min, max]": f"[{fps.min():,.0f}, {fps.max():,.0f}]",
                     "hours per run (mean)": g["wall_time_s"].mean() / 3600})
    return pd.DataFrame(rows)


def _host(cpu, cores, gpu, device=None) -> str:
    gpu = gpu if isinstance(gpu, str) and gpu.strip() and gpu != "nan" else "no GPU"
    cores = f"{int(cores)} cores" if pd.notna(cores) else "cores not recorded"
    cpu = cpu if isinstance(cpu, str) and cpu.strip() else "CPU not recorded"
    return f"{cpu} ({cores}), {gpu}" + (f", device {device}" if isinstance(device, str) and device else "")


def _commit(value) -> str:
    return str(value) if value else "not recorded (not run from a git checkout)"


def _value(v) -> str:
    """A config value as the config files write it (JSON: null, true, false)."""
    return v if isinstance(v, str) else json.dumps(v)


def provenance_lines(runs: list[dict]) -> list[str]:
    """Protocol, hyperparameters, versions, commit and host of the runs (``runs.json``), grouped by distinct value;
    indented lines are key/value listings (printed in a fixed-width font)."""
    lines = []
    if not runs:
        return ["no runs"]
    first = runs[0]["config"]
    lines.append("Environment protocol (config key: value):")
    lines += [f"  {k}: {_value(v)}" for k, v in sorted(first.get("env", {}).items())]
    lines.append("Evaluation: " + ", ".join(f"{k}={_value(v)}" for k, v in sorted(first.get("eval", {}).items())))
    seen = {}
    for r in runs:
        c = r["config"]
        seen.setdefault((c["algo"], algorithm_of(c)), c.get("hyper", {}))
    for (group, algorithm), hyper in seen.items():
        source = ALGORITHM_SOURCES.get(algorithm, "replication/data/hyperparameters.md")
        lines.append(f"Hyperparameters of run group {group} (algorithm {algorithm}; defaults and their paper sources: "
                     f"{source} and replication/data/hyperparameters.md):")
        lines.append("  " + ", ".join(f"{k}={_value(v)}" for k, v in sorted(hyper.items())))
    versions = {", ".join(f"{k} {v or 'not installed'}" for k, v in sorted(r["config"].get("versions", {}).items()))
                for r in runs}
    commits = {_commit(r["config"].get("git_commit")) for r in runs}
    hosts = {_host(*(r["config"].get("host", {}).get(k) for k in ("cpu", "cores", "gpu"))) for r in runs}
    lines.append("Versions: " + (" | ".join(sorted(versions)) or "not recorded"))
    lines.append("Git commit(s): " + ", ".join(sorted(commits)))
    lines.append("Host(s): " + " | ".join(sorted(hosts)))
    groups = {}
    for r in runs:
        groups.setdefault((r["algo"], r["workers"]), {}).setdefault(r["game"], set()).add(r["seed"])
    lines.append("Runs per (run group, workers): " + "; ".join(
        f"{algo} w{w}: {sum(len(s) for s in games.values())} runs, {len(games)} game(s), seeds "
        f"{', '.join(str(s) for s in sorted(set().union(*games.values())))}"
        for (algo, w), games in sorted(groups.items())))
    return lines


def run_lines(scores: pd.DataFrame, throughput: pd.DataFrame, runs: list[dict], missing: pd.DataFrame,
              verdict: pd.DataFrame) -> list[str]:
    """Page 1's "what was run": games, run groups (algorithm, workers, seeds, frames and the paper's budget),
    hardware, total time, evaluation protocol, commit, unfinished runs and the verdict counts."""
    games = sorted(scores["game"].unique())
    lines = [f"Games ({len(games)}): {', '.join(games)}."]
    for (algo, workers), g in scores.groupby(["algo", "workers"]):
        algorithm = g["algorithm"].iloc[0]
        v = verdict[(verdict["algo"] == algo) & (verdict["workers"] == workers)]
        budget = v["paper_frames"].iloc[0] if len(v) else np.nan
        frames = int(g["frames"].max())
        of = (f" = {pct(frames / budget)} of the paper's {budget / 1e6:,.0f}M ({v['paper_column'].iloc[0]})"
              if budget == budget else " (no paper budget)")
        lines.append(f"Run group {algo}: algorithm {algorithm}, workers {workers}, seeds "
                     f"{', '.join(str(s) for s in sorted(g['seed'].unique()))} on {g['game'].nunique()} game(s), "
                     f"{frames:,} frames per run{of}.")
    hosts = sorted({_host(t.cpu, t.cores, t.gpu, t.device) for t in throughput.itertuples()})
    lines.append(f"Hardware: {'; '.join(hosts) or 'not recorded'}.")
    wall = scores["wall_time_s"]
    lines.append(f"Training time: {_duration(wall.sum())} summed over {len(scores)} runs (longest run "
                 f"{_duration(wall.max())}; runs may have run side by side).")
    lines.append(f"Evaluation protocol: {', '.join(sorted(scores['protocol'].astype(str).unique()))} (no-op "
                 "starts, frame cap, unclipped score of whole games); Table S3 uses human starts, 30 min.")
    commits = sorted({_commit(r["config"].get("git_commit")) for r in runs}) or ["not recorded (no runs.json)"]
    lines.append(f"Code: git commit {', '.join(commits)}.")
    lines.append(f"Unfinished runs (in no number here): {len(missing)}"
                 + (": " + ", ".join(missing["run_dir"].astype(str)) if len(missing) else "") + ".")
    counts = verdict["verdict"].value_counts()
    lines.append("Verdicts: " + ", ".join(f"{name} {int(counts.get(name, 0))}" for name in VERDICTS) + ".")
    return lines


def _duration(seconds: float) -> str:
    """Wall-clock time as read: 45 s, 12.5 min, 3.21 h."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:,.2f} h"


def _published(folder: str | Path | None) -> pd.DataFrame | None:
    """``claims_training_curves.csv`` of the suite's results folder, or None without one.

    Raises:
        UserError: ``folder`` is given but is not a folder.
    """
    if folder is None:
        return None
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--published {str(folder)!r} is not a folder; accepted: the suite's benchmarks/ folder")
    path = folder / "claims_training_curves.csv"
    return pd.read_csv(path) if path.exists() and path.stat().st_size > 1 else None


def _read_tables(tables: Path) -> dict:
    try:
        out = {n: pd.read_csv(tables / f"{n}.csv") for n in ("scores", "curves", "throughput", "normalized")}
    except FileNotFoundError as e:
        raise UserError(f"missing table {e.filename}; run python -m replication.aggregate first") from None
    for name in ("scores", "curves", "throughput"):  # tables aggregated before the algorithm column existed
        if "algorithm" not in out[name] and "algo" in out[name]:
            out[name]["algorithm"] = out[name]["algo"]  # as rundir.algorithm_of reads such a run's config.json
    out["runs"] = json.loads((tables / "runs.json").read_text()) if (tables / "runs.json").exists() else []
    m = tables / "missing.csv"
    out["missing"] = pd.read_csv(m) if m.exists() and m.stat().st_size > 1 else pd.DataFrame(columns=["run_dir"])
    return out


VERDICT_CAPTION = (
    "ours: mean over seeds of each run's mean final evaluation score (no-op starts); 95% CI: bootstrap over seeds "
    f"(scipy.stats.bootstrap). paper: {S3_SOURCE}, the column of the run's algorithm (A2C/PAAC has none in Table S3 "
    f"and is set beside 'A3C FF, 1 day', the {fmt_frames(reference.PAPER_FRAME_BUDGET['a3c_ff_1_day'])}-frame "
    "budget of PAAC's code). Verdict: 'reproduced' when the "
    "paper's number lies in our CI, 'below paper' / 'above paper' when the CI lies below / above it; 'not "
    "comparable' (why: listed) when the paper has no number, the evaluation caps games at other than 30 minutes "
    f"({reference.TABLE_S3_FRAME_CAP:,} frames), the run's frames are not the paper's budget (within "
    f"{BUDGET_TOLERANCE:.0%}), or one seed gives no CI. Start "
    "states always differ (human starts there, no-op starts here).")


def paper_sections(doc: Document, t: dict, summary: pd.DataFrame, tables: Path,
                   published: pd.DataFrame | None = None) -> list[str]:
    """The papers' tables and figures in the papers' order (Mnih et al. 2016, then Clemente et al. 2017), the
    parity check, throughput and per-run tables, added to ``doc``; returns what is not drawn, and why."""
    scores, curves, throughput, normalized = t["scores"], t["curves"], t["throughput"], t["normalized"]
    skipped = []
    doc.heading("Mnih et al. 2016, Asynchronous Methods for Deep Reinforcement Learning (A3C)", new_page=True)
    curves_section(doc, curves)
    doc.heading("Table 1: human-normalized scores", level=2)
    skipped += table1_section(doc, normalized)
    skipped += lr_section(doc, scores)
    skipped += speedup_section(doc, throughput, curves)
    skipped += mnih_figure3_section(doc, curves, t["runs"], published)
    doc.heading("Table S3: scores per game", level=2)
    s3 = s3_table(summary)
    doc.table(s3, "Scores beside Mnih et al. 2016 Table S3",
              f"Paper columns: {S3_SOURCE}; DQN from Nair et al. 2015, Double from van Hasselt et al. 2016, Dueling "
              "from Wang et al. 2016, Prioritized from Schaul et al. 2016 (as in the caption); 'none': Table S3 "
              "prints no score, or the game is not in it. Ours: no-op starts evaluation, mean over seeds ('not run': "
              "the group did not run the game).", size=7.5,
              missing={c: "none" if c in reference.TABLE_S3_COLUMNS.values() else "not run" for c in s3.columns})
    skipped += clemente_section(doc, scores, curves, throughput, t["runs"], published)
    parity_section(doc, tables)
    doc.heading("Beyond the papers: throughput and per-run tables", new_page=True)
    hosts = "; ".join(sorted({_host(r.cpu, r.cores, r.gpu) for r in throughput.itertuples()}))
    doc.table(throughput_summary(throughput), "Training throughput per run group",
              f"frames/s = emulator frames (frame skip included) / training wall time, final evaluation excluded; "
              f"mean over the group's runs, [min, max] over them. Host(s): {hosts}.")
    if 0 < len(normalized) <= PER_RUN_ROWS:
        doc.table(normalized.drop(columns=["protocol"]), "Human-normalized final scores per run",
                  "100 * (score - random) / (human - random) per run, with the no-op reference columns named (van "
                  "Hasselt et al. 2016 Table 3 for its 49 games, Wang et al. 2016 otherwise).", size=7.5)
    elif not len(normalized):
        skipped.append("human-normalized scores: no game with reference scores")
    if len(throughput) <= PER_RUN_ROWS:
        tp = throughput[["algo", "game", "workers", "seed", "device", "frames", "wall_time_s", "frames_per_s"]]
        doc.table(tp, "Training throughput per run", f"As the table above, one row per run. Host(s): {hosts}.",
                  size=7.5)
    else:
        doc.paragraph(f"Per-run tables ({len(throughput)} runs, more than {PER_RUN_ROWS}) are left to the CSVs "
                      "beside this report's tables: scores.csv, normalized.csv (human-normalized scores) and "
                      "throughput.csv; Snakemake's HTML report (snakemake --report) holds them under 'Tables'.")
    if len(t["missing"]):
        doc.table(t["missing"], "Unfinished runs", "Run directories given to the aggregate step without done.json: "
                  "listed, never averaged.")
    return skipped


def build_report(tables: str | Path, out: str | Path, title: str = "Replication report",
                 figures: str | Path | None = None, verdict_csv: str | Path | None = None,
                 check_layout: bool = False, published: str | Path | None = None) -> list[str]:
    """Write the PDF for the tables in ``tables`` to ``out`` (atomically); returns the page titles in order.

    Args:
        figures: a folder to (re)write with every figure page as a PNG (``NN_<figure title>.png``, NN its page).
        verdict_csv: where to write ``verdict_table`` as CSV.
        check_layout: check every page with ``pdf_pages.layout_problems``; raise if one breaks the rules.
        published: the suite's results folder (``benchmarks/``): its ``claims_training_curves.csv`` is drawn
            beside a run at the same settings on the Clemente pages.

    Raises:
        UserError: a table is missing.
        AssertionError: ``check_layout`` found text outside a page, below 7 pt or a nan/None (listed in the
            message); then no PDF is written.
    """
    tables = Path(tables)
    t = _read_tables(tables)
    summary = per_game_summary(t["scores"])
    verdict = verdict_table(summary)
    doc = Document(title)
    doc.title_block("Answers first: what was run, and whether each score reproduces the paper's.")
    doc.paragraph(run_lines(t["scores"], t["throughput"], t["runs"], t["missing"], verdict)
                  + clemente_lines(t["scores"], t["curves"], t["runs"]))
    doc.table(verdict_shown(verdict), "Replication verdict per (run group, game)", VERDICT_CAPTION, size=7.5,
              fills={"verdict": VERDICT_FILLS.get})
    doc.contents()
    body = Document(title)
    skipped = paper_sections(body, t, summary, tables, _published(published))
    if skipped:  # said beside the contents, before the sections
        doc.heading("Not in this report", level=2)
        doc.paragraph([f"{s[0].upper()}{s[1:]}." for s in skipped])
    doc.extend(body)
    doc.heading("Protocol and provenance", new_page=True)
    doc.paragraph(provenance_lines(t["runs"]), size=8)
    with report_pdf(out, check_layout=check_layout) as pdf:
        pngs = doc.render(pdf, png_dpi=110 if figures else 0)
        if check_layout and pdf.problems:
            raise AssertionError("layout problems:\n" + "\n".join(pdf.problems[:40]))
    if figures:
        atomic_write_folder(figures, pngs)
    if verdict_csv:
        atomic_write_bytes(verdict_csv, verdict.to_csv(index=False).encode())
    return pdf.pages


BENCH_TARGETS = [  # issue "Throughput near the hardware limit": targets on a 2-core CPU host, fp32 unless said
    "Targets (2-core CPU host): A2C >= 1.5x SB3 A2C and >= 0.8 of the serial bound; DQN >= 1.3x SB3 DQN; A3C frames/s "
    "per worker at 2 workers >= 0.85 of 1 worker; A2C with bf16 >= 2x SB3 A2C.",
]


def build_bench_report(csv: str | Path, out: str | Path) -> list[str]:
    """Write the benchmark table (``python -m replication.bench``'s CSV) as a one-page PDF; returns page titles.

    Raises:
        UserError: the CSV is missing.
    """
    csv = Path(csv)
    if not csv.exists():
        raise UserError(f"no benchmark table at {csv}; run: python -m replication.bench --out {csv}")
    df = pd.read_csv(csv)
    host = df["host"].iloc[0] if "host" in df and len(df) else "unknown host"
    cols = ["algo", "line", "workers", "network", "precision", "frames", "frames_per_s", "frames_per_s_min",
            "frames_per_s_max", "ratio_to_peer", "fraction_of_serial_bound", "per_worker_vs_1"]
    doc = Document("Training throughput beside Stable-Baselines3", contents=False)
    doc.table(df[[c for c in cols if c in df]], "Training throughput beside Stable-Baselines3 (frames/s)",
              " ".join([f"Host: {host}. Each line trained alone, one after another; frames are emulator frames "
                        "(frame skip 4 included). 'env limit' and 'network limit' bound an unpipelined learner; "
                        "fraction_of_serial_bound = frames/s / (1 / (1/env + 1/network)). With --repeats, "
                        "frames_per_s is the median of the line's runs (round-robin), _min/_max their range. "
                        "ratio_to_peer compares with SB3 at the same algorithm, network and number of environments "
                        "('none': no peer line). Reproduce: python -m replication.bench (or snakemake --cores all "
                        "bench).", *BENCH_TARGETS]))
    lines = df["line"].astype(str)
    trained = df[lines.str.startswith("ours") & (df["algo"] == "a2c") & (df["precision"] == "fp32")
                 & ~lines.str.contains("env groups")]
    if trained["workers"].nunique() >= 2:  # Clemente 2017 Figure 2 on this host (python -m replication.bench --algos paac)
        a2c = trained.assign(algo="bench, " + trained["network"].astype(str))
        doc.figure(lambda fig, rect: draw_paper_throughput(fig, rect, a2c, dict(zip(a2c["algo"], a2c["network"]))),
                   "Figure 2 on this host (bench)", f"Host: {host}. Ours: the bench's A2C lines (median frames/s) per "
                   "n_e and network; the paper's: Clemente et al. 2017 Figure 2, digitized, timesteps/s x 4.")
    with report_pdf(out) as pdf:
        doc.render(pdf)
    return pdf.pages


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m replication.report", description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--tables", help="folder of the aggregate step's CSVs")
    src.add_argument("--bench", help="the benchmark's CSV (python -m replication.bench)")
    p.add_argument("--out", required=True)
    p.add_argument("--title", default="Replication report: A3C (Mnih et al. 2016) and PAAC (Clemente et al. 2017)")
    p.add_argument("--figures", help="folder to (re)write with every figure page as a PNG (with --tables)")
    p.add_argument("--verdict", help="CSV to write the verdict table to (with --tables)")
    p.add_argument("--published", help="the suite's results folder (benchmarks/): its published curves are drawn "
                                       "beside runs at the same settings")
    args = p.parse_args(argv)
    check_output(args.out, directory=False)
    if args.figures:
        check_output(args.figures, directory=True, option="--figures")
    if args.verdict:
        check_output(args.verdict, directory=False, option="--verdict")
    if args.bench:
        pages = build_bench_report(args.bench, args.out)
    else:
        pages = build_report(args.tables, args.out, args.title, figures=args.figures, verdict_csv=args.verdict,
                             published=args.published)
    print(f"wrote {args.out}: {len(pages)} pages", file=sys.stderr)
    for i, t in enumerate(pages, 1):
        print(f"  {i:2d}. {t}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
