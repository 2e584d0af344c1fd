"""A2C as PAAC (Clemente et al. 2017, Algorithm 1): ``num_envs`` games in lockstep, one learner.

Each update: every environment takes ``rollout_length`` agent steps with actions sampled from the current
policy (one batched forward per step, keeping the convolutions' autograd graph; the FC layer and the heads then
run with gradients once over the whole batch, ``networks.act``); n-step returns are bootstrapped from
``V(s_{t+rollout_length})`` and cut at terminals (a game cut by the frame cap bootstraps from the state it was cut in,
``returns.bootstrap_time_limits``); one gradient step of the batch-mean actor-critic loss, scaled by
``rollout_length`` as in the authors' code, with global gradient-norm clipping and RMSProp (eps under the root,
Mnih 2016 eq. 9).
The learning rate decays linearly to 0 over ``lr_annealing_frames`` (PAAC's 80M global steps = 320M frames, whatever
the run's length; 0 anneals over the run's own ``total_frames``); ``lr_schedule: constant`` keeps it, as SB3.

Overlap (``env_groups`` > 1, not in the paper; the same algorithm): the environments are split into groups, each
its own ``AtariVectorEnv``; while one group's emulators step in ale-py's threads, the network computes the next
group's forward. Every environment still takes exactly one step per agent step with the current policy, and the
loss is the same batch in the same (agent step, environment) order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from replication.core.errors import Probability, UserError, check_fields
from replication.core.losses import actor_critic_loss
from replication.core.networks import ActorCritic, INITS, NETWORKS, act
from replication.core.optim import LR_SCHEDULES, PaperRMSprop, annealing_frames, scheduled_lr
from replication.core.returns import bootstrap_time_limits, n_step_returns
from replication.core.transfer import to_device
from replication.core.update import update_step
from replication.envs.atari import AtariBatch, EpisodeTracker
from replication.runs.training import TrainingRun


@dataclass(frozen=True)
class A2CConfig:
    """A2C/PAAC hyperparameters; each is a key under ``groups: a2c: hyper:`` in the workflow config.

    Sources: reference ``hyperparameters.md`` §3 (Alfredvc/paac ``train.py`` defaults and README).
    ``num_envs`` is not a field: it is the run's ``workers`` (PAAC's n_e, default 32 in the authors' code).
    Each field's type and range are declared on it (``replication.core.errors.check_fields``).

    Raises:
        replication.core.errors.ConfigValueError: a value of the wrong type or out of range.
    """

    rollout_length: PositiveInt = 5  # t_max; Alfredvc/paac train.py max_local_steps=5
    gamma: Probability = 0.99  # Alfredvc/paac train.py gamma=0.99
    learning_rate_per_env: PositiveFloat = 0.0007  # initial_lr 0.0224 at emulator_counts 32 (Alfredvc/paac train.py)
    rmsprop_alpha: Annotated[float, Field(gt=0, lt=1)] = 0.99  # Alfredvc/paac train.py alpha=0.99
    rmsprop_eps: PositiveFloat = 0.1  # Alfredvc/paac train.py e=0.1 (under the root, TF1 RMSProp)
    rmsprop_square_avg_init: NonNegativeFloat = 1.0  # TF1 RMSPropOptimizer starts its average at 1 (PAAC's code)
    entropy_beta: NonNegativeFloat = 0.01  # paper value per the PAAC README ("changed from 0.01 to 0.02" in the code)
    value_loss_weight: NonNegativeFloat = 0.25  # Alfredvc/paac policy_v_network.py: 0.25 * (R - V)^2
    max_grad_norm: PositiveFloat = 40.0  # paper value per the PAAC README ("changed from 40.0 to 3.0" in the code)
    loss_scale: PositiveFloat = 5.0  # Alfredvc/paac networks.py loss_scaling = 5.0 (= max_local_steps of the tuning)
    network: Literal[NETWORKS] = "nips"  # Alfredvc/paac train.py arch="NIPS"; "nature" is the other option
    init: Literal[INITS] = "torch"  # Alfredvc/paac networks.py init="torch"; "orthogonal" as OpenAI Baselines
    # PAAC / Mnih 2016 §8: annealed linearly to 0; "constant" as SB3's A2C
    lr_schedule: Literal[LR_SCHEDULES] = "linear"
    lr_annealing_frames: NonNegativeInt = 320_000_000  # Alfredvc/paac train.py lr_annealing_steps=80M global steps
    # x 4 frames each: PAAC's horizon whatever the run's length; 0 = the run's own total_frames (Mnih 2016 §8)
    env_groups: PositiveInt = 1  # engineering, not in the paper: 1 = PAAC's single lockstep batch; 2 overlaps emulation
    # of one half of the environments with the network's forward for the other half (module docstring)

    def __post_init__(self):
        check_fields(self)

    def check_workers(self, num_envs: int) -> None:
        """Raise ``UserError`` unless ``env_groups`` divides ``num_envs`` (every group steps the same count)."""
        if num_envs % self.env_groups:
            raise UserError(f"a2c hyper env_groups = {self.env_groups} does not divide workers = {num_envs}; "
                            f"accepted: a divisor of {num_envs}")

    def learning_rate(self, num_envs: int) -> float:
        """Initial learning rate: ``learning_rate_per_env * num_envs`` (0.0224 at 32 envs)."""
        return self.learning_rate_per_env * num_envs

    def annealing_frames(self, total_frames: int) -> int:
        """Frames over which ``linear`` anneals the learning rate to 0 (``optim.annealing_frames``)."""
        return annealing_frames(self.lr_annealing_frames, total_frames)


def build_model(hp: A2CConfig, num_actions: int, in_channels: int) -> ActorCritic:
    """A2C's actor-critic for ``hp`` (its ``network`` and ``init``; Clemente et al. 2017 section 4: the NIPS or
    Nature torso with a softmax policy and a linear value head): uint8 ``(B, in_channels, 84, 84)`` -> ``(logits
    (B, num_actions), value (B,))``, float32 (``core.networks.ActorCritic``)."""
    return ActorCritic(hp.network, num_actions, in_channels, init=hp.init)


def train(run: TrainingRun) -> None:
    """Train A2C for ``run.total_frames`` frames, logging into ``run.dir``; resumes from its checkpoint.

    Raises:
        UserError: ``env_groups`` does not divide the number of environments.
        replication.core.update.TrainingDiverged: a non-finite loss (the last good checkpoint is kept).
    """
    hp: A2CConfig = run.hyper
    n, T, G = run.workers, hp.rollout_length, hp.env_groups
    hp.check_workers(n)
    m = n // G  # environments per group; environment g * m + i is group g's i-th, seeded env_seed + g * m + i
    cols = [slice(g * m, (g + 1) * m) for g in range(G)]  # group g's columns of the (T, n) rollout tensors
    device = run.device
    envs = [AtariBatch(run.game, m, run.env, seed=run.env_seed() + g * m) for g in range(G)]
    model = build_model(hp, envs[0].num_actions, run.env.frame_stack).to(device)
    lr0 = hp.learning_rate(n)
    opt = PaperRMSprop(model.parameters(), lr=lr0, alpha=hp.rmsprop_alpha, eps=hp.rmsprop_eps,
                       square_avg_init=hp.rmsprop_square_avg_init)
    run.start(model, opt, policy=lambda x: model(x)[0])  # resumes counters, RNG, model, optimizer from a checkpoint
    trackers = [EpisodeTracker(m) for _ in range(G)]
    frame_skip = run.env.frame_skip

    obs = [to_device(env.obs, device) for env in envs]
    rewards = torch.zeros(T, n)
    dones = torch.zeros(T, n)
    actions = torch.zeros(T, n, dtype=torch.int64)

    def receive(g: int, t: int) -> torch.Tensor:
        """Wait for group ``g``'s step ``t``: its rewards (time limits bootstrapped) and terminals into the rollout, its
        frames and finished games into the run; returns its next observation."""
        step = envs[g].recv()
        reward = torch.from_numpy(step.reward)
        if step.final_obs is not None:  # a game hit the frame cap: its target bootstraps from where it was cut
            with torch.no_grad():
                final_values = model(to_device(step.final_obs, device))[1].float().cpu()
            reward = bootstrap_time_limits(reward, torch.from_numpy(step.time_limit), final_values, hp.gamma)
        rewards[t, cols[g]] = reward
        dones[t, cols[g]] = torch.from_numpy(step.done.astype(np.float32))
        run.record_step(trackers[g], step.raw_reward, step.game_over, frame_skip, first_worker=g * m)
        return to_device(step.obs, device)  # pinned, non-blocking on CUDA

    try:
        while run.frames < run.total_frames:
            with run.rollout():  # an interrupted rollout is not counted in the checkpoint
                lr = scheduled_lr(hp.lr_schedule, lr0, run.frames, hp.annealing_frames(run.total_frames))
                feature_steps = []  # (agent step, group) order = (t, environment) order
                with run.autocast():  # one context per rollout: bf16 autocast casts the weights once, not per forward
                    for t in range(T):
                        for g in range(G):  # group g's forward runs while the other groups' emulators step
                            if t > 0:
                                obs[g] = receive(g, t - 1)
                            features, action = act(model, obs[g], run.generator)
                            feature_steps.append(features)
                            actions[t, cols[g]] = action.cpu()
                            envs[g].send(actions[t, cols[g]].numpy())
                    for g in range(G):
                        obs[g] = receive(g, T - 1)
                    with torch.no_grad():
                        bootstrap = model(torch.cat(obs) if G > 1 else obs[0])[1].float().cpu()
                    logits, values = model.heads(torch.cat(feature_steps))  # FC and heads once, with gradients
                returns = n_step_returns(rewards, dones, bootstrap, hp.gamma).to(device)
                terms = actor_critic_loss(logits.float(), values.float(), actions.to(device).reshape(-1),
                                          returns.reshape(-1), hp.entropy_beta, hp.value_loss_weight,
                                          loss_scale=hp.loss_scale)
                grad_norm = update_step(terms.total, model.parameters(), opt, learning_rate=lr,
                                        max_grad_norm=hp.max_grad_norm, where=run.where)
            run.after_update({**terms.scalars(), "grad_norm": grad_norm, "learning_rate": lr})
    finally:
        for env in envs:
            env.close()
    run.finish()
