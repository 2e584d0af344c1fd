"""``python -m replication.bench``: training throughput of our algorithms beside Stable-Baselines3, in one run.

Usage::

    pip install -e '.[bench]'          # Stable-Baselines3 (the peer) and OpenCV for its Atari wrappers
    python -m replication.bench --game pong --frames 200000 --out results/bench/bench.csv
    python -m replication.bench --algos a2c --repeats 3   # each line 3 times, round-robin: median and range
    python -m replication.bench --algos dqn --game pong breakout --repeats 3   # games round-robin with the lines
    snakemake --cores all bench        # the same, plus reports/bench.pdf
    python -m replication.bench --algos paac --device cuda --threads 16   # PAAC's Figure 2 lines on a GPU

Every line trains on the same host, one after another (never concurrently), and reports training frames/s (emulator
frames, frame skip included, per second of training wall time; building the environments and the final evaluation
excluded, on both sides). For each shape two limits come first: the environment alone (ale-py ``AtariVectorEnv``,
random actions) and the network alone; their serial combination ``1 / (1/env + 1/network)`` is what an unpipelined
learner can reach (``fraction_of_serial_bound``). ``ratio_to_peer`` compares a line with Stable-Baselines3 at the
same algorithm, network and number of environments.

* A2C: ours at PAAC's 32 environments with the NIPS network, and at 16 environments with the Nature network, the
  shape of SB3's ``A2C("CnnPolicy")`` with 16 environments and ``n_steps=5``; also ``bf16`` (the opt-in
  ``precision`` key), and at 32 environments with ``env_groups: 2`` (emulation of one half overlapped with the
  other half's forward).
* DQN: ours and SB3's ``DQN("CnnPolicy")`` with the same settings (Nature network, minibatch 32, an update every
  4 agent steps, target copy every 10k agent steps, centred RMSProp 2.5e-4 / 0.95 / 0.01, epsilon 1 -> 0.1) and a
  benchmark-sized schedule (replay of 50k, learning from 2.5k agent steps, epsilon annealed by 7.5k).
* PAAC (``--algos paac``, Clemente 2017 Figure 2 on this host): ours A2C at n_e = 16, 32, 64, 128 and 256 with
  both networks, fp32; the bench report draws them beside the paper's GPU and CPU curves.
* A3C FF and A3C LSTM (NIPS network) at Table 2's 1, 2, 4, 8 and 16 actor-learners, as many of them as the host
  has cores: ``per_worker_vs_1`` is frames/s per worker relative to one worker. Table 2's speed-up is in time to a
  score, which also depends on how data efficiency changes with the worker count (Figure 3); frames/s is its
  throughput half. SB3 has no A3C.

Device (``--device``, default ``cpu``): with ``cuda`` our A2C/PAAC and DQN lines train on the GPU (the run config's
``device: cuda``) and their network limits are timed there (model and inputs on the GPU, CUDA synchronized before
the clock is read: ``limits.bench_network_limit``); the env limits stay on the CPU, where ale-py emulates. Lines
that cannot use a GPU do not run: ``--algos a3c`` with ``cuda`` is refused (A3C's actor-learners are CPU processes
by design, one per core, Hogwild on shared CPU parameters), and the SB3 peer lines are skipped with one line on
stderr (the bench trains SB3 on the CPU; a CPU peer beside a GPU line is no ratio at the same hardware), so
``ratio_to_peer`` is empty. GPU lines are named ``... on cuda`` and every row has a ``device`` column; the table's
``host`` names the GPU (``torch.cuda.get_device_name``) beside the CPU. ``bf16`` lines run where the device has
native bfloat16 (a CUDA GPU with ``torch.cuda.is_bf16_supported()``; a CPU with AVX512-BF16 or AMX).

Errors (one line, exit status 2, nothing measured): an unknown algorithm, game, precision or device; ``--device
cuda`` on a host without CUDA (naming the value and what is accepted) or with ``--algos a3c``; counts below 1; a
``--dqn-frames`` that ends before DQN's first update; an ``--out`` that cannot be written; algorithms and precisions
that select no line (``--algos paac --precisions bf16``: PAAC's lines are fp32).

Preprocessing is the same on both sides: no-op starts (30), frame skip 4 with max-pool, 84x84 grayscale, stack of 4,
clipped rewards; SB3 adds its episodic-life and fire-reset wrappers. This is a benchmark, not a test: numbers depend
on the host and on what else runs on it; on a virtual machine, also on what its neighbours run, which ``cpu_steal``
shows per line (the share of CPU time the hypervisor gave elsewhere while the line ran). """

