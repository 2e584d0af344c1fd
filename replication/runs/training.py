"""Bookkeeping shared by every algorithm: counters, logs, checkpoints, evaluation, ``done.json``.

A ``TrainingRun`` owns one run directory (see ``rundir.py``). Algorithms call, in order:
``start(model, optimizer, policy)`` once (the policy is handed over there, for every evaluation), then per agent step
``record_step`` (or ``count_agent_steps`` / ``log_episode``), per update ``replication.core.update.update_step`` (with
``where()`` for its message) and ``after_update(scalars)``, and ``finish()`` at the end.

A replay memory handed to ``start`` is saved beside each checkpoint and loaded on resume (``replay_file.py``);
a resume without it lists its frames in ``config.json``'s ``replay_emptied_at_frames``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from replication.core.errors import UserError
from replication.core.precision import autocast, effective_precision
from replication.envs.atari import AtariConfig, EpisodeTracker
from replication.envs.evaluate import EvalConfig, evaluate
from replication.runs.logs import CsvLog, EPISODE_COLUMNS, EVAL_COLUMNS, UPDATE_COLUMNS, check_logs
from replication.runs.progress import Progress
from replication.runs.provenance import cpu_time_split, cpu_times, provenance
from replication.runs.replay_file import CheckpointedReplay, remove_replays, resume_replay, write_replay
from replication.runs.rundir import (atomic_write_bytes, atomic_write_json, fingerprint, load_checkpoint, lock_run_dir,
                                     previous_config, refuse_other_run, remove_stale_temporaries, setting_changes)
from replication.runs.tensorboard import TensorBoardLog
from replication.core.update import TrainingDiverged  # noqa: F401  (raised by update_step; train.py catches it)


@dataclass
class TrainingRun:
    """One training run and its directory.

    Attributes:
        dir: the run directory ``results/runs/{group}/{game}/w{workers}/s{seed}``.
        group, game, workers, seed: the run's identity (``group``: its run group's label; ``workers`` = A3C
            processes / PAAC n_e / 1 for DQN).
        total_frames: frame budget (emulator frames, frame skip included).
        device: torch device for the learner.
        env, eval, hyper: environment protocol, evaluation settings, algorithm hyperparameters.
        checkpoint_every_frames: checkpoint period in frames.
        log_every_updates: ``updates.csv`` row period in updates.
        resolved: the fully resolved config (written to ``config.json``).
        precision: ``fp32`` or ``bf16`` (forward passes under autocast, ``replication/core/precision.py``).
        tensorboard: also write TensorBoard event files (``replication/runs/tensorboard.py``).
        compile_optimizer: the algorithm's optimizer steps with a ``torch.compile``'d update where it has one
            (DQN: ``optim.CentredRMSprop``); ``config.json``'s ``optimizer_step`` records what stepped.
        checkpointed_frames: frames of the last checkpoint written or resumed from (None before the first).
        replay_restored: after ``start`` with a replay memory on resume, whether its replay file was loaded (False:
            the memory starts empty); None otherwise.

    Raises:
        UserError: (on construction, before anything is written) the directory's ``checkpoint.pt`` is damaged or
            belongs to another run (``rundir.refuse_other_run``), ``total_frames`` is below the frames it holds, a
            log beside it is missing or damaged (``logs.check_logs``), or another process trains into the
            directory.
    """

    dir: Path
    group: str
    game: str
    workers: int
    seed: int
    total_frames: int
    device: torch.device
    env: AtariConfig
    eval: EvalConfig
    hyper: object
    checkpoint_every_frames: int
    log_every_updates: int
    resolved: dict
    precision: str = "fp32"
    tensorboard: bool = False
    compile_optimizer: bool = False
    frames: int = 0
    agent_steps: int = 0
    updates: int = 0
    generator: torch.Generator = field(default_factory=torch.Generator)
    checkpointed_frames: int | None = None
    _checkpoint: dict | None = None
    replay_restored: bool | None = None
    _replay: CheckpointedReplay | None = field(default=None, repr=False)

    def __post_init__(self):
        requested = self.precision
        self.precision, note = effective_precision(self.precision, self.device)  # before anything is written
        if note:
            print(f"warning: {note}", file=sys.stderr)
        self.resolved = {**self.resolved, "precision": self.precision, "precision_requested": requested}
        self.dir = Path(self.dir)
        ckpt = self.dir / "checkpoint.pt"
        if ckpt.exists():  # checked before the lock file is written: a refused request changes nothing
            self._checkpoint = load_checkpoint(ckpt)
            if self._checkpoint.get("config"):
                refuse_other_run(self.dir, self._checkpoint["config"], self.resolved, "checkpoint.pt",
                                 self.identity_defaults())
            held = self._checkpoint["counters"]["frames"]
            if self.total_frames < held:
                raise UserError(f"total_frames = {self.total_frames} is below the {held} frames this run has trained "
                                f"(checkpoint.pt in {str(self.dir)!r}); accepted: total_frames >= {held} (or move the "
                                "run directory away to train again from frame 0)")
            check_logs(self.dir)  # a resume appends to them: damage before the checkpoint is named, not built on
        self._lock = lock_run_dir(self.dir)  # one process per run directory, held until this process ends
        remove_stale_temporaries(self.dir)  # half-written files of atomic writes a killed process left
        if self._checkpoint is not None:
            c = self._checkpoint["counters"]
            self.frames, self.agent_steps, self.updates = c["frames"], c["agent_steps"], c["updates"]
            self.checkpointed_frames = self.frames
            self._wall_offset = c["wall_time_s"]
            self._cpu_offset = tuple(c.get("host_cpu_s", (0.0, 0.0)))  # older checkpoints: from this session on
            self._resumes = c.get("resumes", 0) + 1
            self._evaluated_at = c.get("evaluated_at")
        else:
            self._wall_offset = 0.0
            self._cpu_offset = (0.0, 0.0)
            self._resumes = 0
            self._evaluated_at = None
        self._next_ckpt = (self.frames // self.checkpoint_every_frames + 1) * self.checkpoint_every_frames
        self.progress = Progress(self.total_frames, self.frames)  # a line every ~30 s in the job's log
        every = self.eval.every_frames
        self._next_eval = None
        if every:  # the next evaluation point; one passed but not evaluated (SIGTERM mid-evaluation) is due now
            passed = self.frames // every * every
            self._next_eval = passed if 0 < passed and (self._evaluated_at or 0) < passed else passed + every
        random.seed(self.seed)
        np.random.seed(self.seed)
        torch.manual_seed(self.seed)
        self.generator.manual_seed(self.seed)

    # -- identity and seeding -------------------------------------------------------------------------------
    def env_seed(self) -> int:
        """Seed of training environment 0 (env i gets +i); a resumed run starts new games with new seeds."""
        return self.seed * 1_000_003 + self._resumes * 10_007

    def eval_seed(self) -> int:
        """Seed of evaluation environment 0, disjoint from training seeds and equal across resumes."""
        return self.seed * 1_000_003 + 500_000

    def autocast(self):
        """Context manager for the learner's forward passes at the run's ``precision``."""
        return autocast(self.device, self.precision)

    @property
    def wall_time_s(self) -> float:
        """Seconds of training so far, summed over resumes."""
        return self._wall_offset + time.monotonic() - self._t0

    @property
    def host_cpu_s(self) -> tuple[float, float]:
        """(all, stolen) CPU seconds of this host while the run trained, summed over its CPUs and over resumes
        (``provenance.cpu_time_split``; a session where they cannot be read adds nothing): ``done.json``'s
        ``cpu_steal`` is their ratio."""
        total, steal = cpu_time_split(self._cpu_mark, cpu_times())
        return self._cpu_offset[0] + total, self._cpu_offset[1] + steal

    def identity_defaults(self) -> dict:
        """The defaults of this run's ``env``/``eval``/``hyper`` dataclasses (what ``rundir.identity_differences``
        reads a key that an older checkpoint lacks as; ``config.identity.section_defaults`` for a resolved config)."""
        try:
            return {name: dataclasses.asdict(type(obj)()) for name, obj in (("env", self.env), ("eval", self.eval),
                                                                           ("hyper", self.hyper))}
        except TypeError:
            return {}

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
              policy: Callable[[torch.Tensor], torch.Tensor], replay: CheckpointedReplay | None = None) -> None:
        """Take the run's ``model`` and ``optimizer`` (checkpointed), its ``replay`` memory if it has one (saved
        beside each checkpoint, see the module docstring; restored here on resume) and its evaluation ``policy`` (uint8
        observations ``(B, frame_stack, screen_size, screen_size)`` on the run's device -> float32 ``(B,
        num_actions)`` logits or action values; used by every evaluation until ``finish``). Then open the logs
        (cut back to the checkpoint; a half-written last row, the one damage recovered from, is dropped and said
        so on stderr), write ``config.json`` (with the run's ``fingerprint`` and, on resume,
        ``changes``: the settings that differ from the previous session's), drop a ``done.json`` (a run extended to
        a longer ``total_frames``), restore a checkpoint if any, and start the training clock: ``wall_time_s``
        excludes building the environments and networks (ale-py's vector env takes ~1-3 s to start, a fifth of a
        100k-frame benchmark line).

        Raises:
            RuntimeError: the checkpoint's model or optimizer state does not fit ``model`` / ``optimizer``.
            ValueError: the checkpoint's replay file holds a memory of another shape than ``replay``.
        """
        self.model, self.optimizer, self.policy, self._replay = model, optimizer, policy, replay
        keep = self.frames if self._checkpoint is not None else None
        previous = previous_config(self.dir, self._checkpoint) if keep is not None else {}
        changes = setting_changes(previous, self.resolved, self.frames, self._resumes) if keep is not None else []
        self.replay_restored, replay_record = resume_replay(self.dir, self._checkpoint, previous, replay, self.frames)
        if self._checkpoint is None:  # a fresh start: drop logs of a run that never checkpointed
            for name in ("episodes.csv", "updates.csv", "eval.csv"):
                (self.dir / name).unlink(missing_ok=True)
        (self.dir / "done.json").unlink(missing_ok=True)  # written again by finish()
        self.episodes_log = CsvLog(self.dir / "episodes.csv", EPISODE_COLUMNS, keep)
        self.updates_log = CsvLog(self.dir / "updates.csv", UPDATE_COLUMNS, keep)
        # evaluation rows at the checkpoint's frames survive only if the checkpoint knows they were finished
        keep_eval = None if keep is None else (keep if self._evaluated_at == keep else keep - 1)
        self.eval_log = CsvLog(self.dir / "eval.csv", EVAL_COLUMNS, keep_eval)
        for log in (self.episodes_log, self.updates_log, self.eval_log):
            if log.torn:
                print(f"recovered: dropped a half-written last row of {log.path.name} ({log.torn} bytes after its "
                      f"last newline, left by a killed writer); the run resumes from checkpoint.pt at frames "
                      f"{self.frames}", file=sys.stderr)
        self.tb = TensorBoardLog(self.dir, self.tensorboard, resume_frames=keep)
        step = "compiled" if getattr(optimizer, "compiled", False) else "eager"
        atomic_write_json(self.dir / "config.json", {**self.resolved, **provenance(), "resumes": self._resumes,
                                                     "fingerprint": fingerprint(self.resolved), "changes": changes,
                                                     "optimizer_step": step, **replay_record})
        if self._checkpoint is not None:
            model.load_state_dict(self._checkpoint["model"])
            optimizer.load_state_dict(self._checkpoint["optimizer"])
            rng = self._checkpoint["rng"]
            torch.set_rng_state(rng["torch"])
            self.generator.set_state(rng["generator"])
            np.random.set_state(rng["numpy"])
            random.setstate(rng["python"])
            self._checkpoint = None
        self.start_clock()

    def start_clock(self) -> None:
        """(Re)start this session's training clock (``wall_time_s``, ``host_cpu_s``, progress). ``start`` calls it;
        A3C's supervisor again once its actor-learners have started: spawning each and importing torch in it takes
        seconds, which held a 60k-frame bench line at 2 workers to 2,351 frames/s (a 32M-frame run made 3,393)."""
        self._t0 = time.monotonic()
        self._cpu_mark = cpu_times()
        self._rate_mark = (self._t0, self.frames)
        self.progress.restart(self.frames)  # the first line comes ~30 s after the training clock starts

    def count_agent_steps(self, n: int, frame_skip: int) -> None:
        """Count ``n`` agent steps (``n * frame_skip`` frames)."""
        self.agent_steps += n
        self.frames += n * frame_skip

    def record_step(self, tracker: EpisodeTracker, raw_reward, game_over, frame_skip: int,
                    first_worker: int = 0) -> None:
        """One agent step of ``len(raw_reward)`` environments: count its frames (``count_agent_steps``), then log the
        games it finished (``tracker.update``; environment ``i`` is logged as worker ``first_worker + i``)."""
        self.count_agent_steps(len(raw_reward), frame_skip)
        for i, episode_return, episode_length in tracker.update(raw_reward, game_over):
            self.log_episode(first_worker + i, episode_return, episode_length)

    def log_episode(self, worker: int, episode_return: float, episode_length: int, frames: int | None = None,
                    agent_steps: int | None = None) -> None:
        """One finished game: unclipped score, length in agent steps, from environment/worker ``worker``.

        ``frames``/``agent_steps`` default to the run's counters now (A3C workers pass their own reading).
        """
        self.progress.add_game(episode_return)
        self.tb.episode(self.frames if frames is None else frames, episode_return)
        self.episodes_log.write({"frames": self.frames if frames is None else frames,
                                 "agent_steps": self.agent_steps if agent_steps is None else agent_steps,
                                 "wall_time_s": self.wall_time_s, "worker": worker,
                                 "episode_return": episode_return, "episode_length": episode_length})

    @contextlib.contextmanager
    def rollout(self):
        """Wrap one rollout and its update. If it is interrupted (Ctrl-C, SIGTERM, an error), the counters go back
        to the rollout's start, so the checkpoint written on the way out counts only frames an update has used and
        the resumed run redoes the interrupted rollout (its episode rows are cut with the logs)."""
        start = (self.frames, self.agent_steps, self.updates)
        try:
            yield
        except BaseException:
            self.set_counters(*start)
            raise

    def set_counters(self, frames: int, agent_steps: int, updates: int) -> None:
        """Set the counters from outside (A3C: the sum of the workers' shared counters)."""
        self.frames, self.agent_steps, self.updates = frames, agent_steps, updates

    def where(self) -> str:
        """Where the next update is, for ``update_step``'s divergence message."""
        return f" at frames {self.frames}, update {self.updates + 1}; last good checkpoint kept in {self.dir}"

    def after_update(self, scalars) -> None:
        """Count one update, log its ``scalars`` every ``log_every_updates`` (``log_update``), then
        ``periodic()``. ``scalars`` maps ``updates.csv`` columns (``loss_policy``, ``loss_value``, ``entropy``,
        ``grad_norm``, ``learning_rate``) to floats; an algorithm gives only the ones it has (DQN: no policy terms)."""
        self.updates += 1
        if self.updates % self.log_every_updates == 0:
            self.log_update(scalars)
        self.periodic()

    def log_update(self, scalars) -> None:
        """One ``updates.csv`` row at the current counters from a mapping of its columns to floats or 0-dim tensors
        (columns it lacks are left blank, read back as NaN); frames/s is measured since the previous row.

        Raises:
            KeyError: a key that is not an ``updates.csv`` column.
        """
        unknown = set(scalars) - set(UPDATE_COLUMNS)
        if unknown:
            raise KeyError(f"not updates.csv columns: {sorted(unknown)}")
        now = time.monotonic()
        fps = (self.frames - self._rate_mark[1]) / max(now - self._rate_mark[0], 1e-9)
        self._rate_mark = (now, self.frames)
        values = {**{k: float(v) for k, v in scalars.items()}, "frames_per_s": fps}
        if "entropy" in values:
            self.progress.entropy = values["entropy"]
        self.updates_log.write({**dict.fromkeys(UPDATE_COLUMNS, ""), **values, "frames": self.frames,
                                "updates": self.updates, "wall_time_s": self.wall_time_s})
        self.tb.scalars("train", self.frames, values)

    def periodic(self) -> None:
        """After each update (A3C's supervisor: after each message from its workers or each idle poll of their
        queue; the SB3 peer: after each rollout): a progress line when ~30 s have passed
        (``replication/runs/progress.py``); evaluate the policy given to ``start`` when ``eval.every_frames`` has
        passed, then checkpoint every ``checkpoint_every_frames`` (after the evaluation, so the checkpoint knows about
        it and a resume neither repeats nor loses it)."""
        self.progress.maybe_report(self.frames, self.updates)
        if self._next_eval is not None and self._next_eval <= self.frames < self.total_frames:
            self._evaluate()
            self._next_eval = (self.frames // self.eval.every_frames + 1) * self.eval.every_frames
        if self.frames >= self._next_ckpt:
            self.save_checkpoint()
            self._next_ckpt = (self.frames // self.checkpoint_every_frames + 1) * self.checkpoint_every_frames

    def _evaluate(self) -> None:
        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            epsilon = getattr(self.hyper, "eval_epsilon", None)  # DQN: epsilon-greedy evaluation
            rows = evaluate(self.policy, self.game, self.env, self.eval, self.eval_seed(), self.device, epsilon=epsilon)
        self.model.train(was_training)
        for r in rows:
            self.eval_log.write({"frames": self.frames, "protocol": self.eval.protocol_with(epsilon), **r})
        mean = float(np.mean([r["episode_return"] for r in rows]))
        self.tb.scalars("eval", self.frames, {"episode_return_mean": mean})
        self._evaluated_at = self.frames

    def save_checkpoint(self, with_replay: bool = True) -> None:
        """Atomically write model, optimizer, counters and RNG states to ``checkpoint.pt``; first, with a replay
        memory (``start``) and ``with_replay``, the memory to ``replay_f{frames}{suffix}`` (kept if one of these
        frames is there already), named in the counters. Replay files of other checkpoints are deleted after."""
        replay_file = None
        if self._replay is not None and with_replay:
            replay_file = write_replay(self.dir, self._replay, self.frames)
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "counters": {"frames": self.frames, "agent_steps": self.agent_steps, "updates": self.updates,
                         "wall_time_s": self.wall_time_s, "host_cpu_s": self.host_cpu_s, "resumes": self._resumes,
                         "evaluated_at": self._evaluated_at, "replay_file": replay_file},
            "rng": {"torch": torch.get_rng_state(), "generator": self.generator.get_state(),
                    "numpy": np.random.get_state(), "python": random.getstate()},
            "config": self.resolved,
            "fingerprint": fingerprint(self.resolved),
        }
        buf = io.BytesIO()
        torch.save(state, buf)
        atomic_write_bytes(self.dir / "checkpoint.pt", buf.getvalue())
        self.checkpointed_frames = self.frames
        remove_replays(self.dir, keep=replay_file)

    def finish(self) -> None:
        """Final evaluation (of the policy given to ``start``), final checkpoint, then ``done.json`` (its presence means
        the run finished).

        ``wall_time_s``, ``frames_per_s`` and ``cpu_steal`` in ``done.json`` cover training only, not the final
        evaluation. ``cpu_steal``: the share of the host's CPU time the hypervisor gave to other machines while the
        run trained (``host_cpu_s``; 0.0 on bare metal, 0.4 when the run had 60% of the CPUs it asked for; null
        where it could not be read), so a wall time measured on a shared host says so.
        """
        wall, (cpu, stolen) = self.wall_time_s, self.host_cpu_s
        if self._evaluated_at != self.frames:  # a rerun after the final evaluation does not repeat it
            self._evaluate()
        self.save_checkpoint(with_replay=False)  # a finished run keeps no replay file (0.7-7 GB)
        self.progress.close()
        for log in (self.episodes_log, self.updates_log, self.eval_log, self.tb):
            log.close()
        atomic_write_json(self.dir / "done.json", {
            "frames": self.frames, "agent_steps": self.agent_steps, "updates": self.updates,
            "wall_time_s": wall, "frames_per_s": self.frames / max(wall, 1e-9), "resumes": self._resumes,
            "cpu_steal": round(stolen / cpu, 4) if cpu > 0 else None})

    def abandon(self) -> None:
        """Close the logs after a write into the run directory failed (a full disk, a read-only folder), ignoring
        their own errors: a row still buffered is dropped rather than written at exit behind the error line (a
        resume cuts the logs back to the checkpoint anyway)."""
        for name in ("episodes_log", "updates_log", "eval_log", "tb"):
            log = getattr(self, name, None)
            if log is not None:
                with contextlib.suppress(OSError):
                    log.close()

    def close_on_interrupt(self) -> None:
        """Save a checkpoint after Ctrl-C/SIGTERM so a rerun resumes from here."""
        if getattr(self, "model", None) is not None:
            self.save_checkpoint()
            self.tb.close()

