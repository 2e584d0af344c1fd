"""Claims (benchmarks/claims.csv): the verdict rules against hand-computed values, the paper data's units, and the
table built from run directories finished and still training."""

import json

import numpy as np
import pandas as pd
import pytest

from replication.cli.claims import main
from replication.core.errors import UserError
from replication.results import reference
from replication.results.claims import beside_curves, claims_table, keep_other_groups, read_live_run, settings_of
from replication.results.verdict import band_position, curve_claim_verdict, margin_points, score_claim_verdict


def test_margin_is_ten_human_normalized_points():
    # Pong: random -20.7, human 9.3 (van Hasselt et al. 2016): 10% of 30 points = 3.0
    assert margin_points("pong") == pytest.approx(3.0)
    # Breakout: random 1.7, human 31.8 (van Hasselt et al. 2016): 3.01
    assert margin_points("breakout") == pytest.approx(3.01)


def test_score_claim_is_non_inferiority_with_the_margin():
    assert score_claim_verdict(17.6, 20.6, 3.0) == "held"  # lower bound exactly paper - margin
    assert score_claim_verdict(17.5, 20.6, 3.0) == "not held"
    assert score_claim_verdict(20.9, 20.6, 3.0) == "held"  # above the paper holds it
    assert score_claim_verdict(float("nan"), 20.6, 3.0) == "not held"


def test_band_position_widens_the_band_by_the_margin():
    # Figure 3, Pong n_e = 32 at 5 epochs: band -16.2 .. -8.1
    assert band_position(-18.1, -16.2, -8.1, 3.0) == "inside"
    assert band_position(-19.3, -16.2, -8.1, 3.0) == "below"
    assert band_position(-5.0, -16.2, -8.1, 3.0) == "above"
    assert band_position(-5.1, -16.2, -8.1, 3.0) == "inside"


def test_curve_claim_needs_four_fifths_inside_or_above_and_not_ending_below():
    assert curve_claim_verdict(["inside", "below", "inside", "above", "inside"]) == "held"  # 4/5
    assert curve_claim_verdict(["below", "below", "inside", "inside", "inside"]) == "not held"  # 3/5
    assert curve_claim_verdict(["inside"] * 9 + ["below"]) == "not held"  # 9/10, but ends below
    assert curve_claim_verdict([]) == "not held"


def test_paper_curves_convert_epochs_and_timesteps_to_frames():
    c = reference.clemente_curves("frames")
    pong = c[(c["game"] == "pong") & (c["n_e"] == 32)]
    assert pong["frames"].iloc[4] == pytest.approx(4.539 * 4_000_000)  # the CSV's 5th vertex, 4.539 epochs
    beam = c[(c["game"] == "beam_rider") & (c["n_e"] == 16)]
    assert beam["frames"].iloc[0] == pytest.approx(14554 * 4)  # timesteps (global steps) x 4 frames
    m = reference.mnih_curves("frames")
    a3c = m[(m["method"] == "A3C") & (m["game"] == "pong") & (m["threads"] == 2)]
    assert a3c.set_index("frames").loc[32_000_000, "score"] == pytest.approx(1.7, abs=0.05)  # SOURCES.md E
    assert set(reference.clemente_curves("hours")["game"]) == {"beam_rider", "boxing", "breakout", "pong", "qbert",
                                                               "space_invaders"}
    fig2 = reference.clemente_throughput()
    gpu32 = fig2[(fig2["architecture"] == "arch_nips") & (fig2["device"] == "GPU") & (fig2["n_e"] == 32)
                 & fig2["y_unit"].str.startswith("Timesteps")]
    assert gpu32["frames_per_s"].iloc[0] == pytest.approx(2661.939 * 4)
    assert reference.clemente_table1().set_index("game").loc["pong", "paac_nips"] == 20.6
    with pytest.raises(ValueError, match="accepted: frames, hours"):
        reference.clemente_curves("epochs")


