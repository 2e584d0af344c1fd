"""Actor-critic loss and the paper's RMSProp against hand-computed values."""

import math

import pytest
import torch

from replication.core.losses import actor_critic_loss
from replication.core.optim import PaperRMSprop, linear_lr, scheduled_lr
from replication.core.update import TrainingDiverged, update_step


def test_actor_critic_loss_hand_computed():
    # two actions with equal logits: pi = (0.5, 0.5), log pi = -ln 2, entropy = ln 2
    logits = torch.zeros(2, 2)
    values = torch.tensor([1.0, 0.0])
    actions = torch.tensor([0, 1])
    returns = torch.tensor([3.0, -1.0])
    t = actor_critic_loss(logits, values, actions, returns, entropy_beta=0.01, value_weight=0.25, loss_scale=5.0)
    adv = torch.tensor([2.0, -1.0])
    policy = (math.log(2) * adv).mean().item()  # -log pi * A = ln2 * A
    value = ((returns - values) ** 2).mean().item()  # (4 + 1) / 2 = 2.5
    assert t.policy.item() == pytest.approx(policy)
    assert t.value.item() == pytest.approx(2.5)
    assert t.entropy.item() == pytest.approx(math.log(2))
    assert t.total.item() == pytest.approx(5.0 * (policy - 0.01 * math.log(2) + 0.25 * value))


def test_value_gradient_flows_but_advantage_is_detached():
    logits = torch.zeros(1, 2, requires_grad=True)
    values = torch.tensor([0.0], requires_grad=True)
    t = actor_critic_loss(logits, values, torch.tensor([0]), torch.tensor([1.0]), 0.0, 0.5)
    t.total.backward()
    # d/dV of 0.5 * (R - V)^2 = -(R - V) = -1; the policy term does not reach V
    assert values.grad.item() == pytest.approx(-1.0)


def test_paper_rmsprop_one_step_eps_under_the_root():
    p = torch.nn.Parameter(torch.tensor([1.0]))
    opt = PaperRMSprop([p], lr=0.1, alpha=0.9, eps=0.1, square_avg_init=0.0)
    p.grad = torch.tensor([2.0])
    opt.step()
    g = 0.1 * 4.0  # (1 - alpha) * grad^2
    assert p.item() == pytest.approx(1.0 - 0.1 * 2.0 / math.sqrt(g + 0.1))


def test_rmsprop_square_avg_init_like_tensorflow():
    p = torch.nn.Parameter(torch.tensor([0.0]))
    opt = PaperRMSprop([p], lr=1.0, alpha=0.99, eps=0.1, square_avg_init=1.0)
    p.grad = torch.tensor([1.0])
    opt.step()
    assert p.item() == pytest.approx(-1.0 / math.sqrt(0.99 + 0.01 + 0.1))


def test_linear_lr_anneals_to_zero():
    assert linear_lr(0.0224, 0, 100) == pytest.approx(0.0224)
    assert linear_lr(0.0224, 50, 100) == pytest.approx(0.0112)
    assert linear_lr(0.0224, 150, 100) == 0.0


def test_paac_annealing_horizon_is_not_the_run_budget():
    """PAAC anneals over lr_annealing_steps = 80M global steps = 320M frames: at 80M frames (a quarter of it) the
    rate is 0.0224 * 0.75 = 0.0168, and 0 frames means the run's own budget (hand-computed)."""
    from replication.algorithms.a2c import A2CConfig

    hp = A2CConfig()
    assert hp.annealing_frames(80_000_000) == 320_000_000
    assert scheduled_lr("linear", 0.0224, 80_000_000, hp.annealing_frames(80_000_000)) == pytest.approx(0.0168)
    own = A2CConfig(lr_annealing_frames=0)
    assert own.annealing_frames(80_000_000) == 80_000_000
    assert scheduled_lr("linear", 0.0224, 60_000_000, own.annealing_frames(80_000_000)) == pytest.approx(0.0056)


