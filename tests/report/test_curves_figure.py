"""The Figure 1 analogue's paper curves: Mnih et al. 2016 Figure 1 drawn on the hours panels of the games it
covers, cut where our runs stop (hand-computed values from the digitized curve)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from replication.report.curves_figure import clip_curve, draw_curves, figure1_curves, figure1_label
from replication.results import reference


def test_clip_curve_interpolates_the_end_and_keeps_what_lies_before():
    curve = pd.DataFrame({"hours": [2.0, 0.0, 1.0], "score": [-15.0, -21.0, -19.0]})  # unsorted on purpose
    cut = clip_curve(curve, "hours", 1.5, ["score"])
    assert cut["hours"].tolist() == [0.0, 1.0, 1.5] and cut["score"].tolist() == [-21.0, -19.0, -17.0]
    assert clip_curve(curve, "hours", 1.0, ["score"])["score"].tolist() == [-21.0, -19.0]
    assert clip_curve(curve, "hours", 3.0, ["score"])["hours"].tolist() == [0.0, 1.0, 2.0]  # the whole curve
    assert clip_curve(curve, "hours", -1.0, ["score"]).empty  # starts after the end: nothing


def bands(rows):
    return pd.DataFrame([{"run": f"{group} (workers {workers})", "algorithm": algorithm, "game": game,
                          "frames": hours * 1e6, "hours": hours, "mean": -20.0, "ci_low": np.nan,
                          "ci_high": np.nan, "seeds": 1} for group, algorithm, workers, game, hours in rows])


def test_figure1_curves_per_algorithm_the_figure_draws_up_to_our_last_hour():
    fig1 = reference.mnih_figure1()
    g = bands([("dqn_nature", "dqn", 1, "pong", 1.0), ("dqn_nature", "dqn", 1, "pong", 2.5),
               ("dqn", "dqn", 1, "pong", 0.5), ("a2c", "a2c", 32, "pong", 3.0),
               ("a3c_ff", "a3c_ff", 2, "pong", 0.25)])
    out = {method: (run, c) for run, method, c in figure1_curves(g, "pong", fig1)}
    assert set(out) == {"DQN", "A3C"}  # A2C has no Figure 1 curve
    run, dqn = out["DQN"]
    assert run == "dqn (workers 1)"  # the first DQN run label gives the colour
    # Figure 1's DQN on Pong (digitized): -19.72 at 2 h, -17.00 at 3 h; ours stop at 2.5 h -> -18.36 there
    assert dqn["hours"].tolist() == [0.0, 1.0, 2.0, 2.5] and dqn["score"].iloc[-1] == pytest.approx(-18.36)
    assert out["A3C"][1]["hours"].iloc[-1] == 0.25
    assert figure1_curves(g.assign(game="seaquest"), "seaquest", fig1) == []  # not in Figure 1


def legend_texts(fig):
    return [t.get_text() for legend in fig.legends for t in legend.get_texts()]


def test_hours_panels_draw_figure1_and_frames_panels_do_not():
    b = bands([("dqn_nature", "dqn", 1, "pong", h) for h in (1.0, 2.0, 2.5)]
              + [("dqn_nature", "dqn", 1, "seaquest", h) for h in (1.0, 2.0)])
    label = figure1_label("DQN")
    assert label == "paper: DQN, 1 Nvidia K40 GPU (Mnih et al. 2016 Figure 1)"
    fig = plt.figure(figsize=(11.69, 8.27))
    draw_curves(fig, (0.02, 0.02, 0.98, 0.95), b, ["pong", "seaquest"], "hours")
    assert label in legend_texts(fig)
    pong, seaquest = fig.axes
    ends = [line.get_ydata()[-1] for line in pong.get_lines() if len(line.get_xdata()) == 4]
    assert any(e == pytest.approx(-18.36) for e in ends)  # the paper's DQN, cut at our 2.5 h
    assert not [line for line in seaquest.get_lines() if len(line.get_xdata()) == 4]
    plt.close(fig)
    fig = plt.figure(figsize=(11.69, 8.27))
    draw_curves(fig, (0.02, 0.02, 0.98, 0.95), b, ["pong", "seaquest"], "frames")
    assert label not in legend_texts(fig)
    plt.close(fig)
