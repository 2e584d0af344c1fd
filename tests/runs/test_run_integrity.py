"""Run-directory integrity: a directory holds one run, and damaged files are named, never averaged.

One short real A2C run (module-scoped) is copied for every case. A request for another run (other workers, seed,
algorithm or hyperparameters), a damaged file (a torn CSV row, a malformed ``done.json`` or ``config.json``, a
corrupt ``checkpoint.pt``, a log damaged before the checkpoint a resume would append after, a log header that
lacks a column) and a budget below the frames trained get one line naming it and exit status 2, and every file of
the run directory (and the tables aggregate had written) stays byte-identical. Where recovery is safe (a
half-written last row behind a valid checkpoint: the one recovery) train recovers and says so; a longer
``total_frames`` extends the run and is recorded. The progress report and aggregate read the logs with the same
reader, and aggregate names run directories that do not exist or have not finished.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
import torch
import yaml

from conftest import ROOT

CONFIG = {
    "games": ["pong"], "seeds": [0], "device": "cpu", "checkpoint_every_frames": 800, "log_every_updates": 2,
    "env": {"max_episode_frames": 400},
    "eval": {"episodes": 2, "max_frames": 400},
    "groups": {"a2c": {"workers": [4], "total_frames": 3200}, "dqn": {"workers": [1], "total_frames": 3200}},
}


def run_args(cfg, out, group="a2c", workers=4, seed=0, total_frames=None):
    extra = [] if total_frames is None else ["--total-frames", str(total_frames)]
    return ["--configfile", str(cfg), "--group", group, "--game", "pong", "--workers", str(workers), "--seed",
            str(seed), "--out", str(out), "--threads", "1", *extra]


def python(module, *args):
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def snapshot(root) -> dict:
    """Every file under ``root``: relative path -> bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    """A finished 3,200-frame A2C run on Pong, its config file, and aggregate's tables of it."""
    root = tmp_path_factory.mktemp("smoke")
    cfg = root / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    cfg_hyper = root / "cfg_hyper.yaml"  # the same run group with another entropy bonus
    cfg_hyper.write_text(yaml.safe_dump({**CONFIG, "groups": {"a2c": {**CONFIG["groups"]["a2c"],
                                                                     "hyper": {"entropy_beta": 0.02}}}}))
    r = python("replication.train", *run_args(cfg, root / "run"))
    assert r.returncode == 0, r.stderr
    r = python("replication.aggregate", "--out", root / "tables", root / "run")
    assert r.returncode == 0, r.stderr
    return {"run": root / "run", "cfg": cfg, "cfg_hyper": cfg_hyper, "tables": root / "tables"}


# -- damage done to a copy of the run: each takes the run directory --------------------------------------------------

def unfinished(d):
    (d / "done.json").unlink()


def cut_bytes(name, n):
    def damage(d):
        data = (d / name).read_bytes()
        (d / name).write_bytes(data[:-n])
    return damage


def drop_last_fields(name, n):
    """The last row loses its last ``n`` fields but keeps its newline."""
    def damage(d):
        lines = (d / name).read_text().splitlines()
        lines[-1] = ",".join(lines[-1].split(",")[:-n])
        (d / name).write_text("\n".join(lines) + "\n")
    return damage


def write(name, text):
    def damage(d):
        (d / name).write_text(text)
    return damage


def append(name, text):
    def damage(d):
        with open(d / name, "a") as f:
            f.write(text)
    return damage


def edit_json(name, **changes):
    def damage(d):
        obj = json.loads((d / name).read_text())
        for k, v in changes.items():
            if v is None:
                obj.pop(k, None)
            else:
                obj[k] = v
        (d / name).write_text(json.dumps(obj))
    return damage


def remove(name):
    def damage(d):
        (d / name).unlink()
    return damage


def both(*damages):
    def damage(d):
        for f in damages:
            f(d)
    return damage


