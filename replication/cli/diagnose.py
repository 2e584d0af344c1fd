"""``python -m replication.diagnose``: why a run is not learning, read from its checkpoint.

Usage::

    python -m replication.diagnose RUN_DIR ...        # a finished or still-training run directory

Prints, per layer, how much of the RMSProp step the optimizer's epsilon decides (``eps_share``: 1.0 = every
parameter takes the SGD step ``lr / sqrt(eps) * gradient``), the typical step per update and that step relative
to the layer's weights (``replication.results.optimizer_census``). Reads ``checkpoint.pt`` only; changes nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from replication.core.errors import ArgumentParser, UserError, cli_main
from replication.results.optimizer_census import optimizer_census
from replication.runs.rundir import load_checkpoint


def census_text(run_dir: str | Path) -> str:
    """The census of ``run_dir``'s checkpoint as printed text: one header line, then the table.

    Raises:
        UserError: no ``checkpoint.pt`` in ``run_dir``, a damaged one, or one without RMSProp state.
    """
    path = Path(run_dir) / "checkpoint.pt"
    if not path.is_file():
        raise UserError(f"no checkpoint.pt in {str(run_dir)!r}; accepted: a run directory of replication.train "
                        "that has saved a checkpoint")
    table, info = optimizer_census(load_checkpoint(path))
    head = (f"{run_dir}: frames {info['frames']:,}, updates {info['updates']:,}; RMSProp lr {info['lr']:.4g}, "
            f"eps {info['eps']:g} under the root (SGD rate where eps decides: lr / sqrt(eps) = "
            f"{info['sgd_rate']:.4g})")
    return head + "\n" + table.to_string(index=False, float_format=lambda v: f"{v:.3g}")


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m replication.diagnose", description=__doc__.split("\n")[0])
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    args = p.parse_args(argv)
    print("\n\n".join(census_text(d) for d in args.run_dirs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
