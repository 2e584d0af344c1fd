"""The run directory: the contract between training and reporting (docs/design.md, "Run directory").

``results/runs/{group}/{game}/w{workers}/s{seed}/`` holds ``config.json``, ``episodes.csv``, ``updates.csv``,
``eval.csv``, ``checkpoint.pt`` (DQN: with ``replay_f{frames}.npz`` beside it while it trains, see
``training.TrainingRun``) and, written last, ``done.json``. Every whole-file write is atomic
(temporary file + ``os.replace``); CSV logs are appended row by row and, on resume, cut back to the
frames of the checkpoint so no row is duplicated or lost. Every reader of the logs reads them with
``logs.read_log_rows``: one contract, one reader, one documented recovery (a torn last line).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch

from replication.core.errors import UserError


# Which run a directory holds: these keys of the resolved run (``config.resolve_run``) define it, and only a request
# with the same values may resume, extend or "finish" it. ``env.num_threads`` (emulator threads: speed only) is left
# out of ``env``, and ``learning_rate`` follows from ``hyper`` and ``workers``. The other keys (``SETTING_KEYS``) say
# how far and on what a run goes; they may change between the sessions of one run, and each change is recorded in
# ``config.json``'s ``changes``.
IDENTITY_KEYS = ("group", "algorithm", "game", "workers", "seed", "env", "eval", "hyper")
SETTING_KEYS = ("total_frames", "checkpoint_every_frames", "log_every_updates", "tensorboard", "device", "precision",
                "compile_optimizer")
_SPEED_ONLY = {"env": ("num_threads",)}
_ABSENT = "(absent)"

# the schema's default results_dir (replication/data/config_schema.yaml), for a run given without a config
RESULTS_DIR = "results"


def run_dir(root: str | Path, group: str, game: str, workers: int | str, seed: int | str) -> Path:
    """``root/runs/{group}/{game}/w{workers}/s{seed}`` as a Path: the one definition of a run directory's place,
    used by ``python -m replication.train`` and by the Snakefile (which passes wildcards such as ``"{group}"``)."""
    return Path(root) / "runs" / group / game / f"w{workers}" / f"s{seed}"


def lock_run_dir(path: str | Path):
    """Take an exclusive lock on run directory ``path`` (``path/.lock``, ``fcntl.flock``) for this process's
    lifetime; returns the open lock file, which holds the lock until it is closed or the process ends (a killed
    process releases it at once). Two trainings writing one directory would interleave their logs and
    checkpoints.

    Raises:
        UserError: another process holds the lock (its pid in the message).
    """
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


def atomic_write_with(path: str | Path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write`` on a temporary file beside ``path``, fsync it, then rename it to ``path``: a reader sees the
    old file or the new one, never a partial one. A killed writer leaves ``.<name>.<random>.tmp``
    (``remove_stale_temporaries``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp creates 0600; results are meant to be shared
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (``atomic_write_with``)."""
    atomic_write_with(path, lambda f: f.write(data))


def atomic_write_json(path: str | Path, obj) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


# Keys of a run config that older code wrote under another name: old name -> name now (``normalise_config``).
# ``algo`` was the run group's label, renamed ``group`` (the run directory's first part).
RENAMED_KEYS = {"algo": "group"}


def normalise_config(config: dict) -> dict:
    """A run config (a ``config.json``, a checkpoint's config, a resolved run given by hand) with its keys as this
    code names them: the one place where a run directory written by older code is read as new. A key written
    under its old name (``RENAMED_KEYS``: ``algo``) is read under its new one (``group``), and a config without
    ``algorithm`` (written before it existed, or given by hand without it) gets its group's label, as
    ``config.resolve_run`` defaults it. Returns a new dict; ``config`` is left as it is (returned as it is when it
    is not a dict)."""
    if not isinstance(config, dict):
        return config
    out = dict(config)
    for old, new in RENAMED_KEYS.items():
        if old in out:
            value = out.pop(old)
            out.setdefault(new, value)
    if "algorithm" not in out and "group" in out:
        out["algorithm"] = out["group"]
    return out


def algorithm_of(config: dict) -> str | None:
    """The algorithm a resolved run config or a ``config.json`` trains (``a2c``, ``a3c_ff``, ``dqn``, ...): its
    ``algorithm``, else its run group's label (``normalise_config``); None without both."""
    return normalise_config(config).get("algorithm")


def run_identity(resolved: dict) -> dict:
    """The identity-defining part (``IDENTITY_KEYS``) of a resolved run config or a ``config.json``, its keys as
    this code names them (``normalise_config``: ``algorithm`` defaults to ``group``); speed-only keys are left
    out."""
    resolved = normalise_config(resolved)
    ident = {k: resolved.get(k) for k in IDENTITY_KEYS}
    for section, keys in _SPEED_ONLY.items():
        if isinstance(ident[section], dict):
            ident[section] = {k: v for k, v in ident[section].items() if k not in keys}
    return json.loads(json.dumps(ident))  # as config.json holds it: a tuple reads as a list


