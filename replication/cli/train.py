"""``python -m replication.train``: one training run into its run directory.

Usage::

    python -m replication.train --configfile configs/default.yaml --group a2c --game pong --workers 32 --seed 0
    python -m replication.train --run-config '<resolved JSON>' --out results/runs/a2c/pong/w32/s0

A run directory holds one run (``rundir.IDENTITY_KEYS``: group, algorithm, game, workers, seed, env, eval, hyper):
a request for another run is refused before anything in it is written, as is a damaged ``config.json``,
``done.json``, ``checkpoint.pt`` or log beside a checkpoint (``logs.check_logs``: a torn last line is the one
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

import errno
import os
import shutil
import signal
import sys
from pathlib import Path

import torch

from replication.algorithms.a3c_supervisor import WorkerFailed
from replication.config.identity import check_run_dir
from replication.config.launch import add_run_arguments, make_run, resolve_args
from replication.core.errors import ArgumentParser, UserError, check_output, cli_main
from replication.runs.rundir import read_done, run_dir
from replication.runs.training import TrainingDiverged, TrainingRun


class _Terminated(Exception):
    pass


def _on_sigterm(signum, frame):
    raise _Terminated()


class _CheckpointOnSigterm(TrainingRun):
    """A ``TrainingRun`` whose ``start`` (training begins: a model to save) makes SIGTERM raise ``_Terminated``,
    which ``main`` answers with a checkpoint and exit status 143. Until then SIGTERM keeps its default action."""

    def start(self, model, optimizer, policy, replay=None):
        super().start(model, optimizer, policy, replay)
        signal.signal(signal.SIGTERM, _on_sigterm)


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
    out = Path(args.out) if args.out else run_dir(results, resolved["group"], resolved["game"],
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
