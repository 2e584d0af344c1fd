"""bf16 autocast (the opt-in ``precision`` key) leaves A2C's learning unchanged: same losses and the same
parameter trajectory as fp32, within bf16's rounding, on real Pong observations."""

import numpy as np
import pytest
import torch

from replication.core.errors import UserError
from replication.core.losses import actor_critic_loss
from replication.core.networks import ActorCritic
from replication.core.optim import PaperRMSprop
from replication.core.precision import autocast
from replication.envs.atari import AtariBatch, AtariConfig


def _pong_batch(n=8, agent_steps=40):
    env = AtariBatch("pong", n, AtariConfig(num_threads=1), seed=3)
    rng = np.random.default_rng(0)
    for _ in range(agent_steps):
        env.step(rng.integers(0, env.num_actions, n))
    obs = torch.from_numpy(env.obs.copy())
    env.close()
    return obs, env.num_actions


def _train(precision, obs, num_actions, updates=10):
    torch.manual_seed(0)
    model = ActorCritic("nips", num_actions, init="orthogonal")
    start = torch.cat([p.detach().flatten() for p in model.parameters()])
    opt = PaperRMSprop(model.parameters(), lr=7e-4, eps=1e-5, square_avg_init=1.0)
    gen = torch.Generator().manual_seed(1)
    actions = torch.randint(0, num_actions, (len(obs),), generator=gen)
    returns = torch.rand(len(obs), generator=gen) * 2 - 1
    losses = []
    for _ in range(updates):
        with autocast("cpu", precision):
            logits, value = model(obs)
        terms = actor_critic_loss(logits.float(), value.float(), actions, returns, 0.01, 0.5)
        opt.zero_grad()
        terms.total.backward()
        opt.step()
        losses.append((float(terms.total.detach()), float(terms.value.detach())))
    return np.array(losses), start, torch.cat([p.detach().flatten() for p in model.parameters()])


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a batch of 8: more threads would only contend on a small host
    yield
    torch.set_num_threads(threads)


def test_bf16_autocast_follows_the_fp32_learning_trajectory(one_thread):
    obs, num_actions = _pong_batch()
    loss32, start, params32 = _train("fp32", obs, num_actions)
    loss16, _, params16 = _train("bf16", obs, num_actions)
    assert loss32[-1, 1] < loss32[0, 1]  # the value head fits the fixed batch's returns
    np.testing.assert_allclose(loss16, loss32, rtol=0.05, atol=0.01)
    moved = (params32 - start).norm()
    assert (params16 - params32).norm() < 0.1 * moved  # the two runs moved the same way


def test_unknown_precision_is_a_user_error():
    with pytest.raises(UserError, match="unknown precision 'fp16'; accepted: fp32, bf16"):
        autocast("cpu", "fp16")
    from replication.config.load import validate_config

    with pytest.raises(UserError, match="fp16"):
        validate_config({"games": ["pong"], "precision": "fp16",
                         "groups": {"a2c": {"workers": [2], "total_frames": 100}}})


def test_a_bf16_run_records_what_it_trained_at(tmp_path):
    """``precision: bf16`` on a CPU without native bf16 trains in fp32 with one warning line; config.json records
    both the requested and the effective precision (on a CPU with AVX512-BF16/AMX it trains in bf16)."""
    import json
    import subprocess
    import sys

    from conftest import ROOT
    from replication.core.precision import effective_precision

    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("games: [pong]\nseeds: [0]\ndevice: cpu\nprecision: bf16\nenv: {max_episode_frames: 400}\n"
                   "eval: {episodes: 1, max_frames: 200}\ngroups: {a2c: {workers: [2], total_frames: 400}}\n")
    r = subprocess.run([sys.executable, "-m", "replication.train", "--configfile", str(cfg), "--group", "a2c", "--game",
                        "pong", "--workers", "2", "--seed", "0", "--out", str(tmp_path / "run"), "--threads", "1"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    recorded = json.loads((tmp_path / "run" / "config.json").read_text())
    expected, note = effective_precision("bf16", "cpu")
    assert (recorded["precision"], recorded["precision_requested"]) == (expected, "bf16")
    assert (f"warning: {note}" in r.stderr) == bool(note)
