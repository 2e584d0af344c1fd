"""Fault-injection soak: a real smoke-size A2C training killed with SIGKILL at random moments, resumed each time.

Each session is ``replication.cli.train.main`` with the arguments a user gives ``python -m replication.train``, in a
process forked from a helper that has already imported the package (so a session starts in ~1 s instead of ~4 s
of imports; the training, its files and its death are those of a train job). The helper kills it at a random
moment: 15% of kills within its first 1.5 s (checking the directory, cutting the logs back, building the
environments), 15% the moment an atomic write's temporary file appears once training has started (a checkpoint
being written: too short for a random moment to hit often), the others up to 2 s after its training started
(rollouts, updates, log appends, evaluations). Just before the SIGKILL, a SIGUSR1 makes ``faulthandler`` write the
session's Python stack, which says where the kill landed. After one kill in five a torn last line is appended to a
log (a SIGKILL cannot split the small write of a row; a full disk or a power cut can), and the next session that
starts must drop it and say so. After every kill the run directory is checked (``check_after_kill``): every log passes
the strict reader (``logs.read_log_rows``, the torn last line its only recovery), the checkpoint's frames and
updates never go back, and the rows at or below the checkpoint's frames (what a resume keeps) are exactly those
kept before: none lost, none duplicated, ``updates.csv`` holding every logged update once, ``eval.csv`` every
evaluation point once with all its games. Then ``python -m replication.train`` finishes the run and aggregate
reads its tables whole.

``REPLICATION_SOAK_KILLS`` sets the number of kills (default 20, about a minute on 2 cores;
``REPLICATION_SOAK_KILLS=100`` for the local run docs/reliability.md quotes) and ``REPLICATION_SOAK_SEED`` the random
moments' seed (default: drawn, and named in any failure). Two more tests put the results folder on storage that
fails: a tmpfs too small for a second checkpoint (a full disk), and one remounted read-only; each needs root to
mount and is skipped, saying so, without it.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import torch
import yaml

from conftest import ROOT, run_cli

KILLS = int(os.environ.get("REPLICATION_SOAK_KILLS", "20"))
SEED = int(os.environ.get("REPLICATION_SOAK_SEED", random.randrange(1_000_000)))

EVERY_EVAL = 1200  # frames between evaluations; checkpoints every 400 frames, an update is 80 frames (4 x 5 x 4)
CONFIG = {
    "games": ["pong"], "seeds": [0], "device": "cpu", "checkpoint_every_frames": 400, "log_every_updates": 2,
    "env": {"max_episode_frames": 400},
    "eval": {"episodes": 2, "max_frames": 400, "every_frames": EVERY_EVAL},
    "groups": {"a2c": {"workers": [4], "total_frames": 1_000_000}},  # never reached: the last session sets it
}

# The helper: imports what a train job imports, then per request forks a session, kills it at the moment asked
# (after a SIGUSR1 that has faulthandler write its stack) and answers with how it ended.
HELPER = r"""
import faulthandler, json, os, signal, sys, time
import replication.cli.train as train
import torch._dynamo  # noqa: F401  (the optimizer imports it on first use: paid here once, not per session)

def session(argv, log, stack):
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    faulthandler.register(signal.SIGUSR1, file=open(stack, "w"), all_threads=True)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGUSR1})  # a SIGUSR1 sent before now is handled here
    try:
        code = train.main(argv)
    except SystemExit as e:
        code = e.code
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 1)

