"""How far an actor-critic's activations and policy have moved from their initial scale, read from a checkpoint.

Under RMSProp with eps deciding the step (``optimizer_census``), a layer's weight step is ``lr / sqrt(eps)`` times
its gradient, and the policy head's gradient is proportional to its input: a network whose hidden activations stay
at their initial scale takes small steps and can stay at the uniform policy (issue 28 row 2: the A3C LSTM on Pong at
the FF run's rate). This census feeds one fixed set of game frames (``observations``: a uniform random player's, the
same for every checkpoint of a game) through the checkpoint's network and through a freshly initialised one of the
same run config, and reports per quantity the trained and the initial value.

``python -m replication.diagnose --activations RUN_DIR ...`` prints the table for a run's ``checkpoint.pt``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch

from replication.algorithms.registry import ALGORITHMS
from replication.core.errors import UserError
from replication.core.networks import scale_frames
from replication.envs.atari import AtariBatch, AtariConfig
from replication.runs.rundir import algorithm_of

COLUMNS = ["quantity", "trained", "at_init"]
ACTOR_CRITICS = tuple(name for name, spec in ALGORITHMS.items() if spec.build_model is not None)


def observations(game: str, env: AtariConfig, agent_steps: int = 300, num_envs: int = 4,
                 seed: int = 0) -> torch.Tensor:
    """Frames a uniform random player sees: uint8 ``(agent_steps, num_envs, stack, 84, 84)``, one row per agent step
    of ``num_envs`` games seeded ``seed``, ``seed + 1``, ... (the same for every call with the same arguments)."""
    batch = AtariBatch(game, num_envs, env, seed)
    rng = np.random.default_rng(seed)
    try:
        frames = [batch.step(rng.integers(0, batch.num_actions, num_envs)).obs.copy() for _ in range(agent_steps)]
    finally:
        batch.close()
    return torch.from_numpy(np.stack(frames))


def _actor_critic_spec(config: dict):
    """The registry's spec of the run's algorithm; UserError unless it is an actor-critic (``ACTOR_CRITICS``)."""
    algorithm = algorithm_of(config)
    if algorithm not in ACTOR_CRITICS:
        raise UserError(f"the activation census reads actor-critics; the run's algorithm is {algorithm!r}; accepted: "
                        f"{', '.join(ACTOR_CRITICS)}")
    return ALGORITHMS[algorithm]


def actor_critic_of(config: dict, num_actions: int) -> torch.nn.Module:
    """A freshly initialised network of a run's ``config`` (``config.json``), built as its training builds it
    (the registry's ``build_model``: A2C's ``ActorCritic``, A3C's FF or LSTM model).

    Raises:
        UserError: the run's algorithm is not an actor-critic (``ACTOR_CRITICS``).
    """
    spec = _actor_critic_spec(config)
    return spec.build_model(spec.config(**config.get("hyper", {})), num_actions,
                            int(config.get("env", {}).get("frame_stack", 4)))


def _quantities(model: torch.nn.Module, obs: torch.Tensor, burn_in: int) -> dict[str, float]:
    """The census' quantities of ``model`` on ``obs`` (``observations``' shape), agent steps before ``burn_in``
    left out of the averages (they only warm an LSTM's state up)."""
    with torch.no_grad():
        torso = model.torso(scale_frames(obs.flatten(0, 1))).unflatten(0, obs.shape[:2])  # (T, n, hidden)
        if hasattr(model, "lstm"):
            state = model.initial_state(obs.shape[1])
            hs = []
            for t in range(obs.shape[0]):
                state = model.lstm(torso[t], state)
                hs.append(state[0])
            head_input = torch.stack(hs)
        else:
            head_input = torso
        logits, value = model.policy(head_input), model.value(head_input)
    torso, head_input, logits, value = (x[burn_in:] for x in (torso, head_input, logits, value))
    logp = torch.log_softmax(logits, -1)
    out = {"torso output RMS": float(torso.pow(2).mean().sqrt())}
    if hasattr(model, "lstm"):
        out["LSTM output h RMS (the heads' input)"] = float(head_input.pow(2).mean().sqrt())
    out.update({"policy weight RMS": float(model.policy.weight.detach().pow(2).mean().sqrt()),
                "logits SD across actions": float(logits.std(-1).mean()),
                f"policy entropy (nats; uniform ln {logits.shape[-1]} = {math.log(logits.shape[-1]):.4f})":
                    float(-(logp.exp() * logp).sum(-1).mean()),
                "value output SD": float(value.std())})
    return out


def activation_census(checkpoint: dict, config: dict, obs: torch.Tensor, burn_in: int = 50) -> pd.DataFrame:
    """Per quantity (the heads' input scale, the policy's spread and entropy, the value's spread) the ``trained``
    value of ``checkpoint``'s network and the ``at_init`` value of a fresh network of the same ``config`` (seeded
    with the run's seed), both on ``obs``.

    Args:
        checkpoint: ``replication.runs.rundir.load_checkpoint`` of an actor-critic run.
        config: the run's ``config.json``.
        obs: uint8 ``(T, n, stack, 84, 84)`` frames of the run's game (``observations``), T > ``burn_in``.
        burn_in: leading agent steps left out of every average (an LSTM's state starts at zero).

    Raises:
        UserError: not an actor-critic run, or a checkpoint whose model does not fit the config's network.
    """
    if obs.shape[0] <= burn_in:
        raise ValueError(f"obs has {obs.shape[0]} agent steps; accepted: more than burn_in = {burn_in}")
    _actor_critic_spec(config)  # refuses a run that is not an actor-critic before its checkpoint is read
    num_actions = int(checkpoint["model"]["policy.weight"].shape[0])
    torch.manual_seed(int(config.get("seed", 0)))
    fresh = actor_critic_of(config, num_actions)
    trained = actor_critic_of(config, num_actions)
    try:
        trained.load_state_dict(checkpoint["model"])
    except RuntimeError as e:
        raise UserError(f"the checkpoint's model does not fit its config.json's network ({str(e).splitlines()[0]}); "
                        "accepted: a checkpoint and config.json of one run") from None
    a, b = _quantities(trained, obs, burn_in), _quantities(fresh, obs, burn_in)
    return pd.DataFrame([(k, a[k], b[k]) for k in a], columns=COLUMNS)
