"""The report's pages: answers first, verdict rules, layout that holds for 1 or 57 games (no text outside the page,
none below 7 pt, no nan/None), tables split with repeated headers. No training: the tables are written here from
hand-made DataFrames. (Snakemake's HTML report of the smoke workflow: tests/workflow/test_smoke_workflow.py.)"""

import json

import numpy as np
import pandas as pd
import pytest

from replication.report.build import build_report
from replication.report.layout import Document
from replication.report.pdf_pages import ReportPdf, layout_problems
from replication.report.sections import _commit, _duration, _host
from replication.results import reference
from replication.results.aggregate import normalized_rows
from replication.results.fmt import fmt_cell
from replication.results.parity import COLUMNS as PARITY_COLUMNS
from replication.results.verdict import per_game_summary, verdict_table
from test_aggregate_report import SMALL_PAGES, _pdf_pages, fake_run

S3 = reference.table_s3().set_index("game")
BUDGET = {"a3c_ff": 1_000_000_000, "a3c_lstm": 1_000_000_000, "dqn": 200_000_000}  # their columns' budgets


def summary_row(game="pong", algorithm="a3c_ff", seeds=3, frames=1_000_000_000, mean=5.6, lo=4.0, hi=7.0,
                protocol="noop30_108000f_sampled", group=None):
    return {"group": group or algorithm, "algorithm": algorithm, "game": game, "workers": 16, "seeds": seeds,
            "frames": frames, "mean": mean, "ci_low": lo, "ci_high": hi, "protocol": protocol}


def test_verdict_rules_on_hand_made_cases():
    """Pong, A3C FF (4 days, 1B frames): 5.6 in Table S3, A3C FF, 1 day (320M frames): 11.4; cap 108,000 frames."""
    cases = {
        "contains": summary_row(mean=5.0, lo=4.0, hi=7.0),
        "edge": summary_row(mean=5.0, lo=4.0, hi=5.6),  # the paper's number on the CI's edge is inside it
        "above": summary_row(mean=12.0, lo=10.0, hi=14.0),
        "below": summary_row(mean=-20.0, lo=-20.5, hi=-19.0),
        "within_budget": summary_row(frames=1_040_000_000, mean=5.0, lo=4.0, hi=7.0),  # 4% over: the budget
        "one_day": summary_row(frames=320_000_000, mean=11.0, lo=10.0, hi=12.0),  # beside "A3C FF, 1 day": 11.4
        "short_cap": summary_row(protocol="noop30_18000f_sampled"),
        "no_cap": summary_row(protocol="custom"),
        "budget": summary_row(frames=10_000_000),
        "one_seed": summary_row(seeds=1, lo=np.nan, hi=np.nan),
        "not_in_s3": summary_row(game="tetris"),
        "blank_cell": summary_row(game="berzerk", algorithm="dqn", frames=200_000_000),
        "no_column": summary_row(algorithm="sb3", group="sb3_a2c"),
        "everything": summary_row(seeds=1, lo=np.nan, hi=np.nan, frames=4000, protocol="noop30_2000f_sampled"),
    }
    v = verdict_table(pd.DataFrame(list(cases.values()))).set_axis(list(cases))
    assert v.loc["contains", "verdict"] == "reproduced" and v.loc["contains", "reason"] == ""
    assert v.loc["edge", "verdict"] == "reproduced"
    assert v.loc["above", "verdict"] == "above paper" and v.loc["below", "verdict"] == "below paper"
    assert v.loc["within_budget", "verdict"] == "reproduced"
    assert v.loc["one_day", "paper_column"] == "A3C FF, 1 day" and v.loc["one_day", "verdict"] == "reproduced"
    assert v.loc["one_day", "paper"] == pytest.approx(S3.loc["pong", "a3c_ff_1_day"])
    assert v.loc["contains", "paper"] == pytest.approx(S3.loc["pong", "a3c_ff"])
    assert v.loc["contains", "paper_column"] == "A3C FF" and v.loc["contains", "budget_fraction"] == 1.0
    not_comparable = {
        "short_cap": "protocol: evaluation cap 18,000 frames (Table S3: 108,000)",
        "no_cap": "protocol: 'custom' names no evaluation frame cap",
        "budget": "budget: 3.1% of the paper's 320M frames",  # 10M frames: nearest the 1-day column's budget
        "one_seed": "1 seed: no CI",
        "not_in_s3": "no paper value: tetris is not in Table S3",
        "blank_cell": "no paper value: Table S3 prints none for DQN on berzerk",
        "no_column": "no paper value: Table S3 has no column for algorithm sb3",
    }
    for case, reason in not_comparable.items():
        assert v.loc[case, "verdict"] == "not comparable", case
        assert v.loc[case, "reason"] == reason, case
    assert v.loc["everything", "reason"].split("; ") == [
        "protocol: evaluation cap 2,000 frames (Table S3: 108,000)", "budget: 0.0013% of the paper's 320M frames",
        "1 seed: no CI"]
    assert np.isnan(v.loc["no_column", "paper_frames"]) and np.isnan(v.loc["not_in_s3", "paper"])


