"""The benchmark's measuring functions run and return rates, and its table compares the right lines (speed
itself is measured by the bench, not here)."""

import functools
import math

import pandas as pd
import pytest

from conftest import ROOT
from replication.bench.limits import bench_env_limit, bench_network_limit, dqn_network_limit, dqn_network_times
from replication.bench.throughput import add_ratios, bench_ours, main
from replication.core.errors import UserError


def test_bench_functions_return_positive_rates():
    assert bench_env_limit("pong", 2, 800, threads=1) > 0
    assert bench_network_limit(2, "nips", rollout_length=2, threads=1, updates=1) > 0
    assert bench_network_limit(2, "nips", rollout_length=2, threads=1, updates=1, precision="bf16") > 0
    assert bench_ours("pong", "a2c", 2, {"network": "nips"}, 800, threads=1) > 0
    assert bench_ours("pong", "dqn", 1, {"replay_capacity": 500, "replay_start_agent_steps": 50,
                                         "network": "nips"}, 800, threads=1, precision="bf16",
                      compile_optimizer=False) > 0  # the compiled step: tests/core/test_compiled_optimizer.py
    t_act, t_update = dqn_network_times("nips", threads=1, repeats=1, compile_optimizer=False)
    assert 0 < t_act < t_update


def test_dqn_network_limit_counts_greedy_actions_and_updates():
    # 100k frames = 25k agent steps; epsilon is 1 until 2.5k, 0.1 from 7.5k: greedy steps ~ 0.45*5k + 0.9*17.5k
    fps = dqn_network_limit(100_000, t_act=1e-3, t_update=0.0)
    assert fps == pytest.approx(100_000 / ((0.45 * 5_000 + 0.9 * 17_500) * 1e-3), rel=0.02)
    # (25k - 2.5k) / 4 updates
    assert dqn_network_limit(100_000, t_act=0.0, t_update=1e-2) == pytest.approx(100_000 / (5_625 * 1e-2))


def test_ratios_compare_same_shape_only():
    df = pd.DataFrame([
        {"algorithm": "a2c", "workers": 16, "network": "nature", "line": "ours a2c", "frames_per_s": 600.0},
        {"algorithm": "a2c", "workers": 32, "network": "nips", "line": "ours a2c", "frames_per_s": 900.0},
        {"algorithm": "a2c", "workers": 16, "network": "nature", "line": "sb3 a2c", "frames_per_s": 400.0},
        {"algorithm": "a2c", "workers": 16, "network": "nature", "line": "env limit", "frames_per_s": 5000.0},
        {"algorithm": "a3c_ff", "workers": 1, "network": "nips", "line": "ours a3c_ff", "frames_per_s": 100.0},
        {"algorithm": "a3c_ff", "workers": 2, "network": "nips", "line": "ours a3c_ff", "frames_per_s": 180.0}])
    out = add_ratios(df)
    assert out["ratio_to_peer"].iloc[0] == 1.5
    assert math.isnan(out["ratio_to_peer"].iloc[1]) and math.isnan(out["ratio_to_peer"].iloc[3])
    assert out["per_worker_vs_1"].iloc[5] == 0.9 and out["per_worker_vs_1"].iloc[4] == 1.0


