"""reports/progress.pdf: what exists so far, finished or not, without touching a run directory."""

import fcntl
import json
import math
import os
import subprocess
import sys

import pandas as pd

from conftest import ROOT, snapshot
from replication.report.progress_report import (build_progress_report, claims_so_far, find_runs, progress_table,
                                                 recent_frames_per_s)
from replication.runs.logs import EPISODE_COLUMNS, UPDATE_COLUMNS
from replication.runs.read import read_live_log


def fake_run(root, group, seed, frames, total, done=False, torn_row=False):
    """A run directory as training leaves it: config.json, logs with one row per 1,000 frames, done.json last."""
    d = root / group / "pong" / "w4" / f"s{seed}"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"group": group, "algorithm": "a2c", "game": "pong", "workers": 4,
                                               "seed": seed, "total_frames": total}))
    rows = range(1000, frames + 1, 1000)
    ep = [",".join(map(str, [f, f // 4, f / 1000, 0, -21 + f / 10000, 800])) for f in rows]
    up = [",".join(map(str, [f, f // 20, f / 1000, 0.1, 0.2, 1.3, 0.5, 7e-4, 1000])) for f in rows]
    (d / "episodes.csv").write_text(",".join(EPISODE_COLUMNS) + "\n" + "\n".join(ep) + "\n"
                                    + ("%d,250,1." % (frames + 500) if torn_row else ""))  # a writer killed mid-row
    (d / "updates.csv").write_text(",".join(UPDATE_COLUMNS) + "\n" + "\n".join(up) + "\n")
    if done:
        (d / "done.json").write_text(json.dumps({"frames": frames, "wall_time_s": frames / 1000, "frames_per_s": 1000}))
    return d


def test_read_log_skips_a_torn_last_row(tmp_path):
    d = fake_run(tmp_path, "a2c", 0, 5000, 10000, torn_row=True)
    ep = read_live_log(d / "episodes.csv")
    assert list(ep["frames"]) == [1000, 2000, 3000, 4000, 5000]
    assert read_live_log(d / "missing.csv").empty


def test_progress_table_states_and_fractions(tmp_path):
    fake_run(tmp_path, "a2c", 0, 10000, 10000, done=True)
    fake_run(tmp_path, "a2c", 1, 4000, 10000, torn_row=True)  # stopped: no process holds its lock
    busy = fake_run(tmp_path, "dqn", 0, 2000, 8000)
    with open(busy / ".lock", "a+") as lock:  # a training process holds the lock
        fcntl.flock(lock, fcntl.LOCK_EX)
        table = progress_table(find_runs(tmp_path)).set_index(["group", "seed"])
    assert table.loc[("a2c", 0), "state"] == "finished" and table.loc[("a2c", 0), "done_pct"] == 100.0
    assert table.loc[("a2c", 1), "state"] == "stopped" and table.loc[("a2c", 1), "frames"] == 4000
    assert table.loc[("a2c", 1), "done_pct"] == 40.0
    assert table.loc[("dqn", 0), "state"] == "training" and table.loc[("dqn", 0), "done_pct"] == 25.0
    assert table.loc[("a2c", 1), "score_last100"] == -21 + 2500 / 10000  # mean of the 4 complete rows
    assert table.loc[("a2c", 1), "frames_per_s"] == 1000
    assert table.loc[("dqn", 0), "hours_left"] == 6000 / 1000 / 3600 and table.loc[("a2c", 0), "hours_left"] == 0


def test_recent_rate_is_the_last_ten_minutes_not_the_last_row():
    """A checkpoint's stall (one row at 70 frames/s) or a spell beside other work moves the last row; the rate
    over the window's rows is frames gained / clock time between its first and last row."""
    updates = pd.DataFrame({"frames": [0, 1000, 5000, 6000, 10000], "wall_time_s": [0, 100, 700, 900, 1300],
                            "frames_per_s": [0, 10, 6.67, 5, 70]})
    assert recent_frames_per_s(updates) == (10000 - 5000) / (1300 - 700)  # rows at 700..1300 s
    assert recent_frames_per_s(updates, window_s=2000) == 10000 / 1300
    assert recent_frames_per_s(updates.tail(1)) == 70  # one row: its logged rate
    assert math.isnan(recent_frames_per_s(updates.iloc[:0]))


def test_progress_pdf_pages_and_run_directories_untouched(tmp_path):
    runs = tmp_path / "runs"
    fake_run(runs, "a2c", 0, 10000, 10000, done=True)
    fake_run(runs, "a2c", 1, 3000, 10000, torn_row=True)
    before = snapshot(runs)
    out = tmp_path / "reports" / "progress.pdf"
    pages = build_progress_report(runs, out)
    assert pages == ["Progress: every run directory present", "Progress curves: pong"]  # the claims table under it
    assert out.read_bytes().startswith(b"%PDF") and snapshot(runs) == before


def test_no_started_run_is_one_clear_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "replication.progress_report", "--runs", str(tmp_path),
                        "--out", str(tmp_path / "p.pdf")], capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "no run has started" in r.stderr


def test_a_run_written_before_the_rename_reads_as_its_group(tmp_path):
    """config.json written by older code names the run group ``algo``: the progress table reads it as ``group``."""
    d = fake_run(tmp_path, "a2c", 0, 3000, 10000)
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({"algo": cfg.pop("group"), **cfg}))
    table = progress_table(find_runs(tmp_path))
    assert table[["group", "algorithm", "frames"]].values.tolist() == [["a2c", "a2c", 3000]]


def test_claims_so_far_give_a_running_claims_verdict_from_its_frames_so_far(tmp_path):
    # A2C on Pong (Clemente 2017 Table 1: 20.6, margin 3): seed 0 finished, its evaluation 20 and 21; seed 1 stopped
    # after its evaluation 19 and 20. Ours 20.0 (the seeds' means 20.5 and 19.5), held so far, running as a group
    for seed, done, scores in ((0, True, [20.0, 21.0]), (1, False, [19.0, 20.0])):
        d = fake_run(tmp_path, "a2c", seed, 5000, 10000, done=done)
        (d / "eval.csv").write_text("frames,protocol,episode,episode_return,episode_length\n" + "".join(
            f"4000,noop30_18000f_sampled,{i},{s},1000\n" for i, s in enumerate(scores)))
    claims = claims_so_far(find_runs(tmp_path)).set_index("claim")
    row = claims.loc["clemente2017_table1"]
    assert row["ours"] == 20.0 and row["paper"] == 20.6 and row["seeds"] == 2
    assert row["verdict"] == "running" and row["so_far"] == "held"
    (tmp_path / "a2c" / "pong" / "w4" / "s1" / "eval.csv").unlink()  # before seed 1's first evaluation
    assert claims_so_far(find_runs(tmp_path)).set_index("claim").loc["clemente2017_table1", "so_far"] == (
        "nothing to judge yet")


def test_land_sh_replaces_the_rows_of_present_runs_and_keeps_those_of_gone_ones(tmp_path):
    """``benchmarks/land.sh ROOT`` (no group: the progress table alone) on a new machine: a run present replaces its
    row, a run whose directory is gone keeps the row landed before; numbers to 6 significant digits."""
    out = tmp_path / "landed"
    out.mkdir()
    (out / "longruns_progress.csv").write_text(
        "group,algorithm,game,workers,seed,frames,total_frames,done_pct,state,frames_per_s,score_last100,games\n"
        "gone,a2c,pong,32,0,80000000,80000000,100,finished,7658.32,19.49,11151\n"
        "a2c,a2c,pong,4,1,1000,9000,11.1111,stopped,1000,-20.9,1\n")
    fake_run(tmp_path / "root" / "step" / "runs", "a2c", 1, 3000, 9000)
    land = [str(ROOT / "benchmarks" / "land.sh"), str(tmp_path / "root")]
    r = subprocess.run(["bash", *land], env={**os.environ, "LAND_OUT": str(out), "PYTHON": sys.executable},
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    text = (out / "longruns_progress.csv").read_text()
    assert "gone,a2c,pong,32,0,80000000,80000000,100,finished,7658.32,,19.49,11151\n" in text  # kept (no hours_left)
    assert "a2c,a2c,pong,4,1,3000,9000,33.3333,stopped,1000,0.00166667,-20.8,3\n" in text  # replaced
    bad = subprocess.run(["bash", land[0], str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "is not a folder" in bad.stderr