from __future__ import annotations

import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from replication.bench.limits import (BENCH_DEVICES, DQN_BENCH, bench_device, bench_env_limit, bench_network_limit,
                                      dqn_network_limit, dqn_network_times)
from replication.bench.sb3 import bench_sb3_a2c, bench_sb3_dqn
from replication.config.launch import make_run
from replication.config.resolve import resolve_run
from replication.core.errors import ArgumentParser, UserError, check_output, cli_main
from replication.core.precision import check_precision, cpu_flags, native_bf16
from replication.envs.atari import check_game
from replication.runs.provenance import cpu_steal_share, cpu_times, host_info
from replication.runs.rundir import atomic_write_bytes

BENCH_ALGORITHMS = ("a2c", "dqn", "a3c", "paac")
GPU_ALGORITHMS = ("a2c", "dqn", "paac")  # whose lines (ours) train with --device cuda; A3C's workers are CPU processes
PAAC_NUM_ENVS = (16, 32, 64, 128, 256)  # Clemente et al. 2017 Figure 2's n_e
A3C_WORKERS = (1, 2, 4, 8, 16)  # Mnih et al. 2016 Table 2's numbers of threads (actor-learners)


def a3c_worker_counts(cores: int | None = None) -> tuple[int, ...]:
    """Table 2's actor-learner counts this host can run one per core: those of ``A3C_WORKERS`` up to ``cores``
    (default ``os.cpu_count()``), e.g. ``(1, 2)`` on 2 cores, ``(1, 2, 4, 8, 16)`` on 16 or more. The workflow
    refuses more A3C workers than cores (the paper: one actor-learner per core, Supp. section 8), so the bench
    does too."""
    cores = cores or os.cpu_count() or 1
    return tuple(n for n in A3C_WORKERS if n <= cores)


@dataclass(frozen=True)
class Line:
    """One benchmark line: who trains (``ours`` or ``sb3``), which algorithm, at which shape and precision, and on
    which device (``cpu`` or ``cuda``: the learner's and its network limit's; emulation is always on the CPU)."""

    who: str
    algorithm: str
    workers: int  # A2C num_envs / A3C actor-learners / 1 for DQN
    network: str
    precision: str = "fp32"
    env_groups: int = 1  # A2C only: overlap of emulation and forward in groups (replication/algorithms/a2c.py)
    device: str = "cpu"  # ours only (select_lines): where the learner trains, BENCH_DEVICES

    @property
    def shape(self) -> tuple[str, int, str, str, str]:
        """What the limits depend on: ``(algorithm, workers, network, precision, device)``."""
        return self.algorithm, self.workers, self.network, self.precision, self.device

    @property
    def name(self) -> str:
        """The table's ``line``, e.g. ``ours a2c``, ``ours a2c bf16 on cuda``, ``sb3 dqn``."""
        return (f"{self.who} {self.algorithm}" + ("" if self.precision == "fp32" else f" {self.precision}")
                + ("" if self.env_groups == 1 else f" {self.env_groups} env groups")
                + ("" if self.device == "cpu" else f" on {self.device}"))


LINES = {
    "a2c": [Line("ours", "a2c", 32, "nips"), Line("ours", "a2c", 32, "nips", "bf16"),
            Line("ours", "a2c", 32, "nips", env_groups=2),
            Line("ours", "a2c", 16, "nature"), Line("ours", "a2c", 16, "nature", "bf16"),
            Line("sb3", "a2c", 16, "nature")],
    "dqn": [Line("ours", "dqn", 1, "nature"), Line("ours", "dqn", 1, "nature", "bf16"),
            Line("sb3", "dqn", 1, "nature")],
    "a3c": [Line("ours", algorithm, n, "nips") for algorithm in ("a3c_ff", "a3c_lstm") for n in a3c_worker_counts()],
    "paac": [Line("ours", "a2c", n, network) for network in ("nips", "nature") for n in PAAC_NUM_ENVS],
}


