"""Run records: the logs of a run kept after its directory is gone, so that what it showed can be regenerated.

A record is a run directory's ``RECORD_FILES`` (no checkpoint, replay memory or ``updates.csv``: megabytes to
gigabytes that only resuming needs), at ``{root}/runs/{group}/{game}/w{workers}/s{seed}/`` as in a results folder
(``rundir.run_dir``).
Every reader of run directories that needs only the logs (``results.claims.read_live_run``, the claims and
benchmarks commands) reads a record as the run directory it came from: finished (``done.json``) or, from a run
still training, its logs so far. ``benchmarks/land.sh`` keeps one per landed run in ``benchmarks/runs/``, so a
group's claims are regenerated from every run landed before, not only the directories on this machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from replication.runs.read import read_live_log
from replication.runs.rundir import read_config, read_done, run_dir

RECORD_FILES = ("config.json", "done.json", "eval.csv", "episodes.csv")


def logged_frames(path: str | Path) -> int:
    """Emulator frames a run directory or record has logged: ``done.json``'s where the run finished, else the last
    finished training game's (``episodes.csv``; 0 with none yet).

    Raises:
        UserError: a damaged ``done.json`` or ``episodes.csv`` (``read_done``, ``read_live_log``).
    """
    path = Path(path)
    done = read_done(path)
    if done:
        return int(done["frames"])
    episodes = read_live_log(path / "episodes.csv")
    return int(episodes["frames"].max()) if len(episodes) else 0


def _how_far(path: Path) -> tuple[bool, int]:
    """(finished, ``logged_frames``): a finished run is further than any unfinished one, then more frames are."""
    return read_done(path) is not None, logged_frames(path)


def record_run(path: str | Path, root: str | Path) -> tuple[Path, bool]:
    """Keep run directory ``path``'s ``RECORD_FILES`` as its record under ``root`` (``run_dir(root, ...)``),
    replacing the record there unless that one has logged more frames (``logged_frames``) or finished while this run
    has not: a run trained again from the start (a new machine) never replaces what was landed before until it has
    gone as far. The record is copied into a temporary folder beside it and renamed into place (the old one moved
    aside first), so no record is ever half copied.

    Returns:
        ``(record path, whether it was written)``.

    Raises:
        UserError: ``path`` has no readable ``config.json`` (not a run directory), or a damaged ``done.json`` or
            ``episodes.csv`` there or in the record.
    """
    path = Path(path)
    config = read_config(path)
    dest = run_dir(root, config["group"], config["game"], config["workers"], config["seed"])
    if dest.exists() and _how_far(dest) > _how_far(path):
        return dest, False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    for name in RECORD_FILES:
        if (path / name).exists():
            shutil.copy2(path / name, tmp / name)
    old = dest.with_name(f".{dest.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if dest.exists():
        os.replace(dest, old)
    os.replace(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)
    return dest, True
