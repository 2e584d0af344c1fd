"""The peer: Stable-Baselines3's A2C and DQN, trained at our settings into our run-directory contract.

``python -m replication.parity train ...`` (and the Snakefile's ``train_peer`` rule, for run groups with
``peer: true``) calls ``train_peer``. A peer run is one more run group, labelled ``sb3_<our label>``
(``sb3_a2c`` / ``sb3_dqn``): the same ``config.json``, ``episodes.csv``, ``updates.csv``, ``eval.csv``,
``checkpoint.pt`` and ``done.json`` as ours, written by our ``TrainingRun``, so aggregate and report read it
like any run. SB3 is an optional dependency (the ``bench`` extra).

The settings come from our resolved run config and are mapped to SB3's arguments (``a2c_kwargs``,
``dqn_kwargs``), refusing what SB3 cannot express. The protocol: SB3's ``AtariWrapper`` over ale-py's
``ALE/{Game}-v5`` with ``frameskip=1``; its options take our ``env:`` values. Where the two cannot match is in
``PROTOCOL_GAPS`` (what the report and ``benchmarks/parity.md`` print beside the verdicts). The frames themselves
match: SB3's ``WarpFrame`` (OpenCV grayscale, ``INTER_AREA`` resize) and ale-py's give the same 84x84 frames but
for 0.2% of pixels on Pong (``tests/peers/test_parity.py``).

Counting: SB3's ``num_timesteps`` is agent steps summed over environments; ``frames = agent_steps * frame_skip``
as ours. The final evaluation uses *our* evaluator (ale-py vector env, our no-op protocol) for both sides.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from replication.algorithms.a2c import A2CConfig
from replication.algorithms.dqn import DQNConfig, epsilon_at
from replication.core.errors import UserError
from replication.core.optim import CentredRMSprop, linear_lr
from replication.envs.atari import AtariConfig
from replication.envs.evaluate import EvalConfig
from replication.runs.rundir import algorithm_of
from replication.runs.training import TrainingRun

PEER = "stable-baselines3"
PEER_PREFIX = "sb3_"  # the peer of run group ``a2c`` is ``sb3_a2c``, of ``dqn`` ``sb3_dqn``
ALGORITHMS = ("a2c", "dqn")  # SB3 has no A3C

PROTOCOL_GAPS = (
    "FIRE: SB3's FireResetEnv presses FIRE (and action 2) after every reset, a lost life included when life-loss "
    "terminals are on; ale-py's use_fire_reset (ours, fire_reset: true) presses it at the start of a game only",
    "life-loss reset: SB3's EpisodicLifeEnv takes one no-op agent step after a lost life; ours takes none",
    "time limit: SB3 A2C bootstraps V(s) at a time-limit truncation; ours treats it as a terminal",
    "episode_length: ours counts agent steps of a whole game; the peer's rows count the agent steps the "
    "callback saw (the life-loss no-op step and FIRE presses inside SB3's reset are not agent steps)",
)
DQN_GAPS = (
    "DQN optimizer: the peer moves to ours. torch's RMSprop(centered=True) adds eps outside the root, the release "
    "code (ours) under it, and SB3 averages the minibatch's Huber loss where the release code sums it; so the peer "
    "steps with our CentredRMSprop at eps / batch_size^2, which gives exactly our update (the sum's gradient is "
    "batch_size times the mean's, and centred RMSProp with eps under the root is invariant to that scale when eps "
    "scales with its square)",
    "DQN epsilon: the peer moves to ours. SB3 anneals from the first agent step, the release code (ours) from the "
    "replay start; the peer's exploration_schedule is replaced by ours (epsilon_at of its agent-step count), so "
    "both act with the same epsilon at every agent step",
)


def peer_label(label: str) -> str:
    """The run-group label of the peer of our group ``label``: ``a2c`` -> ``sb3_a2c``."""
    return PEER_PREFIX + label


def peer_run_config(resolved: dict) -> dict:
    """Our resolved run config as its peer's run: labelled ``sb3_<label>``, its ``algorithm`` named explicitly.
    What ``train_peer`` records in ``config.json`` (before its ``peer`` and ``device`` entries), so also what a peer
    run directory is checked against (``config.identity.check_run_dir``)."""
    return {**resolved, "group": peer_label(resolved["group"]), "algorithm": algorithm_of(resolved)}


def check_peer_algorithm(algorithm: str) -> str:
    """Return ``algorithm`` if SB3 has a peer for it, else raise ``UserError`` naming the accepted ones."""
    if algorithm not in ALGORITHMS:
        raise UserError(f"no SB3 peer for algorithm {algorithm!r}; accepted: {', '.join(ALGORITHMS)}")
    return algorithm


def _require_sb3():
    try:
        import stable_baselines3  # noqa: F401
    except ImportError:
        raise UserError("Stable-Baselines3 is not installed; run: pip install -e '.[bench]'") from None
    return stable_baselines3


def env_id(game: str) -> str:
    """ale-py ROM id -> gymnasium id, e.g. ``space_invaders`` -> ``ALE/SpaceInvaders-v5``."""
    return "ALE/" + "".join(p.capitalize() for p in game.split("_")) + "-v5"


def make_sb3_env(game: str, num_envs: int, cfg: AtariConfig, seed: int):
    """SB3's Atari stack for ``game`` at our protocol ``cfg``: ``make_atari_env`` (``Monitor`` inside
    ``AtariWrapper``, so ``info["episode"]`` is a whole game's unclipped score) and a ``VecFrameStack``.

    Observations: uint8 ``(num_envs, 84, 84, frame_stack)`` (SB3 transposes them to channels-first itself).

    Raises:
        UserError: SB3 missing, or a protocol option SB3's wrappers cannot express.
    """
    _require_sb3()
    import ale_py
    import gymnasium as gym
    from stable_baselines3.common.env_util import make_atari_env
    from stable_baselines3.common.vec_env import VecFrameStack

    if not (cfg.max_pool and cfg.grayscale and cfg.clip_rewards and not cfg.full_action_space):
        raise UserError("the SB3 peer needs env max_pool, grayscale, clip_rewards true and full_action_space false "
                        f"(its AtariWrapper has no other mode); got {cfg.to_dict()}")
    gym.register_envs(ale_py)
    env = make_atari_env(
        env_id(game), n_envs=num_envs, seed=int(seed),
        env_kwargs={"frameskip": 1, "repeat_action_probability": 0.0,
                    "max_num_frames_per_episode": cfg.max_episode_frames},
        wrapper_kwargs={"noop_max": cfg.noop_max, "frame_skip": cfg.frame_skip, "screen_size": cfg.screen_size,
                        "terminal_on_life_loss": cfg.terminal_on_life_loss, "clip_reward": cfg.clip_rewards,
                        "action_repeat_probability": cfg.repeat_action_probability})
    return VecFrameStack(env, n_stack=cfg.frame_stack)


def a2c_kwargs(hp, num_envs: int, total_frames: int) -> dict:
    """SB3 ``A2C`` keyword arguments for our ``A2CConfig`` ``hp`` at ``num_envs`` environments, for a run of
    ``total_frames`` frames (SB3's schedules run on the fraction of the run left, ours on frames).

    RMSProp: SB3's ``RMSpropTFLike`` is ours (eps under the root, the average starting at 1), so
    ``rmsprop_square_avg_init`` must be 1. The loss: SB3 averages it (``loss_scale`` 1) with
    ``vf_coef * mse(R, V)``, ``ent_coef``, no advantage normalisation, ``gae_lambda`` 1 (plain n-step returns).

    Raises:
        UserError: a setting SB3's A2C cannot express (the NIPS network, a loss scale, a cold RMSProp start).
    """
    from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

    if hp.network != "nature":
        raise UserError(f"a2c hyper network = {hp.network!r}: the SB3 peer's CnnPolicy is the Nature network; "
                        "accepted: nature")
    if hp.loss_scale != 1.0:
        raise UserError(f"a2c hyper loss_scale = {hp.loss_scale}: SB3 averages the loss; accepted: 1.0")
    if hp.rmsprop_square_avg_init != 1.0:
        raise UserError(f"a2c hyper rmsprop_square_avg_init = {hp.rmsprop_square_avg_init}: SB3's RMSpropTFLike "
                        "starts its average at 1; accepted: 1.0")
    lr0 = hp.learning_rate(num_envs)
    # SB3 calls a schedule with progress_remaining = 1 - frames / total_frames: converted back to our frames
    horizon = hp.annealing_frames(total_frames)
    lr = lr0 if hp.lr_schedule == "constant" else (
        lambda remaining: linear_lr(lr0, round((1.0 - remaining) * total_frames), horizon))
    return {"n_steps": hp.rollout_length, "gamma": hp.gamma, "gae_lambda": 1.0, "learning_rate": lr,
            "ent_coef": hp.entropy_beta, "vf_coef": hp.value_loss_weight, "max_grad_norm": hp.max_grad_norm,
            "use_rms_prop": True, "normalize_advantage": False,
            "policy_kwargs": {"ortho_init": hp.init == "orthogonal", "optimizer_class": RMSpropTFLike,
                              "optimizer_kwargs": {"alpha": hp.rmsprop_alpha, "eps": hp.rmsprop_eps}}}


def dqn_kwargs(hp, total_agent_steps: int) -> dict:
    """SB3 ``DQN`` keyword arguments for our ``DQNConfig`` ``hp`` over a run of ``total_agent_steps``.

    The replay stores each frame once (``optimize_memory_usage``, as ours); Huber loss (SB3's smooth L1 = ours
    with ``td_error_clip`` 1); no gradient clipping (ours has none); our centred RMSProp at ``peer_rmsprop_eps``
    (the peer moves to ours there, and to our epsilon in ``train_peer``: ``peer_epsilon_schedule``); see
    ``DQN_GAPS`` for both and what still differs.

    Raises:
        UserError: a network or TD-error clip SB3's DQN cannot express.
    """
    if hp.network != "nature":
        raise UserError(f"dqn hyper network = {hp.network!r}: the SB3 peer's CnnPolicy is the Nature network; "
                        "accepted: nature")
    if hp.td_error_clip != 1.0:
        raise UserError(f"dqn hyper td_error_clip = {hp.td_error_clip}: SB3's loss is smooth L1; accepted: 1.0")
    anneal_end = hp.replay_start_agent_steps + hp.epsilon_decay_agent_steps
    return {"learning_rate": hp.learning_rate, "buffer_size": hp.replay_capacity,
            "learning_starts": hp.replay_start_agent_steps, "batch_size": hp.batch_size, "gamma": hp.gamma,
            "train_freq": hp.update_every_agent_steps, "gradient_steps": 1,
            "target_update_interval": hp.target_update_agent_steps,
            "exploration_fraction": min(1.0, anneal_end / max(1, total_agent_steps)),
            "exploration_initial_eps": hp.epsilon_start, "exploration_final_eps": hp.epsilon_end,
            "max_grad_norm": math.inf, "optimize_memory_usage": True,
            "replay_buffer_kwargs": {"handle_timeout_termination": False},
            "policy_kwargs": {"optimizer_class": CentredRMSprop,  # DQN_GAPS: the peer steps with ours
                              "optimizer_kwargs": {"decay": hp.rmsprop_decay,
                                                   "eps": peer_rmsprop_eps(hp.rmsprop_eps, hp.batch_size)}}}


def peer_rmsprop_eps(eps: float, batch_size: int) -> float:
    """The centred-RMSProp ``eps`` (under the root) with which SB3's batch-averaged DQN loss takes exactly our
    step on the batch-summed loss (``replication.core.losses.td_loss``): ``eps / batch_size**2``.

    Ours: ``d = B * m`` (``m`` the mean loss's gradient), ``g = B * g_m``, ``g2 = B**2 * g2_m``, so
    ``d / sqrt(g2 - g**2 + eps) = m / sqrt(g2_m - g_m**2 + eps / B**2)``. E.g. ``eps`` 0.01 at ``B`` 32 ->
    9.765625e-06.
    """
    return eps / batch_size ** 2


def peer_epsilon_schedule(model, hp: DQNConfig):
    """An SB3 DQN ``exploration_schedule`` that acts with our epsilon: SB3 calls it with the progress remaining
    after every agent step; it returns ``replication.algorithms.dqn.epsilon_at`` of the model's agent-step count
    (``num_timesteps``, one environment), so the clock starts at the replay start as the release code's does,
    where SB3's own ``LinearSchedule`` starts at agent step 0."""
    return lambda _progress_remaining: epsilon_at(model.num_timesteps, hp)


class SB3Replay:
    """SB3 DQN ``model``'s replay buffer as a ``replication.runs.replay_file.CheckpointedReplay``, saved and
    loaded with SB3's own ``save_replay_buffer`` / ``load_replay_buffer`` (a pickle: 2.8 GB at 100k transitions,
    as SB3 stores each 4-frame observation once where ours stores each frame once). On resume SB3 resets the
    environment and stores the new game's first observation where the stopped one's last next-observation was:
    that one transition's next state becomes the new game's first (SB3's behaviour; ours leaves the cut transition
    out, ``replication/algorithms/replay.py``)."""

    suffix = ".pkl"

    def __init__(self, model):
        self.model = model

    def save(self, file) -> None:
        """Pickle the buffer into the open binary ``file``."""
        self.model.save_replay_buffer(file)

    def load(self, file) -> None:
        """Replace the model's buffer with the one pickled in the open binary ``file``."""
        self.model.load_replay_buffer(file)


def _policy_fn(algorithm: str, model):
    """uint8 ``(B, 4, 84, 84)`` -> float ``(B, A)``: SB3's action logits (A2C) or Q-values (DQN), for our
    evaluator (which samples from logits, or acts epsilon-greedily on Q-values for DQN)."""
    if algorithm == "a2c":
        return lambda obs: model.policy.get_distribution(obs).distribution.logits
    return lambda obs: model.policy.q_net(obs)


def _callback(run: TrainingRun, model, algorithm: str, frame_skip: int):
    """An SB3 callback that keeps ``run``'s counters and logs: one episode row per finished game, one update row
    per ``run.log_every_updates`` updates, and checkpoints (``run.periodic``) only between updates, where the
    policy and optimizer are consistent with the counters."""
    from stable_baselines3.common.callbacks import BaseCallback
    class RunLogger(BaseCallback):
        def _on_training_start(self) -> None:
            self.lengths = np.zeros(self.training_env.num_envs, dtype=np.int64)
            self.base_updates = run.updates - model._n_updates
            self.mark = (run.frames, run.agent_steps, run.updates)

        def _on_step(self) -> bool:
            infos = self.locals["infos"]
            run.count_agent_steps(len(infos), frame_skip)
            self.lengths += 1
            for i, info in enumerate(infos):
                if "episode" in info:  # Monitor sits inside AtariWrapper: a whole game, unclipped
                    run.log_episode(i, float(info["episode"]["r"]), int(self.lengths[i]))
                    self.lengths[i] = 0
            return True

        def _on_rollout_start(self) -> None:
            self.sync_updates()

        def sync_updates(self) -> None:
            """Count the updates SB3 made since the last call; log and checkpoint as ours does after each."""
            while run.updates < self.base_updates + model._n_updates:
                run.updates += 1
                if run.updates % run.log_every_updates == 0:
                    v = model.logger.name_to_value
                    entropy = -v["train/entropy_loss"] if "train/entropy_loss" in v else float("nan")
                    loss_policy = v.get("train/policy_loss", v.get("train/loss", float("nan")))
                    run.log_update({"loss_policy": float(loss_policy),
                                    "loss_value": float(v.get("train/value_loss", float("nan"))),
                                    "entropy": float(entropy),
                                    "learning_rate": float(v.get("train/learning_rate", float("nan")))})
            if algorithm == "a2c" or run.updates > self.mark[2]:
                run.periodic()
            self.mark = (run.frames, run.agent_steps, run.updates)

    return RunLogger()


def train_peer(resolved: dict, out: Path, threads: int) -> int:
    """Train SB3's ``resolved["algorithm"]`` (a2c or dqn) at the resolved settings into run directory ``out``.

    ``resolved`` is our run config (``replication.config.resolve.resolve_run``); its ``group`` label becomes
    ``sb3_<label>`` and it gains a ``peer`` entry (SB3's version and the keyword arguments used). A run
    with a checkpoint resumes from it (DQN with its replay buffer, ``SB3Replay``; where the replay file is missing,
    the buffer refills ``replay_start_agent_steps`` transitions before learning again, as ours does, but with SB3's
    uniformly random warm-up actions where ours acts with the epsilon of its count).
    Returns the frames trained.

    Raises:
        UserError: SB3 missing, an algorithm other than a2c/dqn, or a setting SB3 cannot express.
    """
    sb3 = _require_sb3()
    algorithm = algorithm_of(resolved)
    check_peer_algorithm(algorithm)
    env_cfg = AtariConfig(**resolved["env"])
    hp = (A2CConfig if algorithm == "a2c" else DQNConfig)(**resolved["hyper"])
    total_agent_steps = resolved["total_frames"] // env_cfg.frame_skip
    kwargs = (a2c_kwargs(hp, resolved["workers"], resolved["total_frames"]) if algorithm == "a2c"
              else dqn_kwargs(hp, total_agent_steps))
    resolved = {**peer_run_config(resolved), "device": "cpu",
                "peer": {"library": PEER, "version": sb3.__version__, "kwargs": repr(kwargs),
                         "protocol_gaps": list(PROTOCOL_GAPS + (DQN_GAPS if algorithm == "dqn" else ()))}}
    torch.set_num_threads(threads)
    run = TrainingRun(dir=out, group=resolved["group"], game=resolved["game"], workers=resolved["workers"],
                      seed=resolved["seed"], total_frames=resolved["total_frames"], device=torch.device("cpu"),
                      env=env_cfg, eval=EvalConfig(**resolved["eval"]), hyper=hp,
                      checkpoint_every_frames=resolved["checkpoint_every_frames"],
                      log_every_updates=resolved["log_every_updates"], resolved=resolved)
    env = make_sb3_env(run.game, run.workers, env_cfg, run.env_seed())
    if algorithm == "a2c":
        from stable_baselines3 import A2C as SB3Model
    else:
        from stable_baselines3 import DQN as SB3Model
    model = SB3Model("CnnPolicy", env, seed=run.seed, device="cpu", verbose=0, **kwargs)
    if algorithm == "dqn":  # DQN_GAPS: the peer's epsilon follows ours
        model.exploration_schedule = peer_epsilon_schedule(model, hp)
    # restores a checkpoint's policy, optimizer, counters and (DQN) replay buffer
    run.start(model.policy, model.policy.optimizer, _policy_fn(algorithm, model),
              replay=SB3Replay(model) if algorithm == "dqn" else None)
    model.num_timesteps = run.agent_steps
    if run.replay_restored is False:  # an empty buffer: learn again after the replay start, as ours does
        model.learning_starts = run.agent_steps + hp.replay_start_agent_steps
    model._n_updates = 0
    callback = _callback(run, model, algorithm, env_cfg.frame_skip)
    callback.mark = (run.frames, run.agent_steps, run.updates)
    try:
        remaining = max(0, resolved["total_frames"] - run.frames) // env_cfg.frame_skip
        if remaining:
            model.learn(total_timesteps=remaining, callback=callback, reset_num_timesteps=False, log_interval=None)
            callback.sync_updates()
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM turned into one by the CLI
        run.set_counters(*callback.mark)  # frames no update has used are not checkpointed
        run.close_on_interrupt()
        raise
    finally:
        env.close()
    run.finish()
    return run.frames
