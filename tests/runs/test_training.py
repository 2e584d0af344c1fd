"""Short real A2C runs: determinism, resume after SIGKILL, the run-directory contract."""

import json
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import yaml

from conftest import ROOT, start_train

TINY = {
    "games": ["pong"], "seeds": [0], "device": "cpu", "checkpoint_every_frames": 800, "log_every_updates": 2,
    "env": {"max_episode_frames": 400},
    "eval": {"episodes": 2, "max_frames": 400},
    "groups": {"a2c": {"workers": [4], "total_frames": 3200}},
}


def write_config(tmp_path, **changes):
    cfg = json.loads(json.dumps(TINY))
    for k, v in changes.items():
        cfg[k] = v
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def train(cfg_path, out, *extra):
    return subprocess.run([sys.executable, "-m", "replication.train", "--configfile", str(cfg_path), "--group", "a2c",
                           "--game", "pong", "--workers", "4", "--seed", "0", "--out", str(out), "--threads", "1",
                           *extra], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_run_directory_contract(tmp_path):
    cfg = write_config(tmp_path, eval={"episodes": 2, "max_frames": 400, "every_frames": 1600}, tensorboard=True)
    out = tmp_path / "run"
    r = train(cfg, out)
    assert r.returncode == 0, r.stderr
    for name in ("config.json", "episodes.csv", "updates.csv", "eval.csv", "checkpoint.pt", "done.json"):
        assert (out / name).exists(), name
    done = json.loads((out / "done.json").read_text())
    assert done["frames"] == 3200 and done["agent_steps"] * 4 == done["frames"]
    assert 0.0 <= done["cpu_steal"] <= 1.0  # this host's CPU time the hypervisor took while the run trained
    ep = pd.read_csv(out / "episodes.csv")
    assert list(ep.columns) == ["frames", "agent_steps", "wall_time_s", "worker", "episode_return", "episode_length"]
    assert len(ep) >= 4 and (ep["frames"] == 4 * ep["agent_steps"]).all()
    assert set(ep["worker"]) <= {0, 1, 2, 3}
    ev = pd.read_csv(out / "eval.csv")
    assert (ev["protocol"] == "noop30_400f_sampled").all()
    assert list(ev["frames"]) == [1600, 1600, 3200, 3200]  # every_frames, then the final evaluation
    up = pd.read_csv(out / "updates.csv")
    assert list(up.columns) == ["frames", "updates", "wall_time_s", "loss_policy", "loss_value", "entropy",
                                "grad_norm", "learning_rate", "frames_per_s"]
    assert up["learning_rate"].is_monotonic_decreasing
    config = json.loads((out / "config.json").read_text())
    assert config["hyper"]["rollout_length"] == 5 and config["versions"]["torch"].startswith("2.13.0")
    # the optional TensorBoard event files mirror the CSV logs, with frames as the step
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tb = EventAccumulator(str(out / "tensorboard"))
    tb.Reload()
    returns = tb.Scalars("train/episode_return")
    assert [e.step for e in returns] == list(ep["frames"])
    assert [e.value for e in returns] == pytest.approx(list(ep["episode_return"]))
    assert [e.step for e in tb.Scalars("train/entropy")] == list(up["frames"])
    evals = tb.Scalars("eval/episode_return_mean")
    assert [e.step for e in evals] == [1600, 3200]
    assert evals[1].value == pytest.approx(ev[ev["frames"] == 3200]["episode_return"].mean())
    # a finished run is a no-op unless forced
    mtime = (out / "done.json").stat().st_mtime
    again = train(cfg, out)
    assert again.returncode == 0 and "already finished" in again.stderr
    assert (out / "done.json").stat().st_mtime == mtime


def test_same_seed_same_episodes(tmp_path):
    cfg = write_config(tmp_path)
    a, b = tmp_path / "a", tmp_path / "b"
    assert train(cfg, a).returncode == 0
    assert train(cfg, b).returncode == 0
    ea = pd.read_csv(a / "episodes.csv").drop(columns="wall_time_s")
    eb = pd.read_csv(b / "episodes.csv").drop(columns="wall_time_s")
    assert len(ea) > 0
    pd.testing.assert_frame_equal(ea, eb)
    pd.testing.assert_frame_equal(pd.read_csv(a / "eval.csv"), pd.read_csv(b / "eval.csv"))


def test_sigkill_then_rerun_resumes_without_duplicate_rows(tmp_path):
    cfg = write_config(tmp_path, checkpoint_every_frames=4000,
                       groups={"a2c": {"workers": [4], "total_frames": 40000}})
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "replication.train", "--configfile", str(cfg), "--group", "a2c", "--game", "pong",
           "--workers", "4", "--seed", "0", "--out", str(out), "--threads", "1"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # let it log past the checkpoint, so the resume has rows to cut
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "done.json").exists()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    done = json.loads((out / "done.json").read_text())
    assert done["frames"] == 40000 and done["resumes"] == 1
    for name in ("episodes.csv", "updates.csv"):
        df = pd.read_csv(out / name)
        assert df["frames"].is_monotonic_increasing, name
    up = pd.read_csv(out / "updates.csv")
    assert up["updates"].is_unique and (up["updates"].diff().dropna() == 2).all()
    assert up["updates"].iloc[-1] == 40000 // (4 * 4 * 5)


