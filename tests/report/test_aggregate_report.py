"""Aggregation and report on synthetic run directories (written here, no training)."""

import json

import numpy as np
import pandas as pd
import pytest

from replication.report.build import build_report
from replication.report.pdf_pages import ReportPdf
from replication.report.sections import provenance_lines
from replication.results.aggregate import aggregate
from replication.results.stats import mean_ci
from replication.results.verdict import per_game_summary, verdict_table
from replication.runs.logs import EPISODE_COLUMNS, EVAL_COLUMNS, UPDATE_COLUMNS


def fake_run(root, group, game, workers, seed, eval_returns, episode_returns, frames=1_000_000, wall=100.0):
    d = root / group / game / f"w{workers}" / f"s{seed}"
    d.mkdir(parents=True)
    n = len(episode_returns)
    ep_frames = np.linspace(frames / n, frames, n).astype(int)
    pd.DataFrame({"frames": ep_frames, "agent_steps": ep_frames // 4, "wall_time_s": ep_frames / frames * wall,
                  "worker": 0, "episode_return": episode_returns, "episode_length": 100},
                 columns=EPISODE_COLUMNS).to_csv(d / "episodes.csv", index=False)
    pd.DataFrame(columns=UPDATE_COLUMNS).to_csv(d / "updates.csv", index=False)
    pd.DataFrame({"frames": frames, "protocol": "noop30_18000f_sampled", "episode": range(len(eval_returns)),
                  "episode_return": eval_returns, "episode_length": 100},
                 columns=EVAL_COLUMNS).to_csv(d / "eval.csv", index=False)
    (d / "config.json").write_text(json.dumps({"group": group, "game": game, "workers": workers, "seed": seed,
                                               "device": "cpu", "env": {"frame_skip": 4}, "eval": {"episodes": 3},
                                               "hyper": {"gamma": 0.99}, "host": {"cpu": "test", "cores": 2}}))
    (d / "done.json").write_text(json.dumps({"frames": frames, "wall_time_s": wall, "frames_per_s": frames / wall}))
    return d


@pytest.fixture
def runs(tmp_path):
    r = tmp_path / "runs"
    return [
        fake_run(r, "a2c", "pong", 32, 0, [10, 12, 14], [-21, -10, 0, 10]),
        fake_run(r, "a2c", "pong", 32, 1, [16, 18, 20], [-20, -5, 5, 15], wall=200.0),
        fake_run(r, "a2c", "breakout", 32, 0, [100, 200, 300], [1, 2, 3, 4]),
    ]


def test_tables_match_known_inputs(tmp_path, runs):
    t = aggregate(runs, tmp_path / "tables")
    s = t["scores"].set_index(["game", "seed"])
    assert len(t["scores"]) == 3
    assert s.loc[("pong", 0), "eval_mean"] == pytest.approx(12.0)
    assert s.loc[("pong", 1), "eval_mean"] == pytest.approx(18.0)
    assert s.loc[("breakout", 0), "eval_std"] == pytest.approx(100.0)
    # its 95% bootstrap CI over the 3 games (100, 200, 300) lies around the mean, inside the games' range
    assert 100.0 <= s.loc[("breakout", 0), "eval_ci_low"] < 200.0 < s.loc[("breakout", 0), "eval_ci_high"] <= 300.0
    assert s.loc[("pong", 0), "train_episodes"] == 4
    tp = t["throughput"].set_index(["game", "seed"])
    assert tp.loc[("pong", 1), "frames_per_s"] == pytest.approx(5000.0)
    # curves: each episode falls in its own bin; returns and hours survive binning
    c = t["curves"]
    pong0 = c[(c.game == "pong") & (c.seed == 0)].sort_values("frames")
    assert list(pong0["episode_return"]) == [-21, -10, 0, 10]
    assert pong0["hours"].iloc[-1] == pytest.approx(100.0 / 3600)
    # human-normalized with the named no-op columns: pong random -20.7, human 9.3 (van Hasselt 2016 Table 3)
    nz = t["normalized"].set_index(["game", "seed"])
    assert nz.loc[("pong", 0), "human_normalized_pct"] == pytest.approx(100 * (12 + 20.7) / (9.3 + 20.7))
    assert nz.loc[("pong", 0), "reference_columns"] == "random_noop_vanhasselt2016,human_noop_vanhasselt2016"
    for name in ("scores", "curves", "throughput", "normalized"):
        assert (tmp_path / "tables" / f"{name}.csv").stat().st_size > 0


