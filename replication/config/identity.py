"""Whether a run directory holds the requested run: its identity (``rundir.run_identity``) compared key by key,
a key that older code did not write read as the default of the algorithm's dataclass (``section_defaults``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from replication.algorithms.registry import algorithms
from replication.envs.atari import AtariConfig
from replication.envs.evaluate import EvalConfig
from replication.runs.rundir import (algorithm_of, load_checkpoint, normalise_config, read_config,
                                     refuse_other_run)


def section_defaults(resolved: dict) -> dict:
    """Defaults of the ``env``/``eval``/``hyper`` dataclasses of a run's algorithm: a key that a directory written by
    older code lacks is compared as its default, so a field added since does not make it another run."""
    try:
        hyper = algorithms()[algorithm_of(resolved)][0]
        return {name: dataclasses.asdict(cls()) for name, cls in (("env", AtariConfig), ("eval", EvalConfig),
                                                                   ("hyper", hyper))}
    except (KeyError, TypeError):
        return {}


def check_run_dir(path: str | Path, requested: dict) -> dict | None:
    """Check, before anything in run directory ``path`` is written, that it holds the ``requested`` run (the same
    ``run_identity``) or none yet; returns its ``config.json`` (or checkpoint config), None for a new directory.

    Reads ``config.json``; where there is none but a ``checkpoint.pt``, the checkpoint's config, each as this code
    names its keys (``rundir.normalise_config``: a directory written by older code, with a key since renamed, holds
    the same run). A directory made before fingerprints existed is compared key by key like any other.

    Raises:
        UserError: the directory holds another run (``refuse_other_run``), or its ``config.json`` or
            ``checkpoint.pt`` is damaged.
    """
    path = Path(path)
    if (path / "config.json").exists():
        held = read_config(path)
        refuse_other_run(path, held, requested, "config.json", section_defaults(requested))
        return held
    if (path / "checkpoint.pt").exists():
        held = normalise_config(load_checkpoint(path / "checkpoint.pt").get("config") or {})
        if held:
            refuse_other_run(path, held, requested, "checkpoint.pt", section_defaults(requested))
        return held
    return None
