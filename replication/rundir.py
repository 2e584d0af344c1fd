"""The run directory: the contract between training and reporting (docs/design.md, "Run directory").

``results/runs/{algo}/{game}/w{workers}/s{seed}/`` holds ``config.json``, ``episodes.csv``, ``updates.csv``,
``eval.csv``, ``checkpoint.pt`` and, written last, ``done.json``. Every whole-file write is atomic
(temporary file + ``os.replace``); CSV logs are appended row by row and, on resume, cut back to the
frames of the checkpoint so no row is duplicated or lost. Every reader of the logs reads them with
``read_log_rows``: one contract, one reader, one documented recovery (a torn last line).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
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


# Which run a directory holds: these keys of the resolved run (``config.resolve_run``) define it, and only a request
# with the same values may resume, extend or "finish" it. ``env.num_threads`` (emulator threads: speed only) is left
# out of ``env``, and ``learning_rate`` follows from ``hyper`` and ``workers``. The other keys (``SETTING_KEYS``) say
# how far and on what a run goes; they may change between the sessions of one run, and each change is recorded in
# ``config.json``'s ``changes``.
IDENTITY_KEYS = ("algo", "algorithm", "game", "workers", "seed", "env", "eval", "hyper")
SETTING_KEYS = ("total_frames", "checkpoint_every_frames", "log_every_updates", "tensorboard", "device", "precision",
                "compile_optimizer")
_SPEED_ONLY = {"env": ("num_threads",)}
_ABSENT = "(absent)"

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


def algorithm_of(config: dict) -> str | None:
    """The algorithm a resolved run config or a ``config.json`` trains (``a2c``, ``a3c``, ``dqn``, ...): its
    ``algorithm``, else its ``algo`` (the run group, named after its algorithm) for configs written before
    ``algorithm`` existed or given by hand without it (as ``config.resolve_run`` defaults it); None without both."""
    return config.get("algorithm", config.get("algo"))


def run_identity(resolved: dict) -> dict:
    """The identity-defining part (``IDENTITY_KEYS``) of a resolved run config or a ``config.json``: ``algorithm``
    defaults to ``algo`` (as in ``config.resolve_run``) and speed-only keys are left out."""
    ident = {k: resolved.get(k) for k in IDENTITY_KEYS}
    ident["algorithm"] = algorithm_of(resolved)
    for section, keys in _SPEED_ONLY.items():
        if isinstance(ident[section], dict):
            ident[section] = {k: v for k, v in ident[section].items() if k not in keys}
    return json.loads(json.dumps(ident))  # as config.json holds it: a tuple reads as a list


def fingerprint(resolved: dict) -> str:
    """A short hash (16 hex digits) of ``run_identity(resolved)``, stored in ``config.json`` and ``checkpoint.pt``."""
    text = json.dumps(run_identity(resolved), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _section_defaults(resolved: dict) -> dict:
    """Defaults of the ``env``/``eval``/``hyper`` dataclasses of a run's algorithm: a key that a directory written by
    older code lacks is compared as its default, so a field added since does not make it another run."""
    from replication.atari import AtariConfig  # lazily: these import the algorithms, which import this module
    from replication.config import algorithms
    from replication.evaluate import EvalConfig

    try:
        hyper = algorithms()[algorithm_of(resolved)][0]
        return {name: dataclasses.asdict(cls()) for name, cls in (("env", AtariConfig), ("eval", EvalConfig),
                                                                   ("hyper", hyper))}
    except (KeyError, TypeError):
        return {}


def identity_differences(held: dict, requested: dict) -> list[tuple[str, object, object]]:
    """The identity keys (``section.key`` inside ``env``/``eval``/``hyper``) whose values differ between the run a
    directory holds (its ``config.json`` or checkpoint config) and a requested resolved run: (key, held, requested)."""
    a, b = run_identity(held), run_identity(requested)
    defaults = _section_defaults(requested)
    out = []
    for key in IDENTITY_KEYS:
        x, y = a[key], b[key]
        if isinstance(x, dict) and isinstance(y, dict):
            default = defaults.get(key, {})
            for sub in sorted(set(x) | set(y)):
                xv, yv = x.get(sub, default.get(sub, _ABSENT)), y.get(sub, default.get(sub, _ABSENT))
                if xv != yv:
                    out.append((f"{key}.{sub}", xv, yv))
        elif x != y:
            out.append((key, x, y))
    return out


def refuse_other_run(path: str | Path, held: dict, requested: dict, source: str) -> None:
    """Refuse ``requested`` if run directory ``path`` holds another run (``held``, read from its file ``source``).

    Raises:
        UserError: one line naming up to three differing identity keys, their values there and requested.
    """
    from replication.errors import UserError

    diffs = identity_differences(held, requested)
    if not diffs:
        return
    shown = ", ".join(f"{k} = {x!r} there, {y!r} requested" for k, x, y in diffs[:3])
    more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
    raise UserError(f"run directory {str(path)!r} holds another run ({source}): {shown}{more}; accepted: the run it "
                    "holds (give another --out for a new run, or move this directory away to replace it)")


def damaged(path: str | Path, problem: str, accepted: str, remedy: str):
    """The ``UserError`` for a damaged run file: ``<path> is damaged (<problem>); accepted: <accepted> (<remedy>)``."""
    from replication.errors import UserError

    return UserError(f"{path} is damaged ({problem}); accepted: {accepted} ({remedy})")


def read_json_file(path: str | Path, required: tuple[str, ...], remedy: str) -> dict:
    """Read ``config.json`` or ``done.json`` of a run directory: a JSON object with the keys ``required``.

    Raises:
        UserError: the file is not such an object (``damaged``, ending with ``remedy``).
    """
    path = Path(path)
    if not path.exists():
        raise damaged(path, "missing", f"a JSON object with keys {', '.join(required)}", remedy)
    try:
        obj = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise damaged(path, f"not valid JSON: {e}", f"a JSON object with keys {', '.join(required)}", remedy) from None
    missing = [k for k in required if k not in obj] if isinstance(obj, dict) else list(required)
    if missing:
        raise damaged(path, f"no {', '.join(missing)}", f"a JSON object with keys {', '.join(required)}", remedy)
    return obj


DONE_KEYS = ("frames", "wall_time_s", "frames_per_s")
DONE_REMEDY = "move it away and rerun the training: it resumes from checkpoint.pt and writes done.json again"
CONFIG_KEYS = ("algo", "game", "workers", "seed")
CONFIG_REMEDY = "move the run directory away and rerun it"


def read_done(path: str | Path) -> dict | None:
    """``done.json`` of run directory ``path`` (its presence means the run finished), or None where there is none.

    Raises:
        UserError: a malformed ``done.json`` (not a JSON object with numeric ``DONE_KEYS``), naming the remedy.
    """
    file = Path(path) / "done.json"
    if not file.exists():
        return None
    done = read_json_file(file, DONE_KEYS, DONE_REMEDY)
    bad = [k for k in DONE_KEYS if not isinstance(done[k], (int, float)) or isinstance(done[k], bool)]
    if bad:
        raise damaged(file, f"{bad[0]} = {done[bad[0]]!r}", f"numbers for {', '.join(DONE_KEYS)}", DONE_REMEDY)
    return done


CHECKPOINT_KEYS = ("model", "optimizer", "counters", "rng")


def load_checkpoint(path: str | Path) -> dict:
    """Load ``checkpoint.pt`` (on the CPU), checking that it is a whole training checkpoint.

    Raises:
        UserError: the file cannot be read or lacks ``CHECKPOINT_KEYS``: one line naming it and what to do.
    """
    import torch

    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # torch raises RuntimeError, EOFError, UnpicklingError, ... for a cut or garbled file
        problem = (str(e).strip().splitlines() or [type(e).__name__])[0].split(". ")[0].rstrip(".")[:120]
        state, error = None, f"torch.load fails: {problem}"
    else:
        missing = [k for k in CHECKPOINT_KEYS if k not in state] if isinstance(state, dict) else CHECKPOINT_KEYS
        error = f"no {', '.join(missing)}" if missing else None
    if error:
        raise damaged(path, error, "a checkpoint written by replication.train",
                      "move it away to restart this run from frame 0") from None
    return state


def check_run_dir(path: str | Path, requested: dict) -> dict | None:
    """Check, before anything in run directory ``path`` is written, that it holds the ``requested`` run (the same
    ``run_identity``) or none yet; returns its ``config.json`` (or checkpoint config), None for a new directory.

    Reads ``config.json``; where there is none but a ``checkpoint.pt``, the checkpoint's config. A directory made
    before fingerprints existed is compared key by key like any other.

    Raises:
        UserError: the directory holds another run (``refuse_other_run``), or its ``config.json`` or
            ``checkpoint.pt`` is damaged.
    """
    path = Path(path)
    if (path / "config.json").exists():
        held = read_json_file(path / "config.json", CONFIG_KEYS, CONFIG_REMEDY)
        refuse_other_run(path, held, requested, "config.json")
        return held
    if (path / "checkpoint.pt").exists():
        held = load_checkpoint(path / "checkpoint.pt").get("config") or {}
        if held:
            refuse_other_run(path, held, requested, "checkpoint.pt")
        return held
    return None


def whole_lines(data: bytes) -> tuple[bytes, bool]:
    """The complete lines of a CSV log and whether a torn last line was cut off: ``CsvLog`` writes whole lines, so
    a last line without its newline was left half-written by a killed writer."""
    if not data or data.endswith(b"\n"):
        return data, False
    return data[:data.rfind(b"\n") + 1], True


# The run directory's CSV logs (docs/design.md, "Run directory"): file name -> columns. ``protocol`` is text; the
# policy and optimizer terms of updates.csv may be blank (DQN has no policy terms, the SB3 peers lack some); every
# other field is a number (``nan`` included: CsvLog writes a NaN float so).
LOG_COLUMNS = {"episodes.csv": EPISODE_COLUMNS, "updates.csv": UPDATE_COLUMNS, "eval.csv": EVAL_COLUMNS}
TEXT_COLUMNS = frozenset({"protocol"})
OPTIONAL_COLUMNS = frozenset({"loss_policy", "loss_value", "entropy", "grad_norm", "learning_rate"})

# What recovers a log damaged before the checkpoint a run would resume from: its rows cannot be produced again.
RESUME_REMEDY = ("a resume would lose or misplace its rows: move the run directory away and rerun the training to "
                 "train it again from frame 0")


@dataclasses.dataclass
class LogRows:
    """A CSV log of a run directory as ``read_log_rows`` found it, every whole row checked.

    Attributes:
        path: the file.
        columns: its columns (the header it has).
        header: the header line's bytes (newline included); empty when the file has no whole line.
        lines: each row's bytes, newline included; row ``i`` is line ``i + 2`` of the file.
        rows: each row's fields (strings).
        torn: the bytes after the last newline: a line a killed writer left half-written (``b""`` when none).
    """

    path: Path
    columns: list[str]
    header: bytes
    lines: list[bytes]
    rows: list[list[str]]
    torn: bytes = b""

    def column(self, name: str) -> list[str]:
        """Every row's field ``name``, as written."""
        i = self.columns.index(name)
        return [row[i] for row in self.rows]


