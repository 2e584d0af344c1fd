"""Workflow config -> one resolved config per run.

The workflow config (``configs/*.yaml``, checked against the package's ``replication/data/config_schema.yaml``) names games, seeds and,
under ``algos:``, run groups. A group's key is its label, which names its run directories
(``results/runs/{label}/...``); its algorithm is ``algo:`` or, when absent, the label itself. So
``a3c_ff: {...}`` is plain A3C FF, while ``a3c_ff_speedup: {algo: a3c_ff, ...}`` is a second group of A3C FF runs
(other games, worker counts or hyperparameters). A group may sweep learning rates: ``lr_samples: N`` draws
one initial learning rate per seed 0..N-1 from LogUniform(1e-4, 1e-2) (Mnih et al. 2016 Supp. §8), or
``learning_rates: [...]`` gives them (seed i gets the i-th).

``resolve_run`` turns the config into the fully resolved, JSON-serialisable config of one
(label, game, workers, seed) run, rejecting bad values with a ``UserError`` that names them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import yaml

from replication.algorithms.registry import ALGORITHMS, algorithms
from replication.core.errors import ConfigValueError, UserError
from replication.core.precision import check_precision
from replication.envs.atari import AtariConfig, check_game
from replication.envs.evaluate import EvalConfig
from replication.peers.sb3 import check_peer_algorithm, peer_label
from replication.runs.rundir import algorithm_of

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "config_schema.yaml"  # package data: found when installed


def group_env(cfg: dict, label: str) -> dict:
    """The environment overrides of run group ``label``: its algorithm's paper protocol (``registry.AlgorithmSpec.env_defaults``,
    life-loss terminals for Nature DQN), then the config's top-level ``env:``, then the group's own ``env:``
    (later wins); unset keys keep ``AtariConfig``'s defaults."""
    section = cfg["algos"][label]
    spec = ALGORITHMS.get(group_algorithm(label, section))
    paper = spec.env_defaults if spec else {}  # A2C/A3C: AtariConfig's own
    return {**paper, **(cfg.get("env") or {}), **(section.get("env") or {})}


def check_algo(algo: str) -> str:
    """Return ``algo`` if known, else raise ``UserError`` listing the accepted names."""
    known = algorithms()
    if algo not in known:
        raise UserError(f"unknown algorithm {algo!r}; accepted: {', '.join(sorted(known))}")
    return algo


def build_dataclass(cls, overrides: dict | None, where: str):
    """Instantiate dataclass ``cls`` from ``overrides`` (the config section at ``where``, e.g. ``algos.a2c.hyper``).

    Each value is checked against the type and range declared on its field (``replication.core.errors.check_fields``).

    Raises:
        UserError: a section that is not a mapping, an unknown key, or a value of the wrong type or out of range,
            as one line naming the key, the value and what is accepted, e.g. ``config key algos.a2c.hyper.gamma =
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
        reason = " ".join(str(e).split())  # PyYAML's report spans lines
        raise UserError(f"config file {str(path)!r} is not valid YAML: {reason}") from None
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else "not UTF-8 text"
        raise UserError(f"config file {str(path)!r} cannot be read ({reason}); accepted: a YAML file") from None
    validate_config(cfg)
    return cfg


def validate_config(cfg: dict) -> dict:
    """Validate ``cfg`` in place against ``schema.yaml`` (defaults filled), then check games (each named once,
    ``check_no_repeats``), algos and keys.

    Raises:
        UserError: one line naming the first bad value and what is accepted.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    if not isinstance(cfg, dict):
        raise UserError(f"invalid config at (top level): {cfg!r} is not a mapping; accepted: a mapping with games "
                        "and algos (replication/data/config_schema.yaml)")
    try:
        validate(cfg, str(SCHEMA), set_default=True)
    except WorkflowError as e:
        raise UserError(_schema_message(e)) from None
    check_no_repeats(cfg)
    for game in cfg["games"]:
        check_game(game)
    check_device(cfg["device"])
    build_dataclass(AtariConfig, cfg.get("env"), "env")
    build_dataclass(EvalConfig, cfg.get("eval"), "eval")
    for label, section in cfg["algos"].items():
        check_device(section.get("device", cfg["device"]))
        env = build_dataclass(AtariConfig, group_env(cfg, label), f"algos.{label}.env")  # the top level's is valid
        cls, _ = algorithms()[group_algorithm(label, section)]
        hyper = build_dataclass(cls, section.get("hyper"), f"algos.{label}.hyper")
        if hasattr(hyper, "check_workers"):  # e.g. A2C's env_groups must divide each num_envs
            for workers in section["workers"]:
                hyper.check_workers(workers)
        if getattr(hyper, "replay_capacity", env.frame_stack) < env.frame_stack:  # DQN: a transition needs its stack
            raise UserError(f"config key algos.{label}.hyper.replay_capacity = {hyper.replay_capacity}; accepted: "
                            f">= the env frame_stack ({env.frame_stack})")
        for game in section.get("games") or []:
            check_game(game)
        if section.get("peer"):
            try:
                check_peer_algorithm(group_algorithm(label, section))
            except UserError as e:
                raise UserError(f"algos.{label}.peer: {e}") from None
            if peer_label(label) in cfg["algos"]:
                raise UserError(f"algos.{label}.peer: its peer's label {peer_label(label)!r} is also a run group; "
                                "rename that group")
    return cfg