def edit_line(name, line, edit):
    """Line ``line`` (1 = the header) of log ``name`` becomes ``edit(fields)``; its line ending stays."""
    def damage(d):
        lines = (d / name).read_bytes().splitlines(keepends=True)
        text = lines[line - 1].decode()
        body = text.rstrip("\r\n")
        lines[line - 1] = (",".join(edit(body.split(","))) + text[len(body):]).encode()
        (d / name).write_bytes(b"".join(lines))
    return damage


def set_field(name, line, column, value):
    """A row in the middle of a log gets ``value`` in ``column``."""
    from replication.runs.logs import EPISODE_COLUMNS, EVAL_COLUMNS, UPDATE_COLUMNS

    columns = {"episodes.csv": EPISODE_COLUMNS, "updates.csv": UPDATE_COLUMNS, "eval.csv": EVAL_COLUMNS}[name]
    i = columns.index(column)
    return edit_line(name, line, lambda fields: fields[:i] + [value] + fields[i + 1:])


def garble_checkpoint(d):
    (d / "checkpoint.pt").write_bytes(b"\x00not a checkpoint" * 64)


# (id, damage, train request (changes to run_args, or "hyper" for the other config), what stderr must contain)
TRAIN_CASES = [
    ("workers_finished", None, {"workers": 8}, "holds another run (config.json): workers = 4 there, 8 requested"),
    ("workers_unfinished", unfinished, {"workers": 8}, "workers = 4 there, 8 requested"),
    ("dqn_finished", None, {"group": "dqn"}, "group = 'a2c' there, 'dqn' requested, algorithm = 'a2c' there"),
    ("dqn_unfinished", unfinished, {"group": "dqn", "workers": 1}, "group = 'a2c' there, 'dqn' requested"),
    ("seed", None, {"seed": 1}, "seed = 0 there, 1 requested"),
    ("hyper", unfinished, "hyper", "hyper.entropy_beta = 0.01 there, 0.02 requested"),
    ("no_fingerprint", edit_json("config.json", fingerprint=None), {"workers": 8}, "workers = 4 there, 8 requested"),
    ("checkpoint_only", both(unfinished, remove("config.json")), {"workers": 8},
     "holds another run (checkpoint.pt): workers = 4 there, 8 requested"),
    ("checkpoint_cut", both(unfinished, cut_bytes("checkpoint.pt", 100_000)), {},
     "checkpoint.pt is damaged (torch.load fails"),
    ("checkpoint_garbled", both(unfinished, garble_checkpoint), {},
     "checkpoint.pt is damaged (torch.load fails"),
    ("checkpoint_not_a_run", both(unfinished, lambda d: torch.save({"x": 1}, d / "checkpoint.pt")), {},
     "checkpoint.pt is damaged (no model, optimizer, counters, rng)"),
    ("done_not_json", write("done.json", '{"frames": 32'), {}, "done.json is damaged (not valid JSON"),
    ("done_no_frames", write("done.json", '{"wall_time_s": 1.0}'), {},
     "done.json is damaged (no frames, frames_per_s)"),
    ("done_bad_frames", edit_json("done.json", frames="3200"), {}, "done.json is damaged (frames = '3200')"),
    ("config_not_json", write("config.json", '{"group": "a2c", '), {}, "config.json is damaged (not valid JSON"),
    # a log damaged before the checkpoint: a resume would lose or misplace rows, so it is refused (issue 31)
    ("updates_middle_row_not_a_number", both(unfinished, set_field("updates.csv", 6, "loss_value", "0.3x")), {},
     "updates.csv is damaged (line 6: loss_value = '0.3x', not a number)"),
    ("updates_header_lacks_a_column", both(unfinished, edit_line("updates.csv", 1, lambda f: f[:-1])), {},
     "updates.csv is damaged (header 'frames,updates,wall_time_s,loss_policy,loss_value,entropy,grad_norm,"
     "learning_rate'); accepted: a CSV log with header frames,"),
    ("episodes_middle_row_too_few_fields", both(unfinished, edit_line("episodes.csv", 3, lambda f: f[:4])), {},
     "episodes.csv is damaged (line 3: too few fields (4 of 6))"),
    ("eval_missing", both(unfinished, remove("eval.csv")), {}, "eval.csv is damaged (missing)"),
    ("extended_with_a_damaged_row", set_field("updates.csv", 6, "frames", ""), {"total_frames": 4000},
     "updates.csv is damaged (line 6: frames = '', not a number)"),
    ("total_frames_below_the_checkpoint", unfinished, {"total_frames": 1600},
     "total_frames = 1600 is below the 3200 frames this run has trained"),
]


