"""speedup.csv (``python -m replication.claims``): Mnih et al. 2016 Table 2's speed-up in time to a score per worker
count, from run directories finished and still training, against hand-computed values."""

import json

import pandas as pd
import pytest

from replication.cli.claims import main
from replication.results.claims import read_live_run
from replication.results.speedup_runs import speedup_table


def _run(root, workers, frames_per_s, scores, done=True, group="a3c_ff"):
    """An A3C FF run on Pong with ``workers`` actor-learners and a 20M-frame budget: one training game ending in
    each 2M-frame bin (1,000 frames before its end) with the bin's score from ``scores``, at ``frames_per_s``."""
    d = root / f"{group}_w{workers}"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({
        "group": group, "algorithm": group, "game": "pong", "workers": workers, "seed": 0,
        "total_frames": 20_000_000, "hyper": {"network": "nips"}, "host": {"cpu": "test cpu", "cores": 2}}))
    ends = [2_000_000 * (i + 1) - 1000 for i in range(len(scores))]
    (d / "episodes.csv").write_text("frames,agent_steps,wall_time_s,worker,episode_return,episode_length\n" + "".join(
        f"{f},{f // 4},{f / frames_per_s},0,{s},900\n" for f, s in zip(ends, scores)))
    if done:
        (d / "done.json").write_text(json.dumps({"frames": 20_000_000, "wall_time_s": 20_000_000 / frames_per_s,
                                                 "frames_per_s": frames_per_s}))
    return d


W1 = [-21, -21, -20, -20, -19, -19, -18, -17, -16, -15]  # best bin -15 at 20M frames
W2 = [-21, -19, -17, -15, -13, -11, -9, -7, -5, -3]  # best -3; first at or above -15 in the bin ending at 8M


def test_time_to_the_lowest_best_score_per_worker_count(tmp_path):
    runs = [read_live_run(_run(tmp_path, 1, 1000.0, W1)), read_live_run(_run(tmp_path, 2, 2000.0, W2))]
    t = speedup_table(runs).set_index("workers")
    assert list(t["reference_score"]) == [-15.0, -15.0]  # the lower of the two runs' best bins
    assert list(t["frames_to_score"]) == [20_000_000, 8_000_000]  # bin ends
    # hours: the wall clock of the bin's one game, 19,999,000 frames at 1,000/s and 7,999,000 at 2,000/s
    assert t.loc[1, "hours_to_score"] == pytest.approx(19_999 / 3600)
    assert t.loc[2, "hours_to_score"] == pytest.approx(3_999.5 / 3600)
    assert list(t["frames_per_s"]) == [1000.0, 2000.0] and list(t["speedup_frames_per_s"]) == [1.0, 2.0]
    assert t.loc[2, "speedup_time_to_score"] == pytest.approx(19_999 / 3_999.5)  # 2x frames/s times 2x fewer frames
    assert list(t["paper_a3c"]) == [1.0, 2.1]  # Table 2, A3C, 1 and 2 threads
    assert list(t["state"]) == ["finished", "finished"] and list(t["frames"]) == [20_000_000] * 2


def test_a_run_still_training_makes_its_groups_rows_running(tmp_path):
    # the 1-worker run stopped after its game at 19,999,000 frames: its last (20M) bin is not whole yet, so its
    # best so far is -16 (18M) and the 2-worker run first reaches -16 in its 8M bin (-15)
    runs = [read_live_run(_run(tmp_path, 1, 1000.0, W1, done=False)), read_live_run(_run(tmp_path, 2, 2000.0, W2))]
    t = speedup_table(runs).set_index("workers")
    assert list(t["state"]) == ["running", "running"]
    assert list(t["reference_score"]) == [-16.0, -16.0] and list(t["frames_to_score"]) == [18_000_000, 8_000_000]
    assert t.loc[1, "frames"] == 19_999_000 and t.loc[1, "frames_per_s"] == pytest.approx(1000.0)


def test_one_worker_count_or_a_non_a3c_group_has_no_paper_speedup(tmp_path):
    assert speedup_table([read_live_run(_run(tmp_path, 1, 1000.0, W1))]).empty  # nothing to compare with
    runs = [read_live_run(_run(tmp_path, w, 1000.0 * w, W2, group="a2c")) for w in (16, 32)]
    t = speedup_table(runs)
    assert list(t["workers"]) == [16, 32] and t["paper_a3c"].isna().all()  # Table 2 is A3C's thread counts


def test_cli_writes_speedup_csv_and_update_regenerates_a_group_over_all_its_worker_counts(tmp_path):
    w1, w2 = _run(tmp_path, 1, 1000.0, W1), _run(tmp_path, 2, 2000.0, W2)
    out = tmp_path / "bench"
    assert main(["--out", str(out), str(w1), str(w2)]) == 0
    written = pd.read_csv(out / "speedup.csv")
    assert list(written["workers"]) == [1, 2] and list(written["speedup_frames_per_s"]) == [1.0, 2.0]
    # another group's published row (a run directory on another host) is kept; a3c_ff's 4-worker row, from an
    # earlier publication, goes with the group's regenerated rows
    other = written.iloc[:1].assign(group="a2c", workers=16)
    pd.concat([written, written.iloc[:1].assign(workers=4), other]).to_csv(out / "speedup.csv", index=False)
    assert main(["--update", "--out", str(out), str(w1), str(w2)]) == 0
    again = pd.read_csv(out / "speedup.csv")
    assert list(zip(again["group"], again["workers"])) == [("a2c", 16), ("a3c_ff", 1), ("a3c_ff", 2)]
