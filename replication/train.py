"""``python -m replication.train``: one training run into its run directory.

Usage::

    python -m replication.train --configfile configs/default.yaml --algo a2c --game pong --workers 32 --seed 0
    python -m replication.train --run-config '<resolved JSON>' --out results/runs/a2c/pong/w32/s0

A run directory holds one run (``rundir.IDENTITY_KEYS``: group, algorithm, game, workers, seed, env, eval, hyper):
a request for another run is refused before anything in it is written, as is a damaged ``config.json``,
``done.json``, ``checkpoint.pt`` or log beside a checkpoint (``rundir.check_logs``: a torn last line is the one
damage a resume recovers from), and a ``total_frames`` below the frames its checkpoint holds. A run whose
``done.json`` exists is left alone (a no-op) unless ``--force`` (retrain from frame 0) or a longer ``total_frames``
(it resumes from its checkpoint to the new budget); a run with a ``checkpoint.pt`` resumes from it, and a changed
setting (``rundir.SETTING_KEYS``) is recorded in ``config.json``.

Exit status: 0 done (or already finished), 2 bad input (one line, nothing written), 3 training stopped by an error
it cannot get past, its last good checkpoint kept: a diverged loss, a failed A3C worker, or storage that cannot be
written (a full disk, a read-only folder: ``STORAGE_ERRNOS``), after which a rerun resumes.

Once training has started, Ctrl-C / SIGTERM save a checkpoint and exit with status 130 / 143; before that
(checking the config, building the environments and networks) there is nothing to save, and SIGTERM stops the
process at once (its default action: ale-py's environment constructor holds the GIL, so a Python handler would run
only when it returns). A shell, and Snakemake's job script, report that exit as 143 too.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import torch

from replication.atari import AtariConfig
from replication.config import (COMPILE_OPTIMIZER_DEFAULT, algorithms, check_resolved_run, load_config, resolve_device,
                                resolve_run)
from replication.errors import ArgumentParser, UserError, check_output, cli_main
from replication.evaluate import EvalConfig
from replication.rundir import RESULTS_DIR, algorithm_of, check_run_dir, read_done, run_dir
from replication.a3c import WorkerFailed
from replication.training import TrainingDiverged, TrainingRun


def make_run(resolved: dict, out: Path, run_class: type = TrainingRun) -> tuple[TrainingRun, object]:
    """Build the ``TrainingRun`` (a ``run_class``) and the algorithm's ``train`` function for a resolved config.

    Raises:
        UserError: a bad value in ``resolved`` (the dataclasses check their fields), or a busy run directory.
    """
    cls, train_fn = algorithms()[algorithm_of(resolved)]
    device = torch.device(resolve_device(resolved["device"]))
    run = run_class(
        dir=out, algo=resolved["algo"], game=resolved["game"], workers=resolved["workers"], seed=resolved["seed"],
        total_frames=resolved["total_frames"], device=device, env=AtariConfig(**resolved["env"]),
        eval=EvalConfig(**resolved["eval"]), hyper=cls(**resolved["hyper"]),
        checkpoint_every_frames=resolved["checkpoint_every_frames"],
        log_every_updates=resolved["log_every_updates"], resolved=resolved,
        precision=resolved.get("precision", "fp32"), tensorboard=bool(resolved.get("tensorboard", False)),
        compile_optimizer=bool(resolved.get("compile_optimizer", COMPILE_OPTIMIZER_DEFAULT)))
    return run, train_fn


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated()


class _CheckpointOnSigterm(TrainingRun):
    """A ``TrainingRun`` whose ``start`` (training begins: a model to save) makes SIGTERM raise ``_Terminated``,
    which ``main`` answers with a checkpoint and exit status 143. Until then SIGTERM keeps its default action."""

    def start(self, model, optimizer):
        super().start(model, optimizer)
        signal.signal(signal.SIGTERM, _on_sigterm)


def add_run_arguments(p: argparse.ArgumentParser, group_help: str) -> None:
    """The arguments that name one run: ``--configfile`` with ``--algo --game --workers --seed``, or
    ``--run-config``; plus ``--out`` and ``--threads`` (shared by ``replication.train`` and ``replication.parity``)."""
    p.add_argument("--configfile", help="workflow YAML config (validated against the schema)")
    p.add_argument("--run-config", help="resolved run config as JSON (what the Snakefile passes)")
    p.add_argument("--algo", help=group_help)
    p.add_argument("--game")
    p.add_argument("--workers", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--out", help="run directory (default: {results_dir}/runs/{algo}/{game}/w{workers}/s{seed})")
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
        raise UserError("give --configfile (with --algo --game --workers --seed) or --run-config")
    missing = [k for k in ("algo", "game", "workers", "seed") if getattr(args, k) is None]
    if missing:
        raise UserError(f"--configfile needs --{' --'.join(missing)}")
    cfg = load_config(args.configfile)
    if args.algo not in cfg["algos"]:
        from replication.config import check_algo

        check_algo(args.algo)
        raise UserError(f"algorithm {args.algo!r} is not configured in {args.configfile}; "
                        f"configured run groups: {', '.join(cfg['algos'])}")
    games = cfg["algos"][args.algo].get("games") or cfg["games"]
    if args.game not in games:
        raise UserError(f"--game {args.game!r} is not a game of run group {args.algo!r} in {args.configfile}; "
                        f"accepted: {', '.join(games)}")
    return resolve_run(cfg, args.algo, args.game, args.workers, args.seed), cfg["results_dir"]


# Errors of the storage under a run directory (a full disk or quota, a read-only or failing file system): the
# training stops with one line and its last good checkpoint, and a rerun resumes once the storage is fixed.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO,
                            errno.EFBIG})


def storage_failure(error: OSError, out: Path, run: TrainingRun | None) -> str:
    """The one line for a write into run directory ``out`` that ``error`` stopped: what failed, what is kept (the
    last good checkpoint, at its frames) and what recovers it."""
    where = f" ({error.filename})" if error.filename else ""
    frames = getattr(run, "checkpointed_frames", None)
    if frames is None and (out / "checkpoint.pt").exists():
        kept = f"its last good checkpoint.pt is kept in {out}"
    elif frames is None:
        kept = f"no checkpoint had been written in {out}"
    else:
        kept = f"the last good checkpoint (frames {frames}) is kept in {out}"
    return (f"error: cannot write the run directory: {error.strerror or error}{where}; {kept}; accepted: a results "
            "folder with free space that this user can write (free space or fix it, then rerun to resume)")


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m replication.train", description=__doc__.split("\n")[0])
    add_run_arguments(p, "run group label in the config (usually the algorithm name)")
    p.add_argument("--total-frames", type=int, help="override the frame budget")
    p.add_argument("--force", action="store_true", help="retrain from frame 0 even if done.json exists")
    args = p.parse_args(argv)
    resolved, results = resolve_args(args)
    if args.total_frames is not None:
        if args.total_frames < 1:
            raise UserError(f"--total-frames must be positive, got {args.total_frames}")
        resolved["total_frames"] = args.total_frames
    out = Path(args.out) if args.out else run_dir(results, resolved["algo"], resolved["game"],
                                                   resolved["workers"], resolved["seed"])
    check_output(out, directory=True)
    check_run_dir(out, resolved)  # another run's directory, or a damaged one: refused before anything is written
    done = None if args.force else read_done(out)
    if args.force and (out / "done.json").exists():
        shutil.rmtree(out)
    elif done is not None and resolved["total_frames"] <= done["frames"]:
        print(f"{out}: already finished (done.json); use --force to retrain", file=sys.stderr)
        return 0
    threads = args.threads or max(1, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    if resolved["env"].get("num_threads", 0) == 0:  # emulator threads share the job's cores with torch
        resolved["env"]["num_threads"] = threads
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)  # even if our parent ignored it; see the docstring
    run = None
    try:
        try:
            run, train_fn = make_run(resolved, out, _CheckpointOnSigterm)  # checks the directory's logs
            if done is not None:
                print(f"{out}: finished at {done['frames']} frames; extending it to total_frames "
                      f"{resolved['total_frames']}", file=sys.stderr)
            train_fn(run)
        except (KeyboardInterrupt, _Terminated) as e:
            code = 130 if isinstance(e, KeyboardInterrupt) else 143
            if getattr(run, "model", None) is None:  # Ctrl-C before training started
                print(f"interrupted before training started; nothing to save in {out}", file=sys.stderr)
                return code
            run.close_on_interrupt()
            print(f"interrupted at frames {run.frames}; checkpoint saved in {out}, rerun to resume", file=sys.stderr)
            return code
        except (TrainingDiverged, WorkerFailed) as e:
            print(f"error: {e}; last checkpoint kept in {out}", file=sys.stderr)
            return 3
    except OSError as e:  # also from the checkpoint an interrupt saves
        if e.errno not in STORAGE_ERRNOS:
            raise
        if run is not None:
            run.abandon()
        print(storage_failure(e, out, run), file=sys.stderr)
        return 3
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    print(f"{out}: done, {run.frames} frames", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