@pytest.mark.parametrize("damage, request_, expected", [c[1:] for c in TRAIN_CASES], ids=[c[0] for c in TRAIN_CASES])
def test_train_refuses_another_run_or_a_damaged_file_and_changes_nothing(damage, request_, expected, smoke, tmp_path,
                                                                        capsys):
    from replication.cli.train import main

    d = tmp_path / "run"
    shutil.copytree(smoke["run"], d)
    if damage:
        damage(d)
    before = snapshot(d)
    if request_ == "hyper":
        argv = run_args(smoke["cfg_hyper"], d)
    else:
        argv = run_args(smoke["cfg"], d, **request_)
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert expected in err and "accepted: " in err, err
    assert snapshot(d) == before


def test_a_damaged_row_is_named_by_the_progress_report(smoke, tmp_path):
    """The progress report reads logs with the same reader as resume: a torn last line is what a live writer
    leaves, but a damaged row in the middle is named (file, line, what to do), never skipped."""
    from replication.core.errors import UserError
    from replication.report.progress_report import run_progress

    d = tmp_path / "runs" / "a2c" / "pong" / "w4" / "s0"
    shutil.copytree(smoke["run"], d)
    unfinished(d)
    append("episodes.csv", "3204,801,9.5,2,-2")(d)  # a writer killed mid-row: skipped
    assert run_progress(d)["games"] == len((smoke["run"] / "episodes.csv").read_text().splitlines()) - 1
    set_field("updates.csv", 6, "entropy", "1.7.9")(d)
    before = snapshot(d)
    with pytest.raises(UserError, match=r"updates.csv is damaged \(line 6: entropy = '1.7.9', not a number\); "
                                        "accepted: .*move the run directory away"):
        run_progress(d)
    assert snapshot(d) == before


def test_aggregate_refuses_a_run_directory_that_does_not_exist(smoke, tmp_path, capsys):
    from replication.results.aggregate import main

    tables = tmp_path / "tables"
    shutil.copytree(smoke["tables"], tables)
    before = snapshot(tables)
    gone = tmp_path / "runs" / "a2c" / "pong" / "w4" / "s1"
    with pytest.raises(SystemExit) as e:
        main(["--out", str(tables), str(smoke["run"]), str(gone)])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"run directory {str(gone)!r} does not exist; accepted: " in err, err
    assert snapshot(tables) == before


def test_aggregate_names_the_unfinished_run_directories(smoke, tmp_path, capsys):
    """None finished: the error names them; some finished: the unfinished ones are counted in the summary line
    (and listed in missing.csv), not passed over in silence."""
    from replication.results.aggregate import main

    runs = []
    for seed in (1, 2):
        d = tmp_path / f"s{seed}"
        shutil.copytree(smoke["run"], d)
        unfinished(d)
        runs.append(str(d))
    with pytest.raises(SystemExit) as e:
        main(["--out", str(tmp_path / "tables"), *runs])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"none of the 2 run directories has finished (no done.json): {runs[0]}, {runs[1]}" in err, err
    assert not (tmp_path / "tables").exists()
    assert main(["--out", str(tmp_path / "tables"), str(smoke["run"]), runs[0]]) == 0
    err = capsys.readouterr().err
    assert "aggregated 1 runs" in err and "1 run directory has not finished (listed in missing.csv)" in err, err
    assert (tmp_path / "tables" / "missing.csv").read_text().splitlines() == ["run_dir", runs[0]]