def _run_dir(root, seed, evals, done, hyper=None, frames=None, games=()):
    """A run directory of A2C on Pong with 32 environments, 80M frames: ``evals`` maps frames to the evaluation
    games' scores, ``games`` lists training games as (frames when it ended, score)."""
    d = root / f"s{seed}"
    d.mkdir()
    hyper = {"network": "nips", "entropy_beta": 0.02, "max_grad_norm": 3.0, **(hyper or {})}
    (d / "config.json").write_text(json.dumps({
        "group": "a2c", "algorithm": "a2c", "game": "pong", "workers": 32, "seed": seed, "total_frames": 80_000_000,
        "hyper": hyper, "host": {"cpu": "test cpu", "cores": 2}}))
    rows = [f"{f},noop30_18000f_sampled,{i},{s},1000" for f, scores in evals.items() for i, s in enumerate(scores)]
    (d / "eval.csv").write_text("frames,protocol,episode,episode_return,episode_length\n"
                                + "".join(r + "\n" for r in rows))
    last = frames or max(evals)
    games = [*games, (last, -20)]
    (d / "episodes.csv").write_text("frames,agent_steps,wall_time_s,worker,episode_return,episode_length\n" + "".join(
        f"{f},{f // 4},{7200.0 * f / last},0,{score},900\n" for f, score in games))
    if done:
        (d / "done.json").write_text(json.dumps({"frames": last, "wall_time_s": 7200.0, "frames_per_s": 1.0,
                                                 "cpu_steal": 0.25 * seed}))
    return d


def test_claims_table_from_run_directories(tmp_path):
    # Figure 3 (n_e = 32) vertices at 9.469 epochs = 37.876M frames (band 5.061 .. 7.876) and 12.317 epochs =
    # 49.268M (12.099 .. 13.803) lie between our 2M-frame curve bins ending at 36M and 38M, and at 48M and 50M
    evals = {36_000_000: [0.0, 2.0], 52_000_000: [16.0, 18.0]}
    games = [(35_900_000, 1.0), (35_950_000, 3.0), (37_900_000, 4.0), (47_900_000, 10.0), (49_900_000, 14.0)]
    runs = [_run_dir(tmp_path, 0, evals, done=True, games=games)]
    table, points = claims_table([read_live_run(p) for p in runs])
    t1 = table.set_index("claim").loc["clemente2017_table1"]
    assert t1["paper"] == 20.6 and t1["ours"] == pytest.approx(17.0) and t1["ci_over"].startswith("1 seed")
    assert t1["ci_low"] == pytest.approx(16.0) and t1["verdict"] == "not held"  # 16.0 < 20.6 - 3.0
    assert t1["settings"] == "entropy_beta=0.02; max_grad_norm=3.0"
    assert t1["frames"] == 52_000_000 and t1["wall_time_h"] == 2.0
    pts = points[points["claim"] == "clemente2017_fig3"]
    assert list(pts["frames"]) == pytest.approx([9.469 * 4e6, 12.317 * 4e6])
    # bins: 2.0 at 36M (mean of 1 and 3), 4.0 at 38M, 10.0 at 48M, 14.0 at 50M; the last game (52M, -20) ends the
    # run's curve at 52M. At 37.876M: 2 + 1.876 / 2 * 2 = 3.876; at 49.268M: 10 + 1.268 / 2 * 4 = 12.536
    assert list(pts["ours"]) == pytest.approx([3.876, 12.536])
    assert list(pts["position"]) == ["inside", "inside"]  # 3.876 >= 5.061 - 3; 12.536 inside 12.099 .. 13.803
    assert table.set_index("claim").loc["clemente2017_fig3", "verdict"] == "held"


def test_a_run_still_training_is_running_with_its_verdict_so_far(tmp_path):
    runs = [_run_dir(tmp_path, 0, {4_000_000: [-21.0, -20.0]}, done=False, frames=6_000_000),
            _run_dir(tmp_path, 1, {4_000_000: [-19.0, -19.0]}, done=True)]
    table, _ = claims_table([read_live_run(p) for p in runs])
    t1 = table.set_index("claim").loc["clemente2017_table1"]
    # -19.75 at 4M frames, short of Table 1's 20.6 before its 40M: what a finished run there would get, not "not held"
    assert t1["verdict"] == "running" and t1["detail"].startswith("so far not comparable; 4M frames, below the 40M")
    assert t1["frames"] == 4_000_000 and t1["seeds"] == 2 and t1["ci_over"] == "2 seeds"
    assert t1["host"] == "test cpu (2 cores, CPU steal 25%)"  # the finished seed's done.json
    assert t1["ours"] == pytest.approx((-20.5 - 19.0) / 2)


