"""Run records (replication/runs/record.py): a run's logs kept after its directory is gone, read as the run, never
replaced by a run that has gone less far."""

import json
import os
import subprocess
import sys

import pandas as pd

from conftest import ROOT

from replication.results.claims import read_live_run
from replication.runs.logs import EPISODE_COLUMNS, UPDATE_COLUMNS
from replication.runs.record import RECORD_FILES, logged_frames, record_run


def run(root, frames, done=False, seed=0):
    """A run directory with one training game per 1,000 frames, a checkpoint and updates.csv (not recorded)."""
    d = root / "runs" / "dqn_nature" / "pong" / "w1" / f"s{seed}"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"group": "dqn_nature", "algorithm": "dqn", "game": "pong",
                                               "workers": 1, "seed": seed, "total_frames": 10_000}))
    f = list(range(1000, frames + 1, 1000))
    pd.DataFrame({"frames": f, "agent_steps": [x // 4 for x in f], "wall_time_s": [x / 500 for x in f], "worker": 0,
                  "episode_return": -21.0, "episode_length": 250}, columns=EPISODE_COLUMNS).to_csv(
        d / "episodes.csv", index=False)
    (d / "updates.csv").write_text(",".join(UPDATE_COLUMNS) + "\n")
    (d / "checkpoint.pt").write_bytes(b"weights")
    if done:
        (d / "done.json").write_text(json.dumps({"frames": frames, "wall_time_s": frames / 500,
                                                 "frames_per_s": 500}))
    return d


def test_a_record_holds_the_logs_and_reads_as_the_run(tmp_path):
    d = run(tmp_path / "machine", 10_000, done=True)
    record, written = record_run(d, tmp_path / "landed")
    assert written and record == tmp_path / "landed" / "runs" / "dqn_nature" / "pong" / "w1" / "s0"
    assert sorted(p.name for p in record.iterdir()) == sorted(n for n in RECORD_FILES if (d / n).exists())
    ours, kept = read_live_run(d), read_live_run(record)
    assert kept["done"] == ours["done"] and kept["frames"] == ours["frames"] == 10_000
    pd.testing.assert_frame_equal(kept["episodes"], ours["episodes"])
    assert logged_frames(record) == 10_000


def test_a_run_that_went_less_far_never_replaces_the_record(tmp_path):
    landed = tmp_path / "landed"
    record, _ = record_run(run(tmp_path / "old", 10_000, done=True), landed)
    # a new machine trains the run again from the start: 4,000 frames so far, then further, never finished
    assert record_run(run(tmp_path / "new", 4_000), landed) == (record, False)
    assert record_run(run(tmp_path / "newer", 12_000), landed) == (record, False)  # finished beats unfinished
    assert logged_frames(record) == 10_000 and (record / "done.json").exists()
    assert not list(record.parent.glob(".s0*"))  # no temporary folder left beside it


def test_a_run_that_went_further_replaces_the_record_whole(tmp_path):
    landed = tmp_path / "landed"
    record, _ = record_run(run(tmp_path / "first", 3_000), landed)
    d = run(tmp_path / "later", 5_000)
    (d / "eval.csv").write_text("frames,protocol,episode,episode_return,episode_length\n")
    assert record_run(d, landed) == (record, True) and logged_frames(record) == 5_000
    assert (record / "eval.csv").exists()
    finished = run(tmp_path / "finished", 5_000, done=True)  # the same frames, now finished: replaces it
    assert record_run(finished, landed) == (record, True) and (record / "done.json").exists()
    assert not (record / "eval.csv").exists()  # the record is the run's files, none left from the one before


def test_land_sh_lands_a_new_seed_beside_the_seeds_landed_from_another_machine(tmp_path):
    """``benchmarks/land.sh ROOT GROUP``: seeds 0 and 1 landed from one machine, seed 2 from the next (where 0 and 1
    are gone): the group's claims rows count all three, from their records in OUT/runs."""
    out = tmp_path / "landed"
    env = {**os.environ, "LAND_OUT": str(out), "PYTHON": sys.executable}
    land = ["bash", str(ROOT / "benchmarks" / "land.sh")]
    for machine, seeds in (("one", (0, 1)), ("two", (2,))):
        for seed in seeds:
            d = run(tmp_path / machine / "step", 10_000, done=True, seed=seed)
            (d / "eval.csv").write_text("frames,protocol,episode,episode_return,episode_length\n"
                                        f"10000,noop30_18000f_sampled,0,{-21 + seed},800\n")
        r = subprocess.run([*land, str(tmp_path / machine), "dqn_nature"], env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    claims = pd.read_csv(out / "claims.csv").set_index("claim")
    assert claims.loc["mnih2015_dqn", "seeds"] == 3 and claims.loc["mnih2015_dqn", "ours"] == -20.0  # (-21-20-19)/3
    assert sorted(p.name for p in (out / "runs" / "dqn_nature" / "pong" / "w1").iterdir()) == ["s0", "s1", "s2"]
    bad = subprocess.run([*land, str(tmp_path / "two"), "nosuch"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "no run of group nosuch" in bad.stderr