# (id, damage, what stderr must contain): a finished run copied, damaged, then aggregated over the smoke's tables
AGGREGATE_CASES = [
    ("episodes_no_newline", cut_bytes("episodes.csv", 1), "episodes.csv is damaged (last row cut short: line"),
    ("episodes_cut_mid_row", cut_bytes("episodes.csv", 9), "episodes.csv is damaged (last row cut short"),
    ("episodes_too_few_fields", drop_last_fields("episodes.csv", 2),
     "episodes.csv is damaged (line 9: too few fields (4 of 6))"),
    ("eval_no_newline", cut_bytes("eval.csv", 3), "eval.csv is damaged (last row cut short"),
    ("eval_too_few_fields", drop_last_fields("eval.csv", 1), "eval.csv is damaged (line 3: too few fields (4 of 5))"),
    ("updates_no_newline", cut_bytes("updates.csv", 20), "updates.csv is damaged (last row cut short"),
    ("updates_too_many_fields", append("updates.csv", "1,2" + ",3" * 9 + "\n"),
     "updates.csv is damaged (line 22: too many fields (11 of 9))"),
    ("episodes_not_a_number", append("episodes.csv", "3200,800,1.0,0,x,10\n"),
     "episodes.csv is damaged (line 10: episode_return = 'x', not a number)"),
    ("done_not_json", write("done.json", "{"), "done.json is damaged (not valid JSON"),
    ("done_bad_frames", edit_json("done.json", frames=None), "done.json is damaged (no frames)"),
    ("config_missing", remove("config.json"), "config.json is damaged (missing)"),
]


@pytest.mark.parametrize("damage, expected", [c[1:] for c in AGGREGATE_CASES], ids=[c[0] for c in AGGREGATE_CASES])
def test_aggregate_names_a_damaged_file_and_writes_nothing(damage, expected, smoke, tmp_path, capsys):
    from replication.results.aggregate import main

    d, tables = tmp_path / "run", tmp_path / "tables"
    shutil.copytree(smoke["run"], d)
    shutil.copytree(smoke["tables"], tables)
    damage(d)
    before, tables_before = snapshot(d), snapshot(tables)
    with pytest.raises(SystemExit) as e:
        main(["--out", str(tables), str(d)])
    err = capsys.readouterr().err
    assert e.value.code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err, err
    assert expected in err and "accepted: " in err, err
    assert snapshot(d) == before and snapshot(tables) == tables_before


def test_the_cli_refuses_as_a_user_sees_it(smoke, tmp_path):
    """Through ``python -m``: a DQN request on the A2C run, and aggregate of a run with a torn row."""
    d = tmp_path / "run"
    shutil.copytree(smoke["run"], d)
    before = snapshot(d)
    r = python("replication.train", *run_args(smoke["cfg"], d, group="dqn", workers=1))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "holds another run" in r.stderr and snapshot(d) == before
    cut_bytes("eval.csv", 2)(d)
    before = snapshot(d)
    r = python("replication.aggregate", "--out", tmp_path / "tables", d)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "eval.csv is damaged" in r.stderr and snapshot(d) == before
    assert not (tmp_path / "tables").exists()


def test_the_same_finished_run_is_a_no_op(smoke, tmp_path, capsys):
    from replication.cli.train import main

    d = tmp_path / "run"
    shutil.copytree(smoke["run"], d)
    before = snapshot(d)
    assert main(run_args(smoke["cfg"], d)) == 0
    assert "already finished" in capsys.readouterr().err and snapshot(d) == before