# The lists of a config whose entries each name one run dimension: key -> what an entry is (for the message).
# ``learning_rates`` may repeat a value (seed i gets the i-th, and two seeds may share a rate).
UNIQUE_LISTS = {"games": "game", "seeds": "seed", "workers": "value"}


def check_no_repeats(cfg: dict) -> None:
    """Refuse a ``UNIQUE_LISTS`` list (top level or a run group's) that names an entry twice: the plan would run it
    once, and a repeated game is most likely a typo for another game, which would then never train.

    Raises:
        UserError: ``config key games = ['pong', 'pong'] repeats 'pong'; accepted: each game once``.
    """
    sections = [("", cfg)] + [(f"algos.{label}.", section) for label, section in cfg["algos"].items()]
    for where, section in sections:
        for key, entry in UNIQUE_LISTS.items():
            values = section.get(key) or []
            repeated = next((v for i, v in enumerate(values) if v in values[:i]), None)
            if repeated is not None:
                raise UserError(f"config key {where}{key} = {values!r} repeats {repeated!r}; accepted: each {entry} "
                                "once")


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


def group_algorithm(label: str, section: dict) -> str:
    """The algorithm of run group ``label``: its ``algo:`` key, else the label itself.

    Raises:
        UserError: neither names a known algorithm.
    """
    algo = section.get("algo", label)
    try:
        return check_algo(algo)
    except UserError as e:
        hint = "" if "algo" in section else f" (or set algo: under algos.{label})"
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
    import numpy as np

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
    for label, section in cfg["algos"].items():
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
            if cfg["algos"][label].get("peer")]


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
        if group_algorithm(label, cfg["algos"][label]).startswith("a3c") and workers > cores:
            raise UserError(f"algos.{label}.workers = {workers} but snakemake was given --cores {cores}; accepted: "
                            f"workers <= {cores} (one core per A3C actor-learner): pass --cores {workers} on a "
                            f"host with that many cores, or lower workers")


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
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("device 'cuda' requested but this host has no CUDA; use device: cpu or auto")
    return name


def requests_gpu(name: str, local: bool) -> bool:
    """Whether a job with config device ``name`` should hold Snakemake's ``gpu`` resource: ``cuda`` always;
    ``auto`` only when the workflow runs its jobs on this host (``local``) and this host has CUDA (on a cluster
    the node is unknown when the workflow is parsed: write ``device: cuda`` there to ask for a GPU)."""
    return check_device(name) == "cuda" or (name == "auto" and local and torch.cuda.is_available())


