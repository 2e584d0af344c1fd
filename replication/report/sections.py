"""The report's sections in the papers' order (``paper_sections``) and its first page: what was run, on what
host, and for how long (``provenance_lines``, ``run_lines``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from replication.report.clemente import clemente_section, mnih_figure3_section
from replication.report.curves_figure import curve_bands, curves_caption, draw_curves, game_pages
from replication.report.dqn import dqn_section
from replication.report.figures import draw_lr, draw_parity, draw_profile, draw_speedup
from replication.report.layout import Document
from replication.results import reference
from replication.results.speedup import speedup_rows, speedup_summary
from replication.results.summary import summarize_normalized
from replication.results.verdict import BUDGET_TOLERANCE, NO_CI, VERDICTS, fmt_frames, pct
from replication.runs.rundir import algorithm_of


# where each algorithm's hyperparameters and their paper sources live (the provenance page cites them)
ALGORITHM_SOURCES = {"a2c": "replication/algorithms/a2c.py (A2CConfig)",
                     "a3c_ff": "replication/algorithms/a3c.py (A3CConfig)",
                     "a3c_lstm": "replication/algorithms/a3c.py (A3CLSTMConfig)",
                     "dqn": "replication/algorithms/dqn.py (DQNConfig)"}


S3_SOURCE = f"Mnih et al. 2016, Table S3 ({reference.TABLE_S3_PROTOCOL} of emulator time)"


PER_RUN_ROWS = 60  # longer per-run tables stay in the CSVs (results/tables), not the PDF


def s3_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Mnih et al. 2016 Table S3 analogue: per game, our scores (columns ``ours <group> w<workers>``: unclipped mean
    evaluation score, no-op starts) beside the paper's columns (``reference.TABLE_S3_COLUMNS``, human starts)."""
    s3 = reference.table_s3().set_index("game")
    out = []
    for game, g in summary.groupby("game"):
        row = {"game": game}
        for _, r in g.iterrows():
            row[f"ours {r['group']} w{r['workers']}"] = r["mean"]
        for col, header in reference.TABLE_S3_COLUMNS.items():
            row[header] = s3.loc[game, col] if game in s3.index else np.nan
        out.append(row)
    return pd.DataFrame(out)