def test_a_run_before_its_first_evaluation_and_paper_point_has_no_verdict_so_far(tmp_path):
    # 1M frames: no evaluation yet, and Figure 3's first n_e = 32 point lies further on
    runs = [_run_dir(tmp_path, 0, {}, done=False, frames=1_000_000)]
    table, points = claims_table([read_live_run(p) for p in runs])
    assert points[points["claim"] == "clemente2017_fig3"].empty
    for claim in ("clemente2017_table1", "clemente2017_fig3"):
        row = table.set_index("claim").loc[claim]
        assert row["verdict"] == "running" and row["detail"].startswith("nothing to judge yet; ")


def test_a_finished_run_below_the_claims_frames_is_not_comparable_unless_it_holds_a_score(tmp_path):
    # 4M frames: falling short of Table 1's 20.6 says nothing about 80M frames; reaching it holds it
    for seed, scores, verdict in ((0, [-20.0, -19.0], "not comparable"), (1, [20.0, 20.0], "held")):
        (tmp_path / str(seed)).mkdir()
        runs = [_run_dir(tmp_path / str(seed), seed, {4_000_000: scores}, done=True)]
        table, _ = claims_table([read_live_run(p) for p in runs])
        t1 = table.set_index("claim").loc["clemente2017_table1"]
        assert t1["verdict"] == verdict and ("below the 40M" in t1["detail"]) == (verdict == "not comparable")
        assert table.set_index("claim").loc["clemente2017_fig3", "verdict"] == "not comparable"  # a curve claim


def test_settings_paper_when_the_defaults_ran():
    assert settings_of({"algorithm": "a2c", "hyper": {"network": "nips", "entropy_beta": 0.01}}) == "paper"


def _published_run(tmp_path):
    """A finished 44M-frame run learning one point per epoch, and the folder ``main`` wrote its claims into."""
    evals = {f: [f / 4e6 - 21.0] * 2 for f in range(4_000_000, 44_000_001, 4_000_000)}
    games = [(f - 1000, f / 4e6 - 21.0) for f in range(2_000_000, 44_000_001, 2_000_000)]
    run = _run_dir(tmp_path, 0, evals, done=True, games=games)
    out = tmp_path / "bench"
    assert main(["--out", str(out), str(run)]) == 0
    return run, out


def test_cli_writes_claims_and_the_curve_png(tmp_path, capsys):
    run, out = _published_run(tmp_path)
    table = pd.read_csv(out / "claims.csv")
    assert set(table["claim"]) == {"clemente2017_table1", "clemente2017_fig3"}
    assert (out / "claims_clemente2017_fig3_pong_w32.png").stat().st_size > 10_000
    assert np.isfinite(pd.read_csv(out / "claims_curves.csv")["ours"]).all()
    with pytest.raises(SystemExit) as exit_:
        main(["--out", str(out), str(tmp_path / "nothing")])
    assert exit_.value.code == 2
    assert "has no config.json; accepted: a run directory" in capsys.readouterr().err


def test_the_published_curve_is_drawn_beside_a_rerun_at_the_same_settings(tmp_path):
    import matplotlib.pyplot as plt

    from replication.results.claims import published_curves
    from replication.report.build import _published
    from replication.report.clemente import curve_verdicts, draw_band_panels

    games = [(f - 1000, f / 4e6 - 21.0) for f in range(2_000_000, 44_000_001, 2_000_000)]
    run = _run_dir(tmp_path, 0, {44_000_000: [0.0, 1.0]}, done=True, games=games)
    pub = published_curves([read_live_run(run)])
    assert list(pub["settings"].unique()) == ["entropy_beta=0.02; max_grad_norm=3.0"]
    assert pub["mean"].iloc[0] == pytest.approx(2_000_000 / 4e6 - 21.0)  # the first bin's one game
    folder = tmp_path / "benchmarks"
    folder.mkdir()
    pub.to_csv(folder / "claims_training_curves.csv", index=False)
    published = _published(folder)
    rerun = pd.DataFrame({"group": "a2c", "algorithm": "a2c", "game": "pong", "workers": 32, "seed": 0,
                          "frames": [4e6, 8e6], "hours": [0.1, 0.2], "episode_return": [-21.0, -20.0]})
    verdicts = curve_verdicts(rerun)

    def legend(settings):
        fig = plt.figure()
        draw_band_panels(fig, (0, 0, 1, 1), rerun, verdicts, "frames", published, {"a2c": settings})
        texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        plt.close(fig)
        return texts

    assert "the suite's published run (1 seed(s))" in legend("entropy_beta=0.02; max_grad_norm=3.0")
    assert "the suite's published run (1 seed(s))" not in legend("paper")  # other settings: not the same run
    with pytest.raises(UserError, match="is not a folder; accepted: the suite's benchmarks/ folder"):
        _published(folder / "claims_training_curves.csv")


