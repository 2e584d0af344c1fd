"""The algorithm registry: one spec per algorithm name (``a2c``, ``a3c_ff``, ``a3c_lstm``, ``dqn``) with its
hyperparameter dataclass, its ``train(run)`` function and its paper's environment protocol (the ``AtariConfig``
overrides a run group of it starts from, e.g. Nature DQN's life-loss terminals)."""

from __future__ import annotations

from dataclasses import dataclass, field

from replication.algorithms import a2c, a3c, a3c_supervisor, dqn


@dataclass(frozen=True)
class AlgorithmSpec:
    config: type  # the hyperparameter dataclass (its defaults are the paper's)
    train: object  # train(run: TrainingRun) -> None
    env_defaults: dict = field(default_factory=dict)  # AtariConfig overrides of the paper's protocol
    # build_model(hp, num_actions, in_channels) -> the actor-critic its training builds; None for DQN (a Q-network
    # pair, dqn.DQNAgent)
    build_model: object = None


ALGORITHMS: dict[str, AlgorithmSpec] = {
    "a2c": AlgorithmSpec(a2c.A2CConfig, a2c.train, build_model=a2c.build_model),
    "a3c_ff": AlgorithmSpec(a3c.A3CConfig, a3c_supervisor.train, build_model=a3c.build_model),
    "a3c_lstm": AlgorithmSpec(a3c.A3CLSTMConfig, a3c_supervisor.train, build_model=a3c.build_model),
    "dqn": AlgorithmSpec(dqn.DQNConfig, dqn.train, dqn.ENV_DEFAULTS),
}


def algorithms() -> dict:
    """Algorithm name -> (hyperparameter dataclass, ``train(run)`` function)."""
    return {name: (spec.config, spec.train) for name, spec in ALGORITHMS.items()}