def read_log_rows(path: str | Path, columns: list[str], *, live: bool, remedy: str) -> LogRows:
    """Read a run directory's CSV log strictly: the one reader of the log contract (resume, aggregate, the progress
    report and, through aggregate, the benchmarks use it).

    The file must start with the header ``columns`` on a line of its own, then hold rows of as many fields, each
    ending with a newline, with a number in every column but ``TEXT_COLUMNS`` (blank allowed in
    ``OPTIONAL_COLUMNS``). The one damage tolerated is the documented recovery of a killed writer: where ``live``
    (a log that a training may be appending to, or that a killed one left), the bytes after the last newline are
    a torn last line, returned in ``torn`` (the whole file, header included, where it has no newline yet).
    Nothing is written.

    Args:
        path: the log file.
        columns: its expected header (``LOG_COLUMNS``).
        live: accept a torn last line (resume, progress report); a finished run's log must be whole (aggregate).
        remedy: what recovers the damage, ending the error message.

    Raises:
        UserError: the file is missing or empty (when not ``live``), has another header, a torn last line (when
            not ``live``), a row with too few or too many fields or a value that is not a number: one line naming
            the file, the line number, the value and ``remedy`` (``damaged``).
    """
    path = Path(path)
    accepted = f"a CSV log with header {','.join(columns)} and whole rows"
    if not path.exists():
        raise damaged(path, "missing", accepted, remedy)
    data = path.read_bytes()
    whole, _ = whole_lines(data)
    torn = data[len(whole):]
    if torn and not live:
        line = whole.count(b"\n") + 1
        raise damaged(path, f"last row cut short: line {line} has no newline", accepted, remedy)
    if not whole:  # nothing, or part of a header: a writer killed while creating the file
        if not live:
            raise damaged(path, "empty", accepted, remedy)
        return LogRows(path, list(columns), b"", [], [], torn)
    header, *lines = whole.splitlines(keepends=True)
    found = header.decode(errors="replace").rstrip("\r\n")
    if found.split(",") != list(columns):
        raise damaged(path, f"header {found!r}", accepted, remedy)
    rows = []
    numeric = [(i, c) for i, c in enumerate(columns) if c not in TEXT_COLUMNS]
    for number, line in enumerate(lines, start=2):
        try:
            text = line.decode().rstrip("\r\n")
        except UnicodeDecodeError:
            raise damaged(path, f"line {number}: not UTF-8 text", accepted, remedy) from None
        fields = next(csv.reader([text]), [])
        if len(fields) != len(columns):
            few = "too few" if len(fields) < len(columns) else "too many"
            raise damaged(path, f"line {number}: {few} fields ({len(fields)} of {len(columns)})", accepted, remedy)
        for i, name in numeric:
            if _number(fields[i]) is None and not (fields[i] == "" and name in OPTIONAL_COLUMNS):
                raise damaged(path, f"line {number}: {name} = {fields[i]!r}, not a number", accepted, remedy)
        rows.append(fields)
    return LogRows(path, list(columns), header, lines, rows, torn)


