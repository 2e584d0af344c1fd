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


def advantages(returns: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Advantage estimates ``A_t = R_t - V(s_t)``; both ``(T, N)`` float; values are detached."""
    return returns - values.detach()
