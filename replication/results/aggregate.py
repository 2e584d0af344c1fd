"""``python -m replication.aggregate``: run directories -> tidy tables (CSV).

Usage::

    python -m replication.aggregate --out results/tables/replication results/runs/a2c/pong/w32/s0 ...

Writes ``scores.csv`` (one row per run: final evaluation), ``curves.csv`` (training returns binned by
frames, with the wall-clock hours of each bin), ``throughput.csv`` (frames/s per run with its host) and
``normalized.csv`` (human-normalized final scores, naming the reference columns used), ``missing.csv``
(run directories given but not finished: they are listed, never averaged), and ``parity.csv`` /
``parity_curves.csv`` (ours beside the Stable-Baselines3 peer runs ``sb3_<label>``, ``replication/results/parity.py``;
empty without peer runs). Each file is written atomically, and only once every run has been read: a damaged run
file (a cut-short or malformed CSV row, a malformed ``done.json`` or ``config.json``) is named in one line, with
what to do, and the tables already there are left as they were; so is a path that is not a run directory. The
logs are read by the one reader of the run directory's contract (``logs.read_log_rows``); a finished run must be
whole: unlike the live progress report (``progress_report.read_log``), aggregate never skips a torn row.
``checkpoint.pt`` is not read (the tables do not depend on it; ``python -m replication.train`` checks it when it
resumes).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from replication.core.errors import ArgumentParser, UserError, check_output, cli_main
from replication.results import parity, reference
from replication.results.stats import mean_ci
from replication.runs.read import curve_rows, read_run, run_ids
from replication.runs.rundir import atomic_write_bytes


def score_row(run: dict) -> dict:
    """One ``scores.csv`` row: the final evaluation (rows at the largest evaluated ``frames``): its mean, standard
    deviation and 95% bootstrap CI over its games (``eval_ci_low/high``, ``stats.mean_ci``; what a one-seed claim is
    judged on, ``verdict.claim_ci``)."""
    ev = run["eval"]
    final = ev[ev["frames"] == ev["frames"].max()] if len(ev) else ev
    returns = final["episode_return"].to_numpy(dtype=float)
    _, ci_low, ci_high = mean_ci(returns) if len(returns) else (np.nan,) * 3
    return {**run_ids(run), "learning_rate": run["config"].get("learning_rate", np.nan),
            "frames": run["done"]["frames"], "wall_time_s": run["done"]["wall_time_s"],
            "protocol": final["protocol"].iloc[0] if len(final) else "",
            "eval_mean": float(returns.mean()) if len(returns) else np.nan,
            "eval_std": float(returns.std(ddof=1)) if len(returns) > 1 else np.nan,
            "eval_ci_low": ci_low, "eval_ci_high": ci_high,
            "eval_episodes": len(returns), "train_episodes": len(run["episodes"])}


def throughput_row(run: dict) -> dict:
    """One ``throughput.csv`` row: training frames/s over the whole run and the host it ran on."""
    host = run["config"].get("host", {})
    return {**run_ids(run), "frames": run["done"]["frames"], "wall_time_s": run["done"]["wall_time_s"],
            "frames_per_s": run["done"]["frames_per_s"], "device": run["config"].get("device"),
            "cpu": host.get("cpu"), "cores": host.get("cores"), "gpu": host.get("gpu")}


def normalized_rows(scores: pd.DataFrame) -> pd.DataFrame:
    """Human-normalized final scores (%), with the no-op random/human reference columns used."""
    rows = []
    for _, s in scores.iterrows():
        ref = reference.noop_reference(s["game"])
        if ref is None:
            continue
        rnd, hum, src = ref
        rows.append({**{k: s[k] for k in ("group", "algorithm", "game", "workers", "seed", "protocol", "eval_mean")},
                     "random": rnd, "human": hum,
                     "reference_columns": f"random_noop_{src},human_noop_{src}",
                     "human_normalized_pct": reference.human_normalized(s["eval_mean"], rnd, hum)})
    cols = ["group", "algorithm", "game", "workers", "seed", "protocol", "eval_mean", "random", "human",
            "reference_columns", "human_normalized_pct"]
    return pd.DataFrame(rows, columns=cols)


def aggregate(run_dirs: list[str | Path], out: str | Path) -> dict[str, pd.DataFrame]:
    """Read ``run_dirs`` and write the tables into ``out``; returns them by name (``missing``: the directories
    given that have not finished, listed and never averaged).

    Nothing is written unless every run reads whole.

    Raises:
        UserError: no run directories, one that does not exist, none that has finished (naming them), or a damaged
            run file (``read_run``).
    """
    if not run_dirs:
        raise UserError("no run directories given; the config's plan selects none for this target")
    for p in run_dirs:
        if not Path(p).is_dir():
            what = "is not a directory" if Path(p).exists() else "does not exist"
            raise UserError(f"run directory {str(p)!r} {what}; accepted: run directories that training has written "
                            "(results/runs/{group}/{game}/w{workers}/s{seed})")
    finished = [p for p in run_dirs if (Path(p) / "done.json").exists()]
    missing = pd.DataFrame({"run_dir": [str(p) for p in run_dirs if p not in finished]})
    if not finished:
        more = f" and {len(run_dirs) - 3} more" if len(run_dirs) > 3 else ""
        shown = ", ".join(str(p) for p in run_dirs[:3]) + more
        raise UserError(f"none of the {len(run_dirs)} run directories has finished (no done.json): {shown}; "
                        "accepted: at least one finished run (let its training finish, or rerun it to resume)")
    runs = [read_run(p) for p in finished]
    order = ["group", "game", "workers", "seed"]
    scores = pd.DataFrame([score_row(r) for r in runs]).sort_values(order)
    tables = {
        "scores": scores,
        "curves": pd.concat([curve_rows(r) for r in runs], ignore_index=True),
        "throughput": pd.DataFrame([throughput_row(r) for r in runs]).sort_values(order),
        "normalized": normalized_rows(scores),
        "missing": missing,  # unfinished runs: listed in the report, never averaged
        "parity_curves": parity.parity_curves(parity.paired_runs(runs)),
    }
    tables["parity"] = parity.with_half_gain(parity.parity_table(runs, require=False), tables["parity_curves"])
    out = Path(out)
    for name, df in tables.items():
        atomic_write_bytes(out / f"{name}.csv", df.to_csv(index=False).encode())
    provenance = [{**run_ids(r), "config": r["config"]} for r in runs]
    atomic_write_bytes(out / "runs.json", json.dumps(provenance, indent=1, default=str).encode())
    return tables


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m replication.aggregate", description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="directory for the tables")
    p.add_argument("runs", nargs="*", help="run directories (each with done.json)")
    args = p.parse_args(argv)
    check_output(args.out, directory=True)
    tables = aggregate(args.runs, args.out)
    unfinished = len(tables["missing"])
    note = (f"; {unfinished} run director{'y has' if unfinished == 1 else 'ies have'} not finished (listed in "
            "missing.csv)") if unfinished else ""
    print(f"aggregated {len(tables['scores'])} runs into {args.out}{note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
