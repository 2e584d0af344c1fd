"""``python -m replication.parity``: learning parity with Stable-Baselines3 at matched settings.

The measure and the verdict are ``replication.results.parity``'s.

Usage::

    pip install -e '.[bench]'      # Stable-Baselines3, the peer
    # ours: the usual train job; the peer: the same resolved config, trained by SB3 into the same contract
    python -m replication.train  --configfile configs/parity.yaml --group a2c --game seaquest --workers 16 --seed 0
    python -m replication.parity train --configfile configs/parity.yaml --group a2c --game seaquest --workers 16 \\
        --seed 0                   # -> results/runs/sb3_a2c/seaquest/w16/s0
    python -m replication.parity table --out benchmarks/parity.csv RUN_DIR ...   # ours and sb3_* run dirs
    python -m replication.parity table --update --out benchmarks/parity.csv RUN_DIR ...  # keep the other pairs
    snakemake --cores 2 parity --configfile configs/parity.yaml                  # all of it, one after another
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pandas as pd

from replication.config.identity import check_run_dir
from replication.config.launch import add_run_arguments, resolve_args
from replication.cli.published import published_csv
from replication.core.errors import ArgumentParser, check_output, cli_main
from replication.peers.sb3 import check_peer_algorithm, peer_run_config, train_peer
from replication.report.figures import parity_figure
from replication.report.pdf_pages import save_png
from replication.results.parity import (HALF_GAIN_COLUMNS, PARITY_COLUMNS, keep_other_pairs, paired_runs,
                                        parity_curves, parity_table, with_half_gain)
from replication.runs.read import read_run
from replication.runs.rundir import algorithm_of, atomic_write_bytes, run_dir


def _train(args) -> int:

    resolved, results = resolve_args(args)
    check_peer_algorithm(algorithm_of(resolved))
    peer = peer_run_config(resolved)
    out = Path(args.out) if args.out else run_dir(results, peer["group"], peer["game"], peer["workers"], peer["seed"])
    check_output(out, directory=True)
    check_run_dir(out, peer)  # another run's directory, or a damaged one: refused before anything is written
    if (out / "done.json").exists():
        print(f"{out}: already finished (done.json)", file=sys.stderr)
        return 0
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM checkpoints like Ctrl-C
    try:
        frames = train_peer(resolved, out, args.threads or max(1, os.cpu_count() or 1))
    except KeyboardInterrupt:
        print(f"interrupted; checkpoint saved in {out}, rerun to resume", file=sys.stderr)
        return 130
    print(f"{out}: done, {frames} frames", file=sys.stderr)
    return 0


def write_parity_files(runs: list[dict], csv_path: str | Path, update: bool = False) -> pd.DataFrame:
    """Write ``parity.csv`` at ``csv_path`` and, beside it, ``<stem>_curves.csv`` and ``<stem>.png`` (the parity
    figure); returns the table. With ``update``, the rows of the (run group, game) pairs that ``runs`` do not
    regenerate are kept from the files already there (``results.parity.keep_other_pairs``), and the figure draws
    them too.

    Raises:
        UserError: no pair of ours and a peer run (``parity_table``); with ``update``, a file there that is not a
            CSV with the columns this command writes.
    """

    csv_path = Path(csv_path)
    curves_path = csv_path.with_name(csv_path.stem + "_curves.csv")
    table = parity_table(runs)
    binned = parity_curves(paired_runs(runs))
    if update:
        published = published_csv(csv_path, PARITY_COLUMNS).drop(columns=HALF_GAIN_COLUMNS)
        table, binned = keep_other_pairs(table, binned, published, published_csv(curves_path, binned.columns))
    table = with_half_gain(table, binned)  # every row's, the kept pairs' too, from the curves written beside
    atomic_write_bytes(csv_path, table.to_csv(index=False, float_format="%.4g").encode())
    atomic_write_bytes(curves_path, binned.to_csv(index=False, float_format="%.5g").encode())
    save_png(parity_figure(binned, table), csv_path.with_suffix(".png"))
    return table


def _table(args) -> int:

    check_output(args.out, directory=False)
    table = write_parity_files([read_run(p) for p in args.runs], args.out, args.update)
    cols = ["group", "game", "seeds", "frames", "ours_mean", "peer_mean", "difference", "difference_low",
            "difference_high", "random", "verdict"]
    print(table[cols].to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    print(f"written {args.out} and its _curves.csv and .png", file=sys.stderr)
    return 0


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m replication.parity", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train the SB3 peer of one run of the config into its run directory")
    add_run_arguments(t, "our run group label (its algorithm must be a2c or dqn); the peer is sb3_<label>")
    tb = sub.add_parser("table", help="the parity table (CSV), binned curves (CSV) and their figure (PNG) from "
                                      "finished run directories")
    tb.add_argument("--out", required=True, help="CSV path, e.g. benchmarks/parity.csv")
    tb.add_argument("--update", action="store_true",
                    help="keep the rows of (run group, game) pairs that no RUN_DIR belongs to from the files already "
                         "at --out (their run directories may be gone); the PNG draws them too")
    tb.add_argument("runs", nargs="+", help="run directories of both sides (each with done.json)")
    args = p.parse_args(argv)
    if args.command == "train":
        return _train(args)
    return _table(args)


if __name__ == "__main__":
    sys.exit(main())
