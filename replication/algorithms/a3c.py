"""A3C (Mnih et al. 2016, Algorithm S3): asynchronous actor-learners with Hogwild updates.

``workers`` processes (torch.multiprocessing, spawn) each own one environment and a local copy of the
network. Per rollout a worker: copies the shared parameters into its local network; acts for up to
``rollout_length`` agent steps or until a training terminal; bootstraps ``R = V(s_t)`` (0 at a terminal);
accumulates the gradients of the summed actor-critic loss; clips their global norm; and applies them to the
shared parameters with RMSProp, without locks. The RMSProp statistics ``g`` are one shared vector
(Supp. §7 "Shared RMSProp") or one per worker (``shared_rmsprop: false``). The learning rate decays linearly
to 0 with the global frame count, which is the sum of per-worker counters in shared memory (each worker
writes only its own slot, so no increment is lost and no lock is needed).

This module is what one actor-learner does (``worker_main``, ``rollout_loss``) and what it is started with
(``WorkerSpec``, the hyperparameters); ``a3c_supervisor.train`` starts the workers and keeps the run's books.
"""

from __future__ import annotations

import ctypes
import signal
import traceback
from dataclasses import dataclass, replace
from typing import Annotated, Literal

import torch
import torch.multiprocessing as mp
from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt

from replication.core.errors import Probability, check_fields
from replication.core.losses import actor_critic_loss
from replication.core.networks import ActorCritic, ActorCriticLSTM, INITS, NETWORKS, act, sample_actions
from replication.core.optim import PaperRMSprop, linear_lr
from replication.core.precision import autocast
from replication.core.returns import bootstrap_time_limits, n_step_returns
from replication.core.update import TrainingDiverged, update_step
from replication.envs.atari import AtariBatch, AtariConfig, EpisodeTracker


@dataclass(frozen=True)
class A3CConfig:
    """A3C hyperparameters; each is a key under ``groups: a3c_ff|a3c_lstm: hyper:``.

    Sources: ``replication/data/hyperparameters.md`` §1 (Mnih et al. 2016 Supp. §7-8, muupan/async-rl wiki).
    Each field's type and range are declared on it (``replication.core.errors.check_fields``).

    Raises:
        replication.core.errors.ConfigValueError: a value of the wrong type or out of range.
    """

    rollout_length: PositiveInt = 5  # t_max = 5, Mnih 2016 Supp. §8
    gamma: Probability = 0.99  # Mnih 2016 Supp. §8
    learning_rate: PositiveFloat = 7e-4  # muupan/async-rl wiki eta=7e-4 (the 57-game value is not printed, §1.6)
    # Mnih 2016 Supp. §8: "annealed to 0 over the course of training": 0 = over the run's own total_frames; a
    # frame count anneals over that horizon whatever the run's length (a run cut short of the paper's budget)
    lr_annealing_frames: NonNegativeInt = 0
    rmsprop_alpha: Annotated[float, Field(gt=0, lt=1)] = 0.99  # Mnih 2016 Supp. §8
    rmsprop_eps: PositiveFloat = 0.1  # muupan/async-rl wiki epsilon=0.1 (not printed in the paper, §1.5)
    rmsprop_square_avg_init: NonNegativeFloat = 0.0  # paper silent; g starts at 0
    shared_rmsprop: bool = True  # Mnih 2016 §4 / Supp. §7: shared statistics are "considerably more robust"
    entropy_beta: NonNegativeFloat = 0.01  # Mnih 2016 Supp. §8
    # muupan/async-rl wiki: "They multiply the gradients of V by 0.5". Read as the wiki author's own code does
    # (muupan/async-rl a3c.py: v_loss += (v - R) ** 2 / 2, then v_loss *= v_loss_coef = 0.5): half the gradient of
    # the squared-error loss (R - V)^2 / 2, i.e. 0.25 * (R - V)^2 here, as PAAC's code (policy_v_network.py 0.25).
    # The other reading, half of Algorithm S3's d(R - V)^2/d theta_v, is value_loss_weight: 0.5.
    value_loss_weight: NonNegativeFloat = 0.25
    max_grad_norm: PositiveFloat = 40.0  # deviation: tuned but not printed (Mnih 2016 §5.1); 40 as PAAC's paper value
    network: Literal[NETWORKS] = "nature"  # Mnih 2016 §5.1 set-up (b): the Nature DQN torso; "nips" for set-up (a)
    # Torch7's default, which the A3C authors used (muupan/async-rl wiki); or "orthogonal"
    init: Literal[INITS] = "torch"
    lstm: bool = False  # a3c_lstm: 256 LSTM cells after the last hidden layer (Mnih 2016 §5.1)

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class A3CLSTMConfig(A3CConfig):
    """A3C LSTM: as ``A3CConfig`` with ``lstm`` on (256 cells, Mnih 2016 §5.1)."""

    lstm: bool = True