def test_summary_and_verdict_against_table_s3(tmp_path, runs):
    t = aggregate(runs, tmp_path / "tables")
    summary = per_game_summary(t["scores"]).set_index("game")
    assert summary.loc["pong", "mean"] == pytest.approx(15.0) and summary.loc["pong", "seeds"] == 2
    assert (summary.loc["pong", "ci_low"] == pytest.approx(12.0)
            and summary.loc["pong", "ci_high"] == pytest.approx(18.0))
    # the runs were evaluated with an 18,000-frame cap: Table S3's 30 minutes (108,000 frames) is another protocol,
    # and 1M frames is 0.31% of the 320M behind "A3C FF, 1 day" (the column A2C is set beside)
    short = verdict_table(summary.reset_index()).set_index("game")
    assert short.loc["pong", "verdict"] == "not comparable"
    assert short.loc["pong", "reason"] == ("protocol: evaluation cap 18,000 frames (Table S3: 108,000); budget: "
                                           "0.31% of the paper's 320M frames")
    assert short.loc["pong", "protocol"] == "noop30_18000f_sampled"
    paper_like = summary.reset_index().assign(protocol="noop30_108000f_sampled", frames=320_000_000)
    v = verdict_table(paper_like).set_index("game")
    assert v.loc["pong", "paper"] == pytest.approx(11.4)  # Table S3, A3C FF, 1 day, Pong
    assert v.loc["pong", "verdict"] == "above paper"  # 11.4 is below our CI [12, 18]
    assert v.loc["breakout", "verdict"] == "not comparable" and v.loc["breakout", "reason"] == "1 seed: no CI"
    assert v.loc["breakout", "ratio"] == pytest.approx(200.0 / 551.6)


def report_texts(monkeypatch, tables, out, **kwargs) -> tuple[list[str], list[list[str]]]:
    """``build_report``'s page titles and, per page, every text drawn on it (page texts, panel titles, labels)."""
    from matplotlib.text import Text

    texts = []
    add = ReportPdf.add
    monkeypatch.setattr(ReportPdf, "add", lambda self, fig, title: (
        texts.append([t.get_text() for t in fig.findobj(Text)]), add(self, fig, title)))
    return build_report(tables, out, **kwargs), texts


def _pdf_pages(path):
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    return data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") + data.count(b"/Type /Page>")


# the report's page titles for a small table set (one title per page), shared with tests/report/test_report_layout.py
SMALL_PAGES = [
    "Replication report",  # what was run, the verdict table
    "Contents",
    "Mnih et al. 2016, Asynchronous Methods for Deep Reinforcement Learning (A3C)",  # Figure 1 vs frames
    "Learning curves vs wall-clock hours (Mnih et al. 2016 Figure 1 analogue)",
    "Table 1: human-normalized scores",
    "Table S3: scores per game",
    "Clemente et al. 2017, Efficient Parallel Methods for Deep Reinforcement Learning (PAAC)",  # Table 1 with ours
    "Figure 3 with ours: score vs epochs",
    "Figure 4 with ours: score vs hours",
    "Figure 2 on this host",
    "Beyond the papers: throughput and per-run tables",
    "Protocol and provenance",
]


def test_report_is_a_real_pdf_with_the_expected_sections(tmp_path, runs):
    aggregate(runs, tmp_path / "tables")
    out = tmp_path / "r.pdf"
    pages = build_report(tmp_path / "tables", out)
    assert pages == SMALL_PAGES
    assert _pdf_pages(out) == len(pages)