def test_missing_values_and_host_say_why():
    assert fmt_cell(np.nan) == "none" and fmt_cell(None, "not transcribed") == "not transcribed"
    assert fmt_cell("nan") == "none" and fmt_cell(12345.0) == "12,345" and fmt_cell(0.00072) == "0.00072"
    assert _host("AMD EPYC", 2, np.nan, "cpu") == "AMD EPYC (2 cores), no GPU, device cpu"
    assert _host("Xeon", 16.0, "NVIDIA H100") == "Xeon (16 cores), NVIDIA H100"
    assert "None" not in _commit(None) and "not recorded" in _commit(None) and _commit("abc123") == "abc123"
    assert (_duration(45), _duration(750), _duration(86400)) == ("45 s", "12.5 min", "24.00 h")


class TextPdf(ReportPdf):
    """A ReportPdf that also keeps every page's texts (figure-level and axes-level)."""

    def __init__(self, path):
        super().__init__(path, check_layout=True)
        self.texts = []

    def add(self, fig, title):
        self.texts.append([t.get_text() for t in fig.texts])
        super().add(fig, title)


def test_long_table_splits_with_repeated_header_and_caption_under_its_last_part(tmp_path):
    df = pd.DataFrame({"game": [f"game_{i}" for i in range(120)], "score": np.linspace(0, 1e4, 120),
                       "note": [("a long remark " * (i % 7)).strip() or np.nan for i in range(120)]})
    doc = Document("Split test", contents=False)
    doc.table(df, "A long table", "The caption.", missing="no remark")
    pdf = TextPdf(tmp_path / "t.pdf")
    doc.render(pdf)
    pdf.close()
    n = len(pdf.pages)
    assert n >= 3 and pdf.pages == ["A long table"] + ["A long table (continued)"] * (n - 1)
    assert not pdf.problems, pdf.problems
    for k, texts in enumerate(pdf.texts, 1):
        assert {"game", "score", "note"} <= set(texts), k  # the header on every page
        assert f"page {k} of {n}" in texts
        assert ("The caption." in texts) == (k == n) and ("Continued on the next page." in texts) == (k < n)
    rows = [t for texts in pdf.texts for t in texts if t.startswith("game_")]
    assert rows == [f"game_{i}" for i in range(120)]  # every row once, in order
    assert "no remark" in pdf.texts[0] and not any(t in ("nan", "None") for p in pdf.texts for t in p)


def test_layout_check_catches_text_outside_the_page_and_small_text():
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(4, 3))
    fig.text(0.9, 0.5, "this sentence runs off the right edge of the page", fontsize=9)
    fig.text(0.1, 0.2, "tiny", fontsize=5)
    fig.text(0.1, 0.1, "score: nan", fontsize=9)
    problems = layout_problems(fig)
    plt.close(fig)
    assert any("outside the page" in p for p in problems)
    assert any("below 7" in p for p in problems) and any("nan" in p and "missing" in p for p in problems)