# -- training lines -------------------------------------------------------------------------------------------
def bench_ours(game: str, algorithm: str, workers: int, hyper: dict, frames: int, threads: int,
               precision: str = "fp32", compile_optimizer: bool = True, device: str = "cpu") -> float:
    """Train our ``algorithm`` (a2c, dqn, a3c_ff, a3c_lstm) for ``frames`` frames on ``device`` (the run config's
    ``device``: ``cpu``, or ``cuda`` for A2C and DQN), as a run group of that name, with ``threads`` torch threads;
    returns training frames/s (the clock excludes building the run, the compile of the optimizer step included:
    ``TrainingRun.start``).

    Raises:
        UserError: a bad algorithm, game or hyperparameter; ``cuda`` on a host without CUDA.
    """
    cfg = {"games": [game], "seeds": [0], "device": device, "precision": precision,
           "compile_optimizer": compile_optimizer,
           "checkpoint_every_frames": 10 ** 12, "log_every_updates": 100, "env": {},
           "eval": {"episodes": 1, "max_frames": 400},
           "groups": {algorithm: {"workers": [workers], "total_frames": frames, "hyper": hyper}}}
    resolved = resolve_run(cfg, algorithm, game, workers, 0)
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as d:
        run, train_fn = make_run(resolved, Path(d) / "run")
        train_fn(run)
        return json.loads((Path(d) / "run" / "done.json").read_text())["frames_per_s"]


# -- the table ------------------------------------------------------------------------------------------------
ISA_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile")  # what decides torch's CPU speed


def isa_line() -> str:
    """The CPU's relevant instruction-set features, e.g. ``avx2 avx512f avx512_bf16 amx_bf16`` or ``avx2``, and
    torch's chosen CPU kernel level (``torch.backends.cpu.get_cpu_capability``)."""
    flags = cpu_flags()
    have = [f for f in ISA_FLAGS if f in flags] or ["none of " + " ".join(ISA_FLAGS)]
    return " ".join(have) + f" (torch kernels: {torch.backends.cpu.get_cpu_capability()})"


def run_line(line: Line, game: str, frames: int, threads: int) -> float:
    """Training frames/s of one line (ours on ``line.device``; SB3 on the CPU)."""
    if line.who == "sb3":
        return (bench_sb3_a2c(game, line.workers, frames, threads) if line.algorithm == "a2c"
                else bench_sb3_dqn(game, frames, threads))
    hyper = dict(DQN_BENCH) if line.algorithm == "dqn" else {"network": line.network}
    if line.env_groups != 1:
        hyper["env_groups"] = line.env_groups
    return bench_ours(game, line.algorithm, line.workers, hyper, frames, threads, line.precision,
                      device=line.device)


def limit_rows(line: Line, game: str, frames: int, threads: int,
               env_limit: Callable[[str, int, int, int], float] | None = None) -> tuple[list[dict], float | None]:
    """The env-limit and network-limit rows at ``line``'s shape and the serial bound (frames/s); none for A3C LSTM,
    whose network limit (the recurrent network unrolled over t_max) is not measured. The env limit runs on the CPU
    (ale-py), the network limit on ``line.device``. ``env_limit(game, num_envs, frames, threads)`` measures the env
    limit (default ``bench_env_limit``); a bench passes one ``functools.cache`` of it to all its lines, which
    share the env limits (they differ in n_e alone)."""
    if line.algorithm == "a3c_lstm":
        return [], None
    env_limit_at = functools.partial(env_limit or bench_env_limit, game)  # (num_envs, frames, threads) -> frames/s
    env_fps = env_limit_at(line.workers, min(frames, 200_000), threads)
    if line.algorithm == "dqn":
        net_fps = dqn_network_limit(frames, *dqn_network_times(line.network, threads, line.precision,
                                                               device=line.device))
    elif line.algorithm == "a2c":
        net_fps = bench_network_limit(line.workers, line.network, 5, threads, precision=line.precision,
                                      device=line.device)
    else:  # A3C: one process per worker, each with one thread and its own batch-1 network
        env_fps = env_limit_at(1, min(frames, 100_000), 1) * line.workers
        net_fps = bench_network_limit(1, line.network, 5, 1, precision=line.precision) * line.workers
    base = {"algorithm": line.algorithm, "game": game, "workers": line.workers, "precision": line.precision}
    rows = [{**base, "line": "env limit", "network": "-", "device": "cpu", "frames_per_s": round(env_fps, 1)},
            {**base, "line": "network limit", "network": line.network, "device": line.device,
             "frames_per_s": round(net_fps, 1)}]
    return rows, 1.0 / (1.0 / env_fps + 1.0 / net_fps)


