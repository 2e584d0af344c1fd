"""A run directory's CSV logs (``episodes.csv``, ``updates.csv``, ``eval.csv``): their columns, the one writer
(``CsvLog``: appended row by row, cut back to a checkpoint's frames on resume) and the one reader of the contract
(``read_log_rows``: every row whole, numbers in every column but ``protocol``; a torn last line, what a killed
writer leaves, is the one damage a live reader or a resume skips)."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from replication.runs.rundir import atomic_write_bytes, damaged


EPISODE_COLUMNS = ["frames", "agent_steps", "wall_time_s", "worker", "episode_return", "episode_length"]


UPDATE_COLUMNS = ["frames", "updates", "wall_time_s", "loss_policy", "loss_value", "entropy", "grad_norm",
                  "learning_rate", "frames_per_s"]


EVAL_COLUMNS = ["frames", "protocol", "episode", "episode_return", "episode_length"]


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
