"""``python -m replication.diagnose``: why a run is not learning, read from its checkpoint.

Usage::

    python -m replication.diagnose RUN_DIR ...                 # a finished or still-training run directory
    python -m replication.diagnose --activations RUN_DIR ...   # also: activations and policy vs initial (A2C, A3C)

Prints, per layer, how much of the RMSProp step the optimizer's epsilon decides (``eps_share``: 1.0 = every
parameter takes the SGD step ``lr / sqrt(eps) * gradient``), the typical step per update and that step relative
to the layer's weights (``replication.results.optimizer_census``). With ``--activations``, also the scale of the
heads' input, the policy's spread and entropy of the trained network beside a fresh one of the same config, on
one fixed set of the game's frames (``replication.results.activation_census``; runs the game for 300 agent steps
of 4 environments). Reads ``checkpoint.pt`` and ``config.json`` only; changes nothing.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from replication.core.errors import ArgumentParser, UserError, cli_main
from replication.envs.atari import AtariConfig
from replication.results.activation_census import activation_census, observations
from replication.results.optimizer_census import optimizer_census
from replication.runs.rundir import load_checkpoint, read_config


def _checkpoint_path(run_dir: str | Path) -> Path:
    """``run_dir``'s ``checkpoint.pt``; UserError (one line) where there is none."""
    path = Path(run_dir) / "checkpoint.pt"
    if not path.is_file():
        raise UserError(f"no checkpoint.pt in {str(run_dir)!r}; accepted: a run directory of replication.train "
                        "that has saved a checkpoint")
    return path


def census_text(run_dir: str | Path) -> str:
    """The census of ``run_dir``'s checkpoint as printed text: one header line, then the table.

    Raises:
        UserError: no ``checkpoint.pt`` in ``run_dir``, a damaged one, or one without RMSProp state.
    """
    path = _checkpoint_path(run_dir)
    table, info = optimizer_census(load_checkpoint(path))
    head = (f"{run_dir}: frames {info['frames']:,}, updates {info['updates']:,}; RMSProp lr {info['lr']:.4g}, "
            f"eps {info['eps']:g} under the root (SGD rate where eps decides: lr / sqrt(eps) = "
            f"{info['sgd_rate']:.4g})")
    return head + "\n" + table.to_string(index=False, float_format=lambda v: f"{v:.3g}")


def activations_text(run_dir: str | Path, frames: dict) -> str:
    """``activation_census`` of ``run_dir``'s checkpoint as printed text. ``frames``: a cache of ``observations``
    per game and environment settings, shared by the run directories of one call.

    Raises:
        UserError: no ``checkpoint.pt`` or ``config.json`` in ``run_dir``, or not an actor-critic run.
    """
    path = _checkpoint_path(run_dir)
    config = read_config(run_dir)
    key = (config["game"], json.dumps(config.get("env", {}), sort_keys=True))
    if key not in frames:
        frames[key] = observations(config["game"], AtariConfig(**config.get("env", {})))
    table = activation_census(load_checkpoint(path), config, frames[key])
    return (f"{run_dir}: activations on {frames[key].shape[0] * frames[key].shape[1]:,} frames of a uniform random "
            f"player of {config['game']}, trained vs a fresh network of the same config\n"
            + table.to_string(index=False, float_format=lambda v: f"{v:.4g}"))


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m replication.diagnose", description=__doc__.split("\n")[0])
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    p.add_argument("--activations", action="store_true",
                   help="also the heads' input scale and the policy's spread, trained vs initial (A2C, A3C runs)")
    args = p.parse_args(argv)
    frames: dict = {}
    print("\n\n".join(census_text(d) + (("\n\n" + activations_text(d, frames)) if args.activations else "")
                      for d in args.run_dirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