@pytest.mark.slow
def test_report_with_every_algorithm_and_sweeps(tmp_path, monkeypatch):
    r = tmp_path / "runs"
    dirs = [fake_run(r, group, game, w, 0, [1, 2], [-5, 5]) for group, w in (("a2c", 16), ("a3c_lstm", 16), ("dqn", 1))
            for game in ("pong", "breakout", "seaquest")]
    dirs += [fake_run(r, "a3c_ff", "pong", w, 0, [0], [-20, 10], frames=1_000_000, wall=100.0 * 16 / w)
             for w in (1, 2, 16)]
    for i, lr in enumerate((1e-4, 1e-3, 1e-2)):
        d = fake_run(r, "a3c_ff_lr", "pong", 16, i, [float(i)], [-20, 10])
        cfg = json.loads((d / "config.json").read_text())
        (d / "config.json").write_text(json.dumps({**cfg, "algorithm": "a3c_ff", "learning_rate": lr}))
        dirs.append(d)
    aggregate(dirs, tmp_path / "tables")
    out = tmp_path / "r.pdf"
    pages, texts = report_texts(monkeypatch, tmp_path / "tables", out)
    for figure in ("Performance profile", "Speed-up vs workers (Mnih et al. 2016 Table 2, drawn)",
                   "Final score vs learning rate (Figure 2 analogue)"):
        assert figure in pages  # a figure has a page of its own
    drawn = {t for page in texts for t in page}
    assert {"Speed-up vs number of workers (Mnih et al. 2016 Table 2 analogue)", "seaquest", "breakout"} <= drawn
    assert _pdf_pages(out) == len(pages)


def test_mean_ci():
    m, lo, hi = mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert m == 2.5 and 1.0 <= lo < 2.5 < hi <= 4.0
    assert np.isnan(mean_ci(np.array([5.0]))[1])


def test_grouped_mean_ci_is_mean_ci_per_group():
    """Every figure's band (``stats.grouped_mean_ci``): per (group, bin) the mean over its rows with mean_ci's
    interval; one row gives NaN bounds, identical rows a collapsed band, groups come out sorted."""
    from replication.results.stats import grouped_mean_ci

    df = pd.DataFrame({"run": ["b", "b", "a", "a", "a", "a", "b"], "frames": [0, 0, 0, 0, 0, 0, 10],
                       "episode_return": [2.0, 2.0, 1.0, 2.0, 3.0, 4.0, 7.0]})
    out = grouped_mean_ci(df, ["run", "frames"], "episode_return")
    assert out[["run", "frames"]].values.tolist() == [["a", 0], ["b", 0], ["b", 10]]
    assert out["mean"].tolist() == [2.5, 2.0, 7.0]
    assert tuple(out.iloc[0][["mean", "ci_low", "ci_high"]]) == mean_ci(np.array([1.0, 2.0, 3.0, 4.0]))
    assert (out.iloc[1]["ci_low"], out.iloc[1]["ci_high"]) == (2.0, 2.0)
    assert np.isnan(out.iloc[2]["ci_low"]) and np.isnan(out.iloc[2]["ci_high"])
    assert list(grouped_mean_ci(df.iloc[:0], ["run"], "episode_return").columns) == ["run", "mean", "ci_low",
                                                                                       "ci_high"]