def test_a_torn_last_row_is_recovered_from_the_checkpoint(smoke, tmp_path):
    """A writer killed mid-row after its last checkpoint: train drops the row, says so, and finishes the run."""
    d = tmp_path / "run"
    shutil.copytree(smoke["run"], d)
    (d / "done.json").unlink()
    whole = (d / "episodes.csv").read_text()
    with open(d / "episodes.csv", "a") as f:
        f.write("3204,801,9.5,2,-2")  # no newline: the process died here
    r = python("replication.train", *run_args(smoke["cfg"], d))
    assert r.returncode == 0, r.stderr
    assert ("recovered: dropped a half-written last row of episodes.csv (17 bytes after its last newline, left by a "
            "killed writer); the run resumes from checkpoint.pt at frames 3200") in r.stderr
    assert (d / "episodes.csv").read_text() == whole and (d / "done.json").exists()
    r = python("replication.aggregate", "--out", tmp_path / "tables", d)
    assert r.returncode == 0, r.stderr


def test_a_log_with_a_half_written_header_starts_afresh_on_resume(tmp_path):
    """A writer killed while creating a CSV log leaves part of its header and no newline; a resumed run's rows must
    not be appended below it (the file would have no header): the log is written again from its header."""
    from replication.runs.logs import CsvLog

    path = tmp_path / "episodes.csv"
    path.write_bytes(b"frames,agent_st")
    log = CsvLog(path, ["frames", "agent_steps"], keep_until_frames=0)
    log.write({"frames": 4, "agent_steps": 1})
    log.close()
    assert path.read_bytes() == b"frames,agent_steps\r\n4,1\r\n"


def test_an_evaluation_cut_short_is_done_on_resume(tmp_path):
    """SIGTERM during an evaluation saves a checkpoint past its evaluation point without it (the rows it wrote are cut
    on resume): the resumed run evaluates at its first update instead of skipping that point."""
    from replication.algorithms.a2c import A2CConfig
    from replication.envs.atari import AtariConfig
    from replication.envs.evaluate import EvalConfig
    from replication.runs.logs import LOG_COLUMNS
    from replication.runs.training import TrainingRun

    def next_evaluation(evaluated_at):
        d = tmp_path / f"run{evaluated_at}"
        d.mkdir()
        counters = {"frames": 1700, "agent_steps": 425, "updates": 21, "wall_time_s": 1.0, "evaluated_at": evaluated_at}
        torch.save({"model": {}, "optimizer": {}, "rng": {}, "counters": counters}, d / "checkpoint.pt")
        for name, columns in LOG_COLUMNS.items():
            (d / name).write_text(",".join(columns) + "\n")
        run = TrainingRun(dir=d, group="a2c", game="pong", workers=4, seed=0, total_frames=3200,
                          device=torch.device("cpu"), env=AtariConfig(), eval=EvalConfig(every_frames=800),
                          hyper=A2CConfig(), checkpoint_every_frames=800, log_every_updates=2, resolved={})
        return run._next_eval

    assert next_evaluation(1640) == 2400  # its last evaluation point (1600) was evaluated: the next one
    assert next_evaluation(880) == 1600  # cut short at 1600: due at the first update
    assert next_evaluation(None) == 1600


def test_a_longer_total_frames_extends_the_run_and_is_recorded(smoke, tmp_path):
    d = tmp_path / "run"
    shutil.copytree(smoke["run"], d)
    r = python("replication.train", *run_args(smoke["cfg"], d), "--total-frames", 4000)
    assert r.returncode == 0, r.stderr
    assert "extending it to total_frames 4000" in r.stderr and "changed: total_frames 3200 -> 4000" in r.stderr
    done = json.loads((d / "done.json").read_text())
    config = json.loads((d / "config.json").read_text())
    assert done["frames"] == 4000 and config["total_frames"] == 4000
    assert config["changes"] == [{"key": "total_frames", "from": 3200, "to": 4000, "frames": 3200, "resumes": 1}]
    old = json.loads((smoke["run"] / "config.json").read_text())
    assert config["fingerprint"] == old["fingerprint"] and len(old["fingerprint"]) == 16
    assert torch.load(d / "checkpoint.pt", weights_only=False)["fingerprint"] == old["fingerprint"]