@pytest.mark.parametrize("change,needle", [
    ({"games": ["pongg"]}, "unknown game id 'pongg'"),
    ({"groups": {"a3x": {"workers": [1], "total_frames": 10}}}, "a3x"),
    ({"groups": {"a2c": {"workers": [4], "total_frames": "many"}}}, "total_frames"),
    ({"groups": {"a2c": {"workers": [4], "total_frames": 10, "hyper": {"gamma": "high"}}}}, "groups.a2c.hyper.gamma"),
    ({"groups": {"a2c": {"workers": [0], "total_frames": 10}}}, "workers"),
    ({"groups": {"a2c": {"workers": [4], "total_frames": -5}}}, "total_frames"),
    ({"env": {"frame_skip": "four"}}, "env.frame_skip"),
    ({"groups": {"a2c": {"workers": [4], "total_frames": 10, "hyper": {"env_groups": 3}}}}, "env_groups = 3"),
    ({"device": "cuda"} if not __import__("torch").cuda.is_available() else {"device": "tpu"}, "device"),
])
def test_bad_config_is_one_line_error(tmp_path, change, needle):
    cfg = write_config(tmp_path, **change)
    r = train(cfg, tmp_path / "run")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], r.stderr
    assert "Traceback" not in r.stderr
    assert not (tmp_path / "run").exists()


def test_unknown_group_on_the_command_line(tmp_path):
    cfg = write_config(tmp_path)
    r = subprocess.run([sys.executable, "-m", "replication.train", "--configfile", str(cfg), "--group", "a3x",
                        "--game", "pong", "--workers", "4", "--seed", "0", "--out", str(tmp_path / "run")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and "run group 'a3x' is not configured in" in r.stderr and "accepted: a2c" in r.stderr
    assert "Traceback" not in r.stderr


def test_interrupted_rollout_is_not_counted_in_the_checkpoint(tmp_path):
    from replication.config.resolve import resolve_run
    from replication.config.load import validate_config
    from replication.config.launch import make_run

    cfg = validate_config(json.loads(json.dumps(TINY)))
    run, _ = make_run(resolve_run(cfg, "a2c", "pong", 4, 0), tmp_path / "run")
    run.set_counters(800, 200, 10)
    with run.rollout():  # a completed rollout keeps its counts
        run.count_agent_steps(4, 4)
    assert (run.frames, run.agent_steps, run.updates) == (816, 204, 10)
    with pytest.raises(KeyboardInterrupt):
        with run.rollout():
            run.count_agent_steps(4, 4)
            raise KeyboardInterrupt  # SIGTERM arrives as an exception the same way
    assert (run.frames, run.agent_steps, run.updates) == (816, 204, 10)


def test_env_groups_overlap_is_the_same_algorithm(tmp_path):
    # two groups of 2 environments, each stepping while the other's forward runs, give the same actions and
    # losses as one lockstep batch of 4 (same per-environment seeds, same sampling order)
    logs = []
    for groups in (1, 2):
        d = tmp_path / f"g{groups}"
        d.mkdir()
        cfg = write_config(d, log_every_updates=1,
                           groups={"a2c": {"workers": [4], "total_frames": 480, "hyper": {"env_groups": groups}}})
        r = train(cfg, d / "run")
        assert r.returncode == 0, r.stderr
        assert json.loads((d / "run" / "config.json").read_text())["hyper"]["env_groups"] == groups
        logs.append(pd.read_csv(d / "run" / "updates.csv"))
    one, two = logs
    assert len(one) == 6 and list(one["frames"]) == list(two["frames"])
    for col in ("loss_policy", "loss_value", "entropy", "grad_norm"):
        assert two[col].to_numpy() == pytest.approx(one[col].to_numpy(), rel=1e-4), col


def test_a_second_process_cannot_train_into_a_busy_run_directory(tmp_path):
    """Two trainings in one directory would interleave logs and checkpoints: the second is refused in one line,
    and the first finishes untouched."""
    cfg = write_config(tmp_path, groups={"a2c": {"workers": [4], "total_frames": 40_000}})
    out = tmp_path / "run"
    first = start_train(cfg, out, workers=4)
    try:
        deadline = time.time() + 120
        while not (out / "config.json").exists() and time.time() < deadline:
            time.sleep(0.2)
        second = train(cfg, out)
        assert second.returncode == 2
        assert second.stderr.count("\n") == 1 and "is in use by another training process (pid" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=120)
    assert first.returncode == 143  # checkpointed on SIGTERM, so the lock's holder kept its directory
    import torch

    held = torch.load(out / "checkpoint.pt", weights_only=False)["counters"]["frames"]  # a budget below is refused
    third = train(cfg, out, "--total-frames", str(max(held, 3200)))  # the lock went with the process: a rerun resumes
    assert third.returncode == 0, third.stderr[-2000:]