def build_model(hp: A3CConfig, num_actions: int, in_channels: int) -> torch.nn.Module:
    """The feed-forward or LSTM actor-critic for ``hp`` (Mnih et al. 2016 section 5.1 and Supp. section 8: the
    torso of ``hp.network``, then 256 LSTM cells when ``hp.lstm``, then softmax policy and linear value heads):
    uint8 ``(B, in_channels, 84, 84)`` -> float32 ``(logits (B, num_actions), value (B,))`` (the LSTM also takes and
    returns its ``(h, c)`` state, ``core.networks.ActorCriticLSTM``)."""
    cls = ActorCriticLSTM if hp.lstm else ActorCritic
    return cls(hp.network, num_actions, in_channels, init=hp.init)


def _die_with_parent() -> None:
    """Linux: ask the kernel to SIGKILL this worker when the parent dies (no orphans after a SIGKILL)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def rollout_loss(model: torch.nn.Module, env: AtariBatch, hp: A3CConfig, state, generator: torch.Generator,
                 precision: str = "fp32"):
    """Act for up to ``rollout_length`` agent steps (or to a training terminal) and return the loss.

    Args:
        model: local network; ``ActorCriticLSTM`` when ``hp.lstm``.
        env: a single-environment ``AtariBatch`` (its ``obs`` is the current observation).
        hp: hyperparameters.
        state: LSTM ``(h, c)`` each float32 ``(1, 256)``, or None for the feed-forward agent. It is detached
            here, so gradients flow through this rollout's steps only (truncated BPTT).
        generator: torch generator for sampling actions.
        precision: ``fp32`` or ``bf16`` autocast of the forward passes (``replication/core/precision.py``).

    Returns:
        ``(terms, state, transitions)``: the ``A2CLossTerms`` of the rollout (sum over its steps, Algorithm S3),
        the LSTM state to carry on (zeros after a terminal), and the ``StepBatch`` of each agent step.
    """
    if state is not None:
        state = (state[0].detach(), state[1].detach())
    logits_t, values_t, features_t, actions, rewards, dones, transitions = [], [], [], [], [], [], []
    for _ in range(hp.rollout_length):
        obs = torch.from_numpy(env.obs)
        with autocast("cpu", precision):
            if hp.lstm:
                logits, value, state = model(obs, state)
                logits_t.append(logits)
                values_t.append(value)
                action = sample_actions(logits, generator)
            else:  # the FC layer and heads run with gradients once, after the rollout (networks.act)
                features, action = act(model, obs, generator)
                features_t.append(features)
        step = env.step(action.numpy())
        reward = torch.from_numpy(step.reward)
        if step.final_obs is not None:  # the game hit the frame cap: bootstrap from the state it was cut in
            with torch.no_grad(), autocast("cpu", precision):
                final = torch.from_numpy(step.final_obs)
                final_value = (model(final, state)[1] if hp.lstm else model(final)[1]).float()
            reward = bootstrap_time_limits(reward, torch.from_numpy(step.time_limit), final_value, hp.gamma)
        actions.append(action)
        rewards.append(reward)
        dones.append(torch.from_numpy(step.done))
        transitions.append(step)
        if step.done[0]:
            break
    with torch.no_grad(), autocast("cpu", precision):
        obs = torch.from_numpy(env.obs)
        if transitions[-1].done[0]:
            bootstrap = torch.zeros(1)
        elif hp.lstm:
            bootstrap = model(obs, state)[1]
        else:
            bootstrap = model(obs)[1]
    bootstrap = bootstrap.float()
    if hp.lstm and transitions[-1].done[0]:
        state = model.initial_state(1)
    returns = n_step_returns(torch.stack(rewards), torch.stack(dones), bootstrap, hp.gamma)
    if hp.lstm:
        logits, values = torch.cat(logits_t), torch.cat(values_t)
    else:
        with autocast("cpu", precision):
            logits, values = model.heads(torch.cat(features_t))
    terms = actor_critic_loss(logits.float(), values.float(), torch.cat(actions),
                              returns.reshape(-1), hp.entropy_beta, hp.value_loss_weight, loss_scale=len(transitions))
    return terms, state, transitions


@dataclass(frozen=True)
class WorkerSpec:
    """Everything one actor-learner process is started with, passed whole (picklable for ``spawn``).

    Attributes:
        worker: index 0..workers-1 (its row of the shared counters).
        game: ale-py ROM id.
        env: the run's environment protocol (the worker runs it with one emulator thread).
        hyper: ``A3CConfig`` / ``A3CLSTMConfig``.
        seed: this worker's environment and sampling seed.
        total_frames: the run's frame budget (all workers together).
        base_frames: frames already trained before this start (a resumed run).
        learning_rate: the initial learning rate, annealed linearly to 0 over ``annealing_frames``.
        annealing_frames: the learning rate's horizon, frames (``optim.annealing_frames``).
        log_every_updates: this worker sends an ``UpdateMessage`` every this many of its updates.
        precision: ``fp32`` or ``bf16`` autocast of the forward passes.
        raise_at_update: fault injection for the test suite: worker 0 raises at this update (0 = never).
    """

    worker: int
    game: str
    env: AtariConfig
    hyper: A3CConfig
    seed: int
    total_frames: int
    base_frames: int
    learning_rate: float
    annealing_frames: int
    log_every_updates: int
    precision: str = "fp32"
    raise_at_update: int = 0


@dataclass(frozen=True)
class EpisodeMessage:
    """A worker's finished game: global ``frames`` and ``agent_steps`` when it ended, unclipped score, length."""

    worker: int
    frames: int
    agent_steps: int
    episode_return: float
    episode_length: int