@pytest.fixture
def small_tables(tmp_path):
    r = tmp_path / "runs"
    dirs = [fake_run(r, "a2c", "pong", 32, 0, [10, 12, 14], [-21, -10, 0, 10]),
            fake_run(r, "a2c", "pong", 32, 1, [16, 18, 20], [-20, -5, 5, 15], wall=200.0),
            fake_run(r, "dqn", "pong", 1, 0, [-20, -19], [-21, -20, -20, -19])]
    from replication.results.aggregate import aggregate

    aggregate(dirs, tmp_path / "tables")
    return tmp_path / "tables"




def test_small_report_answers_first_and_stays_on_its_pages(small_tables, tmp_path):
    out = tmp_path / "r.pdf"
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "01_stale.png").write_bytes(b"from an older report")  # replaced with the folder
    pages = build_report(small_tables, out, figures=tmp_path / "figures", verdict_csv=tmp_path / "v.csv",
                         check_layout=True)  # raises on text outside a page, below 7 pt, or nan/None
    assert pages == SMALL_PAGES and _pdf_pages(out) == len(pages)
    pngs = sorted(p.name for p in (tmp_path / "figures").iterdir())
    assert pngs == ["03_learning_curves_vs_emulator_frames_mnih_et_al_2016_figure_1.png",
                    "04_learning_curves_vs_wall_clock_hours_mnih_et_al_2016_figure_1.png",
                    "08_figure_3_with_ours_score_vs_epochs.png", "09_figure_4_with_ours_score_vs_hours.png",
                    "10_figure_2_on_this_host.png"]
    v = pd.read_csv(tmp_path / "v.csv")
    assert list(v["verdict"]) == ["not comparable"] * 2 and v["reason"].str.contains("budget").all()


def synthetic_tables(folder, games, groups=(("a3c_ff", 16), ("a3c_lstm", 16), ("dqn", 1)), seeds=(0, 1, 2), bins=8):
    """The aggregate step's tables for a paper-scale config (57 games x 3 groups x 3 seeds), made up: per game a
    score near the paper's (some reproduced, some below, some above), at the paper's budget and protocol."""
    rng = np.random.default_rng(0)
    scores, curves, throughput, runs = [], [], [], []
    for gi, game in enumerate(games):
        for group, workers in groups:
            col = reference.paper_column(group, BUDGET[group])
            paper = S3.loc[game, col] if game in S3.index and pd.notna(S3.loc[game, col]) else 100.0
            target = paper * (0.5, 1.0, 1.5)[gi % 3] + 1.0
            frames = BUDGET[group]
            for seed in seeds:
                score = target + rng.normal(0, abs(target) * 0.02 + 0.1)
                wall = 86400.0 * (1 + 0.1 * seed)
                scores.append({"group": group, "algorithm": group, "game": game, "workers": workers, "seed": seed,
                               "learning_rate": 7e-4, "frames": frames, "wall_time_s": wall,
                               "protocol": "noop30_108000f_sampled", "eval_mean": score, "eval_std": 1.0,
                               "eval_episodes": 30, "train_episodes": 1000})
                for b in range(1, bins + 1):
                    curves.append({"group": group, "algorithm": group, "game": game, "workers": workers, "seed": seed,
                                   "frames": frames * b / bins, "hours": wall * b / bins / 3600,
                                   "episode_return": score * b / bins + rng.normal(0, 1), "episodes": 10})
                throughput.append({"group": group, "algorithm": group, "game": game, "workers": workers, "seed": seed,
                                   "frames": frames, "wall_time_s": wall, "frames_per_s": frames / wall,
                                   "device": "cuda", "cpu": "AMD EPYC 9654", "cores": 16, "gpu": "NVIDIA H200"})
                runs.append({"group": group, "algorithm": group, "game": game, "workers": workers, "seed": seed,
                             "config": {"group": group, "algorithm": group, "game": game, "env": {"frame_skip": 4},
                                        "eval": {"max_frames": 108000}, "hyper": {"gamma": 0.99},
                                        "versions": {"torch": "2.13.0"}, "git_commit": None,
                                        "host": {"cpu": "AMD EPYC 9654", "cores": 16, "gpu": "NVIDIA H200"}}})
    folder.mkdir(parents=True)
    scores = pd.DataFrame(scores)
    tables = {"scores": scores, "curves": pd.DataFrame(curves), "throughput": pd.DataFrame(throughput),
              "normalized": normalized_rows(scores), "missing": pd.DataFrame(columns=["run_dir"]),
              "parity": pd.DataFrame(columns=PARITY_COLUMNS), "parity_curves": pd.DataFrame(columns=["side"])}
    for name, df in tables.items():
        df.to_csv(folder / f"{name}.csv", index=False)
    (folder / "runs.json").write_text(json.dumps(runs))
    return folder


