"""n-step returns and advantages (pure functions).

Mnih et al. 2016, Algorithm S3 (A3C) and Clemente et al. 2017, Algorithm 1 (PAAC):
``R_t = r_t + gamma * R_{t+1}`` backwards over the rollout, starting from the bootstrap value
``R_{t_max} = V(s_{t_max})`` and cut to 0 after a terminal; the advantage is ``R_t - V(s_t)``.
"""

from __future__ import annotations

import torch


def n_step_returns(rewards: torch.Tensor, dones: torch.Tensor, bootstrap_value: torch.Tensor,
                   gamma: float) -> torch.Tensor:
    """Discounted n-step returns of a rollout, cut at terminals.

    Args:
        rewards: float ``(T, N)``: reward received after the action at step t in env n.
        dones: bool or float ``(T, N)``: 1 where the transition at step t ended an episode
            (then nothing after it is bootstrapped).
        bootstrap_value: float ``(N,)``: ``V(s_T)``, the value of the state after the rollout.
        gamma: discount in [0, 1].

    Returns:
        float ``(T, N)``: ``R_t = r_t + gamma * (1 - done_t) * R_{t+1}``, with ``R_T = V(s_T)``.

    Raises:
        ValueError: shapes disagree.
    """
    if rewards.shape != dones.shape or rewards.shape[1:] != bootstrap_value.shape:
        raise ValueError(f"shapes disagree: rewards {tuple(rewards.shape)}, dones {tuple(dones.shape)}, "
                         f"bootstrap_value {tuple(bootstrap_value.shape)}")
    not_done = 1.0 - dones.to(rewards.dtype)
    returns = torch.empty_like(rewards)
    running = bootstrap_value.to(rewards.dtype)
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * not_done[t] * running
        returns[t] = running
    return returns


def bootstrap_time_limits(rewards: torch.Tensor, time_limit: torch.Tensor, final_values: torch.Tensor,
                          gamma: float) -> torch.Tensor:
    """Rewards with the value of a time-limit-truncated state folded in: ``r + gamma * V(s_final)`` where the
    episode was cut by the frame cap rather than ended by the game.

    A truncated episode has not ended: its true return goes on past the cap, so its last target bootstraps from
    the value of the state it was cut in (Pardo et al. 2018, "Time Limits in Reinforcement Learning", partial-episode
    bootstrapping; Stable-Baselines3 does the same for its A2C/PPO rollouts). The transition stays a terminal for
    ``n_step_returns`` (nothing of the next episode leaks back), so one added term carries the bootstrap.

    Args:
        rewards: float ``(N,)``: the training rewards of one agent step.
        time_limit: bool ``(N,)``: the step hit the frame cap (truncated, not terminated).
        final_values: float ``(N,)``: ``V(s_final)`` of the state each truncated episode was cut in (entries
            where ``time_limit`` is False are ignored).
        gamma: discount in [0, 1].

    Returns:
        float ``(N,)``: ``rewards + gamma * time_limit * final_values``.
    """
    return rewards + gamma * time_limit.to(rewards.dtype) * final_values.to(rewards.dtype)


def advantages(returns: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Advantage estimates ``A_t = R_t - V(s_t)``; both ``(T, N)`` float; values are detached."""
    return returns - values.detach()