def fingerprint(resolved: dict) -> str:
    """A short hash (16 hex digits) of ``run_identity(resolved)``, stored in ``config.json`` and ``checkpoint.pt``.

    Hashed with each renamed key under its old name (``RENAMED_KEYS``), so a run keeps the fingerprint that code
    written before the rename gave it."""
    ident = run_identity(resolved)
    for old, new in RENAMED_KEYS.items():
        ident[old] = ident.pop(new)
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def identity_differences(held: dict, requested: dict, defaults: dict | None = None) -> list[tuple[str, object, object]]:
    """The identity keys (``section.key`` inside ``env``/``eval``/``hyper``) whose values differ between the run a
    directory holds (its ``config.json`` or checkpoint config) and a requested resolved run: (key, held, requested).
    A key one side lacks is compared as its ``defaults[section][key]`` (the run's dataclass defaults:
    ``config.identity.section_defaults``), so a field added since does not make it another run."""
    a, b = run_identity(held), run_identity(requested)
    defaults = defaults or {}
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


def refuse_other_run(path: str | Path, held: dict, requested: dict, source: str, defaults: dict | None = None) -> None:
    """Refuse ``requested`` if run directory ``path`` holds another run (``held``, read from its file ``source``).

    Raises:
        UserError: one line naming up to three differing identity keys, their values there and requested.
    """
    diffs = identity_differences(held, requested, defaults)
    if not diffs:
        return
    shown = ", ".join(f"{k} = {x!r} there, {y!r} requested" for k, x, y in diffs[:3])
    more = f" (and {len(diffs) - 3} more)" if len(diffs) > 3 else ""
    raise UserError(f"run directory {str(path)!r} holds another run ({source}): {shown}{more}; accepted: the run it "
                    "holds (give another --out for a new run, or move this directory away to replace it)")


def previous_config(path: str | Path, checkpoint: dict) -> dict:
    """The previous session's ``config.json`` in run directory ``path`` (the ``checkpoint``'s config where it is
    missing or unreadable)."""
    try:
        return json.loads((Path(path) / "config.json").read_text())
    except (OSError, ValueError):  # no config.json (or an unreadable one) beside the checkpoint
        return checkpoint.get("config") or {}


def setting_changes(previous: dict, resolved: dict, frames: int, resumes: int) -> list[dict]:
    """``changes`` of the ``previous`` session's config plus one entry per ``SETTING_KEYS`` value that ``resolved``
    changes at ``frames`` (e.g. a longer ``total_frames``), each said on stderr: ``{"key", "from", "to", "frames",
    "resumes"}``."""
    changes = list(previous.get("changes", []))
    for key in SETTING_KEYS:
        if key in previous and previous[key] != resolved.get(key):
            changes.append({"key": key, "from": previous[key], "to": resolved.get(key), "frames": frames,
                            "resumes": resumes})
            print(f"changed: {key} {previous[key]!r} -> {resolved.get(key)!r} at frames {frames} (recorded in "
                  "config.json)", file=sys.stderr)
    return changes


def damaged(path: str | Path, problem: str, accepted: str, remedy: str):
    """The ``UserError`` for a damaged run file: ``<path> is damaged (<problem>); accepted: <accepted> (<remedy>)``."""
    return UserError(f"{path} is damaged ({problem}); accepted: {accepted} ({remedy})")


def read_json_file(path: str | Path, required: tuple[str, ...], remedy: str, normalise=None) -> dict:
    """Read ``config.json`` or ``done.json`` of a run directory: a JSON object with the keys ``required``, after
    ``normalise`` (a function of the object, e.g. ``normalise_config``) where given.

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
    if normalise is not None and isinstance(obj, dict):
        obj = normalise(obj)
    missing = [k for k in required if k not in obj] if isinstance(obj, dict) else list(required)
    if missing:
        raise damaged(path, f"no {', '.join(missing)}", f"a JSON object with keys {', '.join(required)}", remedy)
    return obj


DONE_KEYS = ("frames", "wall_time_s", "frames_per_s")
DONE_REMEDY = "move it away and rerun the training: it resumes from checkpoint.pt and writes done.json again"
CONFIG_KEYS = ("group", "game", "workers", "seed")
CONFIG_REMEDY = "move the run directory away and rerun it"


def read_config(path: str | Path, required: tuple[str, ...] = CONFIG_KEYS, remedy: str = CONFIG_REMEDY) -> dict:
    """``config.json`` of run directory ``path``, its keys as this code names them (``normalise_config``: one
    written by older code reads the same), with the keys ``required``.

    Raises:
        UserError: a missing or damaged ``config.json``, or one without a ``required`` key (``read_json_file``).
    """
    return read_json_file(Path(path) / "config.json", required, remedy, normalise_config)


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


def remove_stale_temporaries(path: str | Path) -> list[str]:
    """Delete what ``atomic_write_bytes`` leaves in run directory ``path`` when its writer is killed mid-write
    (``.<name>.<random>.tmp``: a half-written checkpoint can be as large as a whole one); returns their names. Call
    it only while holding the directory's lock (``lock_run_dir``): no other writer can be using them."""
    stale = sorted(Path(path).glob(".*.tmp"))
    for p in stale:
        p.unlink(missing_ok=True)
    return [p.name for p in stale]