def check_logs(path: str | Path) -> dict[str, LogRows]:
    """Read every CSV log of run directory ``path`` as a resume would (``read_log_rows``, a torn last line
    tolerated), before anything in it is written; returns them by file name.

    Raises:
        UserError: a missing or damaged log, naming it, the line and ``RESUME_REMEDY``.
    """
    return {name: read_log_rows(Path(path) / name, columns, live=True, remedy=RESUME_REMEDY)
            for name, columns in LOG_COLUMNS.items()}


def remove_stale_temporaries(path: str | Path) -> list[str]:
    """Delete what ``atomic_write_bytes`` leaves in run directory ``path`` when its writer is killed mid-write
    (``.<name>.<random>.tmp``: a half-written checkpoint can be as large as a whole one); returns their names. Call
    it only while holding the directory's lock (``lock_run_dir``): no other writer can be using them."""
    stale = sorted(Path(path).glob(".*.tmp"))
    for p in stale:
        p.unlink(missing_ok=True)
    return [p.name for p in stale]


class CsvLog:
    """An append-only CSV file with a fixed header, flushed after every ``write``.

    Args:
        path: file path; created with a header if missing.
        columns: column names, in order.
        keep_until_frames: on resume, rows with ``frames`` greater than this are dropped (they were logged
            after the checkpoint being resumed from and will be produced again), as is a torn last line (the bytes
            after the last newline: a writer killed mid-row). ``None`` keeps everything.

    Attributes:
        torn: bytes of a torn last line dropped on resume (0 when there was none), for the run's log.

    Raises:
        UserError: (on resume) the existing log is damaged in any other way (``read_log_rows``): nothing is
            rewritten, and appending to it would misplace or lose rows.
    """

    def __init__(self, path: str | Path, columns: list[str], keep_until_frames: int | None = None):
        self.path = Path(path)
        self.columns = columns
        self.torn = 0
        if self.path.exists() and keep_until_frames is not None:
            self._truncate(keep_until_frames)
        new = not self.path.exists() or self.path.stat().st_size == 0
        self._f = open(self.path, "a", newline="")
        self._w = csv.writer(self._f)
        if new:
            self._w.writerow(columns)
            self._f.flush()

    def _truncate(self, keep_until_frames: int) -> None:
        log = read_log_rows(self.path, self.columns, live=True, remedy=RESUME_REMEDY)
        self.torn = len(log.torn)
        if not log.header:  # not even a whole header line (a writer killed while creating the file): start afresh
            self.path.unlink()
            return
        kept = [line for line, frames in zip(log.lines, log.column("frames")) if float(frames) <= keep_until_frames]
        if log.torn or len(kept) < len(log.lines):
            atomic_write_bytes(self.path, log.header + b"".join(kept))

    def write(self, row: dict) -> None:
        """Append one row (a mapping with every column) and flush it to disk."""
        self._w.writerow([_fmt(row[c]) for c in self.columns])
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


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
