"""Stable-Baselines3's A2C and DQN trained alone on the same game for the bench (its own Atari stack at SB3's
defaults, not the parity peer's matched protocol, ``replication.peers.sb3``)."""

from __future__ import annotations

import time

import torch

from replication.algorithms.dqn import DQNConfig
from replication.bench.limits import DQN_BENCH
from replication.core.errors import UserError
from replication.peers.sb3 import env_id


def sb3_env(game: str, num_envs: int):
    """SB3's Atari env stack (``make_atari_env`` + 4-frame ``VecFrameStack``) for ``game``.

    Raises:
        UserError: Stable-Baselines3 is not installed (``pip install -e '.[bench]'``).
    """
    try:
        import ale_py
        import gymnasium as gym
        from stable_baselines3.common.env_util import make_atari_env
        from stable_baselines3.common.vec_env import VecFrameStack
    except ImportError:
        raise UserError("Stable-Baselines3 is not installed; run: pip install -e '.[bench]'") from None
    gym.register_envs(ale_py)
    env = make_atari_env(env_id(game), n_envs=num_envs, seed=0,
                         env_kwargs={"frameskip": 1, "repeat_action_probability": 0.0})
    return VecFrameStack(env, n_stack=4)


def bench_sb3_a2c(game: str, num_envs: int, frames: int, threads: int) -> float:
    """Train Stable-Baselines3 A2C (CnnPolicy, ``n_steps=5``) for ``frames`` frames on the CPU; returns frames/s.

    Raises:
        UserError: Stable-Baselines3 is not installed.
    """
    env = sb3_env(game, num_envs)
    from stable_baselines3 import A2C

    torch.set_num_threads(threads)
    model = A2C("CnnPolicy", env, n_steps=5, device="cpu", seed=0, verbose=0)
    agent_steps = frames // 4  # SB3's total_timesteps counts agent steps summed over environments
    model.learn(total_timesteps=min(agent_steps, 20 * num_envs * 5))  # warm-up, as ours warms up in its first updates
    t0 = time.perf_counter()
    model.learn(total_timesteps=agent_steps, reset_num_timesteps=True)
    elapsed = time.perf_counter() - t0
    env.close()
    return agent_steps * 4 / elapsed


def bench_sb3_dqn(game: str, frames: int, threads: int) -> float:
    """Train Stable-Baselines3 DQN (CnnPolicy) with ``DQN_BENCH``'s schedule and the Nature settings for ``frames``
    frames on the CPU; returns frames/s.

    Its replay stores each observation once (``optimize_memory_usage``, SB3's leanest mode); its optimizer is
    torch's centred RMSprop with alpha 0.95 and eps 0.01 (outside the root, the nearest torch has); its
    gradient-norm clip is left at SB3's default 10. Epsilon anneals from the first agent step (ours from the
    replay start), reaching 0.1 at the same agent step.

    Raises:
        UserError: Stable-Baselines3 is not installed.
    """
    env = sb3_env(game, 1)
    from stable_baselines3 import DQN

    hp = DQNConfig(**DQN_BENCH)
    agent_steps = frames // 4
    torch.set_num_threads(threads)
    model = DQN("CnnPolicy", env, learning_rate=hp.learning_rate, buffer_size=hp.replay_capacity,
                learning_starts=hp.replay_start_agent_steps, batch_size=hp.batch_size, gamma=hp.gamma,
                train_freq=hp.update_every_agent_steps, gradient_steps=1,
                target_update_interval=hp.target_update_agent_steps,
                exploration_fraction=(hp.replay_start_agent_steps + hp.epsilon_decay_agent_steps) / agent_steps,
                exploration_initial_eps=hp.epsilon_start, exploration_final_eps=hp.epsilon_end,
                optimize_memory_usage=True, replay_buffer_kwargs={"handle_timeout_termination": False},
                policy_kwargs={"optimizer_class": torch.optim.RMSprop,
                               "optimizer_kwargs": {"alpha": hp.rmsprop_decay, "eps": hp.rmsprop_eps,
                                                    "centered": True}},
                device="cpu", seed=0, verbose=0)
    t0 = time.perf_counter()
    model.learn(total_timesteps=agent_steps)
    elapsed = time.perf_counter() - t0
    env.close()
    return agent_steps * 4 / elapsed
