"""A3C's supervisor (Mnih et al. 2016, Algorithm S3 run as processes): the parent of the actor-learners.

It builds the shared network and RMSProp statistics, starts ``workers`` processes of ``a3c.worker_main``
(torch.multiprocessing, spawn), and writes the run's books while they train: the logs (workers send finished
games and loss statistics through a queue), the global counters (the sum of the workers' shared counters),
evaluations and checkpoints of the shared model and optimizer. It watches the workers (a worker that dies fails
the run at once with its error) and evaluates the final shared network.
"""

from __future__ import annotations

import queue as queue_mod

import torch
import torch.multiprocessing as mp

from replication.algorithms.a3c import (A3CConfig, EpisodeMessage, ErrorMessage, ReadyMessage, UpdateMessage,
                                        WorkerSpec, build_model, worker_main)
from replication.core.networks import RecurrentPolicy
from replication.core.optim import PaperRMSprop, annealing_frames
from replication.core.update import TrainingDiverged
from replication.envs.atari import AtariBatch
from replication.runs.training import TrainingRun


class WorkerFailed(RuntimeError):
    """An actor-learner process died or raised; the message carries its error."""


def train(run: TrainingRun, *, raise_at_update: int = 0) -> None:
    """Train A3C (Mnih et al. 2016, Algorithm S3: asynchronous advantage actor-critic, one Hogwild! actor-learner
    process per worker over a shared model and, by default, shared RMSProp statistics) with ``run.workers``
    actor-learner processes for ``run.total_frames`` frames; this process starts them, logs their messages,
    evaluates and checkpoints.

    ``raise_at_update`` is the test suite's fault injection (``WorkerSpec.raise_at_update``): worker 0 raises at
    its own update of that number; 0 = never.

    Raises:
        WorkerFailed: a worker raised or died (the others are stopped; the last checkpoint is kept).
        TrainingDiverged: a worker's loss went non-finite (the last good checkpoint is kept).
    """
    hp: A3CConfig = run.hyper
    probe = AtariBatch(run.game, 1, run.env, seed=0)
    num_actions = probe.num_actions
    probe.close()
    model = build_model(hp, num_actions, run.env.frame_stack)
    opt = PaperRMSprop(model.parameters(), lr=hp.learning_rate, alpha=hp.rmsprop_alpha, eps=hp.rmsprop_eps,
                       square_avg_init=hp.rmsprop_square_avg_init)
    opt.init_state()
    policy = RecurrentPolicy(model) if hp.lstm else (lambda x: model(x)[0])
    run.start(model, opt, policy)  # restores model, optimizer and counters from a checkpoint if present
    model.share_memory()
    square_avgs = opt.share_memory() if hp.shared_rmsprop else None
    base_frames, base_updates = run.frames, run.updates
    frame_skip = run.env.frame_skip
    counters = torch.zeros(run.workers, 2, dtype=torch.int64).share_memory_()
    ctx = mp.get_context("spawn")
    stop, go, messages = ctx.Event(), ctx.Event(), ctx.Queue()
    torch.set_num_threads(1)
    procs = []
    for w in range(run.workers):
        spec = WorkerSpec(worker=w, game=run.game, env=run.env, hyper=hp, seed=run.env_seed() + 7919 * w,
                          total_frames=run.total_frames, base_frames=base_frames, learning_rate=hp.learning_rate,
                          annealing_frames=annealing_frames(hp.lr_annealing_frames, run.total_frames),
                          log_every_updates=run.log_every_updates, precision=run.precision,
                          raise_at_update=raise_at_update)
        p = ctx.Process(target=worker_main, args=(spec, model, square_avgs, counters, stop, messages, go),
                        name=f"a3c-worker-{w}", daemon=True)
        p.start()
        procs.append(p)

    def sync_counters() -> None:
        agent_steps, updates = (int(v) for v in counters.sum(0))
        run.set_counters(base_frames + frame_skip * agent_steps, base_frames // frame_skip + agent_steps,
                         base_updates + updates)

    last_episode_frames = base_frames
    ready = set()
    try:
        while True:
            try:
                msg = messages.get(timeout=0.2)
            except queue_mod.Empty:
                msg = None
            sync_counters()
            if isinstance(msg, EpisodeMessage):
                # the worker's frame count when the game ended, kept monotonic across workers
                last_episode_frames = max(last_episode_frames, msg.frames)
                run.log_episode(msg.worker, msg.episode_return, msg.episode_length, frames=last_episode_frames,
                                agent_steps=last_episode_frames // frame_skip)
            elif isinstance(msg, ReadyMessage):
                ready.add(msg.worker)
                if len(ready) == run.workers:  # all built: the clock starts, as A2C's after its environments
                    run.start_clock()
                    go.set()
            elif isinstance(msg, UpdateMessage):
                if msg.worker == 0:  # one worker's updates stand for all (updates.csv counts every worker's)
                    run.log_update(msg.scalars)
            elif isinstance(msg, ErrorMessage):  # the worker printed its traceback to stderr itself
                if msg.diverged:
                    raise TrainingDiverged(f"{msg.message}; last good checkpoint kept in {run.dir}")
                raise WorkerFailed(f"worker {msg.worker} failed: {msg.traceback.strip().splitlines()[-1]}")
            run.periodic()  # every pass, not only when the queue is idle: busy workers never leave it idle
            if msg is not None:
                continue  # drain the queue before checking the processes
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise WorkerFailed(f"worker {procs.index(dead[0])} died with exit code {dead[0].exitcode}")
            if all(p.exitcode == 0 for p in procs):
                break
    finally:  # also on Ctrl-C/SIGTERM: stop every worker, then count what they did for the checkpoint
        stop.set()
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()
        sync_counters()
    run.finish()
