"""The hardware limits a learner is measured against: emulator frames/s alone (``bench_env_limit``), the network's
forward and update alone (``bench_network_limit``, ``dqn_network_times``), and the serial bound they give.

The emulators always run on the CPU (ale-py); the network limits run on the bench's ``device`` (``bench_device``:
``cpu`` or ``cuda``), model and inputs on it, the clock read only after CUDA has finished the timed work
(``_timed``). The host-to-device copy of the observations a training run makes per agent step is not in the
network limit (inputs are made on the device once); the copy of the sampled actions back to the CPU is, as in
training (``networks.sample_actions`` draws with the run's CPU generator).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from replication.algorithms.a2c import A2CConfig
from replication.algorithms.dqn import DQNAgent, DQNConfig, epsilon_at
from replication.config.resolve import require_cuda
from replication.core.errors import UserError
from replication.core.losses import actor_critic_loss, td_loss
from replication.core.networks import ActorCritic, act
from replication.core.optim import CentredRMSprop, PaperRMSprop
from replication.core.precision import autocast
from replication.core.update import update_step
from replication.envs.atari import AtariConfig, make_vector_env


# benchmark-sized DQN schedule (both sides); everything else is DQNConfig's Nature default
DQN_BENCH = {"replay_capacity": 50_000, "replay_start_agent_steps": 2_500, "epsilon_decay_agent_steps": 5_000,
             "network": "nature"}


BENCH_DEVICES = ("cpu", "cuda")  # where the bench's learners and network limits run (emulators: always the CPU)


def bench_device(name: str | torch.device) -> torch.device:
    """The torch device of the bench's ``--device`` ``name`` (one of ``BENCH_DEVICES``), checked on this host.

    Raises:
        UserError: an unknown name, or ``cuda`` on a host where ``torch.cuda.is_available()`` is false; the message
            names the value and what is accepted.
    """
    device = torch.device(name)
    if device.type not in BENCH_DEVICES:
        raise UserError(f"--device {str(name)!r}; accepted: {', '.join(BENCH_DEVICES)}")
    if device.type == "cuda":
        require_cuda("--device", str(name), "cpu on this host, cuda on a host with an NVIDIA GPU and a CUDA build of "
                                            "torch")
    return device


def synchronizer(device: torch.device) -> Callable[[], None]:
    """What waits for ``device``'s queued work: ``torch.cuda.synchronize`` on CUDA (kernels run asynchronously, so
    a clock read without it measures the queueing), nothing on the CPU."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


