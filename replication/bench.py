"""``python -m replication.bench``: A2C training throughput beside Stable-Baselines3, in one run.

Usage::

    pip install -e '.[bench]'          # Stable-Baselines3 (the peer) and OpenCV for its Atari wrappers
    python -m replication.bench --game pong --frames 400000 --out results/bench/a2c.csv

Each line trains for the same number of frames on the same host, one after another (never concurrently),
and reports training frames/s (emulator frames, frame skip included, per second of training wall time):

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
    agent_steps = frames // 4  # SB3 timesteps are agent steps summed over environments
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
    for name, n, net in lines:
        print(f"running {name} num_envs={n} network={net} for {args.frames} frames ...", file=sys.stderr)
        fps = (bench_sb3(args.game, n, args.frames, args.threads) if name.startswith("sb3")
               else bench_ours(args.game, n, net, args.frames, args.threads))
        rows.append({"line": name, "game": args.game, "num_envs": n, "network": net, "frames": args.frames,
                     "frames_per_s": round(fps, 1)})
    df = pd.DataFrame(rows)
    sb3 = df.loc[df["line"] == "sb3 a2c", "frames_per_s"].iloc[0]
    df["ratio_to_sb3"] = (df["frames_per_s"] / sb3).round(2)
    host = host_info()
    df["host"] = f"{host['cpu']} ({host['cores']} cores)"
    atomic_write_bytes(args.out, df.to_csv(index=False).encode())
    print(df.drop(columns=["host"]).to_string(index=False))
    print(f"host: {host['cpu']}, {host['cores']} cores, torch threads {args.threads}; written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
