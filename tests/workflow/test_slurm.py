"""The workflow on a real one-node SLURM cluster through profiles/slurm (snakemake-executor-plugin-slurm).

tests/cluster/local_slurm.sh starts munged, slurmctld and slurmd on this host (installing slurm-wlm and munge
with apt-get when missing); the smoke config then runs with ``--profile profiles/slurm`` plus the values a site
sets, and must give what a local run gives. A preemption drill scancels a running train job: Snakemake
resubmits it and it resumes from its checkpoint. Needs root and apt-get (CI has both); skipped otherwise.

REPLICATION_SLURM_TRANSCRIPTS=<dir> keeps the Snakemake logs of both runs there, with wall times.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest import ROOT

pytestmark = [pytest.mark.slurm, pytest.mark.slow]

SCRIPT = ROOT / "tests" / "cluster" / "local_slurm.sh"
STATE = Path(os.environ.get("LOCAL_SLURM_DIR", "/var/lib/local-slurm"))
PARTITION = "local"
CPUS = len(os.sched_getaffinity(0))

# What a user of profiles/slurm sets for this cluster (docs/running.md, "SLURM"): its partition, no account
# (the plugin's --slurm-no-account alone does not drop the profile's slurm_account), squeue polling (no
# accounting database), threads capped at a node's CPUs, and the cores in use at once (the cluster's 2).
# --default-resources replaces the profile's whole default-resources, so runtime is given again.
SITE_VALUES = ["--default-resources", f"slurm_partition={PARTITION}", "slurm_account=''", "runtime=60",
               "--slurm-no-account", "--slurm-status-command", "squeue", "--max-threads", str(CPUS),
               "--cores", str(CPUS)]
# Test-only: poll soon after submitting (short jobs), and keep every job's sbatch log to check it.
TEST_VALUES = ["--slurm-init-seconds-before-status-checks", "1", "--slurm-keep-successful-logs"]


@pytest.fixture(scope="module")
def cluster():
    """The local cluster, started for this module and stopped after it, also when a test fails."""
    if os.geteuid() != 0:
        pytest.skip("SLURM tests need root: tests/cluster/local_slurm.sh installs slurm-wlm/munge with apt-get "
                    "and starts munged, slurmctld and slurmd")
    missing = [b for b in ("munged", "slurmctld", "slurmd", "sbatch", "squeue") if shutil.which(b) is None]
    if missing and shutil.which("apt-get") is None:
        pytest.skip(f"SLURM tests: {', '.join(missing)} not installed and no apt-get to install slurm-wlm/munge")
    env = {**os.environ, "LOCAL_SLURM_DIR": str(STATE), "LOCAL_SLURM_PARTITION": PARTITION}
    # a cluster someone started by hand is used as it is and left running
    ours = subprocess.run(["bash", str(SCRIPT), "status"], env=env, capture_output=True).returncode != 0
    try:
        start = subprocess.run(["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=900)
        if start.returncode == 2:  # the script's "cannot here" answers: apt-get failed, a foreign slurm.conf, ...
            pytest.skip(f"SLURM tests: no local cluster: {start.stderr.strip()}")
        assert start.returncode == 0, f"local_slurm.sh start failed:\n{start.stdout}\n{start.stderr}"
        yield {**os.environ, "SLURM_CONF": str(STATE / "slurm.conf")}
    finally:
        if ours:
            stop = subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, text=True, timeout=300)
            assert stop.returncode == 0, f"local_slurm.sh stop failed:\n{stop.stdout}\n{stop.stderr}"


def slurm(env, *args: str) -> str:
    return subprocess.run(list(args), env=env, capture_output=True, text=True, check=True, timeout=60).stdout


def start_workflow(env, workdir: Path, *args: str) -> tuple[subprocess.Popen, Path, float]:
    """Snakemake with profiles/slurm in ``workdir``, output to ``workdir/snakemake.log``; not waited for."""
    log = workdir / "snakemake.log"
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
           "--profile", str(ROOT / "profiles" / "slurm"), *SITE_VALUES, *TEST_VALUES, *args]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
    return proc, log, time.monotonic()


def finish_workflow(env, proc, log: Path, t0: float, name: str, timeout: int = 1500) -> str:
    """Wait for the workflow; keep its transcript (with wall time and the scheduler's view) when asked to."""
    rc = proc.wait(timeout=timeout)
    wall = time.monotonic() - t0
    text = log.read_text()
    keep = os.environ.get("REPLICATION_SLURM_TRANSCRIPTS")
    if keep:
        jobs = slurm(env, "squeue", "--states=all", "-o", "%.6i %.9P %.10j %.11T %.9M %.19S %.19e %R")
        Path(keep).mkdir(parents=True, exist_ok=True)
        Path(keep, f"{name}.log").write_text(
            f"# {' '.join(proc.args)}\n# exit status {rc}, wall time {wall:.1f} s\n\n{text}\n"
            f"# squeue --states=all after the run (finished jobs stay MinJobAge=600 s):\n{jobs}")
    assert rc == 0, text[-4000:]
    return text


def submissions(text: str) -> dict[str, str]:
    """SLURM job id -> sbatch log path, as Snakemake logged each submission."""
    return dict(re.findall(r"has been submitted with SLURM jobid (\d+) \(log: (\S+)\)", text))


def tree(workdir: Path, *folders: str) -> set[str]:
    return {str(p.relative_to(workdir)) for f in folders for p in (workdir / f).rglob("*") if p.is_file()}


def tables(workdir: Path) -> dict:
    """Per results table: its columns and which runs it has rows for (not the numbers: those differ)."""
    out = {}
    for path in sorted((workdir / "results" / "tables").rglob("*.csv")):
        df = pd.read_csv(path) if path.stat().st_size else pd.DataFrame()
        keys = [c for c in ("group", "game", "workers", "seed") if c in df.columns]
        out[str(path.relative_to(workdir))] = (list(df.columns), {tuple(map(str, r)) for r in df[keys].values})
    return out


def pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", path.read_bytes()))


def local_run(config: str, workdir: Path) -> Path:
    """The workflow directory of a local run (``--cores CPUS``) of ``config``."""
    workdir.mkdir()
    r = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
                        "--cores", str(CPUS), "--configfile", config],
                       capture_output=True, text=True, timeout=1500)
    assert r.returncode == 0, r.stderr[-3000:]
    return workdir


