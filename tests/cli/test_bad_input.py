"""Bad input gets one clear line and exit status 2, never a traceback, a hang or a crash inside ale-py.

A battery of bad config values (every checked key of ``env:``, ``eval:`` and each algorithm's ``hyper:``) and bad
command-line arguments. Most cases run in-process (``main(argv)`` of the CLI, catching its ``SystemExit``); a few
run as a user would, through ``snakemake -n`` and ``python -m ...``. Last, SIGTERM while ale-py builds its
environments stops a train job at once.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import ROOT, start_train

# One run group per algorithm, each a valid base that a case breaks with one value.
GROUPS = {"a2c": {"workers": [4], "total_frames": 100}, "a3c_ff": {"workers": [1], "total_frames": 100},
          "a3c_lstm": {"workers": [1], "total_frames": 100}, "dqn": {"workers": [1], "total_frames": 100}}

# (where, overrides, what the message must contain): where is "env", "eval", "<label>.env" or "<label>.hyper"
CONFIG_CASES = [
    ("env", {"frame_skip": 0}, "config key env.frame_skip = 0; accepted: >= 1"),
    ("env", {"frame_skip": "4"}, "config key env.frame_skip = '4' has type str; accepted: an integer, >= 1"),
    ("env", {"screen_size": 64}, "config key env.screen_size = 64; accepted: 84"),
    ("env", {"frame_stack": 0}, "config key env.frame_stack = 0; accepted: >= 1"),  # hangs ale-py's vector env
    ("env", {"noop_max": -1}, "config key env.noop_max = -1; accepted: >= 0"),
    ("env", {"max_episode_frames": 0}, "config key env.max_episode_frames = 0; accepted: >= 1"),
    ("env", {"repeat_action_probability": 1.5}, "env.repeat_action_probability = 1.5; accepted: 0 <= value <= 1"),
    ("env", {"repeat_action_probability": float("nan")}, "env.repeat_action_probability = nan; accepted: a finite"),
    ("env", {"grayscale": False}, "config key env.grayscale = False; accepted: true"),
    ("env", {"clip_rewards": "yes"}, "env.clip_rewards = 'yes' has type str; accepted: true or false"),
    ("env", {"num_threads": -1}, "config key env.num_threads = -1; accepted: >= 0"),
    ("env", {"frame_skp": 4}, "unknown config key env.frame_skp; accepted: clip_rewards"),
    ("a2c.env", {"frame_stack": 0}, "config key groups.a2c.env.frame_stack = 0; accepted: >= 1"),
    ("eval", {"episodes": 0}, "config key eval.episodes = 0; accepted: >= 1"),  # segfaults ale-py
    ("eval", {"max_frames": 0}, "config key eval.max_frames = 0; accepted: >= 1"),
    ("eval", {"every_frames": -1}, "config key eval.every_frames = -1; accepted: >= 0"),
    ("eval", {"noop_max": -5}, "config key eval.noop_max = -5; accepted: >= 0"),
    ("eval", {"greedy": 1}, "config key eval.greedy = 1 has type int; accepted: true or false"),
    ("a2c.hyper", {"gamma": 1.5}, "config key groups.a2c.hyper.gamma = 1.5; accepted: 0 <= value <= 1"),
    ("a2c.hyper", {"learning_rate_per_env": 0}, "groups.a2c.hyper.learning_rate_per_env = 0; accepted: > 0"),
    ("a2c.hyper", {"rollout_length": 0}, "config key groups.a2c.hyper.rollout_length = 0; accepted: >= 1"),
    ("a2c.hyper", {"max_grad_norm": 0.0}, "config key groups.a2c.hyper.max_grad_norm = 0.0; accepted: > 0"),
    ("a2c.hyper", {"rmsprop_alpha": 1.0}, "config key groups.a2c.hyper.rmsprop_alpha = 1.0; accepted: 0 < value < 1"),
    ("a2c.hyper", {"rmsprop_eps": 0}, "config key groups.a2c.hyper.rmsprop_eps = 0; accepted: > 0"),
    ("a2c.hyper", {"network": "resnet"}, "config key groups.a2c.hyper.network = 'resnet'; accepted: nips, nature"),
    ("a2c.hyper", {"init": "xavier"}, "config key groups.a2c.hyper.init = 'xavier'; accepted: torch, orthogonal"),
    ("a2c.hyper", {"lr_schedule": "cosine"}, "groups.a2c.hyper.lr_schedule = 'cosine'; accepted: linear, constant"),
    ("a2c.hyper", {"env_groups": 3}, "env_groups = 3 does not divide workers = 4; accepted: a divisor of 4"),
    ("a2c.hyper", {"entropy_beta": -0.01}, "config key groups.a2c.hyper.entropy_beta = -0.01; accepted: >= 0"),
    ("a3c_ff.hyper", {"learning_rate": -1e-3}, "config key groups.a3c_ff.hyper.learning_rate = -0.001; accepted: > 0"),
    ("a3c_ff.hyper", {"gamma": -0.5}, "config key groups.a3c_ff.hyper.gamma = -0.5; accepted: 0 <= value <= 1"),
    ("a3c_ff.hyper", {"rollout_length": 2.5}, "groups.a3c_ff.hyper.rollout_length = 2.5 has type float; accepted: an"),
    ("a3c_lstm.hyper", {"max_grad_norm": float("inf")}, "groups.a3c_lstm.hyper.max_grad_norm = inf; accepted: a fin"),
    ("a3c_lstm.hyper", {"network": None}, "groups.a3c_lstm.hyper.network = None; accepted: nips, nature"),
    ("dqn.hyper", {"replay_capacity": 0}, "config key groups.dqn.hyper.replay_capacity = 0; accepted: >= 1"),
    ("dqn.hyper", {"replay_capacity": 100, "replay_start_agent_steps": 100},
     "groups.dqn.hyper.replay_start_agent_steps = 100; accepted: < replay_capacity (100)"),
    ("dqn.hyper", {"replay_capacity": 2, "replay_start_agent_steps": 0},
     "groups.dqn.hyper.replay_capacity = 2; accepted: >= the env frame_stack (4)"),
    ("dqn.hyper", {"batch_size": 0}, "config key groups.dqn.hyper.batch_size = 0; accepted: >= 1"),
    ("dqn.hyper", {"epsilon_end": 1.5}, "config key groups.dqn.hyper.epsilon_end = 1.5; accepted: 0 <= value <= 1"),
    ("dqn.hyper", {"rmsprop_decay": 1.0}, "config key groups.dqn.hyper.rmsprop_decay = 1.0; accepted: 0 <= value < 1"),
    ("dqn.hyper", {"target_update_agent_steps": 0}, "groups.dqn.hyper.target_update_agent_steps = 0; accepted: >= 1"),
    ("dqn.hyper", {"epsilon_decay_agent_steps": -1}, "groups.dqn.hyper.epsilon_decay_agent_steps = -1; accepted: >="),
    ("dqn.hyper", {"td_error_clip": 0}, "config key groups.dqn.hyper.td_error_clip = 0; accepted: > 0"),
]


def config_with(where: str, overrides: dict) -> tuple[dict, str]:
    """A workflow config with ``overrides`` at ``where``, and the run group label to train from it."""
    label, _, section = where.rpartition(".")
    label = label or "a2c"
    cfg = {"games": ["pong"], "device": "cpu", "groups": {label: dict(GROUPS[label])}}
    if where in ("env", "eval"):
        cfg[where] = overrides
    else:
        cfg["groups"][label][section] = overrides
    return cfg, label


def one_line_error(err: str) -> str:
    """The only non-empty line of ``err``, which must be ``error: ...``, with no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


