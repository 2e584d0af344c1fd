"""Learning parity with Stable-Baselines3: the verdict math, the settings mapping, and real tiny runs of both
sides into the run-directory contract (ours and the peer), resumed and tabulated."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import ROOT, stop_after_checkpoint

from replication.algorithms.a2c import A2CConfig
from replication.core.errors import UserError
from replication.core.optim import scheduled_lr
from replication.results.parity import final_window, parity_table, verdict
from replication.results.stats import stratified_difference_ci, stratified_mean_ci

sb3 = pytest.importorskip("stable_baselines3", reason="the peer needs the test extra's stable-baselines3")

ZOO = {"network": "nature", "init": "orthogonal", "learning_rate_per_env": 0.00004375, "lr_schedule": "constant",
       "rmsprop_eps": 0.00001, "rmsprop_square_avg_init": 1.0, "value_loss_weight": 0.25, "max_grad_norm": 0.5,
       "loss_scale": 1.0}
TINY = {
    "games": ["breakout"], "seeds": [0], "device": "cpu", "checkpoint_every_frames": 1600, "log_every_updates": 2,
    "env": {"terminal_on_life_loss": True, "fire_reset": True, "max_episode_frames": 2000},
    "eval": {"episodes": 2, "max_frames": 400},
    "groups": {"a2c": {"peer": True, "workers": [4], "total_frames": 4800, "hyper": ZOO}},
}


# -- pure parts -----------------------------------------------------------------------------------------------
def test_verdicts():
    rnd = 1.7
    peer_learned = (10.0, 8.0, 12.0)
    assert verdict((0.5, -1.0, 2.0), peer_learned, rnd) == "parity"
    assert verdict((3.0, 1.0, 5.0), peer_learned, rnd) == "ours ahead"
    assert verdict((-3.0, -5.0, -1.0), peer_learned, rnd) == "ours behind"
    # the peer's CI reaches random: agreement says nothing about learning, never "parity"
    assert verdict((0.0, -1.0, 1.0), (2.0, 1.5, 2.5), rnd) == "not informative"
    assert verdict((0.0, -1.0, 1.0), (2.0, 1.7, 2.5), rnd) == "not informative"
    assert verdict((0.0, float("nan"), float("nan")), peer_learned, rnd) == "not informative"


def test_final_window_keeps_the_last_tenth_of_the_budget():
    ep = pd.DataFrame({"frames": [100, 899, 900, 901, 1000], "episode_return": [1.0, 2.0, 3.0, 4.0, 5.0]})
    assert final_window(ep, 1000).tolist() == [4.0, 5.0]


def test_stratified_cis_weigh_runs_equally():
    a, b = np.array([1.0, 1.0, 1.0, 1.0]), np.array([3.0, 3.0])
    assert stratified_mean_ci([a, b]) == (2.0, 2.0, 2.0)  # (1 + 3) / 2, not the pooled 5/3
    m, lo, hi = stratified_mean_ci([np.array([0.0, 2.0, 4.0]), np.array([10.0, 12.0])])
    assert m == pytest.approx((2.0 + 11.0) / 2) and lo < m < hi
    d, lo, hi = stratified_difference_ci([np.array([5.0, 7.0])], [np.array([1.0, 3.0, 2.0])])
    assert d == pytest.approx(6.0 - 2.0) and lo <= d <= hi
    assert lo >= 5.0 - 3.0 and hi <= 7.0 - 1.0  # resampled means stay within each run's range
    with pytest.raises(ValueError):
        stratified_mean_ci([np.array([])])


def test_keep_other_pairs_puts_back_the_published_pairs_not_regenerated():
    from replication.results.parity import keep_other_pairs

    old_t = pd.DataFrame({"group": ["a2c", "a2c", "a2c", "dqn"], "game": ["qbert", "qbert", "seaquest", "pong"],
                          "seeds": ["0", "0 1", "0", "0"]})
    old_c = pd.DataFrame({"side": ["ours", "sb3", "ours", "sb3"], "group": ["a2c", "sb3_a2c", "dqn", "sb3_dqn"],
                          "game": ["qbert", "qbert", "pong", "pong"], "frames": [1, 1, 1, 1]})
    new_t = pd.DataFrame({"group": ["dqn", "dqn"], "game": ["pong", "pong"], "seeds": ["0", "1"], "extra": [1, 2]})
    new_c = pd.DataFrame({"side": ["ours", "sb3"], "group": ["dqn", "sb3_dqn"], "game": ["pong", "pong"],
                          "frames": [2, 2]})
    table, curves = keep_other_pairs(new_t, new_c, old_t, old_c)
    # the a2c pairs kept (their rows in order, no extra column: blank), every dqn/pong row replaced, peers' too
    assert table[["group", "game", "seeds"]].values.tolist() == [["a2c", "qbert", "0"], ["a2c", "qbert", "0 1"],
                                                                 ["a2c", "seaquest", "0"], ["dqn", "pong", "0"],
                                                                 ["dqn", "pong", "1"]]
    assert table["extra"].isna().tolist() == [True, True, True, False, False]
    assert curves[["group", "frames"]].values.tolist() == [["a2c", 1], ["dqn", 2], ["sb3_a2c", 1], ["sb3_dqn", 2]]


def test_half_gain_is_where_each_side_gets_halfway_to_the_peers_final_score():
    """Pong's random score is -20.7; a peer ending at -16.7 sets the mark halfway, -18.7: a curve reaches it at the end
    of its first bin at or above it; a row's value is the mean over its seeds, NaN if one never does, or if the peer
    ended at or below the random score."""
    from replication.results.parity import with_half_gain

    returns = {("dqn", 0): [-20, -18.7, -15], ("dqn", 1): [-20, -19, -17], ("sb3_dqn", 0): [-20, -19, -18.8],
               ("sb3_dqn", 1): [-18, -16, -15]}
    curves = pd.DataFrame([{"side": "sb3" if g.startswith("sb3_") else "ours", "group": g, "game": "pong",
                            "seed": seed, "frames": f, "episode_return": r}
                           for (g, seed), rs in returns.items() for f, r in zip((3e6, 1e6, 2e6), rs[2:] + rs[:2])])
    table = pd.DataFrame({"group": ["dqn"] * 4, "game": ["pong"] * 4, "seeds": ["0", "1", "0 1", "0"],
                          "random": [-20.7] * 4, "peer_mean": [-16.7, -16.7, -16.7, -20.9]})
    out = with_half_gain(table, curves)
    assert out["ours_half_gain_at"].iloc[:3].tolist() == [2e6, 3e6, 2.5e6]
    assert out["peer_half_gain_at"].iloc[1] == 1e6
    assert np.isnan(out["peer_half_gain_at"].iloc[0]) and np.isnan(out["peer_half_gain_at"].iloc[2])
    assert out.iloc[3][["ours_half_gain_at", "peer_half_gain_at"]].isna().all()  # the peer did not gain


def test_half_gain_is_not_timed_at_a_random_policys_lucky_first_bin():
    """Ours' DQN seed 1 on Pong: a first bin of -20.0 under a random policy, back to -20.8, then learning; the peer
    ended at -19.7, so the mark is -20.2 (random -20.7): timed after the curve's lowest bin (at 3M), not at 1M."""
    from replication.results.parity import with_half_gain

    curves = pd.DataFrame({"side": "ours", "group": "dqn", "game": "pong", "seed": 0,
                           "frames": [1e6, 2e6, 3e6, 4e6, 5e6], "episode_return": [-20.0, -20.8, -20.1, -20.4, -19.0]})
    table = pd.DataFrame({"group": ["dqn"], "game": ["pong"], "seeds": ["0"], "random": [-20.7],
                          "peer_mean": [-19.7]})
    assert with_half_gain(table, curves)["ours_half_gain_at"].iloc[0] == 3e6


