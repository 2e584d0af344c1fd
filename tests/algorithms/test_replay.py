"""The DQN replay buffer: rebuilt stacks equal what the agent saw; frames stored once."""

import io
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
    with pytest.raises(ValueError, match="must be terminal"):
        buf.add(0, 0.0, False, np.zeros((84, 84), np.uint8), next_is_first=True)
    with pytest.raises(ValueError, match="not a saved replay memory"):
        buf.load(io.BytesIO(b"not an npz"))
    other = io.BytesIO()
    ReplayBuffer(9).save(other)
    other.seek(0)
    with pytest.raises(ValueError, match=r"capacity, frame shape, stack \(9, \(84, 84\), 4\)"):
        buf.load(other)


def _filled(capacity: int, transitions: int, seed: int = 0) -> ReplayBuffer:
    """A small buffer (8x8 frames) after ``transitions`` random agent steps, a game over every 7th."""
    rng = np.random.default_rng(seed)
    buf = ReplayBuffer(capacity, (8, 8), stack=4, seed=seed)
    buf.add_first(rng.integers(1, 256, (8, 8), dtype=np.uint8))
    for t in range(1, transitions + 1):
        over = t % 7 == 0
        buf.add(int(rng.integers(6)), float(rng.choice([-1.0, 0.0, 1.0])), over or t % 5 == 0,
                rng.integers(1, 256, (8, 8), dtype=np.uint8), next_is_first=over)
    return buf


def test_a_saved_memory_loads_whole_and_samples_alike():
    """save -> load gives the same arrays, write position and sampling RNG: the next minibatches are the same."""
    a = _filled(50, 73)  # wrapped around once
    f = io.BytesIO()
    a.save(f)
    f.seek(0)
    b = ReplayBuffer(50, (8, 8), stack=4, seed=123)
    b.load(f)
    assert len(b) == len(a) == 50
    for name in ("frames", "actions", "rewards", "dones", "first"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    for _ in range(3):
        x, y = a.sample(16), b.sample(16)
        assert all(np.array_equal(getattr(x, k), getattr(y, k)) for k in ("obs", "actions", "rewards", "next_obs",
                                                                          "dones", "indices"))


def test_the_transition_cut_by_a_resume_is_never_sampled():
    """After ``load`` the restarted game's first frame goes in with ``add_first``: the state the run stopped in
    (slot 5 here, after 5 agent steps, none a game over) keeps no action, and its transition into that first frame
    is never drawn; the transitions before it and after it are."""
    buf = _filled(40, 5)
    stopped = 5
    f = io.BytesIO()
    buf.save(f)
    f.seek(0)
    resumed = ReplayBuffer(40, (8, 8), stack=4, seed=1)
    resumed.load(f)
    resumed.add_first(np.full((8, 8), 9, np.uint8))
    for t in range(6):
        resumed.add(1, 0.0, False, np.full((8, 8), 10 + t, np.uint8))
    drawn = set(resumed.sample(5000).indices.tolist())
    assert stopped not in drawn and {0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11} <= drawn
    batch = resumed.sample(200)
    after = batch.indices == 6  # the restarted game's first state: zeros before its first frame
    assert after.any() and (batch.obs[after][:, :3] == 0).all() and (batch.obs[after][:, 3] == 9).all()
