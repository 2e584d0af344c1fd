"""Shared fixtures: the repo root and a helper to run the package's CLIs as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def root() -> Path:
    return ROOT


def run_cli(*args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run ``python -m <args>`` with this interpreter; returns the completed process (text output)."""
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd or ROOT, capture_output=True, text=True,
                          timeout=timeout)


def start_train(cfg: Path, out: Path, workers: int, group: str = "a2c") -> subprocess.Popen:
    """Start ``python -m replication.train`` on Pong seed 0 with one thread, not waited for (text pipes)."""
    return subprocess.Popen([sys.executable, "-m", "replication.train", "--configfile", str(cfg), "--group", group,
                             "--game", "pong", "--workers", str(workers), "--seed", "0", "--out", str(out),
                             "--threads", "1"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop_after_checkpoint(cmd: list[str], out: Path, timeout: int = 120) -> tuple[int, str]:
    """Run ``cmd`` (a training into run directory ``out``) until ``out/checkpoint.pt`` appears, then SIGTERM it, as
    a session end does; returns its exit status and stderr."""
    import signal
    import time

    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        while not (out / "checkpoint.pt").exists() and p.poll() is None:
            time.sleep(0.05)
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=timeout)
    finally:
        p.kill()
    return p.returncode, err


@pytest.fixture(scope="session")
def local_smoke_run(tmp_path_factory) -> Path:
    """Workflow directory of one local ``snakemake --cores 2 --configfile configs/smoke.yaml`` run, shared by the
    tests of tests/workflow/test_smoke_workflow.py and the SLURM test (which compares its cluster run with it), so CI
    pays for it once. ``make test`` runs two pytest-xdist workers with ``--dist loadfile`` (a file's tests on one
    worker): every test that uses this run lives in test_smoke_workflow.py, so it is built once.

    Raises:
        AssertionError: the workflow failed (its stderr tail in the message).
    """
    workdir = tmp_path_factory.mktemp("smoke")
    r = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(workdir),
                        "--cores", "2", "--configfile", str(ROOT / "configs" / "smoke.yaml")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return workdir


def snapshot(root: Path) -> dict:
    """Every file under ``root`` and its bytes (to show that a command changed nothing)."""
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}


def snakemake(tmp_path: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the workflow (``ROOT/Snakefile``) in ``tmp_path`` with ``args``; returns the completed process."""
    return subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path),
                           *args], capture_output=True, text=True, timeout=timeout)
