"""Progress of a training run while it trains: one log line every ~30 s of wall time, and a live tqdm bar when
standard error is a terminal.

The line (``progress_line``) gives frames done of the budget (%), frames/s over the last interval, the ETA at
that rate, updates, the mean and count of the last 100 finished games' unclipped scores, and the policy entropy
(actor-critic) or epsilon (DQN). A train job's log (``results/logs/train/...``) gets these lines, so a person can
tell whether a run learns, how fast it goes and when it will end. ``TrainingRun.periodic`` (after each update)
drives it, so nothing runs per agent step; DQN's first line comes after its replay start.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque

# wall-clock seconds between log lines; REPLICATION_PROGRESS_EVERY_S overrides it (a test uses 0.5)
PROGRESS_EVERY_S = float(os.environ.get("REPLICATION_PROGRESS_EVERY_S", "30"))
RECENT_GAMES = 100  # the score shown is the mean of the last this many finished games


def _duration(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def progress_line(frames: int, total_frames: int, frames_per_s: float, updates: int, recent_scores: list[float],
                  entropy: float | None = None, epsilon: float | None = None) -> str:
    """One progress line, e.g. ``frames 1,500,000/4,000,000 (37.5%) | 2,050 frames/s | ETA 20m20s | updates
    4,688 | score 291.3 (last 100 games) | entropy 2.826``.

    ``frames_per_s`` is the rate over the last interval (emulator frames per wall-clock second); the ETA is
    ``(total_frames - frames) / frames_per_s``; ``recent_scores`` are unclipped whole-game scores.
    """
    pct = 100.0 * frames / max(1, total_frames)
    eta = (total_frames - frames) / frames_per_s if frames_per_s > 0 else float("inf")
    score = (f"score {sum(recent_scores) / len(recent_scores):.1f} (last {len(recent_scores)} games)"
             if recent_scores else "score - (no game finished yet)")
    parts = [f"frames {frames:,}/{total_frames:,} ({pct:.1f}%)", f"{frames_per_s:,.0f} frames/s",
             f"ETA {_duration(max(0.0, eta))}", f"updates {updates:,}", score]
    if entropy is not None and entropy == entropy:
        parts.append(f"entropy {entropy:.3f}")
    if epsilon is not None:
        parts.append(f"epsilon {epsilon:.3f}")
    return " | ".join(parts)


class Progress:
    """Keeps the last games' scores and the latest entropy/epsilon; ``maybe_report`` writes a ``progress_line``
    to ``stream`` every ``every_s`` seconds and moves a tqdm bar (frames) when ``stream`` is a terminal.

    Args:
        total_frames: the run's budget (frames).
        frames: frames already done (a resumed run starts its bar there).
        stream: where lines go (standard error by default).
        every_s: seconds between lines.
    """

    def __init__(self, total_frames: int, frames: int = 0, stream=None, every_s: float = PROGRESS_EVERY_S,
                 bar: bool | None = None):
        self.total_frames = total_frames
        self.stream = stream or sys.stderr
        self.every_s = every_s
        self.scores: deque[float] = deque(maxlen=RECENT_GAMES)
        self.entropy: float | None = None
        self.epsilon: float | None = None
        self._mark = (time.monotonic(), frames)
        use_bar = self.stream.isatty() if bar is None else bar
        self._bar = None
        if use_bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total_frames, initial=frames, unit="frame", unit_scale=True, file=self.stream,
                             dynamic_ncols=True, mininterval=1.0)
            self._bar_frames = frames

    def restart(self, frames: int) -> None:
        """Measure the next interval from now and ``frames`` (e.g. once environments are built)."""
        self._mark = (time.monotonic(), frames)

    def add_game(self, score: float) -> None:
        """Record one finished game's unclipped score."""
        self.scores.append(float(score))

    def maybe_report(self, frames: int, updates: int, now: float | None = None) -> str | None:
        """Write (and return) a line if ``every_s`` has passed since the last one; update the bar either way."""
        now = time.monotonic() if now is None else now
        if self._bar is not None:
            self._bar.update(frames - self._bar_frames)
            self._bar_frames = frames
        t0, f0 = self._mark
        if now - t0 < self.every_s:
            return None
        line = progress_line(frames, self.total_frames, (frames - f0) / max(now - t0, 1e-9), updates,
                             list(self.scores), self.entropy, self.epsilon)
        self._mark = (now, frames)
        if self._bar is not None:
            self._bar.set_postfix_str(line.split(" | ", 3)[-1], refresh=False)
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)
        return line

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