def test_speedup_against_hand_computed_values(tmp_path, monkeypatch):
    from replication.results.speedup import speedup_rows, speedup_summary

    r = tmp_path / "runs"
    # 1 worker: 1000 frames/s, reaches 10 after 0.5 h; 4 workers: 3000 frames/s, reaches 10 after 0.25 h
    dirs = [fake_run(r, "a3c_ff", "pong", 1, 0, [0], [-20, 10], frames=1_800_000, wall=1800.0),
            fake_run(r, "a3c_ff", "pong", 4, 0, [0], [-20, 15], frames=2_700_000, wall=900.0)]
    t = aggregate(dirs, tmp_path / "tables")
    rows = speedup_rows(t["throughput"], t["curves"]).set_index("workers")
    assert rows.loc[1, "reference_score"] == 10  # the lower of the two runs' best returns
    assert rows.loc[4, "speedup_frames_per_s"] == pytest.approx(3.0)
    assert rows.loc[1, "hours_to_score"] == pytest.approx(0.5)
    assert (rows.loc[1, "frames_to_score"], rows.loc[4, "frames_to_score"]) == (1_800_000, 2_700_000)  # 3x / 1.5
    assert rows.loc[4, "hours_to_score"] == pytest.approx(0.25)
    assert rows.loc[4, "speedup_time_to_score"] == pytest.approx(2.0)
    summary = speedup_summary(rows.reset_index()).set_index("workers")
    assert summary.loc[4, "paper_a3c"] == pytest.approx(3.7)  # Mnih 2016 Table 2, A3C, 4 threads
    _, texts = report_texts(monkeypatch, tmp_path / "tables", tmp_path / "r.pdf")
    assert any("Speed-up per game" in page for page in texts)


def test_unfinished_runs_are_listed_not_averaged(tmp_path, runs):
    partial = runs[1]
    (partial / "done.json").unlink()
    t = aggregate(runs, tmp_path / "tables")
    assert list(t["missing"]["run_dir"]) == [str(partial)]
    pong = t["scores"][t["scores"]["game"] == "pong"]
    assert list(pong["seed"]) == [0] and pong["eval_mean"].iloc[0] == pytest.approx(12.0)
    assert build_report(tmp_path / "tables", tmp_path / "r.pdf")[0] == "Replication report"


def test_game_absent_from_reference_tables_still_reports(tmp_path, monkeypatch):
    d = fake_run(tmp_path / "runs", "a2c", "tetris", 32, 0, [5, 7], [1, 2, 3])
    t = aggregate([d], tmp_path / "tables")
    assert t["normalized"].empty
    v = verdict_table(per_game_summary(t["scores"]))
    assert np.isnan(v["paper"].iloc[0]) and v["reason"].iloc[0].startswith("no paper value: tetris is not in")
    _, texts = report_texts(monkeypatch, tmp_path / "tables", tmp_path / "r.pdf", check_layout=True)
    assert any("Scores beside Mnih et al. 2016 Table S3" in page for page in texts)


def test_across_game_summary_hand_computed():
    from replication.results.summary import performance_profile, summarize

    per_game = {"a": np.array([0.0, 100.0]), "b": np.array([50.0, 50.0]), "c": np.array([200.0, 400.0])}
    s = summarize(per_game).set_index("metric")
    # per-game means 50, 50, 300 -> mean 133.33, median 50
    assert s.loc["mean", "value"] == pytest.approx(400.0 / 3)
    assert s.loc["median", "value"] == pytest.approx(50.0)
    # pooled runs 0, 50, 50, 100, 200, 400: drop 25% each side of 6 (one each) -> mean(50, 50, 100, 200)
    assert s.loc["iqm", "value"] == pytest.approx(100.0)
    # optimality gap: mean(max(0, 100 - x)) = (100 + 50 + 50 + 0 + 0 + 0) / 6
    assert s.loc["optimality_gap", "value"] == pytest.approx(200.0 / 6)
    assert s.loc["mean", "ci_low"] <= s.loc["mean", "value"] <= s.loc["mean", "ci_high"]
    assert (s["games"] == 3).all() and (s["runs"] == 6).all()
    one_run = summarize({"a": np.array([10.0]), "b": np.array([20.0])}).set_index("metric")
    assert np.isnan(one_run.loc["mean", "ci_low"]) and one_run.loc["mean", "value"] == pytest.approx(15.0)
    assert list(performance_profile(np.array([0.0, 50.0, 150.0]), np.array([-1.0, 50.0, 100.0]))) == \
        pytest.approx([1.0, 1 / 3, 1 / 3])