def test_learning_rate_schedules():
    assert scheduled_lr("constant", 7e-4, 900, 1000) == 7e-4
    assert scheduled_lr("linear", 7e-4, 500, 1000) == pytest.approx(3.5e-4)
    with pytest.raises(UserError, match="lr_schedule 'cosine'"):
        scheduled_lr("cosine", 7e-4, 0, 1)
    with pytest.raises(UserError, match="accepted: linear, constant"):
        A2CConfig(lr_schedule="cosine")


def test_a2c_settings_map_onto_sb3():
    from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

    from replication.peers.sb3 import a2c_kwargs

    kw = a2c_kwargs(A2CConfig(**ZOO), 16, 1000)
    assert kw["learning_rate"] == pytest.approx(7e-4) and kw["n_steps"] == 5
    assert (kw["vf_coef"], kw["ent_coef"], kw["max_grad_norm"], kw["gae_lambda"]) == (0.25, 0.01, 0.5, 1.0)
    assert kw["policy_kwargs"]["optimizer_class"] is RMSpropTFLike
    assert kw["policy_kwargs"]["optimizer_kwargs"] == {"alpha": 0.99, "eps": 1e-5}
    assert kw["policy_kwargs"]["ortho_init"] is True
    own = {**ZOO, "lr_schedule": "linear", "lr_annealing_frames": 0}  # anneal over the run's own 1000 frames
    linear = a2c_kwargs(A2CConfig(**own), 16, 1000)["learning_rate"]
    assert linear(0.5) == pytest.approx(3.5e-4)  # SB3's progress_remaining clock = our frames / total_frames
    paac = a2c_kwargs(A2CConfig(**{**own, "lr_annealing_frames": 4000}), 16, 1000)["learning_rate"]
    assert paac(0.0) == pytest.approx(7e-4 * 0.75)  # the run's end is a quarter down PAAC's longer line
    with pytest.raises(UserError, match="network = 'nips'"):
        a2c_kwargs(A2CConfig(**{**ZOO, "network": "nips"}), 16, 1000)
    with pytest.raises(UserError, match="loss_scale = 5.0"):
        a2c_kwargs(A2CConfig(**{**ZOO, "loss_scale": 5.0}), 16, 1000)


