"""The Snakemake workflow end to end on configs/smoke.yaml, and its dry runs."""

import re
import subprocess
import sys

import pandas as pd
import yaml

from conftest import ROOT


def snakemake(tmp_path, *args, timeout=900):
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                           *args], capture_output=True, text=True, timeout=timeout)


def job_counts(output: str) -> dict:
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_default_config_dry_run_lists_train_jobs(tmp_path):
    r = snakemake(tmp_path, "-n")
    assert r.returncode == 0, r.stderr
    counts = job_counts(r.stdout + r.stderr)
    assert counts["train"] == 6  # {a2c, a3c_ff, a3c_lstm} x {pong, breakout} x seed 0
    assert counts["aggregate"] == 1 and counts["report"] == 1


def test_one_game_target_plans_only_that_game(tmp_path):
    r = snakemake(tmp_path, "-n", "reports/games/pong.pdf")
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert job_counts(out)["train"] == 3 and "breakout" not in out


def test_bad_config_fails_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"games": ["pongg"], "algos": {"a2c": {"workers": [4], "total_frames": 10}}}))
    r = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert r.returncode != 0
    assert "error: unknown game id 'pongg'" in r.stderr and "pong" in r.stderr
    assert "Traceback" not in r.stderr


def test_smoke_workflow_produces_pdf_and_tables(tmp_path):
    r = snakemake(tmp_path, "--cores", "2", "--configfile", str(ROOT / "configs" / "smoke.yaml"))
    assert r.returncode == 0, r.stderr[-3000:]
    pdf = tmp_path / "reports" / "replication.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    smoke = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    runs = {(a, g, s) for a in smoke["algos"] for g in smoke["games"] for s in smoke["seeds"]}
    scores = pd.read_csv(tmp_path / "results" / "tables" / "scores.csv")
    assert set(zip(scores["algo"], scores["game"], scores["seed"])) == runs and len(scores) == len(runs)
    for algo, section in smoke["algos"].items():
        frames = scores.loc[scores["algo"] == algo, "frames"]
        # A3C workers stop at the first rollout past the budget, so they may overshoot by a few rollouts
        assert (frames >= section["total_frames"]).all() and (frames <= section["total_frames"] + 400).all()
    for algo in smoke["algos"]:
        logs = list((tmp_path / "results" / "logs" / "train" / algo).rglob("*.log"))
        assert logs, algo
    tp = pd.read_csv(tmp_path / "results" / "tables" / "throughput.csv")
    assert len(tp) == len(runs) and (tp["frames_per_s"] > 0).all()
    curves = pd.read_csv(tmp_path / "results" / "tables" / "curves.csv")
    assert set(curves["seed"]) == set(smoke["seeds"]) and set(curves["algo"]) == set(smoke["algos"])
    # a second invocation has nothing to do
    again = snakemake(tmp_path, "--cores", "2", "--configfile", str(ROOT / "configs" / "smoke.yaml"), "-n")
    assert "Nothing to be done" in again.stdout + again.stderr