def resolve_run(cfg: dict, label: str, game: str, workers: int, seed: int) -> dict:
    """The fully resolved config of one run (JSON-serialisable), as written to its ``config.json``.

    ``algo`` is the group label (it names the run directory), ``algorithm`` the algorithm it runs, and
    ``learning_rate`` the run's initial learning rate (swept or default).

    Raises:
        UserError: unknown label, algorithm or game, bad key or type, ``workers < 1``.
    """
    if label not in cfg["algos"]:
        raise UserError(f"no run group {label!r} in the config; configured: {', '.join(cfg['algos'])}")
    check_game(game)
    if workers < 1:
        raise UserError(f"workers must be >= 1, got {workers}")
    section = cfg["algos"][label]
    algo = group_algorithm(label, section)
    cls, _ = algorithms()[algo]
    overrides = dict(section.get("hyper") or {})
    lr = group_learning_rate(section, seed)
    if lr is not None:
        if algo == "a2c":  # PAAC's learning rate is per environment (initial lr = per-env lr * num_envs)
            overrides["learning_rate_per_env"] = lr / workers
        else:
            overrides["learning_rate"] = lr
    hyper = build_dataclass(cls, overrides, f"algos.{label}.hyper")
    initial_lr = hyper.learning_rate(workers) if algo == "a2c" else hyper.learning_rate
    return {
        "algo": label, "algorithm": algo, "game": game, "workers": int(workers), "seed": int(seed),
        "learning_rate": float(initial_lr),
        "total_frames": int(section["total_frames"]),
        "device": section.get("device", cfg.get("device", "auto")),
        "precision": section.get("precision", cfg.get("precision", "fp32")),
        "compile_optimizer": bool(section.get("compile_optimizer",
                                              cfg.get("compile_optimizer", COMPILE_OPTIMIZER_DEFAULT))),
        "checkpoint_every_frames": int(cfg["checkpoint_every_frames"]),
        "log_every_updates": int(cfg["log_every_updates"]),
        "tensorboard": bool(cfg.get("tensorboard", False)),
        "env": dataclasses.asdict(build_dataclass(AtariConfig, group_env(cfg, label), f"algos.{label}.env")),
        "eval": dataclasses.asdict(build_dataclass(EvalConfig, cfg.get("eval"), "eval")),
        "hyper": dataclasses.asdict(hyper),
    }


COMPILE_OPTIMIZER_DEFAULT = True  # the schema's default (data/config_schema.yaml), also for a run config without it

# What ``resolve_run`` writes and ``python -m replication.train --run-config`` needs: key -> JSON type, lowest value
RUN_KEYS = {"algo": (str, None), "game": (str, None), "workers": (int, 1), "seed": (int, 0),
            "total_frames": (int, 1), "device": (str, None), "checkpoint_every_frames": (int, 1),
            "log_every_updates": (int, 1), "env": (dict, None), "eval": (dict, None), "hyper": (dict, None)}
OPTIONAL_BOOL_KEYS = ("tensorboard", "compile_optimizer")  # what resolve_run writes beside RUN_KEYS as booleans
_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "integer", float: "number", bool: "boolean",
               type(None): "null"}


def check_resolved_run(resolved) -> dict:
    """Check a resolved run config given by hand (``--run-config``) as ``validate_config`` checks a workflow config:
    a JSON object with every key of ``RUN_KEYS`` (others, such as ``algorithm`` and ``precision``, optional), known
    algorithm, game and device, counts in range, and ``env``/``eval``/``hyper`` sections that build. Returns it.

    Raises:
        UserError: one line naming the first missing or bad key, its value and what is accepted.
    """
    accepted = f"a JSON object with keys {', '.join(RUN_KEYS)} (what the Snakefile passes)"
    if not isinstance(resolved, dict):
        raise UserError(f"--run-config is a JSON {_JSON_TYPES.get(type(resolved), '?')}; accepted: {accepted}")
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
        algo = check_algo(algorithm_of(resolved))
        check_game(resolved["game"])
        check_device(resolved["device"])
        if "precision" in resolved:
            check_precision(resolved["precision"])
        build_dataclass(AtariConfig, resolved["env"], "env")
        build_dataclass(EvalConfig, resolved["eval"], "eval")
        hyper = build_dataclass(algorithms()[algo][0], resolved["hyper"], "hyper")
        if hasattr(hyper, "check_workers"):
            hyper.check_workers(resolved["workers"])
    except UserError as e:
        raise UserError(f"--run-config: {e}") from None
    return resolved