def test_orthogonal_init_and_unknown_init():
    from replication.core.errors import UserError
    from replication.core.networks import ActorCritic

    m = ActorCritic("nips", 6, init="orthogonal")
    w = m.torso[5].weight  # (256, 2592): orthogonal rows with gain sqrt(2)
    assert torch.allclose(w @ w.T, 2.0 * torch.eye(256), atol=1e-3)
    p = m.policy.weight
    assert torch.allclose(p @ p.T, 1e-4 * torch.eye(6), atol=1e-6)
    assert float(m.value.bias.abs().sum()) == 0.0
    with pytest.raises(UserError, match="unknown init 'xavier'"):
        ActorCritic("nips", 6, init="xavier")


def test_a3c_default_value_weight_halves_the_gradient_of_the_half_squared_error():
    """muupan/async-rl's reading of "multiply the gradients of V by 0.5": the value gradient of one A3C rollout
    (loss summed over its steps, Algorithm S3) is 0.5 * d[(R - V)^2 / 2]/dV = 0.5 * (V - R) per step."""
    from replication.algorithms.a3c import A3CConfig

    values = torch.tensor([1.0, 0.0, 2.0], requires_grad=True)
    returns = torch.tensor([3.0, -1.0, 2.5])
    t = actor_critic_loss(torch.zeros(3, 2), values, torch.tensor([0, 1, 0]), returns, entropy_beta=0.0,
                          value_weight=A3CConfig().value_loss_weight, loss_scale=3)  # 3 steps: mean * 3 = sum
    t.total.backward()
    assert values.grad.tolist() == pytest.approx([0.5 * (1 - 3), 0.5 * (0 + 1), 0.5 * (2 - 2.5)])


def test_update_step_clips_sets_the_rate_and_steps():
    w = torch.nn.Parameter(torch.tensor([3.0, 4.0]))
    opt = torch.optim.SGD([w], lr=123.0)
    loss = (w * torch.tensor([3.0, 4.0])).sum()  # gradient (3, 4), norm 5
    norm = update_step(loss, [w], opt, learning_rate=0.5, max_grad_norm=1.0)
    assert norm == pytest.approx(5.0)  # the norm before clipping
    assert opt.param_groups[0]["lr"] == 0.5
    assert w.tolist() == pytest.approx([3.0 - 0.5 * 0.6, 4.0 - 0.5 * 0.8])  # clipped to (0.6, 0.8)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_update_step_refuses_a_non_finite_loss_without_stepping(bad):
    w = torch.nn.Parameter(torch.tensor([1.0]))
    opt = torch.optim.SGD([w], lr=0.1)
    with pytest.raises(TrainingDiverged, match=r"non-finite loss .* at frames 40"):
        update_step(w.sum() * bad, [w], opt, where=lambda: " at frames 40")
    assert w.item() == 1.0


def test_update_step_hands_local_gradients_to_the_shared_parameters():
    """A3C (Hogwild): gradients computed on a worker's copy step the shared parameters."""
    shared = torch.nn.Parameter(torch.tensor([1.0, 1.0]))
    local = torch.nn.Parameter(shared.detach().clone())
    opt = torch.optim.SGD([shared], lr=0.1)
    update_step((local * torch.tensor([2.0, -1.0])).sum(), [local], opt, shared_params=[shared])
    assert shared.tolist() == pytest.approx([1.0 - 0.2, 1.0 + 0.1]) and local.tolist() == [1.0, 1.0]


def test_a3c_anneals_over_the_runs_budget_unless_given_a_horizon():
    """Mnih 2016 §8 anneals over the course of training (0 = the run's budget); a horizon such as Figure 3's 50
    epochs (200M frames) leaves a 40M-frame run at 0.8 of its initial rate (hand-computed)."""
    from replication.algorithms.a3c import A3CConfig
    from replication.core.optim import annealing_frames

    assert annealing_frames(A3CConfig().lr_annealing_frames, 40_000_000) == 40_000_000
    horizon = annealing_frames(A3CConfig(lr_annealing_frames=200_000_000).lr_annealing_frames, 40_000_000)
    assert linear_lr(7e-4, 40_000_000, horizon) == pytest.approx(7e-4 * 0.8)
