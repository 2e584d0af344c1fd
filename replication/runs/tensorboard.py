"""Optional TensorBoard event files per run: live curves in ``tensorboard --logdir results/runs``.

Off by default (config key ``tensorboard: true`` turns it on; the ``tensorboard`` extra installs the package).
The CSV logs stay the record: these files mirror them for people who follow runs in TensorBoard, as users of
Stable-Baselines3 and CleanRL do. Every scalar's step is the run's frame count (emulator frames, frame skip
included), so runs of different algorithms and worker counts share one x-axis.

Tags: ``train/episode_return`` (unclipped score of each finished game), ``train/loss_policy``,
``train/loss_value``, ``train/entropy``, ``train/grad_norm``, ``train/learning_rate``, ``train/frames_per_s``
(one point per ``updates.csv`` row; DQN's NaN policy terms are left out) and ``eval/episode_return_mean``.
"""

from __future__ import annotations

import math
from pathlib import Path

from replication.core.errors import UserError

FOLDER = "tensorboard"  # inside the run directory


class TensorBoardLog:
    """Event files under ``run_dir/tensorboard``; every method is a no-op when disabled.

    Args:
        run_dir: the run directory.
        enabled: write event files (config key ``tensorboard``).
        resume_frames: frames of the checkpoint resumed from, or None on a fresh start. Events logged after it
            by the interrupted process are purged (``SummaryWriter(purge_step=...)``), as the CSV logs are cut.

    Raises:
        UserError: ``enabled`` but the ``tensorboard`` package is not installed.
    """

    def __init__(self, run_dir: str | Path, enabled: bool, resume_frames: int | None = None):
        self._writer = None
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("config key tensorboard = true but the tensorboard package is not installed; accepted: "
                            "pip install -e '.[tensorboard]', or tensorboard: false") from None
        self._writer = SummaryWriter(log_dir=str(Path(run_dir) / FOLDER), purge_step=resume_frames, flush_secs=30)

    def episode(self, frames: int, episode_return: float) -> None:
        """One finished game's unclipped score at ``frames``."""
        if self._writer is not None:
            self._writer.add_scalar("train/episode_return", episode_return, frames)

    def scalars(self, prefix: str, frames: int, values: dict[str, float]) -> None:
        """``prefix/name`` for each finite value of ``values`` at ``frames``."""
        if self._writer is None:
            return
        for name, value in values.items():
            if value is not None and math.isfinite(value):
                self._writer.add_scalar(f"{prefix}/{name}", value, frames)

    def close(self) -> None:
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
