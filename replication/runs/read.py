"""The one reader of a run directory's logs (its writer is ``logs.CsvLog``): a log as a table (``read_log``; a
finished run's must be whole, a live one's may end in a torn line, ``read_live_log``), a finished run as a dict
(``read_run``) and its training returns binned by frames (``curve_rows``)."""

from __future__ import annotations

import fcntl
from pathlib import Path

import numpy as np
import pandas as pd

from replication.core.errors import UserError
from replication.runs.logs import (EPISODE_COLUMNS, EVAL_COLUMNS, LOG_COLUMNS, TEXT_COLUMNS, UPDATE_COLUMNS,
                                   read_log_rows)
from replication.runs.rundir import algorithm_of, read_config, read_done


CURVE_BINS = 40


LOGS = {"episodes": EPISODE_COLUMNS, "updates": UPDATE_COLUMNS, "eval": EVAL_COLUMNS}


RETRAIN = "the finished run's file is damaged: retrain it with python -m replication.train --force, or move the run " \
          "directory away and rerun the workflow"


def read_log(path: str | Path, columns: list[str], *, live: bool = False, remedy: str = RETRAIN) -> pd.DataFrame:
    """A run's CSV log as a table, read by the one reader of the log contract (``logs.read_log_rows``): the
    header ``columns``, then rows of as many fields, each ending with a newline, numbers in every column but
    ``protocol`` (blank allowed only in ``logs.OPTIONAL_COLUMNS``, read as NaN). A finished run's log must be
    whole; ``live`` (a run that may still be training, as the progress report reads it) drops a torn last line.

    Raises:
        UserError: a missing file, another header, a cut-short last row (unless ``live``), a row with too few or
            too many fields, or a value that is not a number: the file, the line and ``remedy`` (``rundir.damaged``).
    """
    log = read_log_rows(path, columns, live=live, remedy=remedy)
    df = pd.DataFrame(log.rows, columns=columns)
    for col in columns:
        if col not in TEXT_COLUMNS:
            df[col] = pd.to_numeric(df[col], errors="coerce")  # checked by the reader: only a blank reads as NaN
    return df


def read_run(path: str | Path) -> dict:
    """Read one finished run directory into a dict of its config (``rundir.read_config``: keys as this code names
    them), done.json and the three CSV logs (``read_log``).

    Raises:
        UserError: the directory is not a finished run (no ``done.json``), or one of its files is damaged.
    """
    path = Path(path)
    done = read_done(path)
    if done is None:
        raise UserError(f"{path} is not a finished run directory (no done.json)")
    cfg = read_config(path)
    return {"path": path, "config": cfg, "done": done,
            **{name: read_log(path / f"{name}.csv", columns) for name, columns in LOGS.items()}}


def run_ids(run: dict) -> dict:
    """A run's identity columns: ``group`` (the run group's label, which names its directory), ``algorithm`` (what
    the group ran: a2c, a3c_ff, a3c_lstm or dqn; a peer's is SB3's), ``game``, ``workers``, ``seed``."""
    c = run["config"]
    return {"group": c["group"], "algorithm": algorithm_of(c), "game": c["game"],
            "workers": c["workers"], "seed": c["seed"]}


def curve_rows(run: dict, bins: int = CURVE_BINS) -> pd.DataFrame:
    """Training episode returns binned into ``bins`` equal frame intervals of the run's budget.

    Columns: ids, ``frames`` (bin end, frames), ``hours`` (mean wall-clock hours of the bin's episodes),
    ``episode_return`` (mean unclipped return), ``episodes`` (count). Empty bins are left out.
    """
    ep = run["episodes"]
    total = max(int(run["done"]["frames"]), 1)
    if ep.empty:
        return pd.DataFrame(columns=[*run_ids(run), "frames", "hours", "episode_return", "episodes"])
    edges = np.linspace(0, total, bins + 1)
    idx = np.clip(np.searchsorted(edges, ep["frames"].to_numpy(), side="left") - 1, 0, bins - 1)
    g = ep.assign(bin=idx).groupby("bin")
    out = pd.DataFrame({"frames": edges[1:][g.size().index], "hours": g["wall_time_s"].mean() / 3600.0,
                        "episode_return": g["episode_return"].mean(), "episodes": g.size()}).reset_index(drop=True)
    for k, v in reversed(list(run_ids(run).items())):
        out.insert(0, k, v)
    return out


# What recovers a log found damaged while a run trains or stands stopped: its train job could not resume from it.
PROGRESS_REMEDY = "the run cannot resume from it: move the run directory away and rerun its train job (it trains " \
                  "again from frame 0)"


def read_live_log(path: Path) -> pd.DataFrame:
    """A run's CSV log (``episodes.csv``, ``updates.csv`` or ``eval.csv``) that may be being appended to, read by
    the one reader of the log contract (``read_log``, ``live``): a torn last line, what a writer leaves
    while it writes or when it is killed, is skipped; any other damage is named.

    Returns an empty frame when the file is missing (a run killed before its logs were made) or holds no row yet.

    Raises:
        UserError: another header, a row with too few or too many fields, or a value that is not a number:
            the file, the line and ``PROGRESS_REMEDY``.
    """
    if not path.exists():
        return pd.DataFrame()
    return read_log(path, LOG_COLUMNS[path.name], live=True, remedy=PROGRESS_REMEDY)


def training_now(path: Path) -> bool:
    """Whether a process holds the run directory's lock (``rundir.lock_run_dir``), i.e. it is training now."""
    lock = path / ".lock"
    if not lock.exists():
        return False
    with open(lock) as f:
        try:
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False
