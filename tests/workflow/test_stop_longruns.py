"""benchmarks/stop_longruns.sh: SIGTERM to the training processes of one long-run ROOT (each saves a checkpoint and
exits), waiting for them, and nothing of another ROOT."""

import subprocess

from conftest import ROOT

STOP = str(ROOT / "benchmarks" / "stop_longruns.sh")


def stand_in(out):
    """A process whose command line is a train job's (``python3 -m replication.train ... --out OUT``)."""
    return subprocess.Popen(["bash", "-c", f'exec -a "python3 -m replication.train --run-config {{}} --out {out}" '
                                           "sleep 120"])


def test_stop_terms_the_root_s_training_and_waits_for_it(tmp_path):
    root = tmp_path / "longruns"
    root.mkdir()
    ours, other = stand_in(root / "dqn_nature" / "runs" / "x"), stand_in(tmp_path / "elsewhere" / "runs" / "x")
    try:
        r = subprocess.run(["bash", STOP, str(root)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert ours.wait(timeout=5) == -15  # ended by SIGTERM, before the script said it had stopped
        assert other.poll() is None  # another ROOT's run goes on
        assert "stopped by benchmarks/stop_longruns.sh" in (root / "queue.log").read_text()
    finally:
        for p in (ours, other):
            p.kill()
            p.wait()
    bad = subprocess.run(["bash", STOP, str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "is not a folder" in bad.stderr