def select_lines(algorithm: str, precisions: list[str], native_bf16: bool, device: str = "cpu") -> list[Line]:
    """``algorithm``'s lines (a key of ``LINES``) at the given precisions, ours on ``device``; ``bf16`` lines only
    where the device has native bf16 (elsewhere a run would fall back to fp32,
    ``replication.core.precision.effective_precision``, and the line would be mislabelled); on ``cuda`` no SB3 peer
    lines (they train on the CPU)."""
    return [replace(line, device=device) if line.who == "ours" else line for line in LINES[algorithm]
            if line.precision in precisions and (line.precision != "bf16" or native_bf16)
            and (line.who == "ours" or device == "cpu")]


def check_device_algorithms(algorithms: list[str], device: str) -> None:
    """Refuse bench ``algorithms`` that cannot train on ``device``: with ``cuda`` only ``GPU_ALGORITHMS``.

    Raises:
        UserError: ``a3c`` with ``cuda`` (A3C's actor-learners are CPU processes by design), naming what is accepted.
    """
    bad = [a for a in algorithms if device != "cpu" and a not in GPU_ALGORITHMS]
    if bad:
        raise UserError(f"--algos {bad[0]} cannot run with --device {device}: A3C's actor-learners are CPU processes "
                        f"by design (one per core, Hogwild on shared CPU parameters); accepted with --device "
                        f"{device}: --algos from {', '.join(GPU_ALGORITHMS)} (or --device cpu for a3c)")


