"""Workflow config -> one resolved config per run.

The workflow config (``configs/*.yaml``, checked against the package's ``replication/data/config_schema.yaml``) names
games, seeds and, under ``groups:``, run groups. A group's key is its label, which names its run directories
(``results/runs/{label}/...``); its algorithm is ``algorithm:`` or, when absent, the label itself. So
``a3c_ff: {...}`` is plain A3C FF, while ``a3c_ff_speedup: {algorithm: a3c_ff, ...}`` is a second group of A3C FF runs
(other games, worker counts or hyperparameters). A group may sweep learning rates: ``lr_samples: N`` draws
one initial learning rate per seed 0..N-1 from LogUniform(1e-4, 1e-2) (Mnih et al. 2016 Supp. §8), or
``learning_rates: [...]`` gives them (seed i gets the i-th).

``resolve_run`` turns the config into the fully resolved, JSON-serialisable config of one
(label, game, workers, seed) run, rejecting bad values with a ``UserError`` that names them.
"""

from __future__ import annotations

import dataclasses

import torch

from replication.algorithms.registry import algorithms
from replication.config.plan import check_algorithm, group_algorithm, group_env, group_learning_rate
from replication.core.errors import ConfigValueError, UserError
from replication.core.precision import check_precision
from replication.envs.atari import AtariConfig, check_game
from replication.envs.evaluate import EvalConfig
from replication.runs.rundir import algorithm_of, normalise_config


DEVICES = ("auto", "cpu", "cuda")


def check_device(name: str) -> str:
    """Return the config's device ``name`` if it is one of ``DEVICES``, without looking at this host: the host
    that checks a config (a cluster login node) is not the one a job runs on.

    Raises:
        UserError: an unknown device name.
    """
    if name not in DEVICES:
        raise UserError(f"unknown device {name!r}; accepted: {', '.join(DEVICES)}")
    return name


def resolve_device(name: str) -> str:
    """Where a job runs: ``auto`` -> ``cuda`` when this host has CUDA, else ``cpu``.

    Raises:
        UserError: an unknown name, or ``cuda`` on a host without CUDA.
    """
    if check_device(name) == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        require_cuda("device", name, "device: cpu or auto on this host")
    return name


def require_cuda(option: str, value: str, accepted: str) -> None:
    """Refuse ``option``'s ``value`` (a CUDA device) on a host where ``torch.cuda.is_available()`` is false.

    Raises:
        UserError: one line naming the option, its value, this torch and ``accepted``.
    """
    if not torch.cuda.is_available():
        raise UserError(f"{option} {value!r} requested but this host has no CUDA (torch {torch.__version__}: "
                        f"torch.cuda.is_available() is False); accepted: {accepted}")


def requests_gpu(name: str, local: bool) -> bool:
    """Whether a job with config device ``name`` should hold Snakemake's ``gpu`` resource: ``cuda`` always;
    ``auto`` only when the workflow runs its jobs on this host (``local``) and this host has CUDA (on a cluster
    the node is unknown when the workflow is parsed: write ``device: cuda`` there to ask for a GPU)."""
    return check_device(name) == "cuda" or (name == "auto" and local and torch.cuda.is_available())


def resolve_run(cfg: dict, label: str, game: str, workers: int, seed: int) -> dict:
    """The fully resolved config of one run (JSON-serialisable), as written to its ``config.json``.

    ``group`` is the group label (it names the run directory), ``algorithm`` the algorithm it runs, and
    ``learning_rate`` the run's initial learning rate (swept or default).

    Raises:
        UserError: unknown label, algorithm or game, bad key or type, ``workers < 1``.
    """
    if label not in cfg["groups"]:
        raise UserError(f"no run group {label!r} in the config; configured: {', '.join(cfg['groups'])}")
    check_game(game)
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    section = cfg["groups"][label]
    algorithm = group_algorithm(label, section)
    cls, _ = algorithms()[algorithm]
    overrides = dict(section.get("hyper") or {})
    lr = group_learning_rate(section, seed)
    if lr is not None:
        if algorithm == "a2c":  # PAAC's learning rate is per environment (initial lr = per-env lr * num_envs)
            overrides["learning_rate_per_env"] = lr / workers
        else:
            overrides["learning_rate"] = lr
    hyper = build_dataclass(cls, overrides, f"groups.{label}.hyper")
    initial_lr = hyper.learning_rate(workers) if algorithm == "a2c" else hyper.learning_rate
    return {
        "group": label, "algorithm": algorithm, "game": game, "workers": int(workers), "seed": int(seed),
        "learning_rate": float(initial_lr),
        "total_frames": int(section["total_frames"]),
        "device": section.get("device", cfg.get("device", "auto")),
        "precision": section.get("precision", cfg.get("precision", "fp32")),
        "compile_optimizer": bool(section.get("compile_optimizer",
                                              cfg.get("compile_optimizer", COMPILE_OPTIMIZER_DEFAULT))),
        "checkpoint_every_frames": int(cfg["checkpoint_every_frames"]),
        "log_every_updates": int(cfg["log_every_updates"]),
        "tensorboard": bool(cfg.get("tensorboard", False)),
        "env": dataclasses.asdict(build_dataclass(AtariConfig, group_env(cfg, label), f"groups.{label}.env")),
        "eval": dataclasses.asdict(build_dataclass(EvalConfig, cfg.get("eval"), "eval")),
        "hyper": dataclasses.asdict(hyper),
    }