def test_report_table1_verdict_takes_one_seeds_ci_from_its_evaluation_games():
    from replication.report.clemente import table1_verdicts

    row = {"group": "a2c", "algorithm": "a2c", "game": "pong", "workers": 32, "frames": 80_000_000,
           "wall_time_s": 9000.0}
    one = pd.DataFrame([{**row, "seed": 0, "eval_mean": 19.0, "eval_ci_low": 18.0, "eval_ci_high": 20.0}])
    t = table1_verdicts(one, {"a2c": "nips"}).iloc[0]
    assert (t["paper"], t["margin"], t["ci_low"]) == (20.6, pytest.approx(3.0), 18.0)
    assert t["verdict"] == "held" and t["ci_over"] == "1 seed: its evaluation games"  # 18.0 >= 20.6 - 3.0
    low = one.assign(eval_ci_low=17.5)
    assert table1_verdicts(low, {"a2c": "nips"}).iloc[0]["verdict"] == "not held"
    nature = table1_verdicts(one, {"a2c": "nature"}).iloc[0]
    assert nature["paper"] == 20.9 and nature["paper_column"] == "PAAC arch_nature"
    short = table1_verdicts(one.assign(frames=1_200_000), {"a2c": "nips"}).iloc[0]
    assert short["verdict"] == "not comparable" and short["reason"].startswith("budget: 1.2M frames")
    two = pd.DataFrame([{**row, "seed": s, "eval_mean": m} for s, m in ((0, 19.0), (1, 21.0))])
    t2 = table1_verdicts(two, {"a2c": "nips"}).iloc[0]
    assert t2["mean"] == 20.0 and t2["ci_over"] == "2 seeds" and 19.0 <= t2["ci_low"] <= t2["ci_high"] <= 21.0


def test_two_runs_of_one_seed_in_one_group_are_refused(tmp_path):
    # a rerun of seed 0 passed beside the published seed 0 would be counted as a second seed
    for name in ("published", "rerun"):
        (tmp_path / name).mkdir()
    first = _run_dir(tmp_path / "published", 0, {80_000_000: [19.0, 20.0]}, done=True)
    rerun = _run_dir(tmp_path / "rerun", 0, {4_000_000: [-20.0]}, done=False)
    with pytest.raises(UserError, match=r"are both seed 0 of a2c on pong with 32 workers; accepted: one run "
                                        r"directory per seed"):
        claims_table([read_live_run(p) for p in (first, rerun)])


def _dqn_run(root, frames, evals):
    """A finished DQN run directory on Pong at the Nature settings, ``frames`` trained, ``evals`` as ``_run_dir``'s."""
    root.mkdir()
    d = _run_dir(root, 0, evals, done=True, frames=frames)
    config = json.loads((d / "config.json").read_text())
    config.update(group="dqn", algorithm="dqn", workers=1, total_frames=frames, hyper={})
    (d / "config.json").write_text(json.dumps(config))
    return d


def test_dqn_against_table_s3_holds_early_but_is_not_comparable_when_short(tmp_path):
    # Table S3's DQN on Pong: 16.2 (human starts); Pong's margin 3.0: held when our CI's lower bound >= 13.2.
    # Evaluation games 18, 18, 18 (one seed): the CI collapses to 18; games 10, 12: the CI lies within [10, 12]
    rows = {}
    for name, evals in (("held", [18.0, 18.0, 18.0]), ("short", [10.0, 12.0])):
        table, _ = claims_table([read_live_run(_dqn_run(tmp_path / name, 50_000_000, {48_000_000: evals}))])
        rows[name] = table.set_index("claim").loc["mnih2016_table_s3_dqn"]
    held, short = rows["held"], rows["short"]
    assert held["paper"] == 16.2 and held["ours"] == 18.0 and held["ci_low"] == 18.0 and held["settings"] == "paper"
    assert held["verdict"] == "held" and held["frames"] == 50_000_000  # held at a quarter of the paper's 200M
    assert "DQN column, protocol human starts" in held["detail"]
    # not held by the rule (<= 12 < 13.2), but at a quarter of the paper's 200M frames that says nothing
    assert short["ci_low"] <= 12.0 and short["verdict"] == "not comparable" and "below the 200M" in short["detail"]