def test_smoke_workflow_on_slurm_matches_a_local_run(cluster, tmp_path):
    smoke = str(ROOT / "tests" / "cluster" / "slurm_smoke.yaml")  # smoke.yaml cut to 2 train jobs (CI time)
    (tmp_path / "slurm").mkdir()
    proc, log, t0 = start_workflow(cluster, tmp_path / "slurm", "--configfile", smoke)
    text = finish_workflow(cluster, proc, log, t0, "slurm_smoke")
    slurm_dir = tmp_path / "slurm"

    # every job went through sbatch: one sbatch log per train job, and the scheduler saw each complete
    jobs = submissions(text)
    train_logs = sorted((slurm_dir / ".snakemake" / "slurm_logs" / "rule_train").glob("*/*.log"))
    done = sorted((slurm_dir / "results" / "runs").glob("*/*/w*/s*/done.json"))
    assert len(done) == 2 and len(train_logs) == 2, (done, train_logs)
    assert {p.parent.name for p in train_logs} == {"_".join([*d.parts[-5:-3], d.parts[-3][1:], d.parts[-2][1:]])
                                                   for d in done}
    assert {p.stem for p in train_logs} <= set(jobs) and len(jobs) == 4  # + aggregate, report
    states = dict(line.split() for line in slurm(cluster, "squeue", "--states=all", "-h", "-o", "%i %T").splitlines())
    assert all(states.get(j) == "COMPLETED" for j in jobs), states
    for p in train_logs:  # inside its allocation the job ran the rule (slurm-jobstep executor, srun)
        assert "rule train:" in p.read_text(), p.read_text()[-2000:]

    # the same workflow run locally gives the same files, tables (columns, runs) and report pages
    local_dir = local_run(smoke, tmp_path / "local")
    assert tree(slurm_dir, "results", "reports") == tree(local_dir, "results", "reports")
    assert tables(slurm_dir) == tables(local_dir)
    pages = pdf_pages(slurm_dir / "reports" / "replication.pdf")
    assert pages > 1 and pages == pdf_pages(local_dir / "reports" / "replication.pdf")


def test_scancelled_train_job_is_resubmitted_and_resumes_from_its_checkpoint(cluster, tmp_path):
    run = tmp_path / "results" / "runs" / "a2c" / "pong" / "w4" / "s0"
    proc, log, t0 = start_workflow(cluster, tmp_path, "--configfile", str(ROOT / "tests" / "cluster" / "drill.yaml"),
                                   "--", str(run.relative_to(tmp_path) / "done.json"))
    cancelled = None
    try:
        deadline = time.monotonic() + 900
        while cancelled is None and time.monotonic() < deadline and proc.poll() is None:
            running = slurm(cluster, "squeue", "-h", "-t", "RUNNING", "-o", "%i").split()
            if running and (run / "checkpoint.pt").exists() and not (run / "done.json").exists():
                slurm(cluster, "scancel", running[0])  # as a preemption would: SIGTERM, SIGKILL KillWait later
                cancelled = running[0]
            time.sleep(0.2)
        assert cancelled, f"the train job was never seen running with a checkpoint:\n{log.read_text()[-3000:]}"
    finally:
        if proc.poll() is None and cancelled is None:
            proc.terminate()
    text = finish_workflow(cluster, proc, log, t0, "slurm_drill")

    # Snakemake saw the cancellation through squeue and resubmitted the job (the profile's retries)
    assert f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'" in text, text[-3000:]
    jobs = submissions(text)
    assert len(jobs) == 2 and cancelled in jobs, jobs
    assert len(list((tmp_path / ".snakemake" / "slurm_logs" / "rule_train").glob("*/*.log"))) == 2

    # the second job resumed from checkpoint.pt: one resume, no frames repeated or lost in the logs
    done = json.loads((run / "done.json").read_text())
    assert done["resumes"] == 1 and done["frames"] >= 8000, done
    assert json.loads((run / "config.json").read_text())["resumes"] == 1
    updates = pd.read_csv(run / "updates.csv")
    assert not updates.duplicated().any() and updates["frames"].is_monotonic_increasing
    assert updates["frames"].is_unique and updates["frames"].iloc[-1] == done["frames"]
    assert len(updates) == done["updates"]  # log_every_updates: 1, so one row per update, none twice
    episodes = pd.read_csv(run / "episodes.csv")
    assert len(episodes) > 0 and not episodes.duplicated().any()
    assert episodes["frames"].is_monotonic_increasing
