"""A3C: Hogwild workers on one shared model, shared RMSProp, LSTM state handling, failure and interruption."""

import dataclasses
import functools
import json
import signal
import subprocess
import sys
import time

import pandas as pd
import psutil
import torch
import torch.multiprocessing as mp
import yaml

from conftest import ROOT
from replication.algorithms.a3c import A3CConfig, A3CLSTMConfig, WorkerSpec, build_model, rollout_loss, worker_main
from replication.core.networks import ActorCriticLSTM
from replication.core.optim import PaperRMSprop
from replication.envs.atari import AtariBatch, AtariConfig

SMALL = AtariConfig(max_episode_frames=80)


def test_shared_rmsprop_statistics_are_one_storage():
    """Two workers' optimizers over one shared model see each other's statistics and parameter updates."""
    model = build_model(A3CConfig(network="nips"), 6, 4)
    model.share_memory()
    parent = PaperRMSprop(model.parameters(), lr=0.01)
    shared = parent.share_memory()
    opts = []
    for _ in range(2):
        o = PaperRMSprop(model.parameters(), lr=0.01)
        o.use_square_avgs(shared)
        opts.append(o)
    p = next(model.parameters())
    assert all(o.state[p]["square_avg"].data_ptr() == shared[0].data_ptr() for o in opts)
    before = p.detach().clone()
    p.grad = torch.ones_like(p)
    opts[0].step()
    after_first = p.detach().clone()
    assert not torch.equal(before, after_first)
    g_after_first = shared[0].clone()
    assert torch.allclose(g_after_first, torch.full_like(p, 0.01))  # (1 - 0.99) * 1^2
    opts[1].step()  # the second worker's step uses (and updates) the g the first one left
    assert torch.allclose(shared[0], 0.99 * g_after_first + 0.01)
    assert not torch.equal(after_first, p.detach())


def test_hogwild_two_processes_update_the_shared_model():
    """Two real worker processes train one shared model: parameters and shared g change in the parent's memory. Each
    says it is ready and trains only after the parent's ``go`` (where the supervisor starts the training clock)."""
    hp = A3CConfig(network="nips")
    model = build_model(hp, 6, 4)
    opt = PaperRMSprop(model.parameters(), lr=hp.learning_rate)
    model.share_memory()
    square_avgs = opt.share_memory()
    initial = [p.detach().clone() for p in model.parameters()]
    counters = torch.zeros(2, 2, dtype=torch.int64).share_memory_()
    ctx = mp.get_context("spawn")
    stop, go, messages = ctx.Event(), ctx.Event(), ctx.Queue()
    specs = [WorkerSpec(worker=w, game="pong", env=SMALL, hyper=hp, seed=100 + w, total_frames=2000, base_frames=0,
                        learning_rate=1e-3, annealing_frames=2000, log_every_updates=10**9) for w in range(2)]
    procs = [ctx.Process(target=worker_main, args=(spec, model, square_avgs, counters, stop, messages, go),
                         daemon=True) for spec in specs]
    for p in procs:
        p.start()
    assert sorted(messages.get(timeout=120).worker for _ in procs) == [0, 1]  # both ReadyMessage first
    time.sleep(0.5)
    assert int(counters.sum()) == 0, "no worker trains before go"
    go.set()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0]
    assert (counters[:, 1] > 0).all(), "both workers applied updates"
    assert int(counters[:, 0].sum()) * 4 >= 2000
    assert any(not torch.equal(a, p.detach()) for a, p in zip(initial, model.parameters()))
    assert all(float(g.abs().sum()) > 0 for g in square_avgs)


def test_lstm_bptt_reaches_the_first_step_input():
    model = ActorCriticLSTM("nips", 6)
    obs = [torch.rand(1, 4, 84, 84, requires_grad=True) for _ in range(5)]
    state = model.initial_state(1)
    for o in obs:
        _, value, state = model(o, state)
    value.sum().backward()
    assert obs[0].grad is not None and obs[0].grad.abs().sum() > 0


def test_lstm_state_carried_detached_and_reset_at_episode_end():
    hp = A3CLSTMConfig(network="nips")
    torch.manual_seed(0)
    model = build_model(hp, 6, 4)
    env = AtariBatch("pong", 1, SMALL, seed=0)
    gen = torch.Generator().manual_seed(0)
    state = model.initial_state(1)
    saw_carry = saw_reset = False
    try:
        for _ in range(12):
            terms, new_state, transitions = rollout_loss(model, env, hp, state, gen)
            terms.total.backward()  # gradients stay inside this rollout (the incoming state was detached)
            if transitions[-1].done[0]:
                assert float(new_state[0].abs().sum()) == 0 and float(new_state[1].abs().sum()) == 0
                saw_reset = True
            else:
                assert len(transitions) == hp.rollout_length
                assert float(new_state[0].detach().abs().sum()) > 0
                assert new_state[0].grad_fn is not None  # still attached to this rollout's graph
                saw_carry = True
            state = new_state
    finally:
        env.close()
    assert saw_carry and saw_reset