@dataclass(frozen=True)
class UpdateMessage:
    """A worker's update scalars (the ``updates.csv`` columns ``TrainingRun.log_update`` takes)."""

    worker: int
    scalars: dict


@dataclass(frozen=True)
class ReadyMessage:
    """A worker has built its environment and network and waits for the parent's ``go`` to start training."""

    worker: int


@dataclass(frozen=True)
class ErrorMessage:
    """A worker's failure: the formatted traceback (the worker also printed it to stderr), its exception's message,
    and whether it was a ``TrainingDiverged`` (the parent then fails the run with that, not ``WorkerFailed``)."""

    worker: int
    traceback: str
    message: str = ""
    diverged: bool = False


def worker_main(spec: WorkerSpec, shared_model: torch.nn.Module, square_avgs: list | None, counters: torch.Tensor,
                stop: mp.Event, messages: mp.Queue, go: mp.Event | None = None) -> None:
    """One actor-learner process (Algorithm S3). Runs until the global frame count reaches ``spec.total_frames``.

    ``counters`` is int64 ``(workers, 2)`` in shared memory: ``[agent_steps, updates]`` of each worker; this
    worker writes only row ``spec.worker``. Global frames = ``base_frames + frame_skip * counters[:, 0].sum()``.
    Once its environment and network are built it sends ``ReadyMessage`` and, given a ``go`` event, waits for it
    (the parent sets it when every worker is ready and starts the training clock then), or for ``stop``. Then it
    sends the parent ``EpisodeMessage``, ``UpdateMessage`` and, on any failure, ``ErrorMessage``.
    """
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and sets ``stop``
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    torch.set_num_threads(1)  # one thread per actor-learner
    worker, game, seed, hp = spec.worker, spec.game, spec.seed, spec.hyper
    base_frames, total_frames, lr0, precision = spec.base_frames, spec.total_frames, spec.learning_rate, spec.precision
    try:
        env_cfg = replace(spec.env, num_threads=1)
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        env = AtariBatch(game, 1, env_cfg, seed=seed)
        local = build_model(hp, env.num_actions, env_cfg.frame_stack)
        params = list(shared_model.parameters())
        opt = PaperRMSprop(params, lr=lr0, alpha=hp.rmsprop_alpha, eps=hp.rmsprop_eps,
                           square_avg_init=hp.rmsprop_square_avg_init)
        if square_avgs is not None:  # shared RMSProp: every worker updates the same g
            opt.use_square_avgs(square_avgs)
        tracker = EpisodeTracker(1)
        state = local.initial_state(1) if hp.lstm else None
        frame_skip = env_cfg.frame_skip
        updates = 0

        def global_frames() -> int:
            return base_frames + frame_skip * int(counters[:, 0].sum())

        messages.put(ReadyMessage(worker))
        while go is not None and not go.wait(timeout=0.2) and not stop.is_set():
            pass
        while not stop.is_set() and global_frames() < total_frames:
            local.load_state_dict(shared_model.state_dict())  # sync theta' <- theta
            terms, state, transitions = rollout_loss(local, env, hp, state, generator, precision)
            counters[worker, 0] += len(transitions)  # agent steps
            frames = global_frames()
            for step in transitions:
                for _, ret, length in tracker.update(step.raw_reward, step.game_over):
                    messages.put(EpisodeMessage(worker, frames, frames // frame_skip, ret, length))
            lr = linear_lr(lr0, frames, spec.annealing_frames)
            # Hogwild: the local gradients go to the shared parameters, stepped with no lock around them
            grad_norm = update_step(terms.total, local.parameters(), opt, learning_rate=lr,
                                    max_grad_norm=hp.max_grad_norm, shared_params=params,
                                    where=lambda: f" in worker {worker} at frames {frames}, update {updates + 1}")
            updates += 1
            counters[worker, 1] += 1
            if worker == 0 and updates == spec.raise_at_update:
                raise RuntimeError(f"injected failure at update {updates} (WorkerSpec.raise_at_update)")
            if updates % spec.log_every_updates == 0:
                scalars = {k: float(v) for k, v in terms.scalars().items()}  # floats: no tensor crosses the queue
                messages.put(UpdateMessage(worker, {**scalars, "grad_norm": grad_norm, "learning_rate": lr}))
        env.close()
    except BaseException as e:  # report any failure to the parent, which fails the run with it
        messages.put(ErrorMessage(worker, traceback.format_exc(), str(e), isinstance(e, TrainingDiverged)))
        raise
