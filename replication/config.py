"""Workflow config -> one resolved config per run.

The workflow config (``configs/*.yaml``, checked against ``configs/schema.yaml``) names games, seeds and,
per algorithm, the worker counts, frame budget and hyperparameter overrides. ``resolve_run`` turns it into
the fully resolved, JSON-serialisable config of one (algo, game, workers, seed) run, rejecting bad values
with a ``UserError`` that names them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import yaml

from replication.atari import AtariConfig, check_game
from replication.errors import UserError
from replication.evaluate import EvalConfig

SCHEMA = Path(__file__).resolve().parent.parent / "configs" / "schema.yaml"


def algorithms() -> dict:
    """Algorithm name -> (hyperparameter dataclass, ``train(run)`` function)."""
    from replication import a2c, a3c, dqn

    return {"a2c": (a2c.A2CConfig, a2c.train), "a3c_ff": (a3c.A3CConfig, a3c.train),
            "a3c_lstm": (a3c.A3CLSTMConfig, a3c.train), "dqn": (dqn.DQNConfig, dqn.train)}


def check_algo(algo: str) -> str:
    """Return ``algo`` if known, else raise ``UserError`` listing the accepted names."""
    known = algorithms()
    if algo not in known:
        raise UserError(f"unknown algorithm {algo!r}; accepted: {', '.join(sorted(known))}")
    return algo


def _check_type(where: str, key: str, value, default) -> None:
    expected = type(default)
    ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise UserError(f"config key {where}.{key} = {value!r} has type {type(value).__name__}; "
                        f"expected {expected.__name__}")


def build_dataclass(cls, overrides: dict | None, where: str):
    """Instantiate dataclass ``cls`` from ``overrides``, checking each key's name and type.

    Raises:
        UserError: an unknown key or a value of the wrong type, naming the key, the value and the expected type.
    """
    overrides = dict(overrides or {})
    defaults = {f.name: f.default for f in dataclasses.fields(cls)}
    for key, value in overrides.items():
        if key not in defaults:
            raise UserError(f"unknown config key {where}.{key}; accepted: {', '.join(sorted(defaults))}")
        _check_type(where, key, value, defaults[key])
    return cls(**overrides)


def load_config(path: str | Path) -> dict:
    """Load a workflow YAML config and validate it against the schema (filling defaults).

    Raises:
        UserError: missing file, bad YAML or a schema violation.
    """
    path = Path(path)
    if not path.exists():
        raise UserError(f"config file {str(path)!r} not found")
    try:
        cfg = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise UserError(f"config file {str(path)!r} is not valid YAML: {e}") from None
    validate_config(cfg)
    return cfg


def validate_config(cfg: dict) -> dict:
    """Validate ``cfg`` in place against ``schema.yaml`` (defaults filled), then check games, algos and keys.

    Raises:
        UserError: one line naming the first bad value and what is accepted.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(cfg, str(SCHEMA), set_default=True)
    except WorkflowError as e:
        raise UserError(_schema_message(e)) from None
    for game in cfg["games"]:
        check_game(game)
    resolve_device(cfg["device"])
    for algo, section in cfg["algos"].items():
        resolve_device(section.get("device", cfg["device"]))
        cls, _ = algorithms()[check_algo(algo)]
        build_dataclass(cls, section.get("hyper"), f"algos.{algo}.hyper")
        for game in section.get("games") or []:
            check_game(game)
    build_dataclass(AtariConfig, cfg.get("env"), "env")
    build_dataclass(EvalConfig, cfg.get("eval"), "eval")
    return cfg


def _schema_message(err: Exception) -> str:
    """Reduce jsonschema's multi-line report to one line: what is wrong, and where."""
    cause = err.__cause__ or err.__context__
    try:
        import jsonschema

        if isinstance(cause, jsonschema.ValidationError):
            where = ".".join(str(p) for p in cause.absolute_path) or "(top level)"
            return f"invalid config at {where}: {cause.message}"
    except ImportError:
        pass
    text = str(err).strip().splitlines()
    return "invalid config: " + (text[0] if text else repr(err))


def run_plan(cfg: dict) -> list[tuple[str, str, int, int]]:
    """Every (algo, game, workers, seed) run the config asks for, in a stable order."""
    plan = []
    for algo, section in cfg["algos"].items():
        for game in section.get("games") or cfg["games"]:
            for workers in section["workers"]:
                for seed in cfg["seeds"]:
                    plan.append((algo, game, int(workers), int(seed)))
    return plan


def resolve_device(name: str) -> str:
    """``auto`` -> ``cuda`` when available else ``cpu``; ``cuda`` without CUDA raises ``UserError``."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' requested but this host has no CUDA; use device: cpu or auto")
    if name not in ("cpu", "cuda"):
        raise UserError(f"unknown device {name!r}; accepted: auto, cpu, cuda")
    return name


def resolve_run(cfg: dict, algo: str, game: str, workers: int, seed: int) -> dict:
    """The fully resolved config of one run (JSON-serialisable), as written to its ``config.json``.

    Raises:
        UserError: unknown algo or game, bad key or type, ``workers < 1``.
    """
    check_algo(algo)
    check_game(game)
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    section = cfg["algos"][algo]
    cls, _ = algorithms()[algo]
    hyper = build_dataclass(cls, section.get("hyper"), f"algos.{algo}.hyper")
    return {
        "algo": algo, "game": game, "workers": int(workers), "seed": int(seed),
        "total_frames": int(section["total_frames"]),
        "device": section.get("device", cfg.get("device", "auto")),
        "checkpoint_every_frames": int(cfg["checkpoint_every_frames"]),
        "log_every_updates": int(cfg["log_every_updates"]),
        "env": dataclasses.asdict(build_dataclass(AtariConfig, cfg.get("env"), "env")),
        "eval": dataclasses.asdict(build_dataclass(EvalConfig, cfg.get("eval"), "eval")),
        "hyper": dataclasses.asdict(hyper),
    }