print("ready", flush=True)
for line in sys.stdin:
    req = json.loads(line)
    config, t0 = os.path.join(req["out"], "config.json"), time.time()
    # SIGUSR1 blocked across the fork: one sent before the session has registered faulthandler waits for it
    # (unblocked, it would end the session by itself: status -10, seen once in an "early" kill)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    pid = os.fork()
    if pid == 0:
        session(req["argv"], req["log"], req["stack"])
    started, status, deadline = None, None, t0 + req["delay_s"]
    while status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            break
        if started is None and os.path.exists(config) and os.path.getmtime(config) >= t0:
            started = time.time() - t0  # config.json is written as training starts
            if req["mode"] != "early":
                deadline = time.time() + req["delay_s"]
        fire = time.time() >= deadline and (started is not None or req["mode"] == "early")
        if req["mode"] == "write" and started is not None:  # an atomic write in progress: its temporary exists
            fire = fire or any(name.endswith(".tmp") for name in os.listdir(req["out"]))
        if fire:
            os.kill(pid, signal.SIGUSR1)
            end = time.time() + 0.2
            while time.time() < end and os.path.getsize(req["stack"]) == 0:
                time.sleep(0.0005)
            os.kill(pid, signal.SIGKILL)
            status = os.waitpid(pid, 0)[1]
            break
        time.sleep(0.001)
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    print(json.dumps({"killed": killed, "exit": os.waitstatus_to_exitcode(status), "started_s": started}), flush=True)
"""

# Where a kill landed, from the innermost frame of the session's stack that is one of these (file, function).
WHERE = [
    (("training.py", "save_checkpoint"), "checkpoint write"),
    (("rundir.py", "_truncate"), "log cut back on resume"),
    (("rundir.py", "write"), "log append"),
    (("training.py", "_evaluate"), "evaluation"),
    (("update.py", "update_step"), "update (backward, optimizer step)"),
    (("training.py", "start"), "resume bookkeeping (config.json, logs opened)"),
    (("a2c.py", "train"), "rollout (acting, emulators, loss)"),
]


def where_killed(stack_file: Path) -> str:
    frames = re.findall(r'File "([^"]+)", line \d+ in (\S+)', stack_file.read_text())
    if not frames:
        return "unknown (no stack written)"
    for path, function in frames:  # faulthandler lists the innermost frame first
        for (file, name), where in WHERE:
            if Path(path).name == file and function == name:
                return where
    return "startup (checks, environments, networks)"


class Sessions:
    """The helper process; ``run`` starts one training session, killed after ``delay_s``."""

    def __init__(self, logs: Path):
        self.logs = logs
        self.proc = subprocess.Popen([sys.executable, "-c", HELPER], cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "ready"
        self.count = 0

    def run(self, argv: list[str], out: Path, mode: str, delay_s: float) -> dict:
        """One session, killed ``delay_s`` after it forked (``mode`` early), after its training started (random),
        or as soon as an atomic write's temporary appears once training started (write; ``delay_s`` after the start
        where none does)."""
        self.count += 1
        log, stack = self.logs / f"session{self.count}.log", self.logs / f"session{self.count}.stack"
        log.touch()  # a session killed before it opens them leaves them empty
        stack.touch()
        request = {"argv": argv, "out": str(out), "log": str(log), "stack": str(stack), "mode": mode,
                   "delay_s": delay_s}
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        answer = json.loads(self.proc.stdout.readline())
        return {**answer, "where": where_killed(stack) if answer["killed"] else "not killed", "log": log}

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


# -- the checks ---------------------------------------------------------------------------------------------------

def read_logs(d: Path, *, live: bool) -> dict:
    """Every log of run directory ``d`` through the strict reader; a log not made yet is left out."""
    from replication.runs.logs import LOG_COLUMNS, read_log_rows

    return {name: read_log_rows(d / name, columns, live=live, remedy="soak")
            for name, columns in LOG_COLUMNS.items() if (d / name).exists()}


def kept_until(name: str, counters: dict) -> int:
    """The frames up to which a resume from checkpoint ``counters`` keeps the rows of log ``name``
    (``TrainingRun.start``: evaluation rows at the checkpoint's frames only if it knows they were finished)."""
    frames = counters["frames"]
    if name == "eval.csv" and counters.get("evaluated_at") != frames:
        return frames - 1
    return frames


def kept_rows(log, limit: int) -> list[bytes]:
    return [line for line, f in zip(log.lines, log.column("frames")) if float(f) <= limit]


def check_history(logs: dict, counters: dict, *, finished: bool = False) -> None:
    """The rows a resume from checkpoint ``counters`` keeps hold every logged update, evaluation point and game
    once (``finished``: the run ended at ``counters["frames"]``, its final evaluation there)."""
    frames = counters["frames"]
    updates = [int(row[1]) for row in logs["updates.csv"].rows if float(row[0]) <= frames]
    every = CONFIG["log_every_updates"]
    assert updates == list(range(every, counters["updates"] + 1, every)), (updates, counters)
    evals = [row for row in logs["eval.csv"].rows if float(row[0]) <= kept_until("eval.csv", counters)]
    points = sorted({int(row[0]) for row in evals})
    if finished:
        assert points[-1] == frames, points
        points = points[:-1]
    passed = (frames - 1 if finished else frames) // EVERY_EVAL  # evaluation points passed during training
    assert [p // EVERY_EVAL for p in points] == list(range(1, passed + 1)), points
    for p in points + ([frames] if finished else []):
        assert sorted(int(row[2]) for row in evals if int(row[0]) == p) == [0, 1], (p, evals)
    for name in ("episodes.csv", "updates.csv"):
        logged = [float(f) for f in logs[name].column("frames")]
        assert logged == sorted(logged), name  # one writer: frames never go back within a log
    for row in logs["episodes.csv"].rows:
        assert int(row[0]) == 4 * int(row[1]) and row[3] in {"0", "1", "2", "3"} and int(row[5]) > 0, row


def check_after_kill(d: Path, previous: dict | None) -> dict:
    """Check run directory ``d`` after a kill against the state ``previous`` (None before the first checkpoint);
    returns the state now: the checkpoint's counters, the rows a resume would keep, and the rows read."""
    logs = read_logs(d, live=True)
    assert not (d / "done.json").exists()
    if not (d / "checkpoint.pt").exists():
        assert previous is None or previous["counters"] is None, "the checkpoint disappeared"
        return {"counters": None, "kept": {}, "rows": sum(len(log.rows) for log in logs.values())}
    counters = torch.load(d / "checkpoint.pt", weights_only=False, map_location="cpu")["counters"]
    assert set(logs) == {"episodes.csv", "updates.csv", "eval.csv"}, sorted(logs)
    kept = {name: kept_rows(log, kept_until(name, counters)) for name, log in logs.items()}
    if previous is not None and previous["counters"] is not None:
        old = previous["counters"]
        assert counters["frames"] >= old["frames"] and counters["updates"] >= old["updates"], (old, counters)
        for name, log in logs.items():  # what a resume from the old checkpoint kept is still there, unchanged
            assert kept_rows(log, kept_until(name, old)) == previous["kept"][name], name
    check_history(logs, counters)
    return {"counters": counters, "kept": kept, "rows": sum(len(log.rows) for log in logs.values())}


# -- the soak -----------------------------------------------------------------------------------------------------

def train_argv(cfg: Path, out: Path, *extra: str) -> list[str]:
    return ["--configfile", str(cfg), "--group", "a2c", "--game", "pong", "--workers", "4", "--seed", "0",
            "--out", str(out), "--threads", "1", *extra]


def tear_last_line(d: Path, rng: random.Random) -> str:
    """Append to one of the logs a prefix of its last line without the newline: what a writer killed inside a
    ``write`` leaves (a SIGKILL cannot split the small write of one row, but a full disk's short write or a power
    cut can); returns the log's name."""
    name = rng.choice(["episodes.csv", "updates.csv", "eval.csv"])
    last = (d / name).read_bytes().rstrip(b"\r\n").rsplit(b"\n", 1)[-1]
    with open(d / name, "ab") as f:
        f.write(last[:rng.randrange(1, len(last))])
    return name


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path):
    rng = random.Random(SEED)
    cfg, out, logs = tmp_path / "soak.yaml", tmp_path / "run", tmp_path / "sessions"
    cfg.write_text(yaml.safe_dump(CONFIG))
    logs.mkdir()
    t0 = time.monotonic()
    sessions = Sessions(logs)
    state, landed, rows_checked, kills, ended = None, Counter(), 0, 0, []
    torn, recovered, half_written = None, 0, 0
    try:
        while kills < KILLS:
            mode = rng.choices(["early", "write", "random"], weights=[15, 15, 70])[0]
            delay = rng.uniform(0, 1.5) if mode == "early" else 3.0 if mode == "write" else rng.uniform(0, 2.0)
            result = sessions.run(train_argv(cfg, out), out, mode, delay)
            context = f"(seed {SEED}, session {sessions.count}, log {result['log']})"
            session_log = result["log"].read_text()
            assert result["killed"], f"a session ended by itself with status {result['exit']} {context}: " \
                                     f"{session_log[-2000:]}"
            kills += 1
            landed[result["where"]] += 1
            half_written += any(p.name.startswith(".checkpoint.pt.") for p in out.glob(".*.tmp"))
            if torn and result["started_s"] is not None:  # the session got past cutting the logs back
                assert f"recovered: dropped a half-written last row of {torn}" in session_log, context
                recovered, torn = recovered + 1, None
            try:
                state = check_after_kill(out, state)
            except AssertionError as e:
                raise AssertionError(f"after kill {kills} ({result['where']}) {context}: {e}") from None
            rows_checked += state["rows"]
            ended.append(state["counters"]["frames"] if state["counters"] else 0)
            if state["counters"] and not torn and rng.random() < 0.2:
                torn = tear_last_line(out, rng)
    finally:
        sessions.close()
    frames = state["counters"]["frames"] if state["counters"] else 0
    total = frames + 1200  # the last session: a budget just past the checkpoint, crossing an evaluation point or so
    r = run_cli("replication.train", *train_argv(cfg, out, "--total-frames", str(total)), timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    if torn:
        assert f"recovered: dropped a half-written last row of {torn}" in r.stderr, r.stderr
        recovered += 1
    assert not list(out.glob(".*.tmp")), "temporaries of killed atomic writes left behind"
    from replication.results.aggregate import read_run

    run = read_run(out)  # strict: a finished run's logs whole, no torn line
    counters = torch.load(out / "checkpoint.pt", weights_only=False)["counters"]
    assert counters["frames"] == total and run["done"]["frames"] == total
    logs_final = read_logs(out, live=False)
    check_history(logs_final, counters, finished=True)
    if state["counters"]:
        for name, log in logs_final.items():
            assert kept_rows(log, kept_until(name, state["counters"])) == state["kept"][name], name
    rows_checked += sum(len(log.rows) for log in logs_final.values())
    r = run_cli("replication.aggregate", "--out", str(tmp_path / "tables"), str(out))
    assert r.returncode == 0, r.stderr
    seconds = time.monotonic() - t0
    summary = {"kills": kills, "seed": SEED, "seconds": round(seconds, 1), "rows_checked": rows_checked,
               "sessions": sessions.count + 1, "frames": total, "torn_lines_recovered": recovered,
               "kills_leaving_a_half_written_checkpoint": half_written,
               "where_kills_landed": dict(landed.most_common()), "checkpoint_frames_after_each_kill": ended}
    print("soak:", json.dumps(summary))
    if os.environ.get("REPLICATION_SOAK_REPORT"):  # where docs/reliability.md's figures come from
        Path(os.environ["REPLICATION_SOAK_REPORT"]).write_text(json.dumps(summary, indent=1) + "\n")


# -- storage that fails --------------------------------------------------------------------------------------------

@pytest.fixture
def small_tmpfs(tmp_path):
    """A mount point on a fresh tmpfs: ``mount(size)`` (re)mounts it with ``size`` (e.g. ``"8m"``) and options;
    unmounted afterwards. Skips without root or where mounting is not allowed (a container without
    CAP_SYS_ADMIN)."""
    point = tmp_path / "results"
    point.mkdir()
    mounted = []

    def mount(*options: str):
        remount = ["remount"] if mounted else []
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([*remount, *options]), "tmpfs", str(point)],
                           capture_output=True, text=True)
        if r.returncode != 0 and not mounted:
            pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {r.stderr.strip()}")
        assert r.returncode == 0, r.stderr
        mounted.append(options)
        return point

    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs as the results folder needs root")
    yield mount
    if mounted:
        subprocess.run(["umount", str(point)], check=True)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert lines[-1] == errors[0], stderr  # the error ends the output
    return errors[0]


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_full_disk_stops_with_one_line_and_keeps_the_last_checkpoint(small_tmpfs, tmp_path):
    """The results folder on an 8 MB tmpfs: the first checkpoint (5.4 MB) fits, the second's temporary file does
    not. The training stops with one line naming the last good checkpoint, which is intact; with space again, a
    rerun resumes from it and finishes."""
    results = small_tmpfs("size=8m")
    cfg, out = tmp_path / "cfg.yaml", results / "run"
    cfg.write_text(yaml.safe_dump({**CONFIG, "groups": {"a2c": {"workers": [4], "total_frames": 2400}}}))
    r = run_cli("replication.train", *train_argv(cfg, out))
    assert r.returncode == 3, r.stderr[-3000:]
    line = one_error_line(r.stderr)
    assert line.startswith("error: cannot write the run directory: No space left on device"), line
    assert f"the last good checkpoint (frames 400) is kept in {out}" in line and "rerun to resume" in line, line
    assert torch.load(out / "checkpoint.pt", weights_only=False)["counters"]["frames"] == 400
    assert not list(out.glob(".*.tmp")) and not (out / "done.json").exists()
    read_logs(out, live=True)  # a torn last line at most
    small_tmpfs("size=64m")
    r = run_cli("replication.train", *train_argv(cfg, out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "done.json").read_text())["frames"] == 2400
    r = run_cli("replication.aggregate", "--out", str(tmp_path / "tables"), str(out))
    assert r.returncode == 0, r.stderr


