"""The torch.compile'd centred-RMSProp step (``optim.compile_update``): the same update as eager, compiled before the
first real step, and an eager fallback that says so when compiling fails.

Compiling takes ~25 s in a fresh inductor cache (a few seconds after), so these tests share one compiled optimizer.
"""

import pytest
import torch

from replication.algorithms.dqn import DQNAgent
from replication.core import optim
from replication.core.optim import CentredRMSprop

SETTINGS = dict(lr=2.5e-4, decay=0.95, eps=0.01)  # DQN's (replication/algorithms/dqn.py)


def _nature_params(seed: int) -> list[torch.nn.Parameter]:
    """The Nature Q-network's parameters (channels-last convolution weights, as training has them)."""
    torch.manual_seed(seed)
    return list(DQNAgent("nature", 6).online.parameters())


@pytest.fixture(scope="module")
def compiled_pair():
    """A compiled and an eager optimizer over two identical copies of the Nature network's parameters, and the
    number of graphs dynamo had compiled right after the compiled one was built."""
    a, b = _nature_params(0), _nature_params(0)
    compiled = CentredRMSprop(a, compile=True, **SETTINGS)
    graphs = torch._dynamo.utils.counters["stats"]["unique_graphs"]
    eager = CentredRMSprop(b, **SETTINGS)
    return compiled, eager, a, b, graphs


def test_compiled_step_is_the_eager_step(compiled_pair):
    compiled, eager, a, b, _ = compiled_pair
    assert compiled.compiled and not eager.compiled
    assert all(torch.equal(p, q) for p, q in zip(a, b))  # compiling ran on copies: nothing moved
    assert all(float(s["square_avg"].abs().sum()) == 0.0 for s in compiled.state.values())
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        for p, q in zip(a, b):
            p.grad = torch.randn(p.shape, generator=gen).contiguous(memory_format=torch.channels_last) \
                if p.ndim == 4 else torch.randn(p.shape, generator=gen)
            q.grad = p.grad.clone()
        compiled.step()
        eager.step()
    moved = max(float((p - q0).detach().abs().max()) for p, q0 in zip(a, _nature_params(0)))
    assert moved > 1e-4  # three real steps of lr 2.5e-4 on unit gradients
    for p, q in zip(a, b):  # fused kernels may round differently, never by more than float32 noise
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-7)
    for key in ("grad_avg", "square_avg"):
        for p, q in zip(a, b):
            torch.testing.assert_close(compiled.state[p][key], eager.state[q][key], rtol=1e-5, atol=1e-7)


def test_compiling_happens_before_the_first_real_step(compiled_pair):
    # the warm-up compiled exactly the graph the real steps use: stepping compiles nothing more, so a run's
    # training clock (started after the optimizer is built) never includes the compile
    compiled, _, a, _, graphs = compiled_pair
    for p in a:
        p.grad = torch.ones_like(p)
    compiled.step()
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] == graphs


def test_compiled_optimizer_round_trips_a_checkpoint(compiled_pair):
    compiled, _, a, _, _ = compiled_pair
    params = _nature_params(0)
    resumed = CentredRMSprop(params, compile=True, **SETTINGS)  # the compiled update is built once per process
    assert resumed.compiled  # a second compiled optimizer in one process compiles too
    resumed.load_state_dict(compiled.state_dict())
    for p, q in zip(params, a):
        assert torch.equal(resumed.state[p]["square_avg"], compiled.state[q]["square_avg"])


def test_a_failing_compile_falls_back_to_eager_with_one_line(monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler found\nmore detail")

    monkeypatch.setattr(optim, "_compiled", {})
    monkeypatch.setattr(torch, "compile", lambda fn: broken)
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = CentredRMSprop([p], lr=0.1, decay=0.9, eps=0.01, compile=True)
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: torch.compile of the centred RMSProp step failed (RuntimeError: no C++ compiler found): "
                   "stepping eagerly (the same update, ~5x slower step; recorded in config.json as optimizer_step)"]
    assert not opt.compiled and p.tolist() == [1.0, -2.0]
    p.grad = torch.tensor([0.5, -1.0])
    opt.step()  # the eager update: tests/algorithms/test_dqn.py::test_centred_rmsprop_hand_computed's first step
    assert p.detach().tolist() == pytest.approx([1.0 - 0.1 * 0.5 / 0.0325 ** 0.5, -2.0 + 0.1 / 0.1 ** 0.5], rel=1e-6)

