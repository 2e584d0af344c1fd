"""Atari environments: ale-py's threaded ``AtariVectorEnv`` with the DQN/A3C preprocessing.

Protocol (Mnih et al. 2015, Methods "Preprocessing"; reused by Mnih et al. 2016 §5.1 and Clemente et al. 2017):
frame skip 4 with a max over the last two frames, 84x84 grayscale, a stack of 4, up to 30 no-op starts,
rewards clipped to [-1, 1] for training only, minimal action set, episodes capped at 108,000 frames.

Units: ``frames`` are emulator frames including skipped ones; ``agent_steps`` are decisions;
``frames = agent_steps * frame_skip``. No-op frames spent inside a reset are not counted, as in the
papers' step counters.

Episode accounting: the vector env always runs with ``life_loss_info=False`` and without reward clipping,
so ``terminated`` means *game over* and rewards are the raw game score. Life-loss terminals and clipped
rewards are derived here, as training signals only (``StepBatch.done``, ``StepBatch.reward``); the
``EpisodeTracker`` sums the raw score of whole games.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from pydantic import NonNegativeInt, PositiveInt

from replication.core.errors import Probability, UserError, check_fields


@dataclass(frozen=True)
class AtariConfig:
    """Environment protocol; every field is a config key under ``env:``.

    Defaults follow Mnih et al. 2015 (Nature DQN, Methods) as reused by Mnih et al. 2016 §5.1;
    see ``replication/data/hyperparameters.md`` §2.2. Each field's type and range are declared on it and checked
    when the config is built (``replication.core.errors.check_fields``), before any environment exists: ale-py hangs on
    a frame stack of 0, and the networks (``replication/core/networks.py``) take 84x84 grayscale frames only.

    Raises:
        replication.core.errors.ConfigValueError: a value of the wrong type or out of range.
    """

    frame_skip: PositiveInt = 4  # Mnih 2015 "action repeat 4"
    max_pool: bool = True  # Mnih 2015: max over the last two frames (release code pool_frms_size=2)
    screen_size: Literal[84] = 84  # Mnih 2015: 84x84
    grayscale: Literal[True] = True  # Mnih 2015: luminance channel
    frame_stack: PositiveInt = 4  # Mnih 2015: "agent history length 4"
    noop_max: NonNegativeInt = 30  # Mnih 2015: "up to 30 no-op actions" at episode start
    repeat_action_probability: Probability = 0.0  # papers: deterministic ALE; Machado et al. 2018 use 0.25
    clip_rewards: bool = True  # Mnih 2015 / muupan wiki for A3C: rewards clipped to [-1, 1] for training
    terminal_on_life_loss: bool = False  # Alfredvc/paac train.py single_life_episodes=False
    # a later OpenAI Baselines addition, off by default (docs/design.md, "Environment protocol")
    fire_reset: bool = False
    max_episode_frames: PositiveInt = 108_000  # 30 min at 60 Hz (van Hasselt et al. 2016)
    full_action_space: bool = False  # minimal action set, as in the papers
    num_threads: NonNegativeInt = 0  # emulator threads; 0 lets ale-py pick (one per core)

    def __post_init__(self):
        check_fields(self)

    def to_dict(self) -> dict:
        """All fields as a plain dict (what ``config.json`` records)."""
        return asdict(self)


def valid_game_ids() -> list[str]:
    """All ROM ids that ale-py ships (snake_case, e.g. ``"ms_pacman"``)."""
    from ale_py import roms

    return sorted(roms.get_all_rom_ids())


def check_game(game: str) -> str:
    """Return ``game`` if ale-py knows it, else raise ``UserError`` listing close valid ids."""
    ids = valid_game_ids()
    if game in ids:
        return game
    close = difflib.get_close_matches(game.lower().replace("-", "_"), ids, n=5, cutoff=0.5)
    hint = f"did you mean {', '.join(close)}?" if close else f"valid ids include {', '.join(ids[:8])}, ..."
    raise UserError(f"unknown game id {game!r}: {hint} (ale-py snake_case ROM ids)")


def make_vector_env(game: str, num_envs: int, cfg: AtariConfig, *, max_episode_frames: int | None = None,
                    noop_max: int | None = None):
    """Create ale-py's ``AtariVectorEnv`` for ``num_envs`` copies of ``game`` with the protocol of ``cfg``.

    Observations are uint8 arrays of shape ``(num_envs, frame_stack, screen_size, screen_size)``.
    Autoreset is "same step": the observation returned with a finished game is already the first of the next.

    Raises:
        UserError: unknown game id.
    """
    from ale_py.vector_env import AtariVectorEnv

    check_game(game)
    return AtariVectorEnv(
        game,
        num_envs,
        num_threads=cfg.num_threads,
        max_num_frames_per_episode=cfg.max_episode_frames if max_episode_frames is None else max_episode_frames,
        repeat_action_probability=cfg.repeat_action_probability,
        full_action_space=cfg.full_action_space,
        autoreset_mode="SameStep",
        img_height=cfg.screen_size,
        img_width=cfg.screen_size,
        grayscale=cfg.grayscale,
        stack_num=cfg.frame_stack,
        frameskip=cfg.frame_skip,
        maxpool=cfg.max_pool,
        noop_max=cfg.noop_max if noop_max is None else noop_max,
        episodic_life=False,
        life_loss_info=False,
        reward_clipping=False,
        use_fire_reset=cfg.fire_reset,
    )


@dataclass
class StepBatch:
    """One lockstep transition of ``n`` environments.

    Attributes:
        obs: uint8 ``(n, stack, 84, 84)``, the next observation (first of a new game after a game over).
        reward: float32 ``(n,)``, the training reward (clipped to [-1, 1] when ``clip_rewards``).
        done: bool ``(n,)``, training terminal: game over, time cap, or life lost when ``terminal_on_life_loss``.
        raw_reward: float64 ``(n,)``, the unclipped game score of this step.
        game_over: bool ``(n,)``, the whole game ended (all lives) or hit the frame cap.
        time_limit: bool ``(n,)``, the game hit the frame cap (``max_episode_frames``) without ending: its training
            target should bootstrap from ``final_obs`` (``returns.bootstrap_time_limits``).
        final_obs: uint8 ``(n, stack, 84, 84)``, the observation each game ended or was cut in (``obs`` holds
            the next game's first); None when no game hit the frame cap at this step.
    """

    obs: np.ndarray
    reward: np.ndarray
    done: np.ndarray
    raw_reward: np.ndarray
    game_over: np.ndarray
    time_limit: np.ndarray | None = None
    final_obs: np.ndarray | None = None


class AtariBatch:
    """Steps a vector of games in lockstep and turns raw ALE output into training signals.

    Args:
        game: ale-py ROM id.
        num_envs: number of environments (PAAC's n_e).
        cfg: environment protocol.
        seed: environment ``i`` is seeded with ``seed + i``.
    """

    def __init__(self, game: str, num_envs: int, cfg: AtariConfig, seed: int):
        self.cfg = cfg
        self.num_envs = num_envs
        self.env = make_vector_env(game, num_envs, cfg)
        self.num_actions = int(self.env.single_action_space.n)
        obs, info = self.env.reset(seed=int(seed))
        self.obs = obs
        self.lives = np.asarray(info["lives"]).copy()

    def step(self, actions: np.ndarray) -> StepBatch:
        """Apply int64 ``actions`` of shape ``(num_envs,)``; returns the ``StepBatch`` (``send`` then ``recv``)."""
        self.send(actions)
        return self.recv()

    def send(self, actions: np.ndarray) -> None:
        """Start stepping with int64 ``actions`` ``(num_envs,)`` and return at once: the emulators run in
        ale-py's threads until ``recv``, so the caller can compute meanwhile (e.g. another group's forward)."""
        self.env.send(actions)

    def recv(self) -> StepBatch:
        """Wait for the step started by ``send``; returns its ``StepBatch``."""
        obs, raw, terminated, truncated, info = self.env.recv()
        game_over = np.logical_or(terminated, truncated)
        lives = np.asarray(info["lives"])
        done = game_over.copy()
        if self.cfg.terminal_on_life_loss:
            done |= lives < self.lives
        self.lives = lives.copy()
        raw = raw.astype(np.float64)
        reward = np.clip(raw, -1.0, 1.0) if self.cfg.clip_rewards else raw
        self.obs = obs
        time_limit = np.logical_and(truncated, np.logical_not(terminated))
        final_obs = info["final_obs"] if time_limit.any() else None  # ale-py's SameStep autoreset keeps it
        return StepBatch(obs=obs, reward=reward.astype(np.float32), done=done, raw_reward=raw, game_over=game_over,
                         time_limit=time_limit, final_obs=final_obs)

    def close(self) -> None:
        self.env.close()


class EpisodeTracker:
    """Sums the unclipped score and length of whole games, per environment.

    ``update`` returns the finished episodes of this step as ``(env_index, episode_return, episode_length)``
    where the length is in agent steps.
    """

    def __init__(self, num_envs: int):
        self.returns = np.zeros(num_envs, dtype=np.float64)
        self.lengths = np.zeros(num_envs, dtype=np.int64)

    def update(self, raw_reward: np.ndarray, game_over: np.ndarray) -> list[tuple[int, float, int]]:
        """Add one agent step: float ``(n,)`` raw rewards, bool ``(n,)`` game overs; returns the finished games."""
        self.returns += raw_reward
        self.lengths += 1
        finished = []
        for i in np.flatnonzero(game_over):
            finished.append((int(i), float(self.returns[i]), int(self.lengths[i])))
            self.returns[i] = 0.0
            self.lengths[i] = 0
        return finished