def test_dqn_settings_map_onto_sb3():
    from replication.algorithms.dqn import DQNConfig
    from replication.peers.sb3 import dqn_kwargs

    hp = DQNConfig(network="nature", replay_capacity=1000, replay_start_agent_steps=100,
                   epsilon_decay_agent_steps=400)
    kw = dqn_kwargs(hp, 1000)
    assert kw["exploration_fraction"] == pytest.approx(0.5)  # SB3's own schedule, replaced in train_peer:
    from types import SimpleNamespace

    from replication.peers.sb3 import peer_epsilon_schedule

    model = SimpleNamespace(num_timesteps=0)
    schedule = peer_epsilon_schedule(model, hp)
    for agent_steps, epsilon in [(0, 1.0), (100, 1.0), (300, 0.55), (500, 0.1), (900, 0.1)]:
        model.num_timesteps = agent_steps  # ours: 1 until the replay start (100), then 1 -> 0.1 over 400 steps
        assert schedule(1.0 - agent_steps / 1000) == pytest.approx(epsilon)
    assert (kw["buffer_size"], kw["learning_starts"], kw["train_freq"]) == (1000, 100, 4)
    assert kw["policy_kwargs"]["optimizer_class"].__name__ == "CentredRMSprop"  # the peer steps with ours
    assert kw["policy_kwargs"]["optimizer_kwargs"] == {"decay": 0.95, "eps": 0.01 / 32 ** 2}
    with pytest.raises(UserError, match="network = 'nips'"):
        dqn_kwargs(DQNConfig(network="nips"), 1000)