def test_a_read_only_results_folder_is_one_line_and_changes_nothing(small_tmpfs, tmp_path):
    """A run killed after its first checkpoint, its results folder then read-only: the resume is refused in one line
    and every file stays as it was (aggregate's --out too); writable again, the rerun resumes and finishes."""
    results = small_tmpfs("size=64m")
    cfg, out = tmp_path / "cfg.yaml", results / "run"
    cfg.write_text(yaml.safe_dump({**CONFIG, "groups": {"a2c": {"workers": [4], "total_frames": 2400}}}))
    proc = subprocess.Popen([sys.executable, "-m", "replication.train", *train_argv(cfg, out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not (out / "checkpoint.pt").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
    finally:
        proc.kill()
        proc.wait()
    assert (out / "checkpoint.pt").exists() and not (out / "done.json").exists()
    small_tmpfs("ro")
    before = snapshot(out)
    r = run_cli("replication.train", *train_argv(cfg, out))
    assert r.returncode == 2, r.stderr[-3000:]
    assert "is not writable (Read-only file system" in one_error_line(r.stderr)
    r = run_cli("replication.aggregate", "--out", str(results / "tables"), str(out))
    assert r.returncode == 2 and "is not writable (Read-only file system" in one_error_line(r.stderr)
    assert snapshot(out) == before
    small_tmpfs("rw")
    r = run_cli("replication.train", *train_argv(cfg, out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((out / "done.json").read_text())["frames"] == 2400
