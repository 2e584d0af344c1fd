"""DQN (Mnih et al. 2015): schedule, loss and optimizer against hand-computed numbers; short real runs."""

import dataclasses
import json
import math
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import ROOT, stop_after_checkpoint

from replication.algorithms import dqn
from replication.algorithms.dqn import DQNConfig, batch_to_device, epsilon_at, epsilon_greedy_logits, update_due
from replication.algorithms.replay import ReplayBuffer
from replication.core.errors import UserError
from replication.core.losses import td_loss
from replication.core.optim import CentredRMSprop
from replication.envs.atari import AtariConfig
from replication.envs.evaluate import EvalConfig
from replication.runs.training import TrainingRun


def test_defaults_are_the_nature_settings():
    c = DQNConfig()
    assert (c.replay_capacity, c.replay_start_agent_steps, c.batch_size, c.update_every_agent_steps) == \
        (1_000_000, 50_000, 32, 4)
    assert (c.target_update_agent_steps, c.epsilon_start, c.epsilon_end, c.epsilon_decay_agent_steps) == \
        (10_000, 1.0, 0.1, 1_000_000)
    assert (c.gamma, c.learning_rate, c.rmsprop_decay, c.rmsprop_eps, c.td_error_clip, c.eval_epsilon) == \
        (0.99, 0.00025, 0.95, 0.01, 1.0, 0.05)
    assert c.network == "nature"


