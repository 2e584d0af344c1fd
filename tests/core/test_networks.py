"""The networks' channels-last layout changes speed only (values, shapes and checkpoints are as with NCHW); the
foreach optimizers equal per-parameter steps; observations reach the device unchanged."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from replication.core.losses import actor_critic_loss
from replication.core.networks import ActorCritic, ActorCriticLSTM, QNetwork, act, sample_actions, scale_frames
from replication.core.optim import CentredRMSprop, PaperRMSprop
from replication.core.transfer import to_device


def _reference_nature_torso(model: ActorCritic, obs: torch.Tensor) -> torch.Tensor:
    """The Nature torso written out with plain NCHW-contiguous tensors (Mnih et al. 2015 network)."""
    c1, _, c2, _, c3, _, _, fc, _ = model.torso
    x = obs.float() / 255.0
    x = F.relu(F.conv2d(x, c1.weight.contiguous(), c1.bias, stride=4))
    x = F.relu(F.conv2d(x, c2.weight.contiguous(), c2.bias, stride=2))
    x = F.relu(F.conv2d(x, c3.weight.contiguous(), c3.bias, stride=1))
    return F.relu(F.linear(x.flatten(1), fc.weight, fc.bias))


def test_scale_frames_values_and_layout():
    obs = torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8)
    x = scale_frames(obs)
    assert x.dtype == torch.float32 and x.shape == (3, 4, 84, 84)
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(x, obs.float() / 255.0)


def test_channels_last_network_equals_nchw_reference():
    torch.manual_seed(0)
    model = ActorCritic("nature", 6)
    assert model.torso[0].weight.is_contiguous(memory_format=torch.channels_last)
    obs = torch.randint(0, 256, (5, 4, 84, 84), dtype=torch.uint8)
    logits, value = model(obs)
    h = _reference_nature_torso(model, obs)
    assert torch.allclose(logits, model.policy(h), atol=1e-5)
    assert torch.allclose(value, model.value(h).squeeze(-1), atol=1e-5)


@pytest.mark.parametrize("kind", ["nips", "nature"])
def test_acting_split_gives_the_gradient_of_one_full_forward_per_step(kind):
    # the learners keep only the convolutions' graph per acting step and run FC + heads once over the rollout
    # (networks.act); the loss, its gradient and the sampled actions must be those of a full forward per step
    torch.manual_seed(0)
    model = ActorCritic(kind, 6)
    steps = [torch.randint(0, 256, (3, 4, 84, 84), dtype=torch.uint8) for _ in range(4)]
    returns = torch.randn(12)

    def loss_and_grads(split):
        generator = torch.Generator().manual_seed(7)
        model.zero_grad()
        if split:
            acted = [act(model, obs, generator) for obs in steps]
            logits, values = model.heads(torch.cat([f for f, _ in acted]))
            actions = torch.cat([a for _, a in acted])
        else:
            outs = [model(obs) for obs in steps]
            actions = torch.cat([sample_actions(lo, generator) for lo, _ in outs])
            logits, values = torch.cat([lo for lo, _ in outs]), torch.cat([v for _, v in outs])
        terms = actor_critic_loss(logits, values, actions, returns, 0.01, 0.25, loss_scale=5.0)
        terms.total.backward()
        return actions, terms.total.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}

    a_full, loss_full, g_full = loss_and_grads(False)
    a_split, loss_split, g_split = loss_and_grads(True)
    assert torch.equal(a_full, a_split)
    assert torch.allclose(loss_full, loss_split, rtol=1e-5)
    for k in g_full:
        assert torch.allclose(g_full[k], g_split[k], rtol=1e-4, atol=1e-6), k
    assert torch.allclose(model.heads(model.features(steps[0]))[0], model(steps[0])[0])


@pytest.mark.parametrize("cls", [ActorCritic, ActorCriticLSTM, QNetwork])
def test_checkpoint_round_trips_between_layouts(cls):
    torch.manual_seed(0)
    a = cls("nips", 4)
    nchw = {k: v.contiguous() for k, v in a.state_dict().items()}  # a checkpoint written before channels-last
    torch.manual_seed(1)
    b = cls("nips", 4)
    b.load_state_dict(nchw)
    assert b.torso[0].weight.is_contiguous(memory_format=torch.channels_last)
    for k, v in a.state_dict().items():
        assert torch.equal(b.state_dict()[k], v), k


@pytest.mark.parametrize("make_opt", [lambda ps: PaperRMSprop(ps, lr=0.1, alpha=0.9, eps=0.1),
                                      lambda ps: CentredRMSprop(ps, lr=0.1, decay=0.9, eps=0.01)])
def test_multi_tensor_step_equals_one_parameter_at_a_time(make_opt):
    # the optimizers update all parameters with foreach kernels; each must move as if it were alone,
    # and a parameter without a gradient must not move
    torch.manual_seed(0)
    shapes = [(3, 2, 4, 4), (5,), (2, 7)]
    together = [torch.nn.Parameter(torch.randn(s).contiguous(memory_format=torch.channels_last)
                                   if len(s) == 4 else torch.randn(s)) for s in shapes]
    alone = [torch.nn.Parameter(p.detach().clone()) for p in together]
    frozen = torch.nn.Parameter(torch.ones(2))
    opt_all = make_opt(together + [frozen])
    opts = [make_opt([p]) for p in alone]
    for _ in range(3):
        grads = [torch.randn(s) for s in shapes]
        for p, q, g in zip(together, alone, grads):
            p.grad, q.grad = g.clone(), g.clone()
        opt_all.step()
        for o in opts:
            o.step()
    for p, q in zip(together, alone):
        assert torch.allclose(p, q, atol=1e-7)
    assert torch.equal(frozen.detach(), torch.ones(2))


def test_to_device_wraps_on_cpu_and_staged_copy_does_not_alias():
    """``transfer.to_device``: the CPU path wraps the array; the staged path (CUDA's code, unpinned here) copies."""
    frames = np.random.default_rng(0).integers(0, 256, (3, 4, 84, 84), dtype=np.uint8)
    wrapped = to_device(frames, torch.device("cpu"))
    staged = to_device(frames, torch.device("cpu"), stage=True)
    assert wrapped.dtype == staged.dtype == torch.uint8 and staged.shape == (3, 4, 84, 84)
    assert torch.equal(staged, torch.from_numpy(frames))
    frames[0, 0, 0, 0] ^= 0xFF  # a later write to the numpy array
    assert wrapped[0, 0, 0, 0] == frames[0, 0, 0, 0] and staged[0, 0, 0, 0] != frames[0, 0, 0, 0]


def test_sampling_draws_from_the_generator_in_row_order():
    from replication.core.networks import sample_actions

    logits = torch.randn(64, 6)
    a = sample_actions(logits, torch.Generator().manual_seed(5))
    b = sample_actions(logits, torch.Generator().manual_seed(5))
    assert a.device.type == "cpu" and a.dtype == torch.int64 and a.shape == (64,) and torch.equal(a, b)
    assert sample_actions(torch.tensor([[0.0, -1e9]]), torch.Generator()).item() == 0


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (the lent device)")
def test_cuda_logits_sample_with_the_runs_cpu_generator():
    """A2C failed at its first action on CUDA: torch.multinomial refuses a CPU generator for CUDA probabilities.
    The probabilities now move to the generator's device, and the draws equal a CPU run's."""
    from replication.core.networks import sample_actions

    logits = torch.randn(64, 6)
    cpu = sample_actions(logits, torch.Generator().manual_seed(5))
    assert torch.equal(sample_actions(logits.to("cuda"), torch.Generator().manual_seed(5)), cpu)