def test_bad_bench_arguments_are_one_line_errors(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--algos", "ppo"])
    assert e.value.code == 2
    assert capsys.readouterr().err.strip() == "error: unknown bench algorithm 'ppo'; accepted: a2c, dqn, a3c, paac"
    with pytest.raises(UserError, match="--frames must be >= 1, got 0"):
        main.__wrapped__(["--frames", "0"])
    with pytest.raises(UserError, match="--dqn-frames 3000 ends before .* 10,000 frames\\); accepted: more than 10000"):
        main.__wrapped__(["--algos", "dqn", "--dqn-frames", "3000"])


def test_bench_report_is_a_one_page_pdf(tmp_path):
    from replication.report.bench_report import build_bench_report

    csv = tmp_path / "bench.csv"
    pd.DataFrame([{"algorithm": "a2c", "line": "ours a2c", "workers": 16, "network": "nature", "precision": "fp32",
                   "frames": 1000, "frames_per_s": 600.0, "ratio_to_peer": 1.5, "fraction_of_serial_bound": 0.8,
                   "per_worker_vs_1": float("nan"), "host": "test host"}]).to_csv(csv, index=False)
    pages = build_bench_report(csv, tmp_path / "bench.pdf")
    assert pages == ["Training throughput beside Stable-Baselines3 (frames/s)"]
    assert (tmp_path / "bench.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(UserError, match="no benchmark table at"):
        build_bench_report(tmp_path / "missing.csv", tmp_path / "x.pdf")
    pd.read_csv(csv).rename(columns={"algorithm": "algo"}).to_csv(tmp_path / "old.csv", index=False)
    with pytest.raises(UserError, match="old.csv' has no algorithm column \\(written by an older version\\)"):
        build_bench_report(tmp_path / "old.csv", tmp_path / "x.pdf")  # as the bench wrote it before the rename


@pytest.mark.parametrize("name", sorted(p.name for p in (ROOT / "benchmarks" / "speed").glob("*.csv")))
def test_the_committed_bench_tables_still_make_their_report(name, tmp_path):
    from replication.report.bench_report import build_bench_report

    pages = build_bench_report(ROOT / "benchmarks" / "speed" / name, tmp_path / "bench.pdf")
    assert pages[0] == "Training throughput beside Stable-Baselines3 (frames/s)"


def test_repeats_run_round_robin_and_report_the_median(monkeypatch):
    from replication.bench import throughput as bench

    calls = []
    rates = {"ours a2c": [900.0, 300.0, 600.0], "sb3 a2c": [200.0, 400.0, 300.0]}

    def fake_run_line(line, game, frames, threads):
        calls.append(line.name)
        return rates[line.name][sum(c == line.name for c in calls) - 1]

    def fake_limits(line, game, frames, threads, env_limit=None):
        base = {"algorithm": line.algorithm, "game": game, "workers": line.workers, "precision": line.precision}
        return [{**base, "line": "env limit", "network": "-", "frames_per_s": 2000.0}], 1000.0

    monkeypatch.setattr(bench, "LINES", {"a2c": [bench.Line("ours", "a2c", 16, "nature"),
                                                 bench.Line("sb3", "a2c", 16, "nature")]})
    monkeypatch.setattr(bench, "run_line", fake_run_line)
    monkeypatch.setattr(bench, "limit_rows", fake_limits)
    df = bench.bench_table(["a2c"], ["pong"], 1000, 1000, threads=1, repeats=3)
    assert calls == ["ours a2c", "sb3 a2c"] * 3  # round-robin, not three of one line then three of the next
    assert list(df["line"]) == ["env limit", "ours a2c", "sb3 a2c"]
    ours, sb3 = df.iloc[1], df.iloc[2]
    assert (ours["frames_per_s"], ours["frames_per_s_min"], ours["frames_per_s_max"]) == (600.0, 300.0, 900.0)
    assert sb3["frames_per_s"] == 300.0 and ours["repeats"] == 3
    assert ours["ratio_to_peer"] == 2.0 and ours["fraction_of_serial_bound"] == 0.6
    assert math.isnan(sb3["fraction_of_serial_bound"])


def test_bench_keeps_finished_algorithms_and_skips_lines_by_precision(monkeypatch, tmp_path):
    """A bench stopped in its second algorithm keeps the first one's rows on disk; --precisions fp32 and a CPU
    without native bf16 drop the bf16 lines."""
    from replication.bench import throughput as bench

    def fake_run_line(line, game, frames, threads):
        if line.algorithm == "dqn":
            raise KeyboardInterrupt  # stopped while the DQN lines run
        return 100.0

    def fake_limits(line, game, frames, threads, env_limit=None):
        return [], 1000.0

    monkeypatch.setattr(bench, "LINES", {"a2c": [bench.Line("ours", "a2c", 16, "nature"),
                                                 bench.Line("ours", "a2c", 16, "nature", "bf16")],
                                         "dqn": [bench.Line("ours", "dqn", 1, "nature")]})
    monkeypatch.setattr(bench, "run_line", fake_run_line)
    monkeypatch.setattr(bench, "limit_rows", fake_limits)
    out = tmp_path / "bench.csv"
    with pytest.raises(KeyboardInterrupt):
        bench.bench_table(["a2c", "dqn"], ["pong"], 1000, 1000, threads=1, precisions=("fp32",), out=out, host="h")
    kept = pd.read_csv(out)
    assert kept["line"].tolist() == ["ours a2c"] and kept["host"].tolist() == ["h"]
    lines = bench.LINES["a2c"]
    assert bench.select_lines("a2c", ["fp32", "bf16"], native_bf16=False) == lines[:1]
    assert bench.select_lines("a2c", ["fp32", "bf16"], native_bf16=True) == lines


def test_a_bench_stopped_mid_algorithm_keeps_every_finished_run(monkeypatch, tmp_path):
    from replication.bench import throughput as bench

    calls = []

    def fake_run_line(line, game, frames, threads):
        calls.append(line.name)
        if len(calls) == 4:  # stopped in the second repeat's second line
            raise KeyboardInterrupt
        return 100.0 * len(calls)

    monkeypatch.setattr(bench, "LINES", {"a2c": [bench.Line("ours", "a2c", 16, "nature"),
                                                 bench.Line("sb3", "a2c", 16, "nature")]})
    monkeypatch.setattr(bench, "run_line", fake_run_line)
    monkeypatch.setattr(bench, "limit_rows", lambda line, game, frames, threads, env_limit=None: ([], 1000.0))
    out = tmp_path / "bench.csv"
    with pytest.raises(KeyboardInterrupt):
        bench.bench_table(["a2c"], ["pong"], 1000, 1000, threads=1, repeats=3, out=out, host="h")
    kept = pd.read_csv(out).set_index("line")
    assert kept.loc["ours a2c", "repeats"] == 2 and kept.loc["ours a2c", "frames_per_s"] == 200.0  # runs 1 and 3
    assert kept.loc["sb3 a2c", "repeats"] == 1 and kept.loc["sb3 a2c", "frames_per_s"] == 200.0
    assert kept.loc["ours a2c", "ratio_to_peer"] == 1.0


def test_bf16_falls_back_to_fp32_without_native_support():
    from replication.core.precision import effective_precision, native_bf16

    assert not native_bf16("cpu", flags={"avx2", "fma"})
    assert native_bf16("cpu", flags={"avx2", "avx512_bf16"}) and native_bf16("cpu", flags={"amx_bf16"})
    precision, note = effective_precision("bf16", "cpu", flags={"avx2"})
    assert precision == "fp32" and "no native bfloat16" in note and "\n" not in note
    assert effective_precision("bf16", "cpu", flags={"amx_bf16"}) == ("bf16", "")
    assert effective_precision("fp32", "cpu", flags=set()) == ("fp32", "")
    assert "torch kernels" in __import__("replication.bench.throughput", fromlist=["isa_line"]).isa_line()


def test_paac_lines_sweep_figure_2s_environments_and_the_report_draws_them(tmp_path):
    from replication.bench.throughput import LINES, PAAC_NUM_ENVS
    from replication.report.bench_report import build_bench_report

    paac = LINES["paac"]
    assert [(line.workers, line.network) for line in paac] == [(n, net) for net in ("nips", "nature")
                                                               for n in (16, 32, 64, 128, 256)]
    assert PAAC_NUM_ENVS == (16, 32, 64, 128, 256) and all(line.algorithm == "a2c" for line in paac)
    csv = tmp_path / "bench.csv"
    pd.DataFrame([{"algorithm": "a2c", "line": "ours a2c", "workers": n, "network": net, "precision": "fp32",
                   "frames": 1000, "frames_per_s": 100.0 * n, "ratio_to_peer": float("nan"),
                   "fraction_of_serial_bound": 0.8, "per_worker_vs_1": float("nan"), "host": "test host"}
                  for net in ("nips", "nature") for n in (16, 32)]).to_csv(csv, index=False)
    pages = build_bench_report(csv, tmp_path / "bench.pdf")
    assert pages == ["Training throughput beside Stable-Baselines3 (frames/s)", "Figure 2 on this host (bench)"]


def test_a3c_lines_run_table_2s_worker_counts_up_to_the_cores():
    from replication.bench.throughput import LINES, a3c_worker_counts, limit_rows

    assert a3c_worker_counts(1) == (1,) and a3c_worker_counts(2) == (1, 2) and a3c_worker_counts(6) == (1, 2, 4)
    assert a3c_worker_counts(16) == a3c_worker_counts(64) == (1, 2, 4, 8, 16)
    assert [(line.algorithm, line.workers) for line in LINES["a3c"]] == [
        (algorithm, n) for algorithm in ("a3c_ff", "a3c_lstm") for n in a3c_worker_counts()]
    lstm = next(line for line in LINES["a3c"] if line.algorithm == "a3c_lstm")
    assert limit_rows(lstm, "pong", 1000, threads=1) == ([], None)  # no network limit measured for the LSTM


def test_a3c_lstm_per_worker_ratio_compares_with_the_lstm_at_one_worker():
    df = pd.DataFrame([
        {"algorithm": a, "workers": n, "network": "nips", "line": f"ours {a}", "frames_per_s": fps}
        for a, n, fps in [("a3c_ff", 1, 100.0), ("a3c_ff", 2, 190.0), ("a3c_lstm", 1, 50.0), ("a3c_lstm", 2, 80.0)]])
    assert list(add_ratios(df)["per_worker_vs_1"]) == [1.0, 0.95, 1.0, 0.8]


def test_cpu_steal_share_is_steal_over_all_time_but_guest():
    from replication.runs.provenance import cpu_steal_share, cpu_time_split

    before = {"user": 10.0, "nice": 1.0, "system": 2.0, "idle": 5.0, "iowait": 0.0, "steal": 1.0, "guest": 3.0,
              "guest_nice": 0.0}
    after = {"user": 20.0, "nice": 1.0, "system": 4.0, "idle": 10.0, "iowait": 0.0, "steal": 4.0, "guest": 8.0,
             "guest_nice": 0.0}
    # d: user 10, system 2, idle 5, steal 3 (guest 5 is inside user already): 3 / 20
    assert cpu_steal_share(before, after) == pytest.approx(0.15)
    assert cpu_time_split(before, after) == pytest.approx((20.0, 3.0))  # what a run's done.json cpu_steal sums
    assert cpu_time_split(None, after) == (0.0, 0.0)
    assert math.isnan(cpu_steal_share(None, after)) and math.isnan(cpu_steal_share(before, before))
    no_steal = {k: v for k, v in before.items() if k != "steal"}  # not Linux
    assert math.isnan(cpu_steal_share(no_steal, no_steal))


def test_games_run_round_robin_with_the_lines_and_ratios_stay_within_a_game(monkeypatch):
    from replication.bench import throughput as bench

    calls = []
    fps = {("ours a2c", "pong"): 600.0, ("sb3 a2c", "pong"): 300.0, ("ours a2c", "breakout"): 400.0,
           ("sb3 a2c", "breakout"): 400.0}

    def fake_run_line(line, game, frames, threads):
        calls.append((line.name, game))
        return fps[line.name, game]

    def fake_cpu_times():  # each run takes 10 s of CPU time, 1 s of it stolen on Pong, 4 s on Breakout
        stolen = sum({"pong": 1.0, "breakout": 4.0}[game] for _, game in calls)
        return {"user": 10.0 * len(calls) - stolen, "steal": stolen}

    monkeypatch.setattr(bench, "LINES", {"a2c": [bench.Line("ours", "a2c", 16, "nature"),
                                                 bench.Line("sb3", "a2c", 16, "nature")]})
    monkeypatch.setattr(bench, "run_line", fake_run_line)
    monkeypatch.setattr(bench, "limit_rows", lambda line, game, frames, threads, env_limit=None: ([], 1000.0))
    monkeypatch.setattr(bench, "cpu_times", fake_cpu_times)
    df = bench.bench_table(["a2c"], ["pong", "breakout"], 1000, 1000, threads=1, repeats=2)
    assert calls == [("ours a2c", "pong"), ("sb3 a2c", "pong"), ("ours a2c", "breakout"), ("sb3 a2c", "breakout")] * 2
    rows = df.set_index(["line", "game"])
    assert rows.loc[("ours a2c", "pong"), "ratio_to_peer"] == 2.0
    assert rows.loc[("ours a2c", "breakout"), "ratio_to_peer"] == 1.0  # not 400 / 300 from Pong's peer
    assert rows.loc[("ours a2c", "pong"), "cpu_steal"] == 0.1 and rows.loc[("sb3 a2c", "breakout"), "cpu_steal"] == 0.4


# -- --device: the bench's learners and network limits on a GPU (tests/bench/test_bench.py -k device) -------------
def test_device_cuda_without_cuda_is_a_one_line_error(capsys, tmp_path):
    """On a host without CUDA (this project's CPU hosts) --device cuda is refused before anything is measured or
    written, naming the value and what is accepted; so is a direct call of a network limit on cuda."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("this host has CUDA (the lent device): the refusal is for hosts without it")
    out = tmp_path / "bench.csv"
    with pytest.raises(SystemExit) as e:
        main(["--algos", "paac", "--device", "cuda", "--out", str(out)])
    assert e.value.code == 2 and not out.exists()
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --device 'cuda' requested but this host has no CUDA (torch ") and "\n" not in err
    assert "torch.cuda.is_available() is False); accepted: cpu on this host" in err
    with pytest.raises(UserError, match="--device 'cuda' requested but this host has no CUDA"):
        bench_network_limit(2, "nips", rollout_length=2, threads=1, updates=1, device="cuda")
    from replication.bench.throughput import bench_table

    with pytest.raises(UserError, match="no CUDA"):
        bench_table(["paac"], ["pong"], 1000, 1000, threads=1, device="cuda")


def test_device_refusals_that_do_not_depend_on_the_host():
    """A3C's lines are CPU processes: --device cuda with them is refused on any host; an unknown device is one line."""
    with pytest.raises(UserError, match="--algos a3c cannot run with --device cuda: A3C's actor-learners are CPU "
                                        "processes .*accepted with --device cuda: --algos from a2c, dqn, paac"):
        main.__wrapped__(["--algos", "paac", "a3c", "--device", "cuda"])
    with pytest.raises(UserError, match="--device: invalid choice: 'tpu'"):
        main.__wrapped__(["--device", "tpu"])
    from replication.bench.throughput import bench_table

    with pytest.raises(UserError, match="--algos paac with --precisions bf16 selects no line on cpu \\(PAAC's lines "
                                        "are fp32 only"):  # it crashed with KeyError 'line' after the limits
        bench_table(["paac"], ["pong"], 1000, 1000, threads=1, precisions=("bf16",))
    from replication.bench.limits import bench_device

    with pytest.raises(UserError, match="--device 'mps'; accepted: cpu, cuda"):
        bench_device("mps")
    assert bench_device("cpu").type == "cpu"


def test_device_reaches_the_lines_the_run_config_and_the_network_limits(monkeypatch):
    """With device cuda our lines carry it (and their names say it), the SB3 peers drop out, the training run's
    config asks for it, the network limits are timed on it, and the env limit stays on the CPU."""
    import torch

    from replication.bench import throughput as bench

    lines = bench.select_lines("a2c", ["fp32", "bf16"], native_bf16=True, device="cuda")
    assert [line.who for line in lines] == ["ours"] * 5 and {line.device for line in lines} == {"cuda"}
    assert lines[1].name == "ours a2c bf16 on cuda" and bench.select_lines("a2c", ["fp32"], False)[0].name == "ours a2c"
    assert [line.who for line in bench.select_lines("dqn", ["fp32"], False, "cuda")] == ["ours"]
    assert bench.select_lines("paac", ["fp32"], False, "cpu") == bench.LINES["paac"]

    class Stop(Exception):
        pass

    seen = {}

    def fake_make_run(resolved, out):
        seen["run device"] = resolved["device"]
        raise Stop  # no training: the config is what this checks

    monkeypatch.setattr(bench, "make_run", fake_make_run)
    with pytest.raises(Stop):
        bench.bench_ours("pong", "a2c", 2, {"network": "nips"}, 800, threads=1, device="cuda")
    assert seen == {"run device": "cuda"}

    calls = []
    monkeypatch.setattr(bench, "bench_ours", lambda *a, **k: calls.append(("train", k["device"])) or 1.0)
    monkeypatch.setattr(bench, "bench_env_limit", lambda game, n, frames, threads: calls.append(("env", n)) or 1000.0)
    monkeypatch.setattr(bench, "bench_network_limit", lambda n, network, t_max, threads, precision="fp32",
                        device="cpu": calls.append(("network", device)) or 500.0)
    monkeypatch.setattr(bench, "dqn_network_times", lambda network, threads, precision="fp32", device="cpu":
                        calls.append(("dqn network", device)) or (1e-3, 1e-2))
    paac = bench.select_lines("paac", ["fp32"], False, "cuda")[0]
    rows, bound = bench.limit_rows(paac, "pong", 1000, threads=1)
    assert calls == [("env", 16), ("network", "cuda")] and bound == pytest.approx(1 / (1 / 1000 + 1 / 500))
    assert [(r["line"], r["device"]) for r in rows] == [("env limit", "cpu"), ("network limit", "cuda")]
    bench.limit_rows(bench.select_lines("dqn", ["fp32"], False, "cuda")[0], "pong", 20_000, threads=1)
    assert calls[-1] == ("dqn network", "cuda")
    bench.run_line(paac, "pong", 1000, threads=1)
    assert calls[-1] == ("train", "cuda")
    calls.clear()  # one env limit per number of environments, shared by the networks' lines (on the same game)
    env_limit = functools.cache(bench.bench_env_limit)
    for line in bench.select_lines("paac", ["fp32"], False, "cuda"):
        bench.limit_rows(line, "pong", 1000, threads=1, env_limit=env_limit)
    assert [n for what, n in calls if what == "env"] == list(bench.PAAC_NUM_ENVS)
    monkeypatch.setattr(bench, "bench_device", lambda name: torch.device(name))  # as on a host with CUDA
    monkeypatch.setattr(bench, "native_bf16", lambda device: device == "cuda")
    df = bench.bench_table(["a2c"], ["pong"], 1000, 1000, threads=1, device="cuda")  # fp32 and bf16
    assert list(df.loc[df["line"].str.startswith(("ours", "sb3")), "line"]) == [
        "ours a2c on cuda", "ours a2c bf16 on cuda", "ours a2c 2 env groups on cuda", "ours a2c on cuda",
        "ours a2c bf16 on cuda"]  # no SB3 line
    assert set(df.loc[df["line"] == "env limit", "device"]) == {"cpu"}
    assert set(df.loc[df["line"] != "env limit", "device"]) == {"cuda"}


def test_network_limits_wait_for_the_device_before_reading_the_clock(monkeypatch):
    import types

    import torch

    from replication.bench import limits

    events = []

    def clock():
        events.append("clock")
        return float(len(events))

    monkeypatch.setattr(limits, "time", types.SimpleNamespace(perf_counter=clock))
    limits._timed(lambda: events.append("fn"), repeats=2, warmup=1, trials=1, sync=lambda: events.append("sync"))
    assert events == ["fn", "sync", "clock", "fn", "fn", "sync", "clock"]  # queued GPU work ends inside the timing
    assert limits.synchronizer(torch.device("cuda")) is torch.cuda.synchronize
    limits.synchronizer(torch.device("cpu"))()  # nothing to wait for on the CPU
    assert bench_network_limit(2, "nips", rollout_length=2, threads=1, updates=1, device="cpu") > 0


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA GPU (the lent device)")
def test_device_cuda_lines_train_and_time_on_the_gpu():
    """On the lent GPU machine (benchmarks/device_check.sh): the network limits and a short training of A2C and
    DQN run on CUDA, in fp32 and bf16."""
    for precision in ("fp32", "bf16"):
        assert bench_network_limit(32, "nips", rollout_length=5, threads=2, updates=2, precision=precision,
                                   device="cuda") > 0
    t_act, t_update = dqn_network_times("nature", threads=2, repeats=2, compile_optimizer=False, device="cuda")
    assert 0 < t_act < t_update
    assert bench_ours("pong", "a2c", 8, {"network": "nips"}, 4000, threads=2, precision="bf16", device="cuda") > 0
    assert bench_ours("pong", "dqn", 1, {"replay_capacity": 500, "replay_start_agent_steps": 50, "network": "nips"},
                      800, threads=2, compile_optimizer=False, device="cuda") > 0