def legacy(config: dict) -> dict:
    """``config`` as older code wrote it: the run group under ``algo``, and no ``algorithm`` (before it existed)."""
    return {("algo" if k == "group" else k): v for k, v in config.items() if k != "algorithm"}


def test_an_old_run_directory_is_the_same_run_and_resumes(smoke, tmp_path):
    """A run directory written before ``algo`` was renamed ``group`` (its config.json and its checkpoint's config)
    holds the same run: another group is refused naming the key by its new name, the same request resumes it without
    an identity mismatch, and its config.json is rewritten with ``group`` and the fingerprint it had."""
    d = tmp_path / "run"
    shutil.copytree(smoke["run"], d)
    old = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps(legacy(old)))
    state = torch.load(d / "checkpoint.pt", weights_only=False)
    torch.save({**state, "config": legacy(state["config"])}, d / "checkpoint.pt")
    r = python("replication.train", *run_args(smoke["cfg"], d, group="dqn", workers=1))
    assert r.returncode == 2 and "holds another run (config.json): group = 'a2c' there, 'dqn' requested" in r.stderr
    r = python("replication.train", *run_args(smoke["cfg"], d), "--total-frames", 4000)
    assert r.returncode == 0, r.stderr
    assert "extending it to total_frames 4000" in r.stderr and "holds another run" not in r.stderr
    config = json.loads((d / "config.json").read_text())
    assert (config["group"], config["algorithm"], config["resumes"]) == ("a2c", "a2c", 1) and "algo" not in config
    assert config["fingerprint"] == old["fingerprint"]
    assert json.loads((d / "done.json").read_text())["frames"] == 4000


def test_an_old_config_json_is_normalised_in_one_place(tmp_path):
    """``rundir.normalise_config`` reads ``algo`` as ``group`` (``algorithm`` defaulting to it); the identity check
    then finds no difference, and the fingerprint is the one the code before the rename gave (computed at commit
    81b6f7f)."""
    from replication.config.identity import check_run_dir
    from replication.runs.rundir import (fingerprint, identity_differences, normalise_config, read_config,
                                         run_identity)

    new = {"group": "a2c", "algorithm": "a2c", "game": "pong", "workers": 4, "seed": 0,
           "env": {"frame_skip": 4, "num_threads": 2}, "eval": {"episodes": 2}, "hyper": {"entropy_beta": 0.01},
           "total_frames": 3200}
    old = legacy(new)
    assert normalise_config(old) == new and normalise_config(new) == new and "group" not in old
    assert normalise_config({**old, "algorithm": "dqn"})["algorithm"] == "dqn"  # an old one with algorithm keeps it
    assert run_identity(old) == run_identity(new) and identity_differences(old, new) == []
    assert fingerprint(old) == fingerprint(new) == "e630b7df2a048b74"
    (tmp_path / "config.json").write_text(json.dumps(old))
    assert read_config(tmp_path)["group"] == "a2c"
    assert check_run_dir(tmp_path, new)["group"] == "a2c"  # held as the same run


def test_identity_keys_and_setting_keys_cover_the_resolved_run():
    """Every key ``resolve_run`` writes is either part of a run's identity or a setting that may change."""
    from replication.config.resolve import resolve_run
    from replication.config.load import load_config
    from replication.runs.rundir import IDENTITY_KEYS, SETTING_KEYS

    resolved = resolve_run(load_config(ROOT / "configs" / "smoke.yaml"), "a2c", "pong", 2, 0)
    derived = {"learning_rate"}  # follows from hyper and workers
    assert set(resolved) == set(IDENTITY_KEYS) | set(SETTING_KEYS) | derived
    assert not set(IDENTITY_KEYS) & set(SETTING_KEYS)