def test_the_peers_dqn_step_on_the_mean_loss_is_ours_on_the_summed_loss():
    """SB3 averages the Huber loss over the minibatch, the release code (ours) sums it: our centred RMSProp at eps
    / B^2 on the mean takes the same steps as at eps on the sum (DQN_GAPS), over several steps, with small
    gradients where eps matters."""
    import torch
    import torch.nn.functional as F

    from replication.core.losses import td_loss
    from replication.core.optim import CentredRMSprop
    from replication.peers.sb3 import peer_rmsprop_eps

    assert peer_rmsprop_eps(0.01, 32) == pytest.approx(9.765625e-06)
    torch.manual_seed(0)
    B, A = 32, 4
    w_ours = (torch.randn(8, A) * 1e-3).requires_grad_()
    w_peer = w_ours.detach().clone().requires_grad_()
    ours = CentredRMSprop([w_ours], lr=2.5e-4, decay=0.95, eps=0.01)
    peer = CentredRMSprop([w_peer], lr=2.5e-4, decay=0.95, eps=peer_rmsprop_eps(0.01, B))
    for _ in range(5):
        x, actions = torch.randn(B, 8) * 1e-2, torch.randint(0, A, (B,))
        rewards, next_q, dones = torch.randn(B) * 1e-2, torch.randn(B, A) * 1e-2, torch.zeros(B)
        for w, opt, loss_of in ((w_ours, ours, lambda q: td_loss(q, actions, rewards, next_q, dones, 0.99)),
                                (w_peer, peer, lambda q: F.smooth_l1_loss(  # SB3 DQN.train's loss
                                    q.gather(1, actions[:, None]).squeeze(1),
                                    rewards + 0.99 * next_q.max(1).values))):
            opt.zero_grad()
            loss_of(x @ w).backward()
            opt.step()
    assert torch.allclose(w_ours, w_peer, rtol=1e-5, atol=1e-9)
    assert not torch.allclose(w_ours, torch.zeros_like(w_ours), atol=1e-4)  # it moved


