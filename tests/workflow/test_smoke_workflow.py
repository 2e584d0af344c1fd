"""Every test of the shared smoke workflow run (conftest ``local_smoke_run``: configs/smoke.yaml end to end with
``snakemake --cores 2``), in one file so that pytest-xdist's ``--dist loadfile`` builds that run once."""

import json
import re
import shutil
import subprocess
import sys

import pandas as pd
import yaml

from conftest import ROOT, snakemake, snapshot


def test_smoke_workflow_produces_pdf_and_tables(local_smoke_run):
    tmp_path = local_smoke_run
    pdf = tmp_path / "reports" / "replication.pdf"
    assert pdf.exists() and pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    smoke = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    runs = {(a, g, s) for a in smoke["groups"] for g in smoke["games"] for s in smoke["seeds"]}
    scores = pd.read_csv(tmp_path / "results" / "tables" / "replication" / "scores.csv")
    assert set(zip(scores["group"], scores["game"], scores["seed"])) == runs and len(scores) == len(runs)
    for group, section in smoke["groups"].items():
        frames = scores.loc[scores["group"] == group, "frames"]
        # A3C workers stop at the first rollout past the budget, so they may overshoot by a few rollouts
        assert (frames >= section["total_frames"]).all() and (frames <= section["total_frames"] + 400).all()
    for group in smoke["groups"]:
        logs = list((tmp_path / "results" / "logs" / "train" / group).rglob("*.log"))
        assert logs, group
    tp = pd.read_csv(tmp_path / "results" / "tables" / "replication" / "throughput.csv")
    assert len(tp) == len(runs) and (tp["frames_per_s"] > 0).all()
    curves = pd.read_csv(tmp_path / "results" / "tables" / "replication" / "curves.csv")
    assert set(curves["seed"]) == set(smoke["seeds"]) and set(curves["group"]) == set(smoke["groups"])
    # a second invocation has nothing to do
    again = snakemake(tmp_path, "--cores", "2", "--configfile", str(ROOT / "configs" / "smoke.yaml"), "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_progress_target_builds_without_training(tmp_path, local_smoke_run):
    """`snakemake progress` on a workflow whose runs are partly missing: it reports what exists and trains
    nothing, though the config plans A3C runs with more workers than the one core given."""
    shutil.copytree(local_smoke_run / "results" / "runs", tmp_path / "results" / "runs")
    shutil.rmtree(tmp_path / "results" / "runs" / "a2c")  # the a2c runs have not started
    dqn = tmp_path / "results" / "runs" / "dqn" / "pong" / "w1" / "s0"
    (dqn / "done.json").unlink()  # nor has dqn seed 0 finished
    before = snapshot(tmp_path / "results")
    r = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                        "--cores", "1", "progress", "--configfile", str(ROOT / "configs" / "smoke.yaml")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "rule train" not in r.stderr and (tmp_path / "reports" / "progress.pdf").exists()
    log = (tmp_path / "results" / "logs" / "progress.log").read_text()
    assert "wrote reports/progress.pdf: 2 pages" in log
    after = {p: b for p, b in snapshot(tmp_path / "results").items() if "logs" not in p.parts}
    assert after == before


def test_snakemake_html_report_collects_figures_tables_and_provenance(local_smoke_run, tmp_path):
    """`snakemake --report` on the finished smoke workflow: Snakemake's HTML report with the outputs flagged
    report(...) in the Snakefile, under their categories (captions in report/*.rst)."""
    html = tmp_path / "report.html"
    r = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(local_smoke_run),
                        "--configfile", str(ROOT / "configs" / "smoke.yaml"), "--report", str(html)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    categories = json.loads(re.search(r"var categories = (\{.*?\});\n", html.read_text()).group(1))
    figures = sorted(f"reports/replication/figures/{p.name}"
                     for p in (local_smoke_run / "reports" / "replication" / "figures").glob("*.png"))
    # Mnih 2016 Figure 1 analogue vs frames and vs hours (one game: one page each); its Figures 3 and 4 with ours
    # (A3C FF with 2 workers on Pong: the paper's 2-thread band); the DQN page (the smoke DQN run beside the suite's
    # published DQN curves on Pong, benchmarks/claims_training_curves.csv); Clemente 2017 Figure 2 on this host (A2C
    # ran; at n_e 4 Clemente's Figure 3 draws no band, so no Figure 3 / 4 pages of its own)
    published = pd.read_csv(ROOT / "benchmarks" / "claims_training_curves.csv")
    assert ((published["algorithm"] == "dqn") & (published["game"] == "pong")).any()  # the DQN pair's curves
    assert len(figures) == 6 and figures[-1].endswith("figure_2_on_this_host.png")
    assert sum("dqn_the_schedule_and_the_curve_a_user_sees" in f for f in figures) == 1
    assert sum("mnih_et_al_2016_figure_3_with_ours" in f or "mnih_et_al_2016_figure_4_with_ours" in f
               for f in figures) == 2
    assert {c: {s: sorted(files) for s, files in sub.items()} for c, sub in categories.items()} == {
        "Report": {"all games": ["reports/replication.pdf"]},
        "Figures": {"all games": figures},
        "Tables": {"all games": ["reports/replication/verdict.csv", "results/tables/replication/normalized.csv",
                                 "results/tables/replication/scores.csv", "results/tables/replication/throughput.csv"]},
        "Provenance": {"all games": ["results/tables/replication/runs.json"]},
    }
    verdict = pd.read_csv(local_smoke_run / "reports" / "replication" / "verdict.csv")
    assert set(verdict["verdict"]) == {"not comparable"}  # 4,000 frames, a 2,000-frame evaluation cap


def test_diagnose_reads_every_algorithms_checkpoint_and_refuses_a_folder_without_one(local_smoke_run, tmp_path):
    """``python -m replication.diagnose`` on the smoke run's A2C, A3C (shared RMSProp) and DQN (centred RMSProp:
    the online network's layers) checkpoints, ``--activations`` on the actor-critics' (a DQN run is a one-line
    error); a folder without a checkpoint is a one-line error."""
    runs = sorted(p.parent for p in (local_smoke_run / "results" / "runs").glob("*/pong/*/s0/checkpoint.pt"))
    assert {p.parts[-4] for p in runs} == {"a2c", "a3c_ff", "dqn"}
    r = subprocess.run([sys.executable, "-m", "replication.diagnose", *map(str, runs)], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("under the root") == len(runs) and "online.head.weight" in r.stdout  # DQN: online net
    assert "eps_share" in r.stdout
    actor_critics = [p for p in runs if p.parts[-4] != "dqn"]
    r = subprocess.run([sys.executable, "-m", "replication.diagnose", "--activations", *map(str, actor_critics)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("policy entropy (nats; uniform ln 6 = 1.7918)") == len(actor_critics) == 2
    assert r.stdout.count("trained vs a fresh network of the same config") == 2
    dqn = next(p for p in runs if p.parts[-4] == "dqn")
    r = subprocess.run([sys.executable, "-m", "replication.diagnose", "--activations", str(dqn)], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        "error: the activation census reads actor-critics; the run's algorithm is 'dqn'; accepted: a2c, a3c_ff, "
        "a3c_lstm"]
    r = subprocess.run([sys.executable, "-m", "replication.diagnose", str(tmp_path)], capture_output=True,
                       text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.strip().splitlines() == [
        f"error: no checkpoint.pt in '{tmp_path}'; accepted: a run directory of replication.train that has saved "
        "a checkpoint"]