def bench_table(algorithms: list[str], games: list[str], frames: int, dqn_frames: int, threads: int,
                repeats: int = 1, precisions: tuple[str, ...] = ("fp32", "bf16"), out: str | Path | None = None,
                host: str = "", device: str = "cpu") -> pd.DataFrame:
    """Run every line of ``algorithms`` on every game of ``games`` and return the table (one row per limit and per
    training line and game). Ours train on ``device`` (``cpu`` or ``cuda``), their network limits are timed there;
    on ``cuda`` the SB3 lines are skipped (``select_lines``).

    The limits come first, once per shape and game (an env limit once per number of environments). Then each
    algorithm's lines train ``repeats`` times, round-robin (every line on every game once, then all again), so a
    slow spell on a shared host hits every line and game rather than one; ``frames_per_s`` is the median of a line's
    runs, ``frames_per_s_min`` / ``_max`` their range, ``cpu_steal`` the mean share of the host's CPU time the
    hypervisor took during them (``provenance.cpu_steal_share``: a slow run on a shared host shows there). With
    ``out``, the CSV is rewritten after every line's run (a line's ``repeats`` column says how many runs it has so
    far), so a stopped bench keeps every line it finished.

    Raises:
        UserError: ``device`` is unknown, or ``cuda`` without CUDA (``limits.bench_device``), or ``cuda`` with
            ``a3c`` among ``algorithms`` (``check_device_algorithms``); no line at all at ``precisions`` (e.g.
            ``paac`` with ``bf16`` alone: its lines are fp32), before anything is measured.
    """
    device = bench_device(device).type
    check_device_algorithms(algorithms, device)
    bf16_ok = native_bf16(device)
    if "bf16" in precisions and not bf16_ok:
        what = ("this CPU has no native bf16 (avx512_bf16 / amx_bf16)" if device == "cpu"
                else f"this {device} device has no native bf16")
        print(f"bench: bf16 lines skipped: {what}", file=sys.stderr)
    if device != "cpu" and any(line.who == "sb3" for a in algorithms for line in LINES[a]):
        print(f"bench: SB3 peer lines skipped with --device {device} (the bench trains SB3 on the CPU)",
              file=sys.stderr)
    selected = {algorithm: select_lines(algorithm, list(precisions), bf16_ok, device) for algorithm in algorithms}
    if not any(selected.values()):
        raise UserError(f"--algos {' '.join(algorithms)} with --precisions {' '.join(precisions)} selects no line "
                        f"on {device} (PAAC's lines are fp32 only; bf16 lines need native bf16); accepted: fp32, or "
                        "bf16 with --algos a2c or dqn where the device has native bf16")
    for algorithm in algorithms:
        if not selected[algorithm]:
            print(f"bench: no {algorithm} line at --precisions {' '.join(precisions)} on {device}", file=sys.stderr)
    done = []  # the rows of the algorithms already finished

    def table(rows: list[dict]) -> pd.DataFrame:
        df = add_ratios(pd.DataFrame(rows))
        if out is not None:  # what is measured so far survives a stopped bench
            atomic_write_bytes(out, df.assign(host=host).to_csv(index=False).encode())
        return df

    for algorithm in algorithms:
        n = dqn_frames if algorithm == "dqn" else frames
        lines = selected[algorithm]
        runs = [(line, game) for game in games for line in lines]
        limits, bounds = {}, {}
        env_limit = functools.cache(lambda *key: bench_env_limit(*key))  # once per game and shape (name read per call)
        for line, game in runs:
            if line.who == "ours" and (line.shape, game) not in bounds:
                limits[line, game], bounds[line.shape, game] = limit_rows(line, game, n, threads, env_limit)
        rates = {key: [] for key in runs}
        steals = {key: [] for key in runs}
        for r in range(repeats):
            for line, game in runs:
                print(f"running {line.name} workers={line.workers} network={line.network} on {game} for {n} frames "
                      f"({r + 1}/{repeats}) ...", file=sys.stderr)
                before = cpu_times()
                rates[line, game].append(run_line(line, game, n, threads))
                steals[line, game].append(cpu_steal_share(before, cpu_times()))
                table(done + line_rows(runs, rates, steals, limits, bounds, n))
        done += line_rows(runs, rates, steals, limits, bounds, n)
    return table(done)


def line_rows(runs: list[tuple[Line, str]], rates: dict, steals: dict, limits: dict, bounds: dict,
              frames: int) -> list[dict]:
    """One algorithm's table rows, per ``(line, game)`` of ``runs``: its limit rows (the first line of a shape on
    a game carries them), then its training row with the median frames/s of the runs in ``rates[line, game]`` so
    far, their range, and the mean of ``steals[line, game]`` (CPU steal share per run); a line with no run yet
    has no rows."""
    rows = []
    for line, game in runs:
        fps_runs = rates[line, game]
        if not fps_runs:
            continue
        fps = float(np.median(fps_runs))
        bound = bounds[line.shape, game] if line.who == "ours" else None
        rows += limits.get((line, game), [])
        rows.append({"algorithm": line.algorithm, "game": game, "workers": line.workers,
                     "precision": line.precision, "line": line.name, "network": line.network,
                     "device": line.device, "frames": frames,
                     "frames_per_s": round(fps, 1),
                     "fraction_of_serial_bound": round(fps / bound, 2) if bound else float("nan"),
                     "repeats": len(fps_runs), "frames_per_s_min": round(min(fps_runs), 1),
                     "frames_per_s_max": round(max(fps_runs), 1),
                     "cpu_steal": round(float(np.mean(steals[line, game])), 3)})
    return rows