def test_tables_carry_the_algorithm_beside_the_group_and_the_report_filters_by_it(tmp_path):
    """A run group's label is not its algorithm: `a2c_baselines` runs A2C, and the A2C throughput page must
    show it (the report once kept only the label `a2c`)."""
    r = tmp_path / "runs"
    dirs = []
    for w in (16, 32):
        d = fake_run(r, "a2c_baselines", "pong", w, 0, [1, 2], [-5, 5])
        cfg = json.loads((d / "config.json").read_text())
        (d / "config.json").write_text(json.dumps({**cfg, "algorithm": "a2c"}))
        dirs.append(d)
    t = aggregate(dirs, tmp_path / "tables")
    for name in ("scores", "curves", "throughput", "normalized"):
        assert set(t[name]["algorithm"]) == {"a2c"} and set(t[name]["group"]) == {"a2c_baselines"}, name
    pages = build_report(tmp_path / "tables", tmp_path / "r.pdf")
    assert "Figure 2 on this host" in pages and "Figure 3 with ours: score vs epochs" in pages  # Pong, n_e 16 and 32
    lines = provenance_lines(json.loads((tmp_path / "tables" / "runs.json").read_text()))
    assert any("run group a2c_baselines (algorithm a2c" in s and "replication/algorithms/a2c.py (A2CConfig)" in s
               for s in lines)


def test_run_directories_written_before_the_rename_read_as_their_group(tmp_path):
    """config.json written by older code names the run group ``algo`` (and, older still, has no ``algorithm``): every
    reader (aggregate, benchmarks, the report, progress, claims) reads it as ``group``
    (``rundir.normalise_config``); tables aggregated by older code are refused in one line, naming the remedy."""
    from replication.cli.benchmarks import write_benchmarks
    from replication.core.errors import UserError
    from replication.report.progress_report import run_progress
    from replication.results.claims import read_live_run

    r = tmp_path / "runs"
    dirs = [fake_run(r, "a2c", "pong", 16, 0, [1, 2], [-5, 5]),  # before algorithm existed: the label was it
            fake_run(r, "a2c_baselines", "pong", 16, 0, [1, 2], [-5, 5])]
    for d, extra in zip(dirs, ({}, {"algorithm": "a2c"})):
        cfg = json.loads((d / "config.json").read_text())
        (d / "config.json").write_text(json.dumps({"algo": cfg.pop("group"), **cfg, **extra, "total_frames": 10**6}))
    t = aggregate(dirs, tmp_path / "tables")
    for name in ("scores", "curves", "throughput", "normalized"):
        assert set(zip(t[name]["group"], t[name]["algorithm"])) == {("a2c", "a2c"), ("a2c_baselines", "a2c")}, name
    runs_json = json.loads((tmp_path / "tables" / "runs.json").read_text())
    assert all("algo" not in run["config"] and "group" in run["config"] for run in runs_json)
    assert build_report(tmp_path / "tables", tmp_path / "r.pdf")
    assert any("run group a2c_baselines (algorithm a2c" in line for line in provenance_lines(runs_json))
    table = write_benchmarks(dirs, tmp_path / "benchmarks")
    assert table["group"].tolist() == ["a2c", "a2c_baselines"] and (tmp_path / "benchmarks/curves/a2c").is_dir()
    assert [run_progress(d)["group"] for d in dirs] == ["a2c", "a2c_baselines"]
    assert [read_live_run(d)["config"]["group"] for d in dirs] == ["a2c", "a2c_baselines"]

    scores = pd.read_csv(tmp_path / "tables" / "scores.csv").rename(columns={"group": "algo"})
    scores.to_csv(tmp_path / "tables" / "scores.csv", index=False)  # as an older aggregate wrote it
    with pytest.raises(UserError, match=r"scores.csv' has no group column \(aggregated by an older version\); "
                                        r"accepted: .*rerun python -m replication.aggregate"):
        build_report(tmp_path / "tables", tmp_path / "r.pdf")


