"""n-step returns and advantages against hand-computed values."""

import pytest
import torch

from replication.core.returns import advantages, bootstrap_time_limits, n_step_returns


def test_three_step_returns_with_terminal_in_the_middle():
    gamma = 0.9
    # env 0: rewards 1, 2, 3, terminal after step 1 (index 1); env 1: no terminal
    rewards = torch.tensor([[1.0, 0.0], [2.0, 1.0], [3.0, -1.0]])
    dones = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]])
    bootstrap = torch.tensor([10.0, 5.0])
    R = n_step_returns(rewards, dones, bootstrap, gamma)
    # env 0: R2 = 3 + 0.9*10 = 12; R1 = 2 (terminal: nothing after) ; R0 = 1 + 0.9*2 = 2.8
    # env 1: R2 = -1 + 0.9*5 = 3.5; R1 = 1 + 0.9*3.5 = 4.15; R0 = 0 + 0.9*4.15 = 3.735
    expected = torch.tensor([[2.8, 3.735], [2.0, 4.15], [12.0, 3.5]])
    assert torch.allclose(R, expected)


def test_terminal_at_last_step_ignores_bootstrap():
    R = n_step_returns(torch.tensor([[1.0]]), torch.tensor([[True]]), torch.tensor([100.0]), 0.99)
    assert R.item() == pytest.approx(1.0)


def test_advantages_are_returns_minus_detached_values():
    R = torch.tensor([[2.8], [2.0]])
    V = torch.tensor([[1.0], [2.5]], requires_grad=True)
    A = advantages(R, V)
    assert torch.allclose(A, torch.tensor([[1.8], [-0.5]]))
    assert not A.requires_grad


def test_shape_mismatch_raises():
    with pytest.raises(ValueError, match="shapes disagree"):
        n_step_returns(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3), 0.99)


def test_time_limit_bootstrap_adds_the_discounted_value_of_the_cut_state():
    # env 0 ran on; env 1 was cut by the frame cap in a state worth 2; env 2 too, in a state worth 3
    rewards = torch.tensor([1.0, 0.0, -1.0])
    time_limit = torch.tensor([False, True, True])
    final_values = torch.tensor([5.0, 2.0, 3.0])  # env 0's entry is ignored: its game was not cut
    out = bootstrap_time_limits(rewards, time_limit, final_values, 0.9)
    assert torch.allclose(out, torch.tensor([1.0, 1.8, 1.7]))  # 0 + 0.9 * 2; -1 + 0.9 * 3
    # folded into a one-step rollout that ends there (done = 1), the target is exactly r + gamma * V(s_cut)
    R = n_step_returns(out[None], torch.ones(1, 3), torch.tensor([9.0, 9.0, 9.0]), 0.9)
    assert torch.allclose(R[0], torch.tensor([1.0, 1.8, 1.7]))
