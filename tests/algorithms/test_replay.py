"""The DQN replay buffer: rebuilt stacks equal what the agent saw; frames stored once."""

import tracemalloc

import numpy as np
import pytest

from replication.algorithms.replay import ReplayBuffer, replay_nbytes
from replication.core.errors import UserError
from replication.envs.atari import AtariBatch, AtariConfig


def test_reset_stack_is_zero_padded():
    """The convention the buffer copies: ale-py's first observation of an episode is ``[0, 0, 0, f0]``."""
    env = AtariBatch("pong", 1, AtariConfig(num_threads=1), seed=0)
    try:
        first = env.obs[0].copy()
        step = env.step(np.zeros(1, dtype=np.int64))
    finally:
        env.close()
    assert not first[:3].any() and first[3].any()
    assert np.array_equal(step.obs[0, :3], first[1:]) and step.obs[0, 3].any()


@pytest.mark.parametrize("game,env_cfg", [
    ("pong", AtariConfig(max_episode_frames=200, num_threads=1)),  # a reset every 50 agent steps
    ("breakout", AtariConfig(max_episode_frames=400, terminal_on_life_loss=True, num_threads=1)),  # life-loss dones
])
def test_sampled_stacks_equal_what_the_agent_saw(game, env_cfg):
    capacity, stack = 37, 4
    slots = capacity + 1  # frames are written to slots 0, 1, ..., capacity, 0, ...
    buf = ReplayBuffer(capacity, stack=stack, seed=1)
    env = AtariBatch(game, 1, env_cfg, seed=5)
    rng = np.random.default_rng(0)
    seen, pos, action, reward, done = {}, {}, {}, {}, {}  # by slot: observation, agent steps since its reset
    written = 0

    def record(obs, first):
        nonlocal written
        slot = written % slots
        seen[slot] = obs[0].copy()
        pos[slot] = 0 if first else pos[(slot - 1) % slots] + 1
        written += 1

    covered = {"padded": 0, "wrapped": 0, "reset_next": 0, "life_loss": 0}
    try:
        buf.add_first(env.obs[0, -1])
        record(env.obs, True)
        for t in range(400):
            a = int(rng.integers(env.num_actions))
            step = env.step(np.array([a]))
            last = (written - 1) % slots
            action[last], reward[last], done[last] = a, float(step.reward[0]), bool(step.done[0])
            buf.add(a, step.reward[0], step.done[0], step.obs[0, -1], next_is_first=bool(step.game_over[0]))
            record(step.obs, bool(step.game_over[0]))
            held = min(written, slots)
            assert len(buf) == held - 1
            if t % 7:
                continue
            # transitions whose frames are all still in memory, computed from the agent's side
            newest = (written - 1) % slots
            valid = {(newest - age) % slots for age in range(1, held)
                     if age + min(stack - 1, pos[(newest - age) % slots]) <= held - 1}
            batch = buf.sample(600)
            assert batch.obs.shape == (600, stack, 84, 84) and batch.obs.dtype == np.uint8
            assert batch.actions.dtype == np.int64 and batch.rewards.dtype == np.float32
            assert batch.dones.dtype == np.float32
            assert set(batch.indices.tolist()) == valid  # every valid one drawn, nothing else
            _, firsts = np.unique(batch.indices, return_index=True)  # one draw of each index; draws are alike
            for b in firsts.tolist():
                i = int(batch.indices[b])
                nxt = (i + 1) % slots
                np.testing.assert_array_equal(batch.obs[b], seen[i])
                np.testing.assert_array_equal(batch.next_obs[b], seen[nxt])
                assert batch.actions[b] == action[i] and batch.rewards[b] == reward[i]
                assert batch.dones[b] == float(done[i])
                covered["padded"] += pos[i] < stack - 1
                covered["wrapped"] += i < stack - 1 or nxt == 0
                covered["reset_next"] += pos[nxt] == 0
                covered["life_loss"] += done[i] and pos[nxt] != 0
    finally:
        env.close()
    assert written > 3 * slots  # the buffer wrapped around several times
    assert covered["padded"] and covered["wrapped"] and covered["reset_next"], covered
    if env_cfg.terminal_on_life_loss:
        assert covered["life_loss"], covered  # a training terminal the agent's stack ran on across


def test_frames_are_stored_once():
    n = 1000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        buf = ReplayBuffer(n)
        allocated = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert n * 84 * 84 <= buf.nbytes <= n * 84 * 84 * 1.01
    assert buf.nbytes == (n + 1) * (84 * 84 + 8 + 4 + 1 + 1) == replay_nbytes(n)
    assert replay_nbytes(1_000_000) / 1e9 == pytest.approx(7.07, abs=0.005)  # the Nature buffer
    assert buf.nbytes <= allocated <= buf.nbytes + 64 * 1024


def test_misuse_raises():
    with pytest.raises(UserError, match="capacity"):
        ReplayBuffer(3, stack=4)
    buf = ReplayBuffer(8)
    with pytest.raises(ValueError, match="no transition"):
        buf.sample(1)
    with pytest.raises(RuntimeError, match="add_first"):
        buf.add(0, 0.0, False, np.zeros((84, 84), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        buf.add_first(np.zeros((84, 84), np.float32))
    buf.add_first(np.zeros((84, 84), np.uint8))
    with pytest.raises(RuntimeError, match="empty"):
        buf.add_first(np.zeros((84, 84), np.uint8))
