"""Run groups of a workflow config and the runs they plan: a group's algorithm (``group_algorithm``), environment
(``group_env``), seeds and learning rates (``group_seeds``, ``group_learning_rate``), and the (label, game, workers,
seed) runs of the config (``run_plan``) and of its Stable-Baselines3 peers (``peer_plan``)."""

from __future__ import annotations

import numpy as np

from replication.algorithms.registry import ALGORITHMS, algorithms
from replication.core.errors import UserError
from replication.peers.sb3 import peer_label


def group_env(cfg: dict, label: str) -> dict:
    """The environment overrides of run group ``label``: its algorithm's paper protocol
    (``registry.AlgorithmSpec.env_defaults``, life-loss terminals for Nature DQN), then the config's top-level ``env:``,
    then the group's own ``env:`` (later wins); unset keys keep ``AtariConfig``'s defaults."""
    section = cfg["groups"][label]
    spec = ALGORITHMS.get(group_algorithm(label, section))
    paper = spec.env_defaults if spec else {}  # A2C/A3C: AtariConfig's own
    return {**paper, **(cfg.get("env") or {}), **(section.get("env") or {})}


def check_algorithm(algorithm: str) -> str:
    """Return ``algorithm`` if it is a known algorithm, else raise ``UserError`` listing the accepted names."""
    known = algorithms()
    if algorithm not in known:
        raise UserError(f"unknown algorithm {algorithm!r}; accepted: {', '.join(sorted(known))}")
    return algorithm


def group_algorithm(label: str, section: dict) -> str:
    """The algorithm of run group ``label``: its ``algorithm:`` key, else the label itself.

    Raises:
        UserError: neither names a known algorithm.
    """
    algorithm = section.get("algorithm", label)
    try:
        return check_algorithm(algorithm)
    except UserError as e:
        hint = "" if "algorithm" in section else f" (or set algorithm: under groups.{label})"
        raise UserError(f"{e}{hint}") from None


def group_seeds(cfg: dict, section: dict) -> list[int]:
    """Seeds of a run group: its own ``seeds``, else one per sampled/listed learning rate, else the top-level ones."""
    if section.get("seeds"):
        return [int(s) for s in section["seeds"]]
    if section.get("lr_samples"):
        return list(range(int(section["lr_samples"])))
    if section.get("learning_rates"):
        return list(range(len(section["learning_rates"])))
    return [int(s) for s in cfg["seeds"]]


LR_RANGE = (1e-4, 1e-2)  # Mnih et al. 2016 Supp. §8: initial learning rate ~ LogUniform(1e-4, 1e-2)


def sampled_learning_rate(seed: int, low: float = LR_RANGE[0], high: float = LR_RANGE[1]) -> float:
    """The initial learning rate of sweep seed ``seed``: LogUniform(low, high), the same for a seed on every host."""
    u = np.random.default_rng([int(seed), 20160204]).random()
    return float(np.exp(np.log(low) + u * (np.log(high) - np.log(low))))


def group_learning_rate(section: dict, seed: int) -> float | None:
    """The swept initial learning rate of ``seed`` in this group, or None when the group does not sweep.

    Raises:
        UserError: a seed beyond the ``learning_rates`` list.
    """
    if section.get("learning_rates"):
        lrs = section["learning_rates"]
        if not 0 <= seed < len(lrs):
            raise UserError(f"seed {seed} has no entry in learning_rates (length {len(lrs)}); accepted seeds: "
                            f"0..{len(lrs) - 1}")
        return float(lrs[seed])
    if section.get("lr_samples"):
        return sampled_learning_rate(seed)
    return None


def run_plan(cfg: dict) -> list[tuple[str, str, int, int]]:
    """Every (label, game, workers, seed) run the config asks for, in a stable order, without duplicates."""
    plan = []
    for label, section in cfg["groups"].items():
        for game in section.get("games") or cfg["games"]:
            for workers in section["workers"]:
                for seed in group_seeds(cfg, section):
                    run = (label, game, int(workers), int(seed))
                    if run not in plan:
                        plan.append(run)
    return plan


def peer_plan(cfg: dict) -> list[tuple[str, str, int, int]]:
    """Every (peer label, game, workers, seed) Stable-Baselines3 run of the groups with ``peer: true``; the peer of
    group ``L``'s run is ``sb3_L`` at the same game, workers and seed (``replication/peers/sb3.py``)."""
    return [(peer_label(label), game, workers, seed) for label, game, workers, seed in run_plan(cfg)
            if cfg["groups"][label].get("peer")]


def check_workers_fit_cores(cfg: dict, cores: int | None, runs=None) -> None:
    """Refuse A3C runs with more actor-learners than the cores Snakemake was given (``--cores``).

    Each A3C worker is one process with one torch thread (Mnih 2016 Supp. §8: one thread per actor-learner), so
    workers beyond the cores time-share a core and every frames/s and speed-up number would be wrong. ``cores``
    None (a cluster executor, where each job gets its own node's cores) skips the check. ``runs``: the
    ``(label, workers)`` pairs about to train (default: the whole plan), so a target that trains nothing (e.g.
    ``progress``) is never refused.

    Raises:
        UserError: names the run group, its workers and the cores given.
    """
    if cores is None:
        return
    runs = [(label, workers) for label, _, workers, _ in run_plan(cfg)] if runs is None else runs
    for label, workers in runs:
        if group_algorithm(label, cfg["groups"][label]).startswith("a3c") and workers > cores:
            raise UserError(f"groups.{label}.workers = {workers} but snakemake was given --cores {cores}; accepted: "
                            f"workers <= {cores} (one core per A3C actor-learner): pass --cores {workers} on a "
                            f"host with that many cores, or lower workers")
