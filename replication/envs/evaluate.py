"""Evaluation protocol: no-op starts, a frame cap, the final (or current) policy.

Protocol ``noop30_18k`` (Mnih et al. 2015 Methods; van Hasselt et al. 2016 "no-op" condition): each
episode starts with up to 30 no-op actions and is capped at 18,000 frames (5 minutes at 60 Hz); the
score is the unclipped game score of the whole game. Actions are sampled from the policy by default
(Mnih et al. 2016 do not state sampled vs greedy; see hyperparameters.md §1.11); ``greedy`` takes the argmax.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from pydantic import NonNegativeInt, PositiveInt

from replication.core.errors import check_fields
from replication.core.networks import sample_actions
from replication.core.transfer import to_device
from replication.envs.atari import AtariConfig, make_vector_env


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation settings; every field is a config key under ``eval:``, its type and range declared on it.

    Raises:
        replication.core.errors.ConfigValueError: a value of the wrong type or out of range (0 episodes would reach
            ale-py as a vector env of no environments, which crashes it).
    """

    episodes: PositiveInt = 30  # Mnih et al. 2015 (30 episodes per evaluation; hyperparameters.md §2.3, unofficial)
    max_frames: PositiveInt = 18_000  # van Hasselt et al. 2016: 5 minutes of emulator time
    noop_max: NonNegativeInt = 30  # Mnih et al. 2015: up to 30 no-ops
    greedy: bool = False  # sample from pi; Mnih 2016 is silent (hyperparameters.md §1.11)
    every_frames: NonNegativeInt = 0  # also evaluate during training every this many frames; 0 = only at the end

    def __post_init__(self):
        check_fields(self)

    def to_dict(self) -> dict:
        """All fields as a plain dict (what ``config.json`` records)."""
        return asdict(self)

    @property
    def protocol(self) -> str:
        """Protocol name written to ``eval.csv``, e.g. ``noop30_18000f_sampled``."""
        return f"noop{self.noop_max}_{self.max_frames}f_{'greedy' if self.greedy else 'sampled'}"

    def protocol_with(self, epsilon: float | None) -> str:
        """``protocol``, or e.g. ``noop30_18000f_eps0.05`` for epsilon-greedy evaluation (DQN)."""
        return self.protocol if epsilon is None else f"noop{self.noop_max}_{self.max_frames}f_eps{epsilon:g}"


@torch.no_grad()
def evaluate(policy, game: str, env_cfg: AtariConfig, cfg: EvalConfig, seed: int, device: torch.device,
             epsilon: float | None = None) -> list[dict]:
    """Play ``cfg.episodes`` whole games, one per environment, and return their scores.

    Args:
        policy: callable uint8 ``(B, 4, 84, 84)`` tensor on ``device`` -> logits float ``(B, A)``, called once
            per agent step for all ``B = cfg.episodes`` games; a recurrent policy keeps its state between calls
            and, if it has a ``reset()`` method, is reset before the first step.
        game: ale-py ROM id.
        env_cfg: training environment protocol (frame skip, stack, sticky actions are kept).
        cfg: evaluation settings.
        seed: environment ``i`` is seeded with ``seed + i``.
        device: where ``policy`` runs.
        epsilon: if given, act epsilon-greedily on ``argmax(logits)`` (a uniform random action with probability
            ``epsilon``; Mnih et al. 2015 / van Hasselt et al. 2016 evaluate DQN with 0.05); overrides ``cfg.greedy``.

    Returns:
        One dict per episode: ``episode`` (0-based), ``episode_return`` (unclipped score), ``episode_length``
        (agent steps). Each environment's first game only is counted, so short games are not over-sampled.
    """
    n = cfg.episodes
    env = make_vector_env(game, n, env_cfg, max_episode_frames=cfg.max_frames, noop_max=cfg.noop_max)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    if hasattr(policy, "reset"):
        policy.reset()
    try:
        obs, _ = env.reset(seed=int(seed))
        returns = np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        active = np.ones(n, dtype=bool)
        while active.any():
            logits = policy(to_device(obs, device)).float().cpu()
            if epsilon is not None:
                explore = torch.rand(n, generator=gen) < epsilon
                random_actions = torch.randint(logits.shape[-1], (n,), generator=gen)
                actions = torch.where(explore, random_actions, logits.argmax(-1))
            elif cfg.greedy:
                actions = logits.argmax(-1)
            else:
                actions = sample_actions(logits, gen)
            obs, reward, terminated, truncated, _ = env.step(actions.numpy().astype(np.int64))
            returns += np.where(active, reward, 0)
            lengths += active
            active &= ~(terminated | truncated)
    finally:
        env.close()
    return [{"episode": i, "episode_return": float(returns[i]), "episode_length": int(lengths[i])} for i in range(n)]
