"""A run's replay memory beside its checkpoint: ``replay_f{frames}{suffix}`` in the run directory.

A replay memory (DQN's ``replication.algorithms.replay.ReplayBuffer``, SB3's DQN buffer through
``replication.peers.sb3.SB3Replay``) is too large for ``checkpoint.pt`` (0.7 GB at 100k transitions, 7 GB at
Nature's 1M). ``TrainingRun.save_checkpoint`` writes it first, atomically, under the checkpoint's frames and names
it in the checkpoint's counters; a resume loads the named file, so a stopped DQN run goes on with the memory it had.
A resume whose file is missing (a process killed between the two writes, a checkpoint of older code) starts an
empty memory and says so. A finished run keeps no replay file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO, Protocol

from replication.runs.rundir import atomic_write_with

REPLAY_PREFIX = "replay_f"  # replay_f{frames}{suffix}: the replay memory of the checkpoint at those frames


class CheckpointedReplay(Protocol):
    """A replay memory that ``TrainingRun`` saves beside each checkpoint and restores on resume.

    Attributes:
        suffix: the file name's ending, e.g. ``".npz"``.

    ``save(file)`` writes the whole memory (its transitions, write position and sampling RNG) to the binary file
    object; ``load(file)`` replaces the memory with what ``save`` wrote, raising ``ValueError`` when the file was
    written for another shape of memory.
    """

    suffix: str

    def save(self, file: BinaryIO) -> None: ...

    def load(self, file: BinaryIO) -> None: ...


def write_replay(run_dir: str | Path, replay: CheckpointedReplay, frames: int) -> str:
    """Write ``replay`` atomically to ``run_dir/replay_f{frames}{suffix}`` (kept as it is if that file exists: a
    memory of the same frames) and return the file's name, for the checkpoint's counters."""
    name = f"{REPLAY_PREFIX}{frames}{replay.suffix}"
    if not (Path(run_dir) / name).is_file():
        atomic_write_with(Path(run_dir) / name, replay.save)
    return name


def remove_replays(run_dir: str | Path, keep: str | None = None) -> None:
    """Delete the replay files in ``run_dir`` other than ``keep`` (after a checkpoint that names ``keep``)."""
    for old in Path(run_dir).glob(f"{REPLAY_PREFIX}*"):
        if old.name != keep:
            old.unlink(missing_ok=True)


def resume_replay(run_dir: str | Path, checkpoint: dict | None, previous: dict, replay: CheckpointedReplay | None,
                  frames: int) -> tuple[bool | None, dict]:
    """On a resume (a ``checkpoint``), load its replay file into ``replay`` (``read_replay``). Returns whether it
    was loaded (None without a replay memory or a checkpoint) and the ``config.json`` entry
    ``replay_emptied_at_frames``: the ``previous`` session's list, plus ``frames`` when the memory starts empty.

    Raises:
        ValueError: the file holds a memory of another shape (``CheckpointedReplay.load``).
    """
    if replay is None:
        return None, {}
    emptied = list(previous.get("replay_emptied_at_frames", []))
    if checkpoint is None:
        return None, {"replay_emptied_at_frames": emptied}
    restored = read_replay(run_dir, checkpoint["counters"].get("replay_file"), replay, frames)
    return restored, {"replay_emptied_at_frames": emptied if restored else [*emptied, frames]}


def read_replay(run_dir: str | Path, name: str | None, replay: CheckpointedReplay, frames: int) -> bool:
    """Load the checkpoint's replay file ``name`` into ``replay``; False, said on stderr, when there is none (the
    memory stays empty and refills before learning again).

    Raises:
        ValueError: the file holds a memory of another shape (``CheckpointedReplay.load``).
    """
    path = Path(run_dir) / name if name else None
    if path is not None and path.is_file():
        with open(path, "rb") as f:
            replay.load(f)
        return True
    print(f"resumed with an empty replay memory at frames {frames}: the checkpoint's replay file "
          f"({name or 'none named'}) is not in {str(run_dir)!r}; it refills before learning again (recorded in "
          "config.json's replay_emptied_at_frames)", file=sys.stderr)
    return False