COMPILE_OPTIMIZER_DEFAULT = True  # the schema's default (data/config_schema.yaml), also for a run config without it

# What ``resolve_run`` writes and ``python -m replication.train --run-config`` needs: key -> JSON type, lowest value
RUN_KEYS = {"group": (str, None), "game": (str, None), "workers": (int, 1), "seed": (int, 0),
            "total_frames": (int, 1), "device": (str, None), "checkpoint_every_frames": (int, 1),
            "log_every_updates": (int, 1), "env": (dict, None), "eval": (dict, None), "hyper": (dict, None)}
OPTIONAL_BOOL_KEYS = ("tensorboard", "compile_optimizer")  # what resolve_run writes beside RUN_KEYS as booleans
_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean",
               type(None): "null"}


def check_resolved_run(resolved) -> dict:
    """Check a resolved run config given by hand (``--run-config``) as ``validate_config`` checks a workflow config:
    a JSON object with every key of ``RUN_KEYS`` (others, such as ``algorithm`` and ``precision``, optional), known
    algorithm, game and device, counts in range, and ``env``/``eval``/``hyper`` sections that build. Returns it with
    its keys as this code names them (``rundir.normalise_config``: a ``config.json`` written by older code, with a
    key since renamed, is accepted too, and ``algorithm`` defaults to ``group``).

    Raises:
        UserError: one line naming the first missing or bad key, its value and what is accepted.
    """
    accepted = f"a JSON object with keys {', '.join(RUN_KEYS)} (what the Snakefile passes)"
    if not isinstance(resolved, dict):
        raise UserError(f"--run-config is a JSON {_JSON_TYPES.get(type(resolved), '?')}; accepted: {accepted}")
    resolved = normalise_config(resolved)
    missing = [key for key in RUN_KEYS if key not in resolved]
    if missing:
        raise UserError(f"--run-config lacks {', '.join(missing)}; accepted: {accepted}")
    for key, (kind, low) in RUN_KEYS.items():
        value = resolved[key]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise UserError(f"--run-config key {key} = {value!r} is a JSON {_JSON_TYPES.get(type(value), '?')}; "
                            f"accepted: a JSON {_JSON_TYPES[kind]}")
        if low is not None and value < low:
            raise UserError(f"--run-config key {key} = {value!r}; accepted: >= {low}")
    for key in OPTIONAL_BOOL_KEYS:
        if key in resolved and not isinstance(resolved[key], bool):
            raise UserError(f"--run-config key {key} = {resolved[key]!r} is a JSON "
                            f"{_JSON_TYPES.get(type(resolved[key]), '?')}; accepted: a JSON boolean")
    try:
        algorithm = check_algorithm(algorithm_of(resolved))
        check_game(resolved["game"])
        check_device(resolved["device"])
        if "precision" in resolved:
            check_precision(resolved["precision"])
        build_dataclass(AtariConfig, resolved["env"], "env")
        build_dataclass(EvalConfig, resolved["eval"], "eval")
        hyper = build_dataclass(algorithms()[algorithm][0], resolved["hyper"], "hyper")
        if hasattr(hyper, "check_workers"):
            hyper.check_workers(resolved["workers"])
    except UserError as e:
        raise UserError(f"--run-config: {e}") from None
    return resolved


def build_dataclass(cls, overrides: dict | None, where: str):
    """Instantiate dataclass ``cls`` from ``overrides`` (the config section at ``where``, e.g. ``groups.a2c.hyper``).

    Each value is checked against the type and range declared on its field (``replication.core.errors.check_fields``).

    Raises:
        UserError: a section that is not a mapping, an unknown key, or a value of the wrong type or out of range,
            as one line naming the key, the value and what is accepted, e.g. ``config key groups.a2c.hyper.gamma =
            1.5; accepted: 0 <= value <= 1``.
    """
    if overrides is not None and not isinstance(overrides, dict):
        raise UserError(f"config key {where} = {overrides!r}; accepted: a mapping of {cls.__name__}'s keys")
    overrides = dict(overrides or {})
    names = [f.name for f in dataclasses.fields(cls)]
    for key in overrides:
        if key not in names:
            raise UserError(f"unknown config key {where}.{key}; accepted: {', '.join(sorted(names))}")
    try:
        return cls(**overrides)
    except ConfigValueError as e:
        raise UserError(f"config key {e.at(where)}") from None