def add_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``ratio_to_peer`` (ours / SB3 at the same algorithm, workers, network and game) and, for A3C,
    ``per_worker_vs_1`` (frames/s per worker / frames/s of the same line on the same game at 1 worker) to a bench
    table; NaN where there is none. A table without a ``game`` column is one game's."""
    df = df.copy()
    df["ratio_to_peer"] = float("nan")
    df["per_worker_vs_1"] = float("nan")
    trained = df["line"].str.startswith(("ours", "sb3"))
    game = df["game"] if "game" in df else pd.Series("", index=df.index)
    for i, r in df[trained & df["line"].str.startswith("ours")].iterrows():
        same = trained & (df["algorithm"] == r["algorithm"]) & (game == game[i])
        peer = df[same & df["line"].str.startswith("sb3") & (df["workers"] == r["workers"])
                  & (df["network"] == r["network"])]
        if len(peer):
            df.loc[i, "ratio_to_peer"] = round(r["frames_per_s"] / peer["frames_per_s"].iloc[0], 2)
        one = df[same & (df["line"] == r["line"]) & (df["workers"] == 1)]
        if r["algorithm"].startswith("a3c") and len(one):
            df.loc[i, "per_worker_vs_1"] = round(r["frames_per_s"] / r["workers"] / one["frames_per_s"].iloc[0], 2)
    return df


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m replication.bench", description=__doc__.split("\n")[0])
    p.add_argument("--game", nargs="+", default=["pong"], metavar="GAME",
                   help="the games every line trains on, round-robin with the lines (e.g. --game pong breakout)")
    p.add_argument("--algos", nargs="+", default=list(BENCH_ALGORITHMS), metavar="ALGORITHM",
                   help=f"the algorithms whose lines to run (not run groups): any of {', '.join(BENCH_ALGORITHMS)} "
                        "(a3c: A3C FF and LSTM at 1..cores workers; paac: A2C at PAAC's n_e 16..256)")
    p.add_argument("--frames", type=int, default=200_000, help="training frames per A2C/A3C line")
    p.add_argument("--dqn-frames", type=int, default=100_000, help="training frames per DQN line")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads for every line")
    p.add_argument("--repeats", type=int, default=1,
                   help="runs per training line, round-robin; the table gives the median and the range")
    p.add_argument("--precisions", nargs="+", default=["fp32", "bf16"],
                   help="lines to run by precision (bf16 only where the CPU has native bf16)")
    p.add_argument("--device", default="cpu", choices=BENCH_DEVICES,
                   help="where our learners train and their network limits are timed (default cpu; env limits stay "
                        "on the CPU; cuda: no A3C, no SB3 peer lines)")
    p.add_argument("--out", default="results/bench/bench.csv")
    args = p.parse_args(argv)
    for precision in args.precisions:
        check_precision(precision)
    bad = [a for a in args.algos if a not in BENCH_ALGORITHMS]
    if bad:
        raise UserError(f"unknown bench algorithm {bad[0]!r}; accepted: {', '.join(BENCH_ALGORITHMS)}")
    check_device_algorithms(args.algos, args.device)
    device = bench_device(args.device)
    for key in ("frames", "dqn_frames", "threads", "repeats"):
        if getattr(args, key) < 1:
            raise UserError(f"--{key.replace('_', '-')} must be >= 1, got {getattr(args, key)}")
    learns_from = DQN_BENCH["replay_start_agent_steps"] * 4  # frames, action repeat 4
    if "dqn" in args.algos and args.dqn_frames <= learns_from:
        raise UserError(f"--dqn-frames {args.dqn_frames} ends before the bench's DQN makes an update (replay start "
                        f"{DQN_BENCH['replay_start_agent_steps']:,} agent steps = {learns_from:,} frames); accepted: "
                        f"more than {learns_from}")
    for game in args.game:
        check_game(game)
    check_output(args.out, directory=False)
    host = host_info()
    host_line = (f"{host['cpu']} ({host['cores']} cores; ISA {isa_line()}), torch threads {args.threads}")
    if device.type == "cuda":
        host_line = (f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda}, torch {torch.__version__}) "
                     f"with {host_line}")
    df = bench_table(args.algos, args.game, args.frames, args.dqn_frames, args.threads, args.repeats,
                     tuple(args.precisions), out=args.out, host=host_line, device=device.type)
    df["host"] = host_line
    atomic_write_bytes(args.out, df.to_csv(index=False).encode())
    print(df.drop(columns=["host"]).to_string(index=False))
    print(f"host: {host_line}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