@pytest.mark.slow
def test_57_game_report_keeps_every_text_on_its_page(tmp_path, monkeypatch):
    """The paper-scale config's tables (57 games x 3 groups x 3 seeds): every page passes the layout check, the
    verdict table splits over pages with its header, the contents follow it, the papers' sections keep order."""
    texts = []
    add = ReportPdf.add
    monkeypatch.setattr(ReportPdf, "add", lambda self, fig, title: (texts.append([t.get_text() for t in fig.texts]),
                                                                   add(self, fig, title)))
    games = list(S3.index)
    assert len(games) == 57
    tables = synthetic_tables(tmp_path / "tables", games)
    out = tmp_path / "r.pdf"
    pages = build_report(tables, out, check_layout=True)  # raises on text outside a page, below 7 pt, nan/None
    n = len(pages)
    assert _pdf_pages(out) == n and all(f"page {k} of {n}" in t for k, t in enumerate(texts, 1))
    assert pages[0] == "Replication report"
    verdict = [k for k, p in enumerate(pages) if p == "Replication verdict per (run group, game) (continued)"]
    assert verdict == list(range(1, len(verdict) + 1)) and len(verdict) >= 4  # 171 rows
    for k in [0, *verdict]:
        assert {"run group", "game", "verdict", "why"} <= set(texts[k])  # the header on every part
    rows = [t for k in [0, *verdict] for t in texts[k] if t in ("reproduced", "below paper", "above paper",
                                                                 "not comparable")]
    assert len(rows) == 3 * 57
    contents = next(k for k, t in enumerate(texts) if "Contents" in t)
    assert contents == verdict[-1]  # right after the verdict table, on its last page
    frames = [p for p in pages if p.startswith("Learning curves vs emulator frames")]
    hours = [p for p in pages if p.startswith("Learning curves vs wall-clock hours")]
    assert len(hours) == 5 and len(frames) == 4  # 12 panels a page; the first page is titled by its section
    order = ["Mnih et al. 2016, Asynchronous Methods for Deep Reinforcement Learning (A3C)", hours[0],
             "Table 1: human-normalized scores", "Performance profile", "Table S3: scores per game",
             "Beyond the papers: throughput and per-run tables", "Protocol and provenance"]
    assert [pages.index(p) for p in order] == sorted(pages.index(p) for p in order)
    # no A2C ran: no empty Clemente et al. 2017 section; the contents page says why it is missing
    assert not any(p.startswith("Clemente et al. 2017") for p in pages)
    assert ("Clemente et al. 2017 pages: no A2C (PAAC) run."
            in texts[contents])
    assert not any("Human-normalized final scores per run" in p for p in pages)  # 513 runs: left to the CSVs
    assert "Learning curves vs emulator frames (Mnih et al. 2016 Figure 1 analogue)" in texts[contents]
    v = verdict_table(per_game_summary(pd.read_csv(tables / "scores.csv")))
    assert set(v["verdict"]) == {"reproduced", "below paper", "above paper", "not comparable"}  # DQN's blank cells


def test_page_layout_of_one_game_matches_the_many_game_one(small_tables, tmp_path):
    """A per-game PDF (reports/games/{game}.pdf) is the same document for one game's tables."""
    pages = build_report(small_tables, tmp_path / "pong.pdf", title="Replication report: pong", check_layout=True)
    assert pages[0] == "Replication report: pong" and pages[1:] == SMALL_PAGES[1:]