def test_dqn_against_the_nature_papers_own_score_at_its_protocol(tmp_path):
    # Mnih 2015 Extended Data Table 2, Pong: 18.9 (no-op starts, as ours); held when our CI's lower bound >= 15.9.
    # The evaluation games 18, 18, 18 that hold Table S3's 16.2 hold this one too; 15, 15 (lower bound 15) do not
    rows = {}
    for name, evals in (("held", [18.0, 18.0, 18.0]), ("below", [15.0, 15.0])):
        table, _ = claims_table([read_live_run(_dqn_run(tmp_path / name, 50_000_000, {48_000_000: evals}))])
        rows[name] = table.set_index("claim")
        assert list(table["claim"]) == ["mnih2016_table_s3_dqn", "mnih2015_dqn"]
    nature = rows["held"].loc["mnih2015_dqn"]
    assert nature["paper"] == 18.9 and nature["verdict"] == "held" and nature["source"].startswith("Mnih et al. 2015")
    assert "DQN column, protocol no-op starts, 5 min, epsilon 0.05" in nature["detail"]
    assert rows["below"].loc["mnih2015_dqn", "verdict"] == "not comparable"  # 15 < 15.9, at a quarter of 200M
    assert rows["below"].loc["mnih2016_table_s3_dqn", "verdict"] == "held"  # 15 >= 16.2 - 3
    assert reference.nature_dqn().set_index("game").loc["breakout", "dqn_noop_mnih2015"] == 401.2
    assert len(reference.nature_dqn()) == 49  # the Nature paper's games


def _a3c_run(root, group, frames):
    """A finished A3C run directory (``group``: a3c_ff or a3c_lstm) on Pong with 2 workers, ``frames`` trained, one
    training game ending each 2M-frame bin with a score rising a point per epoch."""
    root.mkdir()
    games = [(f - 1000, f / 4e6 - 21.0) for f in range(2_000_000, frames + 1, 2_000_000)]
    d = _run_dir(root, 0, {frames: [0.0]}, done=True, frames=frames, games=games)
    config = json.loads((d / "config.json").read_text())
    config.update(group=group, algorithm=group, workers=2, total_frames=frames, hyper={"network": "nips"})
    (d / "config.json").write_text(json.dumps(config))
    return d


def test_an_a3c_lstm_group_is_drawn_beside_the_ff_claim_and_not_judged(tmp_path):
    import matplotlib.pyplot as plt

    from replication.report.clemente import curve_verdicts, draw_band_panels
    from replication.report.curves_figure import curve_figure

    ff, lstm = _a3c_run(tmp_path / "ff", "a3c_ff", 32_000_000), _a3c_run(tmp_path / "lstm", "a3c_lstm", 20_000_000)
    out = tmp_path / "bench"
    assert main(["--out", str(out), str(ff), str(lstm)]) == 0
    table = pd.read_csv(out / "claims.csv")
    assert list(zip(table["claim"], table["group"])) == [("mnih2016_fig3", "a3c_ff")]  # the LSTM: no claim
    curves = pd.read_csv(out / "claims_training_curves.csv")
    beside = beside_curves("mnih2016_fig3", "pong", 2, curves)
    assert set(beside["group"]) == {"a3c_lstm"} and len(beside) == 10  # its 2M-frame bins up to 20M
    assert beside["mean"].iloc[0] == pytest.approx(2_000_000 / 4e6 - 21.0)  # the first bin's one game
    assert beside_curves("mnih2016_fig3", "pong", 4, curves).empty  # another thread count
    assert beside_curves("clemente2017_fig3", "pong", 2, curves).empty  # nothing beside PAAC's figure

    def legend(fig):
        texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        plt.close(fig)
        return texts

    row = table.iloc[0].to_dict()
    assert ("ours (a3c_lstm, 1 seed(s)) beside it: no paper curve, not judged"
            in legend(curve_figure("mnih2016_fig3", [read_live_run(ff)], row, beside)))
    assert (out / "claims_mnih2016_fig3_pong_w2.png").stat().st_size > 10_000
    # the report's Figure 3 page: its own runs' curves (one row per seed and bin)
    per_seed = pd.concat([pd.DataFrame({"group": g, "algorithm": g, "game": "pong", "workers": 2, "seed": 0,
                                        "frames": [4e6, 8e6], "hours": [0.3, 0.6], "episode_return": [-21.0, -20.0]})
                          for g in ("a3c_ff", "a3c_lstm")], ignore_index=True)
    verdicts = curve_verdicts(per_seed, "mnih2016_fig3")
    assert list(verdicts["group"]) == ["a3c_ff"]
    fig = plt.figure()
    draw_band_panels(fig, (0, 0, 1, 1), per_seed, verdicts, "frames", claim="mnih2016_fig3")
    verdict = verdicts["verdict"].iloc[0]
    assert fig.axes[0].get_title() == f"pong, a3c_ff threads 2: {verdict}"
    assert "ours: a3c_lstm, 1 seed(s), beside (no paper curve)" in legend(fig)
    fig = plt.figure()  # Figure 4's hours: the title keeps the epochs verdict and says so
    draw_band_panels(fig, (0, 0, 1, 1), per_seed, verdicts, "hours", claim="mnih2016_fig3")
    assert fig.axes[0].get_title() == f"pong, a3c_ff threads 2: {verdict} on epochs (hours are not judged)"
    plt.close(fig)