def test_leaves_random_at_by_hand():
    from replication.results.verdict import leaves_random_at

    # Pong: random -20.7 (no-op), margin 10% of (9.3 + 20.7) = 3.0: the first point at or above -17.7
    assert leaves_random_at([1e6, 2e6, 3e6, 4e6], [-21.0, -17.8, -17.6, -10.0], "pong") == 3e6
    assert np.isnan(leaves_random_at([1e6, 2e6], [-21.0, -17.8], "pong"))  # not yet
    assert np.isnan(leaves_random_at([1e6], [5.0], "no_such_game"))  # no reference score
    from replication.results.verdict import first_reaching

    assert first_reaching([3.0, 1.0, 2.0], [-15, -21, -18], -18) == 3.0  # the first in the order given
    assert first_reaching([1, 2, 3, 4], [-20, -21, -19, -18], -20) == 1.0
    assert first_reaching([1, 2, 3, 4], [-20, -21, -19, -18], -20, after_lowest=True) == 3.0  # after the -21
    assert np.isnan(first_reaching([1, 2, 3], [-18, -21, -21], -20, after_lowest=True))  # never after its lowest


def test_dqn_page_draws_the_runs_beside_the_published_schedules(tmp_path, monkeypatch):
    r = tmp_path / "runs"
    # episodes end evenly over 4M frames: -21, -20, ... rising a point per game; the aggregate bins them
    d = fake_run(r, "dqn_nature", "pong", 1, 0, [-20.0], [-21.0 + i for i in range(8)], frames=4_000_000)
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**cfg, "algorithm": "dqn"}))
    aggregate([d], tmp_path / "tables")
    bench = tmp_path / "bench"
    bench.mkdir()
    short = "epsilon_decay_agent_steps=100000; replay_capacity=100000"
    pd.DataFrame({"group": "dqn", "algorithm": "dqn", "game": "pong", "workers": 1, "settings": short, "seeds": 1,
                  "frames": [1e6, 2e6, 3e6], "hours": [1.0, 2.0, 3.0], "mean": [-20.5, -17.0, -12.0],
                  "ci_low": np.nan, "ci_high": np.nan}).to_csv(bench / "claims_training_curves.csv", index=False)
    pages, texts = report_texts(monkeypatch, tmp_path / "tables", tmp_path / "r.pdf", published=bench,
                                check_layout=True)  # raises on text outside a page, below 7 pt, nan/None
    assert "DQN: the schedule and the curve a user sees" in pages
    drawn = [t for page in texts for t in page]
    assert "published: dqn (1 seed)" in drawn and "this run: dqn_nature (1 seed)" in drawn
    assert short in drawn and "2M" in drawn  # the published shortened run leaves random (-17.7) at its 2M bin
    assert "Nature DQN (no-op starts, 5 min, epsilon 0.05, after 200M frames)" in drawn  # its 18.9, ours' protocol
    from replication.report.dqn import dqn_bands, schedule_table

    curves = pd.read_csv(tmp_path / "tables" / "curves.csv")
    published = pd.read_csv(bench / "claims_training_curves.csv")
    table = schedule_table(dqn_bands(curves, [{"config": {**cfg, "algorithm": "dqn"}}], published))
    rows = table.set_index("source")
    assert rows.loc["published", "leaves random at"] == "2M" and rows.loc["published", "last bin"] == "-12.0"
    assert rows.loc["this run", "settings"] == "paper" and rows.loc["this run", "group"] == "dqn_nature"
    assert rows.loc["this run", "frames"] == "4M"
    # one DQN curve on a game (no published one there): nothing to set side by side, no page
    assert dqn_bands(curves, [{"config": {**cfg, "algorithm": "dqn"}}], published.assign(game="breakout")).empty