@pytest.mark.parametrize("change,key", [
    ({"replay_start_agent_steps": 10, "replay_capacity": 10}, "replay_start_agent_steps"),
    ({"network": "resnet"}, "network"),
    ({"epsilon_end": 1.5}, "epsilon_end"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_hyperparameters_raise_user_error(change, key):
    with pytest.raises(UserError, match=key):
        DQNConfig(**change)


def test_epsilon_schedule():
    c = DQNConfig(replay_start_agent_steps=0, epsilon_decay_agent_steps=1000)
    assert epsilon_at(0, c) == 1.0
    assert epsilon_at(500, c) == pytest.approx(0.55)
    assert epsilon_at(1000, c) == pytest.approx(0.1)
    assert epsilon_at(5000, c) == pytest.approx(0.1)
    # the Nature settings: the annealing clock starts at the replay start (release code eGreedy)
    d = DQNConfig()
    assert epsilon_at(0, d) == 1.0 and epsilon_at(50_000, d) == 1.0
    assert epsilon_at(550_000, d) == pytest.approx(0.55)
    assert epsilon_at(1_050_000, d) == pytest.approx(0.1) and epsilon_at(10**8, d) == pytest.approx(0.1)


def test_updates_every_4_agent_steps_after_replay_start():
    c = DQNConfig(replay_start_agent_steps=200, replay_capacity=2000)
    due = [t for t in range(1, 1001) if update_due(t, min(t, 2000), c)]
    assert due[0] == 204 and len(due) == (1000 - 200) // 4 and all(t % 4 == 0 for t in due)


def test_huber_td_loss_hand_computed():
    q = torch.tensor([[1.0, 2.0], [0.5, -1.0], [0.0, 0.0]], requires_grad=True)
    actions = torch.tensor([1, 0, 1])
    rewards = torch.tensor([1.0, 0.0, -1.0])
    next_q = torch.tensor([[3.0, 0.0], [2.0, 4.0], [10.0, 10.0]], requires_grad=True)
    dones = torch.tensor([0.0, 0.0, 1.0])
    loss = td_loss(q, actions, rewards, next_q, dones, gamma=0.5, clip=1.0)
    # targets 1 + 0.5*3 = 2.5, 0 + 0.5*4 = 2.0, -1 (terminal); TD errors Q - y = -0.5, -1.5, 1.0
    # Huber: 0.5*0.25 + (1.5 - 0.5) + 0.5*1 = 1.625, summed over the minibatch
    assert float(loss.detach()) == pytest.approx(1.625)
    loss.backward()
    # the gradient is the TD error clipped to [-1, 1], on the taken action only; none into the target
    assert torch.allclose(q.grad, torch.tensor([[0.0, -0.5], [-1.0, 0.0], [0.0, 1.0]]))
    assert next_q.grad is None


def test_centred_rmsprop_hand_computed():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = CentredRMSprop([p], lr=0.1, decay=0.9, eps=0.01)
    p.grad = torch.tensor([0.5, -1.0])
    opt.step()
    # g = 0.1 d = [0.05, -0.1]; g2 = 0.1 d^2 = [0.025, 0.1]; g2 - g^2 + 0.01 = [0.0325, 0.1]
    expected = [1.0 - 0.1 * 0.5 / math.sqrt(0.0325), -2.0 + 0.1 * 1.0 / math.sqrt(0.1)]
    assert p.detach().tolist() == pytest.approx(expected, rel=1e-6)
    p.grad = torch.tensor([-0.5, 0.5])
    opt.step()
    # g = 0.9 g + 0.1 d = [-0.005, -0.04]; g2 = 0.9 g2 + 0.1 d^2 = [0.0475, 0.115]
    # g2 - g^2 + 0.01 = [0.057475, 0.1234]
    expected = [expected[0] + 0.1 * 0.5 / math.sqrt(0.057475), expected[1] - 0.1 * 0.5 / math.sqrt(0.1234)]
    assert p.detach().tolist() == pytest.approx(expected, rel=1e-6)
    # the state round-trips through a checkpoint
    opt2 = CentredRMSprop([p], lr=0.1, decay=0.9, eps=0.01)
    opt2.load_state_dict(opt.state_dict())
    assert torch.equal(opt2.state[p]["square_avg"], opt.state[p]["square_avg"])


def test_eval_policy_logits_are_epsilon_greedy():
    logits = epsilon_greedy_logits(torch.tensor([[1.0, 3.0, 2.0], [0.0, -1.0, -2.0]]), 0.3)
    assert torch.allclose(torch.softmax(logits, -1), torch.tensor([[0.1, 0.8, 0.1], [0.8, 0.1, 0.1]]))
    assert logits.argmax(-1).tolist() == [1, 0]
    greedy = torch.softmax(epsilon_greedy_logits(torch.tensor([[1.0, 3.0]]), 0.0), -1)
    assert greedy.tolist() == [[0.0, 1.0]]


def test_packed_transfer_equals_plain():
    buf = ReplayBuffer(50, seed=0)
    rng = np.random.default_rng(0)
    buf.add_first(rng.integers(0, 256, (84, 84), dtype=np.uint8))
    for t in range(60):
        buf.add(t % 6, (-1.0, 0.0, 1.0)[t % 3], t % 11 == 10, rng.integers(0, 256, (84, 84), dtype=np.uint8),
                next_is_first=t % 11 == 10)
    batch = buf.sample(32)
    plain = batch_to_device(batch, torch.device("cpu"))
    packed = batch_to_device(batch, torch.device("cpu"), pack=True)
    for a, b in zip(plain, packed):
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b)


# -- short real runs --------------------------------------------------------------------------------------------
TOTAL_FRAMES = 4000  # 1000 agent steps
HYPER = DQNConfig(replay_capacity=2000, replay_start_agent_steps=200, target_update_agent_steps=100,
                  epsilon_decay_agent_steps=400)


def make_run(out, total_frames=TOTAL_FRAMES):
    """A ``TrainingRun`` built as ``replication.config.launch.make_run`` builds one from a resolved config."""
    env, ev = AtariConfig(max_episode_frames=400, num_threads=1), EvalConfig(episodes=2, max_frames=400)
    resolved = {"group": "dqn", "game": "pong", "workers": 1, "seed": 0, "total_frames": total_frames,
                "device": "cpu", "checkpoint_every_frames": 10**9, "log_every_updates": 25,
                "env": dataclasses.asdict(env), "eval": dataclasses.asdict(ev), "hyper": dataclasses.asdict(HYPER)}
    return TrainingRun(dir=out, group="dqn", game="pong", workers=1, seed=0, total_frames=total_frames,
                       device=torch.device("cpu"), env=env, eval=ev, hyper=HYPER, checkpoint_every_frames=10**9,
                       log_every_updates=25, resolved=resolved)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two runs with seed 0, recording the agent steps at which the target network was copied."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    syncs = []
    original = dqn.DQNAgent.sync_target
    try:
        with pytest.MonkeyPatch.context() as mp:
            dirs = []
            for name in ("a", "b"):
                out = tmp_path_factory.mktemp(name)
                run = make_run(out)
                calls = []
                syncs.append(calls)

                def spy(agent, run=run, calls=calls):
                    calls.append(run.agent_steps)
                    original(agent)

                mp.setattr(dqn.DQNAgent, "sync_target", spy)
                dqn.train(run)
                dirs.append(out)
    finally:
        torch.set_num_threads(threads)
    return dirs, syncs


def test_run_directory_and_update_count(two_runs):
    (a, _), _ = two_runs
    done = json.loads((a / "done.json").read_text())
    assert done["frames"] == TOTAL_FRAMES and done["agent_steps"] == TOTAL_FRAMES // 4
    assert done["updates"] == (TOTAL_FRAMES // 4 - HYPER.replay_start_agent_steps) // HYPER.update_every_agent_steps
    up = pd.read_csv(a / "updates.csv")
    assert up["loss_value"].notna().all() and up["loss_policy"].isna().all() and (up["learning_rate"] == 0.00025).all()
    ev = pd.read_csv(a / "eval.csv")
    assert len(ev) == 2 and (ev["frames"] == TOTAL_FRAMES).all()
    assert json.loads((a / "config.json").read_text())["optimizer_step"] == "eager"
    ckpt = torch.load(a / "checkpoint.pt", weights_only=False)
    assert any(k.startswith("target.") for k in ckpt["model"]) and any(k.startswith("online.") for k in ckpt["model"])


def test_target_copied_every_target_update_agent_steps(two_runs):
    _, syncs = two_runs
    period = HYPER.target_update_agent_steps
    assert syncs[0] == list(range(period, TOTAL_FRAMES // 4 + 1, period))


def test_same_seed_same_episodes(two_runs):
    (a, b), _ = two_runs
    ea = pd.read_csv(a / "episodes.csv").drop(columns="wall_time_s")
    eb = pd.read_csv(b / "episodes.csv").drop(columns="wall_time_s")
    assert len(ea) >= 5
    pd.testing.assert_frame_equal(ea, eb)
    pd.testing.assert_frame_equal(pd.read_csv(a / "eval.csv"), pd.read_csv(b / "eval.csv"))
    ua = pd.read_csv(a / "updates.csv").drop(columns=["wall_time_s", "frames_per_s"])
    ub = pd.read_csv(b / "updates.csv").drop(columns=["wall_time_s", "frames_per_s"])
    pd.testing.assert_frame_equal(ua, ub)


def _interrupted_at_checkpoint(out, checkpoint_every_frames):
    """Train ``make_run(out)`` until its first checkpoint, then stop as SIGTERM would (a KeyboardInterrupt)."""
    run = make_run(out)
    run.checkpoint_every_frames = run._next_ckpt = checkpoint_every_frames
    original = run.save_checkpoint

    def save_then_stop(**kwargs):
        original(**kwargs)
        raise KeyboardInterrupt

    run.save_checkpoint = save_then_stop
    with pytest.raises(KeyboardInterrupt):
        dqn.train(run)
    run._lock.close()  # the stopped process's end


def test_a_stopped_run_resumes_with_its_replay_memory(tmp_path):
    """Stopped at its 1,600-frame checkpoint (agent step 400) and resumed: the replay file written beside the
    checkpoint comes back, so learning goes on at once and the run makes the updates of an unstopped one, (1000 -
    200) / 4 = 200; its networks come back from the checkpoint. Without the file (deleted here, as if the process
    was killed between the two writes) the memory refills 200 transitions first: 50 + (1000 - 600) / 4 = 150
    updates, and config.json names the frames where the memory was emptied."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path / "kept"
        _interrupted_at_checkpoint(out, 1600)
        ckpt = torch.load(out / "checkpoint.pt", weights_only=False)
        assert ckpt["counters"]["frames"] == 1600 and ckpt["counters"]["replay_file"] == "replay_f1600.npz"
        assert (out / "replay_f1600.npz").is_file()
        lost = tmp_path / "lost"
        shutil.copytree(out, lost)
        (lost / "replay_f1600.npz").unlink()

        resumed, loaded = make_run(out), {}
        original_start = resumed.start

        def start(model, optimizer, policy, replay=None):
            original_start(model, optimizer, policy, replay)
            loaded.update({k: v.clone() for k, v in model.state_dict().items()})
            loaded["replay_held"] = len(replay)

        resumed.start = start
        dqn.train(resumed)
        dqn.train(make_run(lost))
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(loaded[k], ckpt["model"][k]) for k in ckpt["model"])
    assert loaded["replay_held"] == 400 and resumed.replay_restored is True
    done = json.loads((out / "done.json").read_text())
    assert done["frames"] == TOTAL_FRAMES and done["resumes"] == 1 and done["updates"] == 200
    assert json.loads((out / "config.json").read_text())["replay_emptied_at_frames"] == []
    assert not list(out.glob("replay_f*"))  # a finished run keeps no replay file
    assert json.loads((lost / "done.json").read_text())["updates"] == 150
    assert json.loads((lost / "config.json").read_text())["replay_emptied_at_frames"] == [1600]
    for d in (out, lost):
        ep = pd.read_csv(d / "episodes.csv")
        assert ep["frames"].is_monotonic_increasing


@pytest.mark.slow
def test_sigterm_then_rerun_through_the_cli_keeps_the_replay(tmp_path):
    """``python -m replication.train`` as a long run's Snakemake job runs it: SIGTERM after the 1,600-frame
    checkpoint saves the replay memory with a checkpoint at the stop (exit status 143), and the rerun goes on with
    it: the updates of an unstopped run, (1000 - 200) / 4 = 200 (199 when the signal cut the agent step between
    its transition and its update), and no frames where the memory was emptied (an empty one: ~150)."""
    from replication.config.load import validate_config
    from replication.config.resolve import resolve_run

    cfg = validate_config({
        "games": ["pong"], "seeds": [0], "device": "cpu", "checkpoint_every_frames": 1600, "log_every_updates": 25,
        "env": {"max_episode_frames": 400}, "eval": {"episodes": 2, "max_frames": 400},
        "groups": {"dqn": {"workers": [1], "total_frames": TOTAL_FRAMES, "hyper": {
            k: getattr(HYPER, k) for k in ("replay_capacity", "replay_start_agent_steps", "target_update_agent_steps",
                                           "epsilon_decay_agent_steps")}}}})
    resolved = resolve_run(cfg, "dqn", "pong", 1, 0)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "replication.train", "--run-config", json.dumps(resolved), "--out", str(out),
           "--threads", "1"]
    returncode, err = stop_after_checkpoint(cmd, out)
    assert returncode == 143, err[-2000:]
    stopped = torch.load(out / "checkpoint.pt", weights_only=False)["counters"]
    assert stopped["replay_file"] == f"replay_f{stopped['frames']}.npz" and (out / stopped["replay_file"]).is_file()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((out / "done.json").read_text())["updates"] in (199, 200)
    assert json.loads((out / "config.json").read_text())["replay_emptied_at_frames"] == []


def test_a_compiled_optimizer_run_records_it(tmp_path):
    # the compiled centred-RMSProp step (tests/core/test_compiled_optimizer.py) in a short real run; config.json says
    # which step ran (the eager runs above record "eager")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run = make_run(tmp_path, total_frames=1200)
        run.compile_optimizer = True
        dqn.train(run)
    finally:
        torch.set_num_threads(threads)
    assert json.loads((tmp_path / "config.json").read_text())["optimizer_step"] == "compiled"
    assert json.loads((tmp_path / "done.json").read_text())["updates"] == (300 - HYPER.replay_start_agent_steps) // 4


def test_more_than_one_worker_is_a_user_error(tmp_path):
    run = make_run(tmp_path)
    run.workers = 2
    with pytest.raises(UserError, match="workers = 2"):
        dqn.train(run)
