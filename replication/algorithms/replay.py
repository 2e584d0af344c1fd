"""Replay buffer for DQN (Mnih et al. 2015, Methods "experience replay"; Nature DQN release code ``TransitionTable``).

Each 84x84 uint8 frame is stored once, in a preallocated circular array; 4-frame stacks are rebuilt when a
minibatch is sampled. 1M transitions take about 1M * 84 * 84 bytes = 7.06 GB plus 14 bytes per transition.

Layout: slot ``i`` holds the newest frame of state ``s_i``, the action taken in ``s_i``, the training reward
(clipped) and training terminal that followed, and whether ``s_i`` is the first state of an episode (a reset).
The next state ``s_{i+1}`` ends at slot ``i + 1``. The newest slot has no action yet, so ``capacity``
transitions need ``capacity + 1`` frame slots.

Episode starts: ale-py's ``AtariVectorEnv`` (the agent's environment, ``replication/envs/atari.py``) fills the stack
of an episode's first observation with zeros before the first frame, ``[0, 0, 0, f_0]``, then
``[0, 0, f_0, f_1]``, ... (checked in ``tests/algorithms/test_replay.py`` against a real environment). The buffer
rebuilds stacks the same way: frames before the episode's first frame are zeros, never frames of the previous episode.
A life loss with ``terminal_on_life_loss`` is a training terminal but not a reset: the agent's stack runs on
across it, and so does the rebuilt one. With same-step autoreset the observation returned at a game over is
already the new game's first one; ``add(..., next_is_first=True)`` stores it as such. A transition into an
episode's first frame is therefore always a training terminal.

Resuming (``save``/``load``, called by ``replication.runs.replay_file`` with each checkpoint): the
environment restarts with a new episode, whose first frame ``add_first`` stores after the loaded ones. The state
that was newest when the run stopped keeps no action: its transition is left open (into a first frame, not
terminal) and is never sampled.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from replication.core.errors import UserError


BYTES_PER_TRANSITION_BESIDE_FRAME = 8 + 4 + 1 + 1  # int64 action, float32 reward, bool done, bool episode start


def replay_nbytes(capacity: int, frame_shape: tuple[int, int] = (84, 84)) -> int:
    """Bytes that ``ReplayBuffer(capacity, frame_shape)`` preallocates: ``(capacity + 1) * (H * W + 14)``
    (7,070,014,070 bytes, about 7.07 GB, for the Nature capacity of 1M transitions)."""
    return (int(capacity) + 1) * (int(frame_shape[0]) * int(frame_shape[1]) + BYTES_PER_TRANSITION_BESIDE_FRAME)


@dataclass
class ReplayBatch:
    """A sampled minibatch of ``B`` transitions (host numpy arrays).

    Attributes:
        obs: uint8 ``(B, stack, H, W)``, the state ``s`` as the agent saw it.
        actions: int64 ``(B,)``, the action taken in ``s``.
        rewards: float32 ``(B,)``, the training reward (clipped to [-1, 1] when the environment clips).
        next_obs: uint8 ``(B, stack, H, W)``, the next state ``s'`` as the agent saw it.
        dones: float32 ``(B,)``, 1.0 where the transition ended an episode for training (game over, time cap,
            or a life lost with ``terminal_on_life_loss``), else 0.0.
        indices: int64 ``(B,)``, the slots the transitions were read from (for tests and debugging).
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    next_obs: np.ndarray
    dones: np.ndarray
    indices: np.ndarray


