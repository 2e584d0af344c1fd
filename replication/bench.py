"""``python -m replication.bench``: A2C training throughput beside Stable-Baselines3, in one run.

Usage::

    pip install -e '.[bench]'          # Stable-Baselines3 (the peer) and OpenCV for its Atari wrappers
    python -m replication.bench --game pong --frames 400000 --out results/bench/a2c.csv

Each line trains for the same number of frames on the same host, one after another (never concurrently),
and reports training frames/s (emulator frames, frame skip included, per second of training wall time).
Two limits come first at each shape: the environment alone and the network alone; their serial combination
``1 / (1/env + 1/network)`` is the bound an unpipelined learner can reach (``fraction_of_serial_bound``).

* ``ours a2c`` at the given ``num_envs`` and networks (the default is NIPS at 32 envs; Nature at 16 envs
  matches SB3's ``CnnPolicy``);
* ``sb3 a2c``: Stable-Baselines3 ``A2C("CnnPolicy")`` with 16 environments from ``make_atari_env`` (its
  default ``DummyVecEnv``), ``n_steps=5``, the same preprocessing (no-op starts 30, frame skip 4 with max-pool,
  84x84 grayscale, stack of 4, reward clipping; SB3 adds its episodic-life and fire-reset wrappers).

This is a benchmark, not a test: numbers depend on the host and what else runs on it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from replication.errors import UserError, cli_main
from replication.rundir import atomic_write_bytes, host_info


def bench_ours(game: str, num_envs: int, network: str, frames: int, threads: int) -> float:
    """Train our A2C for ``frames`` frames on the CPU; returns training frames/s (evaluation excluded)."""
    import json

    from replication.config import resolve_run
    from replication.train import make_run

    cfg = {"games": [game], "seeds": [0], "device": "cpu", "checkpoint_every_frames": 10 ** 12,
           "log_every_updates": 100, "env": {}, "eval": {"episodes": 1, "max_frames": 400},
           "algos": {"a2c": {"workers": [num_envs], "total_frames": frames, "hyper": {"network": network}}}}
    resolved = resolve_run(cfg, "a2c", game, num_envs, 0)
    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as d:
        run, train_fn = make_run(resolved, Path(d) / "run")
        train_fn(run)
        return json.loads((Path(d) / "run" / "done.json").read_text())["frames_per_s"]


def bench_env_limit(game: str, num_envs: int, frames: int, threads: int) -> float:
    """Frames/s of ale-py's AtariVectorEnv alone: random actions at ``num_envs``, our preprocessing."""
    import numpy as np

    from replication.atari import AtariConfig, make_vector_env

    env = make_vector_env(game, num_envs, AtariConfig(num_threads=threads))
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n = env.single_action_space.n
    agent_steps = max(1, frames // (4 * num_envs))
    actions = [rng.integers(0, n, num_envs) for _ in range(64)]
    t0 = time.perf_counter()
    for i in range(agent_steps):
        env.step(actions[i % 64])
    elapsed = time.perf_counter() - t0
    env.close()
    return agent_steps * num_envs * 4 / elapsed


def bench_network_limit(num_envs: int, network: str, rollout_length: int, threads: int, updates: int = 30) -> float:
    """Frames/s if only the network ran: per update, ``rollout_length`` acting forwards at batch ``num_envs`` with
    autograd on (as in training), one bootstrap forward, one backward and one optimizer step."""
    from replication.networks import ActorCritic
    from replication.optim import PaperRMSprop

    torch.set_num_threads(threads)
    model = ActorCritic(network, 6)
    opt = PaperRMSprop(model.parameters(), lr=1e-4)
    obs = torch.randint(0, 256, (num_envs, 4, 84, 84), dtype=torch.uint8)

    def one_update():
        outs = [model(obs) for _ in range(rollout_length)]
        with torch.no_grad():
            model(obs)
        loss = sum(o[0].mean() + o[1].mean() for o in outs)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        one_update()
    t0 = time.perf_counter()
    for _ in range(updates):
        one_update()
    elapsed = time.perf_counter() - t0
    return updates * rollout_length * num_envs * 4 / elapsed


def bench_sb3(game: str, num_envs: int, frames: int, threads: int) -> float:
    """Train Stable-Baselines3 A2C (CnnPolicy) for ``frames`` frames on the CPU; returns frames/s.

    Raises:
        UserError: Stable-Baselines3 is not installed (``pip install -e '.[bench]'``).
    """
    try:
        import ale_py
        import gymnasium as gym
        from stable_baselines3 import A2C
        from stable_baselines3.common.env_util import make_atari_env
        from stable_baselines3.common.vec_env import VecFrameStack
    except ImportError:
        raise UserError("Stable-Baselines3 is not installed; run: pip install -e '.[bench]'") from None
    gym.register_envs(ale_py)
    env_id = "ALE/" + "".join(p.capitalize() for p in game.split("_")) + "-v5"
    env = make_atari_env(env_id, n_envs=num_envs, seed=0,
                         env_kwargs={"frameskip": 1, "repeat_action_probability": 0.0})
    env = VecFrameStack(env, n_stack=4)
    torch.set_num_threads(threads)
    model = A2C("CnnPolicy", env, n_steps=5, device="cpu", seed=0, verbose=0)
    agent_steps = frames // 4  # SB3's total_timesteps counts agent steps summed over environments
    model.learn(total_timesteps=min(agent_steps, 20 * num_envs * 5))  # warm-up, as ours warms up in its first updates
    t0 = time.perf_counter()
    model.learn(total_timesteps=agent_steps, reset_num_timesteps=True)
    elapsed = time.perf_counter() - t0
    env.close()
    return agent_steps * 4 / elapsed


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m replication.bench", description=__doc__.split("\n")[0])
    p.add_argument("--game", default="pong")
    p.add_argument("--frames", type=int, default=400_000, help="training frames per line")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads for every line")
    p.add_argument("--out", default="results/bench/a2c.csv")
    args = p.parse_args(argv)
    lines = [("ours a2c", 32, "nips"), ("ours a2c", 16, "nips"), ("ours a2c", 16, "nature"),
             ("sb3 a2c", 16, "nature")]
    rows = []
    bounds = {}
    for name, n, net in lines:
        if (n, net) not in bounds and name.startswith("ours"):
            env_fps = bench_env_limit(args.game, n, args.frames, args.threads)
            net_fps = bench_network_limit(n, net, 5, args.threads)
            bounds[(n, net)] = 1.0 / (1.0 / env_fps + 1.0 / net_fps)  # env and network one after the other
            rows.append({"line": "env limit (AtariVectorEnv, random actions)", "game": args.game, "num_envs": n,
                         "network": "-", "frames": args.frames, "frames_per_s": round(env_fps, 1)})
            rows.append({"line": "network limit (act fwd + fwd/bwd/update)", "game": "-", "num_envs": n,
                         "network": net, "frames": 30 * 5 * n * 4, "frames_per_s": round(net_fps, 1)})
        print(f"running {name} num_envs={n} network={net} for {args.frames} frames ...", file=sys.stderr)
        fps = (bench_sb3(args.game, n, args.frames, args.threads) if name.startswith("sb3")
               else bench_ours(args.game, n, net, args.frames, args.threads))
        rows.append({"line": name, "game": args.game, "num_envs": n, "network": net, "frames": args.frames,
                     "frames_per_s": round(fps, 1)})
    df = pd.DataFrame(rows)
    sb3 = df.loc[df["line"] == "sb3 a2c", "frames_per_s"].iloc[0]
    df["ratio_to_sb3"] = (df["frames_per_s"] / sb3).round(2)
    df["fraction_of_serial_bound"] = [
        round(r.frames_per_s / bounds[(r.num_envs, r.network)], 2) if r.line.startswith("ours") else float("nan")
        for r in df.itertuples()]
    host = host_info()
    df["host"] = f"{host['cpu']} ({host['cores']} cores)"
    atomic_write_bytes(args.out, df.to_csv(index=False).encode())
    print(df.drop(columns=["host"]).to_string(index=False))
    print(f"host: {host['cpu']}, {host['cores']} cores, torch threads {args.threads}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