# -- limits ---------------------------------------------------------------------------------------------------
def bench_env_limit(game: str, num_envs: int, frames: int, threads: int) -> float:
    """Frames/s of ale-py's AtariVectorEnv alone: random actions at ``num_envs``, our preprocessing."""
    env = make_vector_env(game, num_envs, AtariConfig(num_threads=threads))
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n = env.single_action_space.n
    agent_steps = max(1, frames // (4 * num_envs))
    actions = [rng.integers(0, n, num_envs) for _ in range(64)]
    t0 = time.perf_counter()
    for i in range(agent_steps):
        env.step(actions[i % 64])
    elapsed = time.perf_counter() - t0
    env.close()
    return agent_steps * num_envs * 4 / elapsed


def _timed(fn, repeats: int, warmup: int = 3, trials: int = 3, sync: Callable[[], None] = lambda: None) -> float:
    """Seconds per call of ``fn``: the best of ``trials`` timings of ``repeats`` calls each (after ``warmup``
    calls). The best, not the mean, because a limit is a bound: other processes on the host only slow it down.
    ``sync`` (``synchronizer(device)``) runs before each timing starts and before its clock is read, so work a
    GPU still has queued is inside the timing that queued it."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(trials):
        sync()
        t0 = time.perf_counter()
        for _ in range(repeats):
            fn()
        sync()
        best = min(best, (time.perf_counter() - t0) / repeats)
    return best


def bench_network_limit(num_envs: int, network: str, rollout_length: int, threads: int, updates: int = 30,
                        precision: str = "fp32", device: str | torch.device = "cpu") -> float:
    """A2C's network alone on ``device``, in frames/s: the learner's whole share of an update as in
    ``replication.algorithms.a2c.train``: ``rollout_length`` acting forwards at batch ``num_envs`` (``networks.act``:
    convolutions with autograd on, action sampling with a CPU generator, so the actions come back to the CPU as a
    run's do), one bootstrap forward, the FC layer and heads with gradients over the whole batch, the actor-critic
    loss, one backward, gradient-norm clipping and one RMSProp step. Model, uint8 ``(num_envs, 4, 84, 84)``
    observations and returns live on ``device``; the best of three timings of ``updates`` updates, each ended by a
    CUDA synchronize on a GPU.

    Raises:
        UserError: ``device`` is not cpu or cuda, or is cuda on a host without CUDA (``bench_device``).
    """
    device = bench_device(device)
    torch.set_num_threads(threads)
    hp = A2CConfig()
    model = ActorCritic(network, 6).to(device)
    opt = PaperRMSprop(model.parameters(), lr=1e-4)
    obs = torch.randint(0, 256, (num_envs, 4, 84, 84), dtype=torch.uint8).to(device)
    returns = torch.randn(rollout_length * num_envs).to(device)
    generator = torch.Generator().manual_seed(0)  # the CPU generator of a run (TrainingRun.generator)

    def one_update():
        with autocast(device, precision):
            rollout = [act(model, obs, generator) for _ in range(rollout_length)]
            with torch.no_grad():
                model(obs)
            logits, values = model.heads(torch.cat([features for features, _ in rollout]))
        actions = torch.cat([a for _, a in rollout]).to(device)
        terms = actor_critic_loss(logits.float(), values.float(), actions, returns,
                                  hp.entropy_beta, hp.value_loss_weight, loss_scale=hp.loss_scale)
        update_step(terms.total, model.parameters(), opt, max_grad_norm=hp.max_grad_norm)  # as a2c.train

    return rollout_length * num_envs * 4 / _timed(one_update, updates, sync=synchronizer(device))


def dqn_network_times(network: str, threads: int, precision: str = "fp32", repeats: int = 30,
                      compile_optimizer: bool = True, device: str | torch.device = "cpu") -> tuple[float, float]:
    """DQN's network alone on ``device``: seconds per greedy action (batch 1 forward, its action read back to the
    CPU as ``dqn.select_action`` does) and per minibatch update (online forward/backward and target forward at batch
    32, one centred-RMSProp step, compiled as training compiles it unless ``compile_optimizer`` is false).

    Raises:
        UserError: ``device`` is not cpu or cuda, or is cuda on a host without CUDA (``bench_device``).
    """
    device = bench_device(device)
    torch.set_num_threads(threads)
    agent = DQNAgent(network, 6).to(device)
    opt = CentredRMSprop(agent.online.parameters(), lr=2.5e-4, compile=compile_optimizer)
    obs = torch.randint(0, 256, (32, 4, 84, 84), dtype=torch.uint8).to(device)
    actions, zeros = torch.randint(0, 6, (32,)).to(device), torch.zeros(32, device=device)

    def act():
        with torch.no_grad(), autocast(device, precision):
            int(agent.online(obs[:1]).argmax(-1)[0])

    def update():
        with autocast(device, precision):
            q = agent.online(obs)
            with torch.no_grad():
                next_q = agent.target(obs)
        loss = td_loss(q.float(), actions, zeros, next_q.float(), zeros, 0.99)
        update_step(loss, agent.online.parameters(), opt)  # as dqn._learn

    sync = synchronizer(device)
    return _timed(act, repeats * 4, sync=sync), _timed(update, repeats, sync=sync)


def dqn_network_limit(frames: int, t_act: float, t_update: float) -> float:
    """Frames/s of DQN's network alone over the benchmark's schedule: greedy actions need a forward (epsilon-greedy
    random ones do not), and every 4th agent step after the replay start adds an update."""
    hp = DQNConfig(**DQN_BENCH)
    agent_steps = np.arange(1, frames // 4 + 1)
    greedy = sum(1.0 - epsilon_at(int(s), hp) for s in agent_steps[::100]) * 100
    updates = max(0, len(agent_steps) - hp.replay_start_agent_steps) / hp.update_every_agent_steps
    return frames / (greedy * t_act + updates * t_update)
