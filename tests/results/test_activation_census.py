"""The activation census (``python -m replication.diagnose --activations``): its quantities against hand-computed
values on real Pong frames (the CLI on the smoke workflow's checkpoints: tests/workflow/test_smoke_workflow.py)."""

import math

import pytest
import torch

from replication.core.errors import UserError
from replication.envs.atari import AtariConfig
from replication.results.activation_census import activation_census, actor_critic_of, observations

LSTM = {"algorithm": "a3c_lstm", "group": "a3c_lstm", "game": "pong", "seed": 3, "env": {},
        "hyper": {"network": "nips", "learning_rate": 0.0007}}


@pytest.fixture(scope="module")
def pong_frames():
    return observations("pong", AtariConfig(), agent_steps=12, num_envs=2, seed=5)


def test_observations_are_a_random_players_frames_the_same_every_call(pong_frames):
    assert pong_frames.shape == (12, 2, 4, 84, 84) and pong_frames.dtype == torch.uint8
    assert torch.equal(pong_frames, observations("pong", AtariConfig(), agent_steps=12, num_envs=2, seed=5))
    assert pong_frames.float().std() > 0  # real screens, not blanks


def test_a_fresh_checkpoint_equals_the_initial_network_and_a_zero_policy_is_uniform(pong_frames):
    torch.manual_seed(3)  # the run's seed: the census' fresh network is this one
    model = actor_critic_of(LSTM, 6)
    table = activation_census({"model": model.state_dict()}, LSTM, pong_frames, burn_in=2).set_index("quantity")
    assert (table["trained"] == table["at_init"]).all()
    assert "LSTM output h RMS (the heads' input)" in table.index
    with torch.no_grad():
        model.policy.weight.zero_()
        model.policy.bias.fill_(0.3)  # equal logits: the uniform policy, by hand entropy ln 6, spread 0
    table = activation_census({"model": model.state_dict()}, LSTM, pong_frames, burn_in=2).set_index("quantity")
    assert table.loc["policy entropy (nats; uniform ln 6 = 1.7918)", "trained"] == pytest.approx(math.log(6))
    assert table.loc["logits SD across actions", "trained"] == 0.0
    assert table.loc["policy weight RMS", "trained"] == 0.0
    # the torso is untouched: its output scale is the initial one
    assert table.loc["torso output RMS", "trained"] == table.loc["torso output RMS", "at_init"]


def test_the_census_refuses_a_dqn_run_and_a_checkpoint_of_another_network(pong_frames):
    with pytest.raises(UserError, match="the run's algorithm is 'dqn'; accepted: a2c, a3c_ff, a3c_lstm"):
        activation_census({"model": {}}, {**LSTM, "algorithm": "dqn", "hyper": {}}, pong_frames, burn_in=2)
    ff = actor_critic_of({**LSTM, "algorithm": "a3c_ff"}, 6)
    with pytest.raises(UserError, match="the checkpoint's model does not fit its config.json's network"):
        activation_census({"model": ff.state_dict()}, LSTM, pong_frames, burn_in=2)
    with pytest.raises(ValueError, match="obs has 12 agent steps; accepted: more than burn_in = 50"):
        activation_census({"model": ff.state_dict()}, LSTM, pong_frames)
