"""The run directory: the contract between training and reporting (docs/design.md, "Run directory").

``results/runs/{algo}/{game}/w{workers}/s{seed}/`` holds ``config.json``, ``episodes.csv``, ``updates.csv``,
``eval.csv``, ``checkpoint.pt`` and, written last, ``done.json``. Every whole-file write is atomic
(temporary file + ``os.replace``); CSV logs are appended row by row and, on resume, cut back to the
frames of the checkpoint so no row is duplicated or lost.
"""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

from replication import runtime

EPISODE_COLUMNS = ["frames", "agent_steps", "wall_time_s", "worker", "episode_return", "episode_length"]
UPDATE_COLUMNS = ["frames", "updates", "wall_time_s", "loss_policy", "loss_value", "entropy", "grad_norm",
                  "learning_rate", "frames_per_s"]
EVAL_COLUMNS = ["frames", "protocol", "episode", "episode_return", "episode_length"]


RESULTS_DIR = "results"  # the schema's default results_dir (replication/data/config_schema.yaml), for a run given without a config


def run_dir(root: str | Path, algo: str, game: str, workers: int | str, seed: int | str) -> Path:
    """``root/runs/{algo}/{game}/w{workers}/s{seed}`` as a Path: the one definition of a run directory's place,
    used by ``python -m replication.train`` and by the Snakefile (which passes wildcards such as ``"{algo}"``)."""
    return Path(root) / "runs" / algo / game / f"w{workers}" / f"s{seed}"


def lock_run_dir(path: str | Path):
    """Take an exclusive lock on run directory ``path`` (``path/.lock``, ``fcntl.flock``) for this process's
    lifetime; returns the open lock file, which holds the lock until it is closed or the process ends (a killed
    process releases it at once). Two trainings writing one directory would interleave their logs and
    checkpoints.

    Raises:
        UserError: another process holds the lock (its pid in the message).
    """
    import fcntl

    from replication.errors import UserError

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    f = open(path / ".lock", "a+")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "unknown"
        f.close()
        raise UserError(f"run directory {str(path)!r} is in use by another training process (pid {holder}); "
                        "accepted: one process per run directory (wait for it, or stop it first)") from None
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")
    f.flush()
    return f


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: a reader sees the old file or the new one, never a partial one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | Path, obj) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


class CsvLog:
    """An append-only CSV file with a fixed header, flushed after every ``write``.

    Args:
        path: file path; created with a header if missing.
        columns: column names, in order.
        keep_until_frames: on resume, rows with ``frames`` greater than this are dropped (they were logged
            after the checkpoint being resumed from and will be produced again). ``None`` keeps everything.
    """

    def __init__(self, path: str | Path, columns: list[str], keep_until_frames: int | None = None):
        self.path = Path(path)
        self.columns = columns
        if self.path.exists() and keep_until_frames is not None:
            self._truncate(keep_until_frames)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._f = open(self.path, "a", newline="")
        self._w = csv.writer(self._f)
        if new:
            self._w.writerow(columns)
            self._f.flush()

    def _truncate(self, keep_until_frames: int) -> None:
        with open(self.path, newline="") as f:
            rows = list(csv.reader(f))
        if not rows:
            return
        header, body = rows[0], rows[1:]
        i = header.index("frames")
        kept = [r for r in body if len(r) == len(header) and int(float(r[i])) <= keep_until_frames]
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(kept)
        atomic_write_bytes(self.path, buf.getvalue().encode())

    def write(self, row: dict) -> None:
        """Append one row (a mapping with every column) and flush it to disk."""
        self._w.writerow([_fmt(row[c]) for c in self.columns])
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return v


def host_info() -> dict:
    """CPU model, core count and GPU of this host, for provenance."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:  # provenance only; never fail a run for it
        gpu = None
    return {"hostname": platform.node(), "cpu": cpu, "cores": os.cpu_count(), "gpu": gpu,
            "python": platform.python_version(), "platform": platform.platform()}


def versions() -> dict:
    """Versions of the libraries that decide the numbers."""
    import importlib.metadata as md

    out = {}
    for pkg in ("torch", "ale-py", "gymnasium", "numpy", "replication"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


def git_commit() -> str | None:
    """The git commit of the source tree, or None outside a checkout."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def provenance() -> dict:
    """Everything besides the config needed to rerun and interpret a run (the runtime settings included: they
    change frames/s, see ``replication/runtime.py``)."""
    import shlex
    import sys

    command = " ".join(shlex.quote(a) for a in getattr(sys, "orig_argv", sys.argv))
    return {"versions": versions(), "host": host_info(), "git_commit": git_commit(), "runtime": runtime.settings(),
            "command": command}