PARITY_NOTE = ("Measure: mean training score (unclipped, whole games) of the episodes that ended in the last 10% of "
               "the frame budget, averaged over runs; 95% CIs from a bootstrap stratified by run (each run's episodes "
               "resampled on their own, scipy.stats.bootstrap). Verdict: 'not informative' when the peer's CI reaches "
               "the game's random score (no-op random, van Hasselt et al. 2016 / Wang et al. 2016), else 'parity' when "
               "the CI of ours - peer contains 0, else 'ours ahead' / 'ours behind'. 'Half-way at': the frames at "
               "which each side's curve (20 frame bins) first reaches halfway from the random score to the peer's "
               "final score after its lowest bin (not at a random policy's lucky first bins), averaged over the "
               "seeds; '-' where a seed's never does. Peer: Stable-Baselines3 at the same settings "
               "(replication/peers/sb3.py lists where the protocols cannot match). Wall times are not a speed "
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

    shown = pd.DataFrame({"group": table["group"], "game": table["game"], "seeds": table["seeds"].astype(str),
                          "frames": [f"{f / 1e6:.2f}M" for f in table["frames"]],
                          "ours (95% CI)": ci("ours", "ours_mean"), "SB3 (95% CI)": ci("peer", "peer_mean"),
                          "ours - SB3 (95% CI)": ci("difference", "difference"), "random": table["random"],
                          "verdict": table["verdict"]})
    if "ours_half_gain_at" in table:  # not in tables aggregated before the column existed
        at = table[["ours_half_gain_at", "peer_half_gain_at"]].itertuples(index=False)
        shown.insert(len(shown.columns) - 1, "half-way at (ours / SB3)",
                     [" / ".join("-" if pd.isna(f) else f"{f / 1e6:.2f}M" for f in pair) for pair in at])
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
        swept = scores.groupby(["group", "game"])["learning_rate"].nunique()
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
    """Mnih et al. 2016 Table 2 analogue (table and figure) when a run group ran several worker counts. Returns what
    is not drawn."""
    rows = speedup_rows(throughput, curves)
    if rows.empty:
        return ["Table 2 analogue (speed-up vs workers): no run group ran 2+ worker counts on a game"]
    summary = speedup_summary(rows)
    doc.table(summary, "Speed-up vs number of workers (Mnih et al. 2016 Table 2 analogue)",
              "Speed-ups relative to the smallest worker count run, averaged over seeds then over the games listed; "
              "time to score: wall-clock hours until the binned training return first reaches the lowest best "
              "return among the compared runs. paper_a3c: Mnih et al. 2016 Table 2, A3C row (time-to-score "
              "speed-up averaged over seven games, 16-core CPU).", missing="not in Table 2")
    doc.table(rows, "Speed-up per game", "Per game and worker count; frames/s over the whole run; frames_to_score "
              "and hours_to_score: emulator frames and training hours until the binned training return first "
              "reaches reference_score (the time-to-score speed-up is the frames/s speed-up times the ratio of "
              "frames to score).", missing="not reached")
    doc.figure(lambda fig, rect: draw_speedup(fig, rect, summary),
               "Speed-up vs workers (Mnih et al. 2016 Table 2, drawn)",
               "Speed-up of frames/s and of time to score relative to the fewest workers, beside Mnih et al. 2016 "
               "Table 2's A3C row and the ideal linear speed-up (log-log).")
    return []


def throughput_summary(throughput: pd.DataFrame) -> pd.DataFrame:
    """Training speed per (run group, workers, device): runs, games, emulator frames per run, mean [min, max]
    training frames/s (emulator frames, frame skip included) and mean wall-clock hours per run."""
    rows = []
    for (group, workers, device), g in throughput.groupby(["group", "workers", "device"], dropna=False):
        fps = g["frames_per_s"]
        rows.append({"group": group, "workers": workers, "device": device if isinstance(device, str) else "none",
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
        seen.setdefault((c["group"], algorithm_of(c)), c.get("hyper", {}))
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
        groups.setdefault((r["group"], r["workers"]), {}).setdefault(r["game"], set()).add(r["seed"])
    lines.append("Runs per (run group, workers): " + "; ".join(
        f"{group} w{w}: {sum(len(s) for s in games.values())} runs, {len(games)} game(s), seeds "
        f"{', '.join(str(s) for s in sorted(set().union(*games.values())))}"
        for (group, w), games in sorted(groups.items())))
    return lines


def run_lines(scores: pd.DataFrame, throughput: pd.DataFrame, runs: list[dict], missing: pd.DataFrame,
              verdict: pd.DataFrame) -> list[str]:
    """Page 1's "what was run": games, run groups (algorithm, workers, seeds, frames and the paper's budget),
    hardware, total time, evaluation protocol, commit, unfinished runs and the verdict counts."""
    games = sorted(scores["game"].unique())
    lines = [f"Games ({len(games)}): {', '.join(games)}."]
    for (group, workers), g in scores.groupby(["group", "workers"]):
        algorithm = g["algorithm"].iloc[0]
        v = verdict[(verdict["group"] == group) & (verdict["workers"] == workers)]
        budget = v["paper_frames"].iloc[0] if len(v) else np.nan
        frames = int(g["frames"].max())
        of = (f" = {pct(frames / budget)} of the paper's {budget / 1e6:,.0f}M ({v['paper_column'].iloc[0]})"
              if budget == budget else " (no paper budget)")
        lines.append(f"Run group {group}: algorithm {algorithm}, workers {workers}, seeds "
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
    skipped += dqn_section(doc, curves, t["runs"], published)
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
        tp = throughput[["group", "game", "workers", "seed", "device", "frames", "wall_time_s", "frames_per_s"]]
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
