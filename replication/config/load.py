"""A workflow config read and checked as a whole (``load_config``): the YAML against the package's schema
(``replication/data/config_schema.yaml``), then every group's sections against their dataclasses, before any run
starts."""

from __future__ import annotations

from pathlib import Path

import yaml

from replication.algorithms.registry import algorithms
from replication.config.plan import group_algorithm, group_env
from replication.config.resolve import build_dataclass, check_device
from replication.core.errors import UserError
from replication.envs.atari import AtariConfig, check_game
from replication.envs.evaluate import EvalConfig
from replication.peers.sb3 import check_peer_algorithm, peer_label


SCHEMA = Path(__file__).resolve().parent.parent / "data" / "config_schema.yaml"  # package data: found when installed


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
    ``check_no_repeats``), run groups and keys. A key renamed since (``check_renamed_keys``) is named first.

    Raises:
        UserError: one line naming the first bad value and what is accepted.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    if not isinstance(cfg, dict):
        raise UserError(f"invalid config at (top level): {cfg!r} is not a mapping; accepted: a mapping with games "
                        "and groups (replication/data/config_schema.yaml)")
    check_renamed_keys(cfg)
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
    for label, section in cfg["groups"].items():
        check_device(section.get("device", cfg["device"]))
        env = build_dataclass(AtariConfig, group_env(cfg, label), f"groups.{label}.env")  # the top level's is valid
        cls, _ = algorithms()[group_algorithm(label, section)]
        hyper = build_dataclass(cls, section.get("hyper"), f"groups.{label}.hyper")
        if hasattr(hyper, "check_workers"):  # e.g. A2C's env_groups must divide each num_envs
            for workers in section["workers"]:
                hyper.check_workers(workers)
        if getattr(hyper, "replay_capacity", env.frame_stack) < env.frame_stack:  # DQN: a transition needs its stack
            raise UserError(f"config key groups.{label}.hyper.replay_capacity = {hyper.replay_capacity}; accepted: "
                            f">= the env frame_stack ({env.frame_stack})")
        for game in section.get("games") or []:
            check_game(game)
        if section.get("peer"):
            try:
                check_peer_algorithm(group_algorithm(label, section))
            except UserError as e:
                raise UserError(f"groups.{label}.peer: {e}") from None
            if peer_label(label) in cfg["groups"]:
                raise UserError(f"groups.{label}.peer: its peer's label {peer_label(label)!r} is also a run group; "
                                "rename that group")
    return cfg


def check_renamed_keys(cfg: dict) -> None:
    """Refuse a config that still names a key as it was named before it was renamed: the top-level ``algos:`` (now
    ``groups:``) and a run group's ``algo:`` (now ``algorithm:``). The message gives the new name, where the schema
    would only call the key unexpected.

    Raises:
        UserError: one line, e.g. ``config key algos was renamed groups; accepted: groups (rename algos: to groups:
            in the config file)``.
    """
    if "algos" in cfg:
        sections = cfg["algos"] if isinstance(cfg["algos"], dict) else {}
        also = (", and each group's algo: to algorithm:"
                if any(isinstance(s, dict) and "algo" in s for s in sections.values()) else "")
        raise UserError(f"config key algos was renamed groups; accepted: groups (rename algos: to groups:{also} in "
                        "the config file)")
    groups = cfg.get("groups")
    for label, section in groups.items() if isinstance(groups, dict) else ():
        if isinstance(section, dict) and "algo" in section:
            raise UserError(f"config key groups.{label}.algo was renamed algorithm; accepted: "
                            f"groups.{label}.algorithm (rename algo: to algorithm: in the config file)")


# The lists of a config whose entries each name one run dimension: key -> what an entry is (for the message).
# ``learning_rates`` may repeat a value (seed i gets the i-th, and two seeds may share a rate).
UNIQUE_LISTS = {"games": "game", "seeds": "seed", "workers": "value"}


def check_no_repeats(cfg: dict) -> None:
    """Refuse a ``UNIQUE_LISTS`` list (top level or a run group's) that names an entry twice: the plan would run it
    once, and a repeated game is most likely a typo for another game, which would then never train.

    Raises:
        UserError: ``config key games = ['pong', 'pong'] repeats 'pong'; accepted: each game once``.
    """
    sections = [("", cfg)] + [(f"groups.{label}.", section) for label, section in cfg["groups"].items()]
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