def test_update_with_a_group_that_tests_no_claim_keeps_the_published_claims(tmp_path):
    # landing an A3C LSTM group alone (no claim, no curve points) over files that hold the FF claim's points
    ff, lstm = _a3c_run(tmp_path / "ff", "a3c_ff", 32_000_000), _a3c_run(tmp_path / "lstm", "a3c_lstm", 20_000_000)
    out = tmp_path / "bench"
    assert main(["--out", str(out), str(ff)]) == 0
    points = pd.read_csv(out / "claims_curves.csv")
    assert main(["--update", "--out", str(out), str(lstm)]) == 0
    assert pd.read_csv(out / "claims_curves.csv").equals(points)
    assert list(pd.read_csv(out / "claims.csv")["group"]) == ["a3c_ff"]
    assert set(pd.read_csv(out / "claims_training_curves.csv")["group"]) == {"a3c_ff", "a3c_lstm"}
    assert claims_table([read_live_run(lstm)])[1].columns.tolist() == points.columns.tolist()


def test_the_shortened_dqn_schedules_are_drawn_beside_the_nature_settings_claim(tmp_path):
    import matplotlib.pyplot as plt

    from replication.report.curves_figure import curve_figure

    short = {"replay_capacity": 100_000, "target_update_agent_steps": 2000}  # configs/parity.yaml's deviations
    dirs = {}
    for group, frames, hyper in (("dqn_nature", 12_000_000, {}), ("dqn", 4_000_000, short),
                                 ("sb3_dqn", 4_000_000, short)):
        games = [(f - 1000, -21.0 + f / 1e6) for f in range(2_000_000, frames + 1, 2_000_000)]
        (tmp_path / group).mkdir()
        dirs[group] = d = _run_dir(tmp_path / group, 0, {frames: [0.0]}, done=True, frames=frames, games=games)
        config = json.loads((d / "config.json").read_text())
        config.update(group=group, algorithm="dqn", workers=1, total_frames=frames, hyper=hyper)
        (d / "config.json").write_text(json.dumps(config))
    out = tmp_path / "bench"
    assert main(["--out", str(out), *map(str, dirs.values())]) == 0
    table = pd.read_csv(out / "claims.csv").set_index("group")
    s3 = table[table["claim"] == "mnih2016_table_s3_dqn"]
    assert s3.loc["dqn_nature", "settings"] == "paper" and s3.loc["dqn_nature", "paper"] == 16.2
    assert s3.loc["dqn", "settings"] == "replay_capacity=100000; target_update_agent_steps=2000"
    assert "sb3_dqn" not in table.index  # SB3's run: drawn beside, never a claim row of ours
    curves = pd.read_csv(out / "claims_training_curves.csv")
    beside = beside_curves("mnih2016_table_s3_dqn", "pong", 1, curves, "dqn_nature")
    assert sorted(set(beside["group"])) == ["dqn", "sb3_dqn"] and len(beside) == 4  # 2 bins each, not its own 6
    assert beside["mean"].iloc[0] == pytest.approx(-19.0)  # the first bin's one game
    assert set(beside_curves("mnih2016_table_s3_dqn", "pong", 1, curves)["group"]) == {"dqn", "dqn_nature", "sb3_dqn"}
    fig = curve_figure("mnih2016_table_s3_dqn", [read_live_run(dirs["dqn_nature"])],
                       s3.loc["dqn_nature"].to_dict() | {"group": "dqn_nature"}, beside)
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    notes = [t.get_text() for t in fig.texts]
    plt.close(fig)
    assert "Mnih et al. 2016, Table S3 (DQN column, from Nair et al. 2015): 16.2 after 200M frames" in texts
    assert "SB3 (sb3_dqn, 1 seed(s)) beside it: no paper curve, not judged" in texts
    assert "ours (dqn, 1 seed(s)) beside it: no paper curve, not judged" in texts
    assert any("settings beside ours (paper): dqn: replay_capacity=100000; target_update_agent_steps=2000; "
               "sb3_dqn: replay_capacity" in t for t in notes)
    # one figure per claim on Pong with 1 worker (three groups test each): the paper-settings group's, drawn
    # whichever order the run directories come in
    assert sorted(p.name for p in out.glob("*.png")) == ["claims_mnih2015_dqn_pong_w1.png",
                                                         "claims_mnih2016_table_s3_dqn_pong_w1.png"]
    first = (out / "claims_mnih2016_table_s3_dqn_pong_w1.png").read_bytes()
    assert main(["--out", str(out), *map(str, reversed(dirs.values()))]) == 0
    assert (out / "claims_mnih2016_table_s3_dqn_pong_w1.png").read_bytes() == first