class ReplayBuffer:
    """Circular replay memory of the latest ``capacity`` transitions, storing each frame once.

    Args:
        capacity: number of transitions kept (Mnih et al. 2015: 1,000,000); ``capacity + 1`` frames are stored.
        frame_shape: ``(H, W)`` of one grayscale frame, ``(84, 84)``.
        stack: frames per state (Mnih et al. 2015 "agent history length" 4).
        seed: seed of the buffer's own ``numpy.random.Generator`` used by ``sample``.

    Frames are written to slots ``0, 1, ..., capacity, 0, ...`` in order; ``ReplayBatch.indices`` names slots.

    Usage: ``add_first(frame)`` with the first frame of the first episode (and after ``load``, of the episode the
    environment restarted with), then after every agent step ``add(action, reward, done, next_frame,
    next_is_first)``. ``sample(batch_size)`` draws transitions
    uniformly with replacement (as the release code and Dopamine do), skipping any whose state would need a frame
    that has already been overwritten.

    Raises:
        UserError: ``stack < 1``, ``capacity < stack`` or a bad ``frame_shape``.
    """

    def __init__(self, capacity: int, frame_shape: tuple[int, int] = (84, 84), stack: int = 4, seed: int = 0):
        if int(stack) < 1:
            raise UserError(f"replay frame stack must be >= 1, got {stack}")
        if int(capacity) < int(stack):
            raise UserError(f"replay capacity must be >= the frame stack ({stack}) transitions, got {capacity}")
        if len(frame_shape) != 2 or min(frame_shape) < 1:
            raise UserError(f"replay frame_shape must be (height, width) of a grayscale frame, got {frame_shape}")
        self.capacity = int(capacity)
        self.frame_shape = tuple(int(x) for x in frame_shape)
        self.stack = int(stack)
        self._slots = self.capacity + 1
        self.frames = np.zeros((self._slots, *self.frame_shape), dtype=np.uint8)
        self.actions = np.zeros(self._slots, dtype=np.int64)
        self.rewards = np.zeros(self._slots, dtype=np.float32)
        self.dones = np.zeros(self._slots, dtype=bool)
        self.first = np.zeros(self._slots, dtype=bool)  # slot holds the first frame of an episode
        self._next = 0  # slot written next
        self._written = 0  # frames written so far (all time)
        self._rng = np.random.default_rng(seed)

    suffix = ".npz"  # the file ``save`` writes (``replication.runs.replay_file.CheckpointedReplay``)

    # -- writing ---------------------------------------------------------------------------------------------
    def _write_frame(self, frame: np.ndarray, first: bool) -> None:
        frame = np.asarray(frame)
        if frame.shape != self.frame_shape or frame.dtype != np.uint8:
            raise ValueError(f"frame must be uint8 {self.frame_shape}, got {frame.dtype} {frame.shape}")
        i = self._next
        self.frames[i] = frame
        self.first[i] = first
        self.actions[i], self.rewards[i], self.dones[i] = 0, 0.0, False
        self._next = (i + 1) % self._slots
        self._written += 1

    def add_first(self, frame: np.ndarray) -> None:
        """Store the newest frame (uint8 ``(H, W)``) of an episode's first observation, with no transition into it.

        Call before any ``add`` with the first episode's frame, and after ``load`` with the frame of the episode the
        environment restarted with (the transition of the state newest before it stays open, never sampled); later
        episodes start through ``add(..., next_is_first=True)``.

        Raises:
            ValueError: wrong frame shape or dtype.
        """
        self._write_frame(frame, first=True)

    def add(self, action: int, reward: float, done: bool, next_frame: np.ndarray, next_is_first: bool = False) -> None:
        """Complete the transition from the newest state and store the next state's newest frame.

        Args:
            action: action taken in the newest stored state (index into the minimal action set).
            reward: training reward of the agent step (clipped).
            done: training terminal (the TD target does not bootstrap from the next state).
            next_frame: uint8 ``(H, W)``, the newest frame of the observation returned by the step.
            next_is_first: that observation is the first of a new episode (a reset, e.g. a game over with
                same-step autoreset); frames before it are zeros in its stack. Needs ``done``.

        Raises:
            RuntimeError: ``add_first`` was never called.
            ValueError: wrong frame shape or dtype, or ``next_is_first`` without ``done``.
        """
        if not self._written:
            raise RuntimeError("call add_first with the first frame of an episode before add")
        if next_is_first and not done:
            raise ValueError("a transition into an episode's first frame must be terminal (done); got done=False")
        last = (self._next - 1) % self._slots
        self.actions[last], self.rewards[last], self.dones[last] = int(action), float(reward), bool(done)
        self._write_frame(next_frame, first=bool(next_is_first))

    # -- reading ---------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Transitions held (at most ``capacity``); up to ``stack - 1`` of the oldest may not be sampleable."""
        return min(self._written, self._slots) - 1 if self._written else 0

    @property
    def nbytes(self) -> int:
        """Bytes of the preallocated arrays: ``(capacity + 1) * (H * W + 14)``, see ``replay_nbytes``."""
        return sum(a.nbytes for a in (self.frames, self.actions, self.rewards, self.dones, self.first))

    def _windows(self, idx: np.ndarray, ages: np.ndarray):
        """Slots and zero-padding masks of the ``stack + 1`` frames ending at ``idx + 1``; validity per index."""
        S = self.stack
        offsets = np.arange(-(S - 1), 2)  # oldest frame of s .. newest frame of s'
        slots = (idx[:, None] + offsets) % self._slots  # (B, S + 1)
        first = self.first[slots]
        # a frame is padding in a state's stack if an episode starts at a later frame of that stack
        later_first_obs = np.logical_or.accumulate(first[:, S - 1:0:-1], axis=1)[:, ::-1]  # positions 0 .. S-2
        pad_obs = np.concatenate([later_first_obs, np.zeros((len(idx), 1), bool)], axis=1)  # (B, S)
        later_first_next = np.logical_or.accumulate(first[:, S:1:-1], axis=1)[:, ::-1]  # positions 1 .. S-1
        pad_next = np.concatenate([later_first_next, np.zeros((len(idx), 1), bool)], axis=1)  # (B, S)
        # a frame the state needs must still be in memory: age (slots behind the newest) <= held frames - 1
        frame_ages = ages[:, None] + np.arange(S - 1, -1, -1)  # ages of positions 0 .. S-1 of s
        held = min(self._written, self._slots)
        valid = ~np.any(~pad_obs & (frame_ages > held - 1), axis=1)
        valid &= ~(first[:, S] & ~self.dones[idx])  # an open transition (cut by a resume, see the module docstring)
        return slots, pad_obs, pad_next, valid

    def sample(self, batch_size: int) -> ReplayBatch:
        """Draw ``batch_size`` transitions uniformly with replacement and rebuild their stacks.

        Returns:
            A ``ReplayBatch`` (obs/next_obs uint8 ``(B, stack, H, W)``, actions int64, rewards float32,
            dones float32, indices int64).

        Raises:
            ValueError: ``batch_size < 1``, or no transition can be sampled yet (the buffer is empty).
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        n = len(self)
        if n == 0:
            raise ValueError("cannot sample from a replay buffer that holds no transition")
        newest = (self._next - 1) % self._slots
        ages = np.empty(batch_size, dtype=np.int64)
        todo = np.arange(batch_size)
        for _ in range(1000):  # rejection: at most stack - 1 of n transitions are invalid, plus one per resume
            ages[todo] = self._rng.integers(1, n + 1, size=len(todo))
            _, _, _, valid = self._windows((newest - ages[todo]) % self._slots, ages[todo])
            todo = todo[~valid]
            if len(todo) == 0:
                break
        else:
            raise ValueError(f"no sampleable transition among the {n} held (each needs its {self.stack} frames)")
        idx = (newest - ages) % self._slots
        slots, pad_obs, pad_next, _ = self._windows(idx, ages)
        obs = self.frames[slots[:, :-1]]  # (B, S, H, W), a gathered copy
        obs[pad_obs] = 0
        next_obs = self.frames[slots[:, 1:]]
        next_obs[pad_next] = 0
        return ReplayBatch(obs=obs, actions=self.actions[idx], rewards=self.rewards[idx], next_obs=next_obs,
                           dones=self.dones[idx].astype(np.float32), indices=idx.astype(np.int64))

    # -- resuming --------------------------------------------------------------------------------------------
    _ARRAYS = ("frames", "actions", "rewards", "dones", "first")

    def save(self, file: BinaryIO) -> None:
        """Write the whole memory to the binary ``file`` (an uncompressed ``.npz``: its arrays, write position,
        frames written and sampling RNG state; about ``nbytes`` bytes)."""
        state = json.dumps({"capacity": self.capacity, "frame_shape": self.frame_shape, "stack": self.stack,
                            "next": self._next, "written": self._written, "rng": self._rng.bit_generator.state})
        np.savez(file, state=np.frombuffer(state.encode(), dtype=np.uint8),
                 **{name: getattr(self, name) for name in self._ARRAYS})

    def load(self, file: BinaryIO) -> None:
        """Replace the memory with what ``save`` wrote to the binary ``file``; then ``add_first`` the restarted
        episode's first frame.

        Raises:
            ValueError: the file is not a saved replay memory, or holds one of another capacity, frame shape or
                stack.
        """
        try:
            with np.load(file, allow_pickle=False) as z:
                state = json.loads(z["state"].tobytes().decode())
                arrays = {name: z[name] for name in self._ARRAYS}
        except (KeyError, OSError, ValueError, zipfile.BadZipFile) as e:  # JSONDecodeError is a ValueError
            raise ValueError(f"not a saved replay memory: {e}") from None
        shape = (state["capacity"], tuple(state["frame_shape"]), state["stack"])
        if shape != (self.capacity, self.frame_shape, self.stack):
            raise ValueError(f"saved replay memory has capacity, frame shape, stack {shape}; this one has "
                             f"{(self.capacity, self.frame_shape, self.stack)}")
        for name, array in arrays.items():
            if array.shape != getattr(self, name).shape or array.dtype != getattr(self, name).dtype:
                raise ValueError(f"saved replay array {name} is {array.dtype} {array.shape}; expected "
                                 f"{getattr(self, name).dtype} {getattr(self, name).shape}")
            setattr(self, name, array)
        self._next, self._written = int(state["next"]), int(state["written"])
        self._rng.bit_generator.state = state["rng"]
