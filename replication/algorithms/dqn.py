"""DQN as in Mnih et al. 2015 (Nature, "Human-level control through deep reinforcement learning").

One environment; after every agent step the transition goes into a replay buffer of 1M transitions
(``replication/algorithms/replay.py``). Once the buffer holds more than ``replay_start_agent_steps`` transitions, every
``update_every_agent_steps`` agent steps one minibatch of 32 is sampled uniformly and the Q-network takes one
step of centred RMSProp on the Huber TD loss (TD error clipped to [-1, 1]) against a target network that is
copied from the online network every ``target_update_agent_steps`` agent steps. Actions are epsilon-greedy with
epsilon annealed linearly from 1 to 0.1 over 1M agent steps; evaluation is epsilon-greedy with epsilon 0.05.

Sources: ``replication/data/hyperparameters.md`` §2 (DDQN appendix, DeepMind's release code
``dqn/NeuralQLearner.lua``, Dopamine ``dqn_nature.gin``).

Resuming: the checkpoint holds the online and target networks, the optimizer and the counters; the replay buffer
(0.7 GB at 100k transitions, 7 GB at 1M) is saved beside it with each checkpoint and loaded on resume
(``replication.runs.training``), so a stopped run goes on with the memory it had. The environment restarts with a
new game: the transition of the state the run stopped in is left out (``replay.py``). Where the replay file is
missing (a run killed between its two writes), the resumed run starts an empty buffer and refills
``replay_start_agent_steps`` transitions (with the epsilon of its agent-step count) before learning again, as
``config.json``'s ``replay_emptied_at_frames`` records.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import torch
from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt
from torch import nn

from replication.algorithms.replay import ReplayBatch, ReplayBuffer
from replication.core.errors import ConfigValueError, Probability, UserError, check_fields
from replication.core.losses import td_loss
from replication.core.networks import NETWORKS, QNetwork
from replication.core.optim import CentredRMSprop
from replication.core.transfer import host_buffer, to_device
from replication.core.update import update_step
from replication.envs.atari import AtariBatch, EpisodeTracker
from replication.runs.training import TrainingRun


# The environment protocol of Nature DQN where it differs from the A3C/PAAC defaults of ``AtariConfig``: a lost
# life ends a training episode (DeepMind's Nature DQN release code; Dopamine dqn_nature.gin
# ``terminal_on_life_loss = True``). A config's ``env:`` (top level or the group's own) overrides it.
ENV_DEFAULTS = {"terminal_on_life_loss": True}


@dataclass(frozen=True)
class DQNConfig:
    """Nature DQN hyperparameters; each is a key under ``groups: dqn:`` ``hyper:`` in the workflow config.

    Sources: ``replication/data/hyperparameters.md`` §2.2. All periods are in agent steps (4 frames each),
    as in the release code and Dopamine (§2.3). Each field's type and range are declared on it
    (``replication.core.errors.check_fields``); the replay must fill past its start before it is full.

    Raises:
        replication.core.errors.ConfigValueError: a value of the wrong type or out of range, naming the key and what
            is accepted.
    """

    replay_capacity: PositiveInt = 1_000_000  # DDQN appendix "1M tuples"; release code replay_memory=1000000
    # release code learn_start=50000; Dopamine min_replay_history=50000
    replay_start_agent_steps: NonNegativeInt = 50_000
    batch_size: PositiveInt = 32  # DDQN appendix "minibatches of size 32"; release code minibatch_size=32
    update_every_agent_steps: PositiveInt = 4  # DDQN appendix "every 4 steps"; release code update_freq=4
    target_update_agent_steps: PositiveInt = 10_000  # DDQN appendix tau=10,000; release code target_q=10000
    epsilon_start: Probability = 1.0  # DDQN appendix "from 1 to 0.1"; release code ep=1
    epsilon_end: Probability = 0.1  # DDQN appendix "to 0.1"; release code ep_end=0.1
    epsilon_decay_agent_steps: NonNegativeInt = 1_000_000  # DDQN appendix "over 1M steps"; release code ep_endt=1000000
    gamma: Probability = 0.99  # DDQN appendix; release code discount=0.99
    learning_rate: PositiveFloat = 0.00025  # DDQN appendix alpha=0.00025; release code lr=0.00025 (constant)
    # release code: g and g2 averages decay with 0.95 (DDQN "momentum 0.95")
    rmsprop_decay: Annotated[float, Field(ge=0, lt=1)] = 0.95
    rmsprop_eps: PositiveFloat = 0.01  # release code: 0.01 added under the square root of g2 - g^2
    td_error_clip: PositiveFloat = 1.0  # release code clip_delta=1 (Huber loss with delta 1)
    eval_epsilon: Probability = 0.05  # DDQN "epsilon-greedy policy where epsilon = 0.05"; Dopamine epsilon_eval=0.05
    network: Literal[NETWORKS] = "nature"  # DDQN appendix §"Network Architecture" = Mnih et al. 2015 network

    def __post_init__(self):
        check_fields(self)
        if self.replay_start_agent_steps >= self.replay_capacity:
            raise ConfigValueError("DQNConfig", "replay_start_agent_steps", self.replay_start_agent_steps,
                                   f"< replay_capacity ({self.replay_capacity})")


# -- pure pieces ---------------------------------------------------------------------------------------------
def epsilon_at(agent_steps: int, cfg: DQNConfig) -> float:
    """Exploration epsilon after ``agent_steps`` agent steps.

    ``epsilon_start`` until the replay start, then linear to ``epsilon_end`` over ``epsilon_decay_agent_steps``
    agent steps, then constant (release code ``eGreedy``: the annealing clock starts at ``learn_start``, as in
    Dopamine's ``linearly_decaying_epsilon`` with ``warmup_steps = min_replay_history``).
    """
    t = max(0, agent_steps - cfg.replay_start_agent_steps)
    if cfg.epsilon_decay_agent_steps == 0:
        return cfg.epsilon_end
    frac = min(1.0, t / cfg.epsilon_decay_agent_steps)
    return cfg.epsilon_start + frac * (cfg.epsilon_end - cfg.epsilon_start)


def update_due(agent_steps: int, transitions_held: int, cfg: DQNConfig) -> bool:
    """Whether a minibatch update follows agent step number ``agent_steps`` (1-based count).

    True when the replay holds more than ``replay_start_agent_steps`` transitions and ``agent_steps`` is a
    multiple of ``update_every_agent_steps`` (release code: ``numSteps > learn_start and numSteps % update_freq
    == 0``); a fresh run makes ``(agent_steps - replay_start_agent_steps) / update_every_agent_steps`` updates.
    """
    return transitions_held > cfg.replay_start_agent_steps and agent_steps % cfg.update_every_agent_steps == 0


def target_sync_due(agent_steps: int, cfg: DQNConfig) -> bool:
    """Whether the target network is copied after agent step number ``agent_steps``: every
    ``target_update_agent_steps`` agent steps (Dopamine ``training_steps % target_update_period == 0``)."""
    return agent_steps % cfg.target_update_agent_steps == 0


class DQNAgent(nn.Module):
    """The online Q-network and its target copy, checkpointed together.

    ``online`` is trained; ``target`` has no gradients and changes only through ``sync_target``.
    """

    def __init__(self, kind: str, num_actions: int, in_channels: int = 4):
        super().__init__()
        self.online = QNetwork(kind, num_actions, in_channels)
        self.target = copy.deepcopy(self.online).requires_grad_(False)

    def sync_target(self) -> None:
        """Copy the online network's parameters into the target network (Mnih et al. 2015, Algorithm 1)."""
        self.target.load_state_dict(self.online.state_dict())


def epsilon_greedy_logits(q: torch.Tensor, epsilon: float) -> torch.Tensor:
    """Log-probabilities of the epsilon-greedy policy over ``q`` (float ``(B, A)``) -> float32 ``(B, A)``.

    ``softmax`` of the result is the epsilon-greedy distribution: ``1 - epsilon + epsilon / A`` on the first
    argmax, ``epsilon / A`` elsewhere (``-inf`` when ``epsilon == 0``); its argmax is the greedy action.
    """
    num_actions = q.shape[-1]
    probs = torch.full(q.shape, epsilon / num_actions, dtype=torch.float32, device=q.device)
    probs.scatter_add_(-1, q.argmax(-1, keepdim=True), torch.full_like(probs[..., :1], 1.0 - epsilon))
    return probs.log()


def epsilon_greedy_policy(q_net: nn.Module, epsilon: float):
    """The evaluation policy for ``replication.envs.evaluate``: uint8 obs ``(B, stack, 84, 84)`` -> epsilon-greedy
    log-probabilities ``(B, A)``; sampling from their softmax acts epsilon-greedily, their argmax greedily."""
    return lambda obs: epsilon_greedy_logits(q_net(obs), epsilon)


@torch.no_grad()
def select_action(q_net: nn.Module, obs: torch.Tensor, epsilon: float, generator: torch.Generator) -> int:
    """Epsilon-greedy action for one uint8 observation ``(1, stack, 84, 84)``.

    Draws ``u ~ U[0, 1)`` from ``generator``; if ``u < epsilon`` a uniform action (also from ``generator``),
    else ``argmax_a Q(obs, a)`` (first maximiser; the release code breaks ties at random). The network runs only
    for greedy actions.
    """
    if torch.rand((), generator=generator).item() < epsilon:
        num_actions = q_net.head.out_features
        return int(torch.randint(num_actions, (), generator=generator))
    return int(q_net(obs).argmax(-1)[0])


def batch_to_device(batch: ReplayBatch, device: torch.device, pack: bool | None = None):
    """Move a host minibatch to ``device``: ``(obs, actions, rewards, next_obs, dones)`` tensors.

    On CPU the numpy arrays are wrapped without copying. Otherwise (or with ``pack=True``) everything is packed
    into one byte buffer (pinned on CUDA) and moved with one transfer, then viewed back as int64 actions,
    float32 rewards and dones, and uint8 ``(B, stack, H, W)`` states.
    """
    if pack is None:
        pack = device.type != "cpu"
    if not pack:
        return (torch.from_numpy(batch.obs), torch.from_numpy(batch.actions), torch.from_numpy(batch.rewards),
                torch.from_numpy(batch.next_obs), torch.from_numpy(batch.dones))
    B, shape, o = len(batch.actions), batch.obs.shape, batch.obs.nbytes
    head = 16 * B  # int64 actions, float32 rewards, float32 dones: each section 4-byte aligned
    host = host_buffer((head + 2 * o,), torch.uint8, device)
    h = host.numpy()
    h[:8 * B].view(np.int64)[:] = batch.actions
    h[8 * B:12 * B].view(np.float32)[:] = batch.rewards
    h[12 * B:16 * B].view(np.float32)[:] = batch.dones
    h[head:head + o] = batch.obs.reshape(-1)
    h[head + o:] = batch.next_obs.reshape(-1)
    dev = host.to(device, non_blocking=True)
    return (dev[head:head + o].view(shape), dev[:8 * B].view(torch.int64), dev[8 * B:12 * B].view(torch.float32),
            dev[head + o:].view(shape), dev[12 * B:16 * B].view(torch.float32))


# -- training loop -------------------------------------------------------------------------------------------
def _learn(agent: DQNAgent, opt: CentredRMSprop, batch: ReplayBatch, hp: DQNConfig, run: TrainingRun):
    """One minibatch update of the online network; returns its ``updates.csv`` scalars: ``loss_value`` (the TD
    loss, a 0-dim tensor read only when logged), ``grad_norm`` (unclipped: Nature DQN clips the TD error instead)
    and ``learning_rate``.

    Raises:
        replication.core.update.TrainingDiverged: non-finite loss or gradient (before the step is applied).
    """
    obs, actions, rewards, next_obs, dones = batch_to_device(batch, run.device)
    with run.autocast():
        q = agent.online(obs)
        with torch.no_grad():
            next_q = agent.target(next_obs)
    loss = td_loss(q.float(), actions, rewards, next_q.float(), dones, hp.gamma, hp.td_error_clip)
    grad_norm = update_step(loss, agent.online.parameters(), opt, where=run.where)
    return {"loss_value": loss.detach(), "grad_norm": grad_norm, "learning_rate": hp.learning_rate}


def train(run: TrainingRun) -> None:
    """Train DQN for ``run.total_frames`` frames on one environment, logging into ``run.dir``; resumes from its
    checkpoint and its replay file (see the module docstring).

    Raises:
        UserError: ``run.workers != 1`` or the environment does not give grayscale frames (``env.grayscale`` false).
        replication.core.update.TrainingDiverged: a non-finite loss (the last good checkpoint is kept).
    """
    hp: DQNConfig = run.hyper
    device = run.device
    if run.workers != 1:
        raise UserError(f"dqn runs one environment: workers = {run.workers}; accepted: workers [1]")
    env = AtariBatch(run.game, 1, run.env, seed=run.env_seed())
    if env.obs.ndim != 4:
        env.close()
        raise UserError(f"dqn stores grayscale frames; got observations of shape {env.obs.shape} "
                        f"(env.grayscale = {run.env.grayscale}); accepted: env.grayscale true")
    agent = DQNAgent(hp.network, env.num_actions, run.env.frame_stack).to(device)
    opt = CentredRMSprop(agent.online.parameters(), lr=hp.learning_rate, decay=hp.rmsprop_decay, eps=hp.rmsprop_eps,
                         compile=run.compile_optimizer)  # compiled before the training clock starts
    replay = ReplayBuffer(hp.replay_capacity, env.obs.shape[-2:], run.env.frame_stack, seed=run.env_seed())
    # resumes counters, RNG, both networks, the optimizer and the replay from a checkpoint if one exists
    run.start(agent, opt, policy=epsilon_greedy_policy(agent.online, hp.eval_epsilon), replay=replay)
    tracker = EpisodeTracker(1)
    frame_skip = run.env.frame_skip

    obs = env.obs
    replay.add_first(obs[0, -1])
    try:
        while run.frames < run.total_frames:
            epsilon = epsilon_at(run.agent_steps, hp)
            run.progress.epsilon = epsilon
            with run.autocast():
                action = select_action(agent.online, to_device(obs, device), epsilon, run.generator)
            step = env.step(np.array([action], dtype=np.int64))
            # deviation: a game cut by the frame cap (step.time_limit) is stored as a terminal, without the bootstrap
            # from its last state that A2C/A3C add (returns.bootstrap_time_limits): the frames-once replay keeps no
            # frame of a state that never comes back. Measured: 0 of 7,258 training games (12.5M frames of this
            # project's parity runs, Seaquest and Qbert) reached the 108,000-frame cap (docs/design.md)
            replay.add(action, step.reward[0], step.done[0], step.obs[0, -1], next_is_first=bool(step.game_over[0]))
            run.record_step(tracker, step.raw_reward, step.game_over, frame_skip)
            obs = step.obs

            scalars = None
            if update_due(run.agent_steps, len(replay), hp):
                scalars = _learn(agent, opt, replay.sample(hp.batch_size), hp, run)
            if target_sync_due(run.agent_steps, hp):
                agent.sync_target()
            if scalars is not None:  # logs, evaluates and checkpoints after the target copy of this agent step
                run.after_update(scalars)
    finally:
        env.close()
    run.finish()
