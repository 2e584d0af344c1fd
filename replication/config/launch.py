"""From a request to a run: the arguments that name one run (``add_run_arguments``, shared by
``python -m replication.train`` and ``python -m replication.parity train``), the resolved config they name
(``resolve_args``), and the ``TrainingRun`` with its algorithm's ``train`` function (``make_run``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from replication.algorithms.registry import algorithms
from replication.config.load import load_config
from replication.config.resolve import COMPILE_OPTIMIZER_DEFAULT, check_resolved_run, resolve_device, resolve_run
from replication.core.errors import UserError
from replication.envs.atari import AtariConfig
from replication.envs.evaluate import EvalConfig
from replication.runs.rundir import RESULTS_DIR, algorithm_of
from replication.runs.training import TrainingRun


def make_run(resolved: dict, out: Path, run_class: type = TrainingRun) -> tuple[TrainingRun, object]:
    """Build the ``TrainingRun`` (a ``run_class``) and the algorithm's ``train`` function for a resolved config.

    Raises:
        UserError: a bad value in ``resolved`` (the dataclasses check their fields), or a busy run directory.
    """
    cls, train_fn = algorithms()[algorithm_of(resolved)]
    device = torch.device(resolve_device(resolved["device"]))
    run = run_class(
        dir=out, group=resolved["group"], game=resolved["game"], workers=resolved["workers"], seed=resolved["seed"],
        total_frames=resolved["total_frames"], device=device, env=AtariConfig(**resolved["env"]),
        eval=EvalConfig(**resolved["eval"]), hyper=cls(**resolved["hyper"]),
        checkpoint_every_frames=resolved["checkpoint_every_frames"],
        log_every_updates=resolved["log_every_updates"], resolved=resolved,
        precision=resolved.get("precision", "fp32"), tensorboard=bool(resolved.get("tensorboard", False)),
        compile_optimizer=bool(resolved.get("compile_optimizer", COMPILE_OPTIMIZER_DEFAULT)))
    return run, train_fn


def add_run_arguments(p: argparse.ArgumentParser, group_help: str) -> None:
    """The arguments that name one run: ``--configfile`` with ``--group --game --workers --seed``, or
    ``--run-config``; plus ``--out`` and ``--threads`` (shared by ``python -m replication.train`` and
    ``python -m replication.parity``)."""
    p.add_argument("--configfile", help="workflow YAML config (validated against the schema)")
    p.add_argument("--run-config", help="resolved run config as JSON (what the Snakefile passes)")
    p.add_argument("--group", help=group_help)
    p.add_argument("--game")
    p.add_argument("--workers", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--out", help="run directory (default: {results_dir}/runs/{group}/{game}/w{workers}/s{seed})")
    p.add_argument("--threads", type=int, default=None,
                   help="torch threads, and emulator threads unless env.num_threads is set (default: all cores)")


def resolve_args(args: argparse.Namespace) -> tuple[dict, str]:
    """The resolved run config named by ``add_run_arguments``'s arguments, and the config's results folder.

    Raises:
        UserError: neither way of naming a run, missing ids, a bad number, malformed JSON or a ``--run-config``
            that is not a whole resolved config (``check_resolved_run``), a run group the config does not have, or
            a ``--game`` that is not among the group's games (a typo would otherwise train another game).
    """
    for key, low in (("workers", 1), ("seed", 0), ("threads", 1)):
        v = getattr(args, key)
        if v is not None and v < low:
            raise UserError(f"--{key} = {v}; accepted: >= {low}")
    if args.run_config:
        try:
            resolved = json.loads(args.run_config)
        except json.JSONDecodeError as e:
            raise UserError(f"--run-config is not valid JSON: {e}") from None
        return check_resolved_run(resolved), RESULTS_DIR  # --out names the directory when a workflow runs it
    if not args.configfile:
        raise UserError("give --configfile (with --group --game --workers --seed) or --run-config")
    missing = [k for k in ("group", "game", "workers", "seed") if getattr(args, k) is None]
    if missing:
        raise UserError(f"--configfile needs --{' --'.join(missing)}")
    cfg = load_config(args.configfile)
    if args.group not in cfg["groups"]:
        raise UserError(f"run group {args.group!r} is not configured in {args.configfile}; accepted: "
                        f"{', '.join(cfg['groups'])} (its run groups)")
    games = cfg["groups"][args.group].get("games") or cfg["games"]
    if args.game not in games:
        raise UserError(f"--game {args.game!r} is not a game of run group {args.group!r} in {args.configfile}; "
                        f"accepted: {', '.join(games)}")
    return resolve_run(cfg, args.group, args.game, args.workers, args.seed), cfg["results_dir"]