def exits_2(main, argv: list[str], capsys) -> str:
    """Run a CLI's ``main(argv)`` in-process; it must exit with status 2 and one line. Returns that line."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    return one_line_error(capsys.readouterr().err)


def train_argv(configfile, label: str, out, *extra: str) -> list[str]:
    workers = str(GROUPS[label]["workers"][0])
    return ["--configfile", str(configfile), "--group", label, "--game", "pong", "--workers", workers, "--seed", "0",
            "--out", str(out), *extra]


@pytest.mark.parametrize("where,overrides,expected", CONFIG_CASES,
                         ids=[f"{w}.{'+'.join(o)}={list(o.values())[-1]}" for w, o, _ in CONFIG_CASES])
def test_bad_config_value_is_one_line_from_train(where, overrides, expected, tmp_path, capsys):
    from replication.cli.train import main

    cfg, label = config_with(where, overrides)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    line = exits_2(main, train_argv(path, label, tmp_path / "run"), capsys)
    assert expected in line
    assert not (tmp_path / "run").exists()  # refused before anything was written


def test_every_numeric_config_key_declares_its_range():
    """One declaration per key: every int or float field of the config dataclasses carries its range (pydantic
    metadata), which drives the check and its message; the paper defaults pass their own checks."""
    import typing

    from replication.envs.atari import AtariConfig
    from replication.algorithms.registry import algorithms
    from replication.core.errors import _field_checks
    from replication.envs.evaluate import EvalConfig

    for cls in (AtariConfig, EvalConfig, *(c for c, _ in algorithms().values())):
        cls()
        for name, hint in typing.get_type_hints(cls, include_extras=True).items():
            if typing.get_origin(hint) is not typing.Annotated:
                assert hint in (bool,) or typing.get_origin(hint) is typing.Literal, (cls.__name__, name, hint)
            elif typing.get_args(hint)[0] in (int, float):
                _, _, range_only = _field_checks(cls)[name]
                assert any(op in range_only for op in ("<", ">")), (cls.__name__, name, range_only)


def run_config_with(changes: dict) -> str:
    """A valid ``--run-config`` (as the Snakefile passes it) with ``changes``: ``{"seed": -2}`` replaces a key,
    ``{"hyper.gamma": 2}`` one key of a section."""
    from replication.config.resolve import resolve_run
    from replication.config.load import validate_config

    cfg = validate_config({"games": ["pong"], "device": "cpu", "groups": {"a2c": dict(GROUPS["a2c"])}})
    resolved = json.loads(json.dumps(resolve_run(cfg, "a2c", "pong", 4, 0)))
    for key, value in changes.items():
        section, _, name = key.rpartition(".")
        (resolved[section] if section else resolved)[name] = value
    return json.dumps(resolved)


def unwritable(tmp_path):
    """A folder this process cannot create files in: a read-only one, or /sys for root (who may write anywhere)."""
    if os.geteuid() == 0:
        return "/sys/replication-bad-input"
    ro = tmp_path / "readonly"
    ro.mkdir()
    ro.chmod(0o500)
    return str(ro / "run")


# (argv after the config's, what the message must contain); "{cfg}", "{file}", "{tmp}", "{ro}" are filled in
TRAIN_CASES = [
    (["--seed", "-1"], "--seed = -1; accepted: >= 0"),
    (["--threads", "-4"], "--threads = -4; accepted: >= 1"),
    (["--workers", "0"], "--workers = 0; accepted: >= 1"),
    (["--seed", "abc"], "argument --seed: invalid int value: 'abc'"),
    (["--total-frames", "0"], "--total-frames must be positive, got 0"),
    (["--game", "breakout"], "--game 'breakout' is not a game of run group 'a2c' in {cfg}; accepted: pong"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["--out", "{file}"], "is a file; accepted: a directory"),
    (["--out", "{file}/run"], "is under the file"),
    (["--out", "{ro}"], "is not writable"),
]
# (the JSON text, or changes to a valid one; what the message must contain)
RUN_CONFIG_CASES = [
    ("{bad", "--run-config is not valid JSON: Expecting property name"),
    ("[1, 2]", "--run-config is a JSON array; accepted: a JSON object with keys group, game"),
    ('{"group": "a2c"}', "--run-config lacks game, workers, seed"),
    ({"workers": "4"}, "--run-config key workers = '4' is a JSON string; accepted: a JSON integer"),
    ({"seed": -2}, "--run-config key seed = -2; accepted: >= 0"),
    ({"game": "pongg"}, "unknown game id 'pongg'"),
    ({"hyper.gamma": 2}, "--run-config: config key hyper.gamma = 2; accepted: 0 <= value <= 1"),
    ({"env.frame_stack": 0}, "--run-config: config key env.frame_stack = 0; accepted: >= 1"),
    ({"eval.episodes": 0}, "--run-config: config key eval.episodes = 0; accepted: >= 1"),
    ({"hyper.momentum": 0.9}, "unknown config key hyper.momentum"),
    ({"env": []}, "--run-config key env = [] is a JSON array; accepted: a JSON object"),
    ({"compile_optimizer": "yes"},
     "--run-config key compile_optimizer = 'yes' is a JSON string; accepted: a JSON boolean"),
]


@pytest.fixture
def good_config(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump({"games": ["pong"], "device": "cpu", "groups": {"a2c": dict(GROUPS["a2c"])}}))
    (tmp_path / "afile").write_text("not a folder")
    return path


def fill(args: list[str], tmp_path) -> list[str]:
    return [a.replace("{file}", str(tmp_path / "afile")).replace("{ro}", unwritable(tmp_path)) for a in args]


@pytest.mark.parametrize("args,expected", TRAIN_CASES, ids=[" ".join(a) for a, _ in TRAIN_CASES])
def test_bad_train_argument_is_one_line(args, expected, good_config, tmp_path, capsys):
    from replication.cli.train import main

    argv = train_argv(good_config, "a2c", tmp_path / "run") + fill(args, tmp_path)
    assert expected.replace("{cfg}", str(good_config)) in exits_2(main, argv, capsys)
    assert not (tmp_path / "run").exists()


# A list entry given twice is most likely a typo for another one, which would then never run: refused.
# (changes to a valid config, what the message must contain)
REPEAT_CASES = [
    ({"games": ["pong", "pong"]}, "config key games = ['pong', 'pong'] repeats 'pong'; accepted: each game once"),
    ({"seeds": [0, 1, 0]}, "config key seeds = [0, 1, 0] repeats 0; accepted: each seed once"),
    ({"a2c.games": ["pong", "breakout", "breakout"]},
     "config key groups.a2c.games = ['pong', 'breakout', 'breakout'] repeats 'breakout'; accepted: each game once"),
    ({"a2c.workers": [4, 4]}, "config key groups.a2c.workers = [4, 4] repeats 4; accepted: each value once"),
    ({"a2c.seeds": [2, 2]}, "config key groups.a2c.seeds = [2, 2] repeats 2; accepted: each seed once"),
]


def config_changed(changes: dict) -> dict:
    cfg = {"games": ["pong"], "device": "cpu", "groups": {"a2c": dict(GROUPS["a2c"])}}
    for key, value in changes.items():
        label, _, name = key.rpartition(".")
        (cfg["groups"][label] if label else cfg)[name] = value
    return cfg


@pytest.mark.parametrize("changes,expected", REPEAT_CASES, ids=[e.split(" repeats")[0] for _, e in REPEAT_CASES])
def test_a_repeated_list_entry_is_one_line(changes, expected, tmp_path, capsys):
    from replication.cli.train import main

    path = tmp_path / "repeated.yaml"
    path.write_text(yaml.safe_dump(config_changed(changes)))
    assert expected in exits_2(main, train_argv(path, "a2c", tmp_path / "run"), capsys)
    assert not (tmp_path / "run").exists()


# A config that still names a key as it was named before the rename (run groups were `algos:`, a group's algorithm
# `algo:`): one line naming the new name, before the schema would only call the key unexpected.
RENAMED_CASES = [
    ({"algos": {"a2c": dict(GROUPS["a2c"])}},
     "error: config key algos was renamed groups; accepted: groups (rename algos: to groups: in the config file)"),
    ({"algos": {"a2c": {**GROUPS["a2c"], "algo": "a2c"}}},
     "error: config key algos was renamed groups; accepted: groups (rename algos: to groups:, and each group's algo: "
     "to algorithm: in the config file)"),
    ({"groups": {"paac": {**GROUPS["a2c"], "algo": "a2c"}}},
     "error: config key groups.paac.algo was renamed algorithm; accepted: groups.paac.algorithm (rename algo: to "
     "algorithm: in the config file)"),
]
RENAMED_IDS = ["algos", "algos with algo", "groups.paac.algo"]


@pytest.mark.parametrize("groups,expected", RENAMED_CASES, ids=RENAMED_IDS)
def test_a_renamed_config_key_is_one_line_from_train(groups, expected, tmp_path, capsys):
    from replication.cli.train import main

    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump({"games": ["pong"], "device": "cpu", **groups}))
    label = next(iter(next(iter(groups.values()))))
    argv = ["--configfile", str(path), "--group", label, "--game", "pong", "--workers", "4", "--seed", "0", "--out",
            str(tmp_path / "run")]
    assert exits_2(main, argv, capsys) == expected
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("text,expected", RUN_CONFIG_CASES, ids=[e.split(";")[0] for _, e in RUN_CONFIG_CASES])
def test_bad_run_config_is_one_line(text, expected, tmp_path, capsys):
    from replication.cli.train import main

    text = text if isinstance(text, str) else run_config_with(text)
    assert expected in exits_2(main, ["--run-config", text, "--out", str(tmp_path / "run")], capsys)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("configfile,expected", [
    ("{tmp}", "cannot be read (Is a directory); accepted: a YAML file"),
    ("{tmp}/missing.yaml", "missing.yaml' not found"),
    ("{tmp}/broken.yaml", "is not valid YAML: while parsing"),
    ("{tmp}/list.yaml", "invalid config at (top level): ['pong'] is not a mapping"),
    ("{tmp}/empty.yaml", "invalid config at (top level): 'games' is a required property"),
])
def test_bad_configfile_is_one_line(configfile, expected, tmp_path, capsys):
    """What ``python -m replication.train --configfile`` says; ``snakemake --configfile`` reads the file itself
    before the Snakefile runs, and its own messages are left to it (docs/reliability.md)."""
    from replication.cli.train import main

    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "broken.yaml").write_text("games: [pong\ngroups: {a2c: {workers: [4]}}\n")
    (tmp_path / "list.yaml").write_text("- pong\n")
    path = configfile.replace("{tmp}", str(tmp_path))
    assert expected in exits_2(main, train_argv(path, "a2c", tmp_path / "run"), capsys)


# (module of python -m replication.<module>, its argv, what the message must contain)
OTHER_CLI_CASES = [
    ("aggregate", ["--out", "{file}", "{tmp}"], "--out '{file}' is a file; accepted: a directory"),
    ("report", ["--tables", "{tmp}", "--out", "{tmp}"], "--out '{tmp}' is a directory; accepted: a file path"),
    ("report", ["--tables", "{tmp}", "--out", "{file}/r.pdf"], "is under the file '{file}'"),
    ("report", ["--tables", "{tmp}"], "the following arguments are required: --out"),
    ("benchmarks", ["--out", "{file}", "{tmp}"], "--out '{file}' is a file; accepted: a directory"),
    ("bench", ["--out", "{file}/bench.csv"], "is under the file '{file}'"),
    ("bench", ["--threads", "0"], "--threads must be >= 1, got 0"),
    ("bench", ["--frames", "ten"], "argument --frames: invalid int value: 'ten'"),
    ("parity", ["table", "--out", "{file}/parity.csv", "{tmp}"], "is under the file '{file}'"),
    ("parity", ["train", "--run-config", '"x"'], "--run-config is a JSON string"),
    ("parity", ["train", "--configfile", "c.yaml", "--seed", "-3"], "--seed = -3; accepted: >= 0"),
    ("parity", [], "the following arguments are required: command"),
]


@pytest.mark.parametrize("module,args,expected", OTHER_CLI_CASES,
                         ids=[f"{m} {' '.join(a)}" for m, a, _ in OTHER_CLI_CASES])
def test_bad_argument_of_other_clis_is_one_line(module, args, expected, tmp_path, capsys):
    import importlib

    cli = importlib.import_module(f"replication.{module}")
    if hasattr(cli, "__path__"):  # a package: python -m runs its __main__, as here
        cli = importlib.import_module(f"replication.{module}.__main__")
    main = cli.main
    (tmp_path / "afile").write_text("not a folder")

    def fill_in(s: str) -> str:
        return s.replace("{file}", str(tmp_path / "afile")).replace("{tmp}", str(tmp_path))

    assert fill_in(expected) in exits_2(main, [fill_in(a) for a in args], capsys)


# -- as a user runs them: snakemake -n, python -m -------------------------------------------------------------
def run(*argv: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("where,overrides,expected", [
    ("env", {"frame_stack": 0}, "error: config key env.frame_stack = 0; accepted: >= 1"),
    ("eval", {"episodes": 0}, "error: config key eval.episodes = 0; accepted: >= 1"),
    ("a2c.hyper", {"gamma": 1.5}, "error: config key groups.a2c.hyper.gamma = 1.5; accepted: 0 <= value <= 1"),
], ids=["env.frame_stack=0", "eval.episodes=0", "a2c.hyper.gamma=1.5"])
def test_snakemake_dry_run_refuses_a_bad_value_in_one_line(where, overrides, expected, tmp_path):
    cfg, _ = config_with(where, overrides)
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    r = run("snakemake", "-n", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile",
            str(tmp_path / "bad.yaml"))
    assert r.returncode == 2, r.stderr[-2000:]
    assert one_line_error(r.stderr) == expected


@pytest.mark.parametrize("groups,expected", RENAMED_CASES[::2], ids=RENAMED_IDS[::2])
def test_snakemake_dry_run_refuses_a_renamed_config_key_in_one_line(groups, expected, tmp_path):
    (tmp_path / "old.yaml").write_text(yaml.safe_dump({"games": ["pong"], "device": "cpu", **groups}))
    r = run("snakemake", "-n", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile",
            str(tmp_path / "old.yaml"))
    assert r.returncode == 2, r.stderr[-2000:]
    assert one_line_error(r.stderr) == expected


def test_snakemake_dry_run_refuses_a_repeated_game_in_one_line(tmp_path):
    (tmp_path / "repeated.yaml").write_text(yaml.safe_dump(config_changed({"games": ["pong", "pong"]})))
    r = run("snakemake", "-n", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), "--configfile",
            str(tmp_path / "repeated.yaml"))
    assert r.returncode == 2, r.stderr[-2000:]
    assert one_line_error(r.stderr).startswith("error: config key games = ['pong', 'pong'] repeats 'pong'")


def test_train_cli_refuses_a_bad_value_in_one_line(tmp_path):
    cfg, _ = config_with("dqn.hyper", {"batch_size": 0})
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    r = run("replication.train", *train_argv(tmp_path / "bad.yaml", "dqn", tmp_path / "run"))
    assert r.returncode == 2
    assert one_line_error(r.stderr) == "error: config key groups.dqn.hyper.batch_size = 0; accepted: >= 1"


def test_train_cli_refuses_a_run_config_that_is_not_an_object(tmp_path):
    r = run("replication.train", "--run-config", "[1]", "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    assert one_line_error(r.stderr).startswith("error: --run-config is a JSON array; accepted: a JSON object")


def test_sigterm_while_ale_py_builds_its_environments_stops_the_job_at_once(tmp_path):
    """ale-py's vector env constructor holds the GIL for seconds (64 Pong emulators), so a Python signal handler
    would wait for it (forever, if it hung). Before training starts there is nothing to save: SIGTERM keeps its
    default action and ends the process at once, which a shell and Snakemake's job script report as status 143."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump({"games": ["pong"], "device": "cpu",
                                   "groups": {"a2c": {"workers": [64], "total_frames": 100_000}}}))
    out = tmp_path / "run"
    proc = start_train(cfg, out, workers=64)
    try:
        deadline = time.time() + 60
        while not (out / ".lock").exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)  # the run directory's lock: the config is checked, the environments come next
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        t0 = time.time()
        _, err = proc.communicate(timeout=15)
        waited = time.time() - t0
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGTERM, err[-2000:]
    assert waited < 5, waited
    assert "Traceback" not in err
    assert not (out / "config.json").exists()  # training had not started: nothing to save, nothing written


def test_device_cuda_on_a_host_without_cuda_names_the_value_and_what_is_accepted():
    import torch

    from replication.config.resolve import resolve_device
    from replication.core.errors import UserError

    if torch.cuda.is_available():
        pytest.skip("this host has CUDA (the lent device): the refusal is for hosts without it")
    assert resolve_device("cpu") == "cpu" and resolve_device("auto") == "cpu"
    with pytest.raises(UserError, match=r"^device 'cuda' requested but this host has no CUDA \(torch .*\); "
                                        r"accepted: device: cpu or auto on this host$"):
        resolve_device("cuda")