def test_the_peers_frames_are_ours():
    """SB3's frame pipeline (MaxAndSkipEnv, then WarpFrame: OpenCV grayscale and INTER_AREA resize) and ale-py's
    (ours) give the same 84x84 frames on Pong, step for step over 200 agent steps of the same actions: the resize
    is not a protocol gap (measured: 0.2% of pixels differ, by 0.02 grey levels on average)."""
    import ale_py
    import gymnasium as gym
    from stable_baselines3.common.atari_wrappers import MaxAndSkipEnv, WarpFrame

    from replication.envs.atari import AtariConfig, make_vector_env

    gym.register_envs(ale_py)
    ours = make_vector_env("pong", 1, AtariConfig(frame_stack=1, noop_max=0, num_threads=1))
    peer = WarpFrame(MaxAndSkipEnv(gym.make("ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0), skip=4))
    ours.reset(seed=0)
    peer.reset(seed=0)
    actions = np.random.default_rng(0).integers(ours.single_action_space.n, size=200)
    try:
        diffs = []
        for a in actions:
            obs, *_ = ours.step(np.array([a]))
            peer_obs, *_ = peer.step(int(a))
            diffs.append(np.abs(obs[0, -1].astype(int) - peer_obs[..., 0].astype(int)))
    finally:
        ours.close()
        peer.close()
    diffs = np.stack(diffs)
    assert diffs.mean() < 0.1 and (diffs > 0).mean() < 0.01
    assert diffs.max() <= 32  # no frame out of step (a shifted frame differs by ~7 grey levels on average)


def test_peer_only_for_a2c_and_dqn():
    from replication.config.load import validate_config

    cfg = json.loads(json.dumps(TINY))
    cfg["groups"] = {"a3c_ff": {"peer": True, "workers": [1], "total_frames": 100}}
    with pytest.raises(UserError, match="groups.a3c_ff.peer: no SB3 peer for algorithm 'a3c_ff'"):
        validate_config(cfg)


# -- real runs ------------------------------------------------------------------------------------------------
def _cli(*args, timeout=600):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout)


@pytest.fixture(scope="module")
def both_sides(tmp_path_factory):
    """Ours and the peer, 4 envs, 4,800 frames on Breakout; the peer first stopped at 3,200 frames and resumed."""
    d = tmp_path_factory.mktemp("parity")
    cfg = d / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    ids = ["--group", "a2c", "--game", "breakout", "--workers", "4", "--seed", "0", "--threads", "1"]
    r = _cli("replication.train", "--configfile", str(cfg), *ids, "--out", str(d / "a2c"))
    assert r.returncode == 0, r.stderr[-2000:]
    from replication.config.resolve import resolve_run
    from replication.config.load import load_config

    resolved = resolve_run(load_config(cfg), "a2c", "breakout", 4, 0)
    short = {**resolved, "total_frames": 3200}
    r = _cli("replication.parity", "train", "--run-config", json.dumps(short), "--out", str(d / "sb3"),
             "--threads", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    (d / "sb3" / "done.json").unlink()  # as if it had been stopped after its 3,200-frame checkpoint
    r = _cli("replication.parity", "train", "--run-config", json.dumps(resolved), "--out", str(d / "sb3"),
             "--threads", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    return d


@pytest.mark.slow
def test_peer_writes_the_run_directory_contract(both_sides):
    run = both_sides / "sb3"
    cfg = json.loads((run / "config.json").read_text())
    assert (cfg["group"], cfg["algorithm"], cfg["resumes"]) == ("sb3_a2c", "a2c", 1)
    assert cfg["peer"]["library"] == "stable-baselines3" and cfg["peer"]["protocol_gaps"]
    done = json.loads((run / "done.json").read_text())
    assert done["frames"] >= 4800 and done["frames"] == 4 * done["agent_steps"]
    assert done["updates"] == done["agent_steps"] // (4 * 5)  # one update per 5-step rollout of 4 envs
    ep = pd.read_csv(run / "episodes.csv")
    assert list(ep.columns) == ["frames", "agent_steps", "wall_time_s", "worker", "episode_return", "episode_length"]
    assert len(ep) and ep["frames"].is_monotonic_increasing and (ep["frames"] % 4 == 0).all()
    assert set(ep["worker"]) <= {0, 1, 2, 3}
    up = pd.read_csv(run / "updates.csv")
    assert up["updates"].is_unique and up["updates"].is_monotonic_increasing  # the resume duplicated nothing
    assert np.allclose(up["learning_rate"], 0.00004375 * 4) and up["entropy"].between(0, np.log(4) + 1e-6).all()
    ev = pd.read_csv(run / "eval.csv")
    assert sorted(ev["frames"]) == [3200, 3200, done["frames"], done["frames"]]  # the first leg's final evaluation
    # is kept as an evaluation at 3,200 frames; the resumed run adds its own at the end


@pytest.mark.slow
def test_peer_refuses_another_runs_directory_and_changes_nothing(both_sides, tmp_path, capsys):
    """The finished peer run asked for with another entropy bonus: one line naming the key, exit status 2 (not
    "already finished"), every file byte-identical; as ``replication.cli.train`` refuses for our runs."""
    import shutil

    from replication.config.resolve import resolve_run
    from replication.config.load import load_config
    from replication.cli.parity import main

    d = tmp_path / "sb3"
    shutil.copytree(both_sides / "sb3", d)
    before = {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}
    resolved = resolve_run(load_config(both_sides / "cfg.yaml"), "a2c", "breakout", 4, 0)
    other = {**resolved, "hyper": {**resolved["hyper"], "entropy_beta": 0.02}}
    with pytest.raises(SystemExit) as e:
        main(["train", "--run-config", json.dumps(other), "--out", str(d), "--threads", "1"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert "holds another run (config.json): hyper.entropy_beta = 0.01 there, 0.02 requested" in err, err
    assert {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()} == before


@pytest.mark.slow
def test_parity_table_and_report_page(both_sides, tmp_path):
    from replication.results.aggregate import aggregate, read_run

    runs = [read_run(both_sides / "a2c"), read_run(both_sides / "sb3")]
    table = parity_table(runs)
    assert table[["group", "algorithm", "game", "seeds"]].values.tolist() == [["a2c", "a2c", "breakout", "0"]]
    assert table["random"].iloc[0] == pytest.approx(1.7)
    with pytest.raises(UserError, match="no \\(ours, sb3_\\*\\) pair"):
        parity_table(runs[:1])
    r = _cli("replication.parity", "table", "--out", str(tmp_path / "parity.csv"), str(both_sides / "a2c"),
             str(both_sides / "sb3"))
    assert r.returncode == 0, r.stderr[-2000:]
    assert (tmp_path / "parity.png").stat().st_size > 10_000
    curves = pd.read_csv(tmp_path / "parity_curves.csv")
    assert set(curves["side"]) == {"ours", "sb3"}
    # --update keeps a published pair whose run directories are gone (here: the same rows as Qbert's)
    written = {n: pd.read_csv(tmp_path / n) for n in ("parity.csv", "parity_curves.csv")}
    for name, df in written.items():
        pd.concat([df.assign(game="qbert"), df]).to_csv(tmp_path / name, index=False)
    runs_args = [str(both_sides / "a2c"), str(both_sides / "sb3")]
    r = _cli("replication.parity", "table", "--update", "--out", str(tmp_path / "parity.csv"), *runs_args)
    assert r.returncode == 0, r.stderr[-2000:]
    for name, df in written.items():
        again = pd.read_csv(tmp_path / name)
        assert len(again) == 2 * len(df) and list(again["game"].unique()) == ["breakout", "qbert"]
    r = _cli("replication.parity", "table", "--out", str(tmp_path / "parity.csv"), *runs_args)
    assert r.returncode == 0 and list(pd.read_csv(tmp_path / "parity.csv")["game"]) == ["breakout"]
    tables = aggregate([both_sides / "a2c", both_sides / "sb3"], tmp_path / "tables")
    assert len(tables["parity"]) == 1 and set(tables["scores"]["group"]) == {"a2c", "sb3_a2c"}
    from replication.report.build import build_report

    pages = build_report(tmp_path / "tables", tmp_path / "r.pdf")
    assert "Learning parity with Stable-Baselines3" in pages and "Learning parity: curves" in pages


@pytest.mark.slow
def test_workflow_plans_peer_runs(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({**TINY, "seeds": [0, 1]}))
    r = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                        "parity", "--configfile", str(cfg)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout + r.stderr
    stats = {p[0]: int(p[1]) for p in (line.split() for line in out.splitlines()) if len(p) == 2 and p[1].isdigit()}
    assert {k: stats.get(k) for k in ("train", "train_peer", "aggregate", "report")} == \
        {"train": 2, "train_peer": 2, "aggregate": 1, "report": 1}
    assert "runs/sb3_a2c/breakout/w4/s1/done.json" in out


@pytest.mark.slow
def test_benchmarks_folder_is_regenerated_from_run_directories(both_sides, tmp_path):
    from replication.cli.benchmarks import write_benchmarks

    out = tmp_path / "benchmarks"
    table = write_benchmarks([both_sides / "a2c", both_sides / "sb3"], out)
    assert table["group"].tolist() == ["a2c", "sb3_a2c"]
    assert table["eval_games"].tolist() == [2, 2] and table["eval_protocol"].eq("noop30_400f_sampled").all()
    assert "replication.train" in table["command"].iloc[0] and "replication.parity" in table["command"].iloc[1]
    assert (out / "curves" / "a2c" / "breakout_w4_s0.csv").exists()
    assert (out / "curves" / "sb3_a2c" / "breakout_w4_s0.csv").exists()
    assert (out / "parity.csv").exists() and (out / "parity.png").exists()
    assert sum(f.stat().st_size for f in out.rglob("*")) < 1_000_000  # small enough to commit


@pytest.mark.slow
def test_the_dqn_peer_trains_with_our_optimizer_and_resumes_with_its_replay(tmp_path):
    """SB3's DQN on Pong for 4,000 frames (1,000 agent steps, learning from agent step 200), stopped with SIGTERM
    after its 1,600-frame checkpoint and resumed: its replay buffer is saved beside the checkpoint at the stop
    (SB3's own pickle) and comes back, so it makes the updates of an unstopped run, one per 4 agent steps after
    step 200: 200. It steps with our CentredRMSprop (DQN_GAPS) and keeps the run-directory contract; the finished
    run keeps no replay file. Rerun after it finished (done.json removed) to 5,600 frames, it resumes without one
    and waits for the replay start again, as ours does: (1400 - 1200) / 4 = 50 more updates."""
    from replication.config.load import validate_config
    from replication.config.resolve import resolve_run

    cfg = validate_config({
        "games": ["pong"], "seeds": [0], "device": "cpu", "checkpoint_every_frames": 1600, "log_every_updates": 20,
        "eval": {"episodes": 1, "max_frames": 400},
        "groups": {"dqn": {"peer": True, "workers": [1], "total_frames": 4000,
                           "hyper": {"network": "nature", "replay_capacity": 1000, "replay_start_agent_steps": 200,
                                     "epsilon_decay_agent_steps": 400, "target_update_agent_steps": 100}}}})
    resolved = resolve_run(cfg, "dqn", "pong", 1, 0)
    out = tmp_path / "sb3"

    def command(frames):
        return [sys.executable, "-m", "replication.parity", "train", "--run-config",
                json.dumps({**resolved, "total_frames": frames}), "--out", str(out), "--threads", "1"]

    returncode, err = stop_after_checkpoint(command(4000), out)
    assert returncode != 0 and not (out / "done.json").exists(), err[-2000:]
    stopped = torch.load(out / "checkpoint.pt", weights_only=False)["counters"]
    assert stopped["frames"] >= 1600 and stopped["replay_file"] == f"replay_f{stopped['frames']}.pkl"
    assert [f.name for f in out.glob("replay_f*")] == [stopped["replay_file"]]
    r = subprocess.run(command(4000), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    run_cfg = json.loads((out / "config.json").read_text())
    assert "CentredRMSprop" in run_cfg["peer"]["kwargs"] and "9.765625e-06" in run_cfg["peer"]["kwargs"]
    assert run_cfg["resumes"] == 1 and any(g.startswith("DQN optimizer: the peer moves to ours")
                                           for g in run_cfg["peer"]["protocol_gaps"])
    assert run_cfg["replay_emptied_at_frames"] == []
    done = json.loads((out / "done.json").read_text())
    assert done["frames"] == 4000 and done["agent_steps"] == 1000 and done["updates"] == 200
    assert not list(out.glob("replay_f*"))
    up = pd.read_csv(out / "updates.csv")
    assert up["updates"].is_unique and up["updates"].is_monotonic_increasing

    (out / "done.json").unlink()
    r = subprocess.run(command(5600), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "resumed with an empty replay memory at frames 4000" in r.stderr, r.stderr[-2000:]
    assert json.loads((out / "done.json").read_text())["updates"] == 250
    assert json.loads((out / "config.json").read_text())["replay_emptied_at_frames"] == [4000]


@pytest.mark.slow
def test_sb3s_dqn_acts_with_our_epsilon_after_learn():
    """SB3's DQN with our schedule in place (``train_peer``): after 300 agent steps of ``learn`` (replay start 100,
    annealing over 400) its exploration rate is ours, 0.55, where SB3's own schedule would be at 0.46."""
    from stable_baselines3 import DQN

    from replication.algorithms.dqn import DQNConfig, epsilon_at
    from replication.envs.atari import AtariConfig
    from replication.peers.sb3 import dqn_kwargs, make_sb3_env, peer_epsilon_schedule

    hp = DQNConfig(network="nature", replay_capacity=1000, replay_start_agent_steps=100,
                   epsilon_decay_agent_steps=400)
    env = make_sb3_env("pong", 1, AtariConfig(), 0)
    model = DQN("CnnPolicy", env, seed=0, device="cpu", verbose=0, **dqn_kwargs(hp, 1000))
    model.exploration_schedule = peer_epsilon_schedule(model, hp)
    model.learn(total_timesteps=300)
    env.close()
    assert model.num_timesteps == 300 and model.exploration_rate == pytest.approx(epsilon_at(300, hp)) == 0.55

