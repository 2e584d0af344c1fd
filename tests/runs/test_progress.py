"""Progress lines while training: the line's arithmetic, its period, and a real run's log."""

import io
import os
import subprocess
import sys

from conftest import ROOT

from replication.runs.progress import Progress, progress_line


def test_progress_line_arithmetic():
    line = progress_line(1_500_000, 4_000_000, 2_000.0, 4_688, [100.0, 200.0, 300.0], entropy=2.8264)
    assert line == ("frames 1,500,000/4,000,000 (37.5%) | 2,000 frames/s | ETA 20m50s | updates 4,688 | "
                    "score 200.0 (last 3 games) | entropy 2.826")
    assert "ETA 1h23m" in progress_line(0, 10_000_000, 2_000.0, 0, [])  # 5,000 s
    assert "score - (no game finished yet)" in progress_line(0, 10, 0.0, 0, [])
    assert "ETA ?" in progress_line(0, 10, 0.0, 0, [])
    assert progress_line(10, 10, 5.0, 1, [], epsilon=0.1).endswith("epsilon 0.100")


def test_progress_reports_once_per_period_and_keeps_the_last_100_games():
    out = io.StringIO()
    p = Progress(1000, frames=0, stream=out, every_s=30.0, bar=False)
    for s in range(150):
        p.add_game(s)
    t0 = p._mark[0]
    assert p.maybe_report(100, 1, now=t0 + 10) is None  # within the period: nothing
    line = p.maybe_report(600, 5, now=t0 + 30)
    # 400 frames left at 20 frames/s
    assert "600/1,000 (60.0%)" in line and "20 frames/s" in line and "ETA 0m20s" in line
    assert "score 99.5 (last 100 games)" in line  # mean of 50..149
    assert out.getvalue() == line + "\n"
    assert p.maybe_report(700, 6, now=t0 + 40) is None  # the period restarts at each line


def test_a_train_job_logs_progress_lines(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("games: [pong]\nseeds: [0]\ndevice: cpu\nenv: {max_episode_frames: 400}\n"
                   "eval: {episodes: 1, max_frames: 200}\ngroups: {a2c: {workers: [4], total_frames: 24000}}\n")
    env = {**os.environ, "REPLICATION_PROGRESS_EVERY_S": "0.5"}
    r = subprocess.run([sys.executable, "-m", "replication.train", "--configfile", str(cfg), "--group", "a2c", "--game",
                        "pong", "--workers", "4", "--seed", "0", "--out", str(tmp_path / "run"), "--threads", "1"],
                       capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("frames ")]
    assert lines, r.stderr[-2000:]
    assert "/24,000 (" in lines[-1] and "frames/s | ETA" in lines[-1] and "updates" in lines[-1]