def test_keep_other_groups_puts_back_the_published_rows_of_groups_not_regenerated():
    published = pd.DataFrame({"claim": ["c1", "c1", "c2"], "group": ["a2c", "a3c_ff", "a3c_ff"],
                              "game": ["pong"] * 3, "workers": [32, 2, 2], "frames": [80, 4, 4]})
    new = pd.DataFrame({"claim": ["c1"], "group": ["a3c_ff"], "game": ["pong"], "workers": [2], "frames": [32],
                        "extra": ["x"]})
    out = keep_other_groups(new, published, {("a3c_ff", "pong", 2)})
    # a2c's row kept (no extra column: blank); every a3c_ff row replaced, c2's too (the group was regenerated)
    assert list(zip(out["claim"], out["group"], out["frames"])) == [("c1", "a2c", 80), ("c1", "a3c_ff", 32)]
    assert list(out.columns) == list(new.columns) and out["extra"].isna().tolist() == [True, False]
    assert keep_other_groups(new, published.iloc[:0], {("a3c_ff", "pong", 2)}).equals(new)
    assert len(keep_other_groups(new.iloc[:0], published, {("a3c_ff", "pong", 2)})) == 1  # no new rows: a2c's


def test_cli_update_keeps_another_groups_rows_and_png(tmp_path, capsys):
    run, out = _published_run(tmp_path)
    written = {n: pd.read_csv(out / n) for n in ("claims.csv", "claims_curves.csv", "claims_training_curves.csv")}
    for name, df in written.items():  # publish the same rows as another run group's (a2c_old), then regenerate
        pd.concat([df, df.assign(group="a2c_old")]).to_csv(out / name, index=False)
    png = out / "claims_clemente2017_fig3_pong_w32.png"
    png.write_bytes(b"published")
    assert main(["--update", "--out", str(out), str(run)]) == 0
    for name, df in written.items():
        again = pd.read_csv(out / name)
        assert len(again) == 2 * len(df) and set(again["group"]) == {"a2c", "a2c_old"}
    assert png.read_bytes() != b"published"  # the regenerated group's PNG is drawn anew
    assert main(["--out", str(out), str(run)]) == 0  # without --update: RUN_DIRs' groups alone
    assert set(pd.read_csv(out / "claims.csv")["group"]) == {"a2c"}
    (out / "claims.csv").write_text("something,else\n1,2\n")
    with pytest.raises(SystemExit) as exit_:
        main(["--update", "--out", str(out), str(run)])
    assert exit_.value.code == 2 and "has columns ['something', 'else']; accepted:" in capsys.readouterr().err
