"""``python -m replication.benchmarks``: the suite's published results, regenerated from run directories.

Usage::

    python -m replication.benchmarks --out benchmarks RUN_DIR ...

Writes, small enough to commit (kilobytes, never run directories):

* ``runs.csv``: one row per run: identity, frames, wall time, frames/s, host, the final evaluation's mean with
  its 95% bootstrap CI over evaluation games and protocol, the mean training score of the last 10% of frames,
  and the command that trained it (from its ``config.json``);
* ``curves/{group}/{game}_w{workers}_s{seed}.csv``: the training curve binned by frames (``aggregate.curve_rows``);
* ``{game}.png``: every run group's curve on that game (mean and 95% CI over seeds), the random score dashed;
* when Stable-Baselines3 peer runs (``sb3_*``) are among them: ``parity.csv``, ``parity_curves.csv`` and
  ``parity.png`` (``python -m replication.parity table``).

``benchmarks/README.md`` (written by hand) reads these files: which claim each run tests and whether it held.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import numpy as np
import matplotlib.pyplot as plt
import pandas as pd

from replication.cli.parity import write_parity_files
from replication.core.errors import ArgumentParser, UserError, check_output, cli_main
from replication.report.curves_figure import plot_bands, run_label
from replication.report.pdf_pages import save_png
from replication.results import reference
from replication.results.parity import final_window, paired_runs
from replication.results.stats import mean_ci
from replication.runs.read import curve_rows, read_run
from replication.runs.rundir import algorithm_of, atomic_write_bytes

CURVE_BINS = 30


def run_row(run: dict) -> dict:
    """One ``runs.csv`` row for a ``read_run`` dict (see the module docstring)."""
    c, done = run["config"], run["done"]
    ev = run["eval"]
    final = ev[ev["frames"] == ev["frames"].max()] if len(ev) else ev
    m, lo, hi = mean_ci(final["episode_return"].to_numpy(float)) if len(final) else (np.nan,) * 3
    window = final_window(run["episodes"], done["frames"])
    host = c.get("host", {})
    return {"group": c["group"], "algorithm": algorithm_of(c), "game": c["game"],
            "workers": c["workers"], "seed": c["seed"], "frames": done["frames"],
            "wall_time_s": round(done["wall_time_s"], 1), "frames_per_s": round(done["frames_per_s"], 1),
            "host": f"{host.get('cpu', '?')} ({host.get('cores', '?')} cores)",
            "eval_protocol": final["protocol"].iloc[0] if len(final) else "none", "eval_games": len(final),
            "eval_mean": m, "eval_low": lo, "eval_high": hi,
            "train_last10pct_mean": float(window.mean()) if len(window) else np.nan,
            "train_last10pct_games": len(window), "command": c.get("command", "not recorded")}


def game_figure(curves: pd.DataFrame, game: str):
    """Training return vs frames on ``game`` for every run group (mean and 95% bootstrap CI over seeds per frame bin,
    ``stats.grouped_mean_ci``), random dashed."""
    g = curves[curves["game"] == game].copy()
    g["frames (millions)"] = g["frames"] / 1e6
    g["run group"] = [run_label(a, w) for a, w in zip(g["group"], g["workers"])]
    fig, ax = plt.subplots(figsize=(8, 5))
    plot_bands(ax, g, "run group", "frames (millions)")
    ref = reference.noop_reference(game)
    if ref:
        ax.axhline(ref[0], ls="--", color="grey", lw=1, label="random (no-op)")
    ax.legend(fontsize=8)
    seeds = g.groupby("run group")["seed"].nunique()
    ax.set_title(textwrap.fill(f"{game}: training return per frame bin; seeds: "
                               + ", ".join(f"{k} {v}" for k, v in seeds.items()), width=110), fontsize=9)
    ax.set_xlabel("emulator frames (millions)")
    ax.set_ylabel("training episode return (unclipped)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def write_benchmarks(run_dirs: list[str | Path], out: str | Path) -> pd.DataFrame:
    """Write the folder described in the module docstring into ``out``; returns ``runs.csv``'s table.

    Raises:
        UserError: no run directories, or one that is not finished.
    """
    if not run_dirs:
        raise UserError("no run directories given; accepted: one or more finished run directories")
    out = Path(out)
    runs = [read_run(p) for p in run_dirs]
    table = pd.DataFrame([run_row(r) for r in runs]).sort_values(["game", "group", "workers", "seed"])
    atomic_write_bytes(out / "runs.csv", table.to_csv(index=False, float_format="%.4g").encode())
    curves = []
    for r in runs:
        c = curve_rows(r, CURVE_BINS)
        curves.append(c)
        i = r["config"]
        name = f"curves/{i['group']}/{i['game']}_w{i['workers']}_s{i['seed']}.csv"
        atomic_write_bytes(out / name, c.to_csv(index=False, float_format="%.5g").encode())
    curves = pd.concat(curves, ignore_index=True)
    for game in sorted(curves["game"].unique()):
        save_png(game_figure(curves, game), out / f"{game}.png")
    if paired_runs(runs):
        write_parity_files(runs, out / "parity.csv")
    return table


def folder_cli(argv: list[str] | None, prog: str, description: str, write, columns: list[str], runs_help: str,
               note: str = "", update_help: str | None = None) -> int:
    """The command line of a step that (re)writes a results folder from run directories (``benchmarks``,
    ``claims``): ``--out`` (default ``benchmarks``) checked before any work, then ``write(runs, out)``, whose table's
    ``columns`` are printed; ``note`` goes to stderr before the closing line. With ``update_help``, the flag
    ``--update`` (so described) is offered and passed on as ``write(runs, out, update=...)``.

    Raises:
        UserError: ``--out`` cannot be written, or what ``write`` raises.
    """
    p = ArgumentParser(prog=prog, description=description)
    p.add_argument("--out", default="benchmarks", help="folder to (re)write (default: benchmarks)")
    if update_help:
        p.add_argument("--update", action="store_true", help=update_help)
    p.add_argument("runs", nargs="+", help=runs_help)
    args = p.parse_args(argv)
    check_output(args.out, directory=True)
    table = write(args.runs, args.out, update=args.update) if update_help else write(args.runs, args.out)
    print(table[columns].to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    print(f"{note}written {args.out}/", file=sys.stderr)
    return 0


@cli_main
def main(argv: list[str] | None = None) -> int:
    return folder_cli(argv, "python -m replication.benchmarks", __doc__.split("\n")[0], write_benchmarks,
                      ["group", "game", "workers", "seed", "frames", "wall_time_s", "eval_mean",
                       "train_last10pct_mean"],
                      "finished run directories (each with done.json)")


if __name__ == "__main__":
    sys.exit(main())
