"""The environment protocol on real ALE games."""

import numpy as np
import pytest

from replication.core.errors import UserError
from replication.envs.atari import AtariBatch, AtariConfig, EpisodeTracker, check_game


def test_observation_shape_dtype_and_frames_per_step():
    cfg = AtariConfig()
    env = AtariBatch("pong", 2, cfg, seed=0)
    try:
        assert env.obs.shape == (2, 4, 84, 84) and env.obs.dtype == np.uint8
        _, _, _, _, info0 = env.env.step(np.zeros(2, dtype=np.int64))
        _, _, _, _, info1 = env.env.step(np.zeros(2, dtype=np.int64))
        # one agent step = frame_skip (4) emulator frames
        assert np.all(info1["frame_number"] - info0["frame_number"] == cfg.frame_skip)
    finally:
        env.close()


def test_whole_game_return_is_unclipped_over_all_lives():
    """Space Invaders pays 5..30 points per alien and has 3 lives: the training reward is clipped and life
    loss is a training terminal, but the logged episode return is the raw score of the whole game."""
    cfg = AtariConfig(terminal_on_life_loss=True)
    env = AtariBatch("space_invaders", 2, cfg, seed=3)
    tracker = EpisodeTracker(2)
    rng = np.random.default_rng(0)
    raw_sum = np.zeros(2)
    clipped_sum = np.zeros(2)
    life_terminals = np.zeros(2, dtype=int)
    finished = {}
    try:
        for _ in range(20_000):
            step = env.step(rng.integers(0, env.num_actions, 2))
            assert np.all(np.abs(step.reward) <= 1.0)
            raw_sum += step.raw_reward
            clipped_sum += step.reward
            life_terminals += step.done & ~step.game_over
            for i, ret, length in tracker.update(step.raw_reward, step.game_over):
                if i not in finished:
                    finished[i] = (ret, raw_sum[i], clipped_sum[i], life_terminals[i], length)
            if len(finished) == 2:
                break
    finally:
        env.close()
    assert len(finished) == 2, "random play should end two games of Space Invaders"
    for ret, raw, clipped, lives_lost, length in finished.values():
        assert ret == raw  # the whole game, every life
        assert ret > clipped  # rewards above 1 were clipped for training only
        assert lives_lost >= 2  # life-loss terminals fired before the game ended (3 lives)
        assert length > 0


def test_unknown_game_names_close_ids():
    with pytest.raises(UserError) as e:
        check_game("pongg")
    assert "pongg" in str(e.value) and "pong" in str(e.value)
    assert check_game("ms_pacman") == "ms_pacman"


def test_a_game_cut_by_the_frame_cap_is_a_time_limit_with_its_final_observation():
    cfg = AtariConfig(max_episode_frames=200, noop_max=0)  # 50 agent steps; Pong cannot end that soon
    env = AtariBatch("pong", 2, cfg, seed=0)
    try:
        for t in range(50):
            before = env.obs.copy()
            step = env.step(np.zeros(2, dtype=np.int64))
            if t < 49:
                assert not step.time_limit.any() and step.final_obs is None
        assert step.time_limit.all() and step.game_over.all() and step.done.all()
        assert step.final_obs.shape == (2, 4, 84, 84) and step.final_obs.dtype == np.uint8
        # the cut state continues the last one (its oldest frames are the previous state's newest) and differs
        # from the next game's first observation, which is what obs holds
        assert np.array_equal(step.final_obs[:, :3], before[:, 1:])
        assert not np.array_equal(step.final_obs, step.obs)
    finally:
        env.close()