def _config(tmp_path, group="a3c_ff", total=200_000, workers=2, log_every_updates=20, eval_every_frames=None):
    every = {"every_frames": eval_every_frames} if eval_every_frames else {}
    cfg = {"games": ["pong"], "seeds": [0], "device": "cpu", "checkpoint_every_frames": 2000,
           "log_every_updates": log_every_updates, "env": {"max_episode_frames": 400},
           "eval": {"episodes": 2, "max_frames": 400, **every},
           "groups": {group: {"workers": [workers], "total_frames": total, "hyper": {"network": "nips"}}}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return ["--configfile", str(path), "--group", group, "--game", "pong", "--workers", str(workers), "--seed", "0",
            "--threads", "1"]


def _start(tmp_path, out, **kw):
    cmd = [sys.executable, "-m", "replication.train", *_config(tmp_path, **kw), "--out", str(out)]
    return cmd, subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for(path, timeout=300):
    deadline = time.time() + timeout
    while not path.exists():
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.2)


def _workers(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def test_a_dead_worker_fails_the_run_promptly_without_orphans(tmp_path):
    out = tmp_path / "run"
    _, proc = _start(tmp_path, out)
    _wait_for(out / "updates.csv")
    time.sleep(2)
    kids = [k for k in _workers(proc.pid) if "python" in k.name()]
    victims = [k for k in kids if "spawn_main" in " ".join(k.cmdline())]
    assert victims, [k.cmdline() for k in kids]
    victims[0].send_signal(signal.SIGKILL)
    t0 = time.time()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode not in (0, None)
    assert time.time() - t0 < 30
    assert "died with exit code -9" in err
    time.sleep(1)
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kids)
    assert not (out / "done.json").exists()


def test_sigterm_leaves_a_checkpoint_and_a_rerun_finishes(tmp_path):
    out = tmp_path / "run"
    cmd, proc = _start(tmp_path, out, group="a3c_lstm", total=12_000)
    _wait_for(out / "checkpoint.pt")
    kids = _workers(proc.pid)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    time.sleep(1)
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kids)
    ckpt = torch.load(out / "checkpoint.pt", weights_only=False)
    assert ckpt["counters"]["frames"] > 0
    r = subprocess.run(cmd + ["--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    done = json.loads((out / "done.json").read_text())
    assert done["frames"] >= 12_000 and done["resumes"] == 1
    ep = pd.read_csv(out / "episodes.csv")
    assert ep["frames"].is_monotonic_increasing and set(ep["worker"]) == {0, 1}
    assert len(pd.read_csv(out / "eval.csv")) == 2


def test_workers_that_never_leave_the_queue_idle_still_get_evaluated_and_checkpointed(tmp_path):
    # a message every update (5 agent steps) keeps the supervisor's queue busy: the mid-run evaluations and
    # checkpoints must not wait for it to go quiet
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "replication.train", *_config(tmp_path, total=24_000, log_every_updates=1,
                                                                eval_every_frames=8_000), "--out", str(out)]
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    evaluated_at = sorted(set(pd.read_csv(out / "eval.csv")["frames"]))
    assert len(evaluated_at) >= 3 and evaluated_at[0] < 16_000, evaluated_at


def test_a_worker_that_raises_fails_the_run_with_its_error(tmp_path, monkeypatch, capsys):
    """A worker that raises (injected through its ``WorkerSpec``) fails the run: exit status 3, one line naming it."""
    from replication.algorithms import registry
    from replication.cli.train import main

    spec = registry.ALGORITHMS["a3c_ff"]
    monkeypatch.setitem(registry.ALGORITHMS, "a3c_ff",
                        dataclasses.replace(spec, train=functools.partial(spec.train, raise_at_update=3)))
    out = tmp_path / "run"
    threads = torch.get_num_threads()
    t0 = time.time()
    try:
        code = main([*_config(tmp_path), "--out", str(out)])
    finally:
        torch.set_num_threads(threads)
    assert code == 3
    assert "error: worker 0 failed: RuntimeError: injected failure at update 3" in capsys.readouterr().err
    assert time.time() - t0 < 120  # seconds after start-up, not the 200k-frame budget
    assert not (out / "done.json").exists()


def test_one_worker_same_seed_same_episodes(tmp_path):
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        r = subprocess.run([sys.executable, "-m", "replication.train", *_config(tmp_path, total=6000, workers=1),
                            "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr
    a, b = (pd.read_csv(o / "episodes.csv").drop(columns="wall_time_s") for o in outs)
    assert len(a) >= 2
    pd.testing.assert_frame_equal(a, b)
