"""The Snakemake workflow's dry runs and config checks (the smoke run end to end:
tests/workflow/test_smoke_workflow.py)."""

import re

import pytest
import yaml

from conftest import ROOT, snakemake


def job_counts(output: str) -> dict:
    table = output.split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_default_config_dry_run_lists_train_jobs(tmp_path):
    r = snakemake(tmp_path, "-n")
    assert r.returncode == 0, r.stderr
    counts = job_counts(r.stdout + r.stderr)
    assert counts["train"] == 7  # a2c on pong (PAAC's reproduction) + {a3c_ff, a3c_lstm, dqn} x {pong, breakout}
    assert counts["aggregate"] == 1 and counts["report"] == 1


def test_one_game_target_plans_only_that_game(tmp_path):
    r = snakemake(tmp_path, "-n", "reports/games/pong.pdf")
    assert r.returncode == 0, r.stderr
    out = r.stdout + r.stderr
    assert job_counts(out)["train"] == 4 and "breakout" not in out  # 4 algorithms, seed 0


def test_bad_config_fails_before_any_job(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"games": ["pongg"], "groups": {"a2c": {"workers": [4], "total_frames": 10}}}))
    r = snakemake(tmp_path, "-n", "--configfile", str(bad))
    assert r.returncode != 0
    assert "error: unknown game id 'pongg'" in r.stderr and "pong" in r.stderr
    assert "Traceback" not in r.stderr


def test_more_a3c_workers_than_cores_fails_before_any_job(tmp_path):
    r = snakemake(tmp_path, "--cores", "2", "--configfile", str(ROOT / "configs" / "mnih2016.yaml"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "error: groups.a3c_ff.workers = 16 but snakemake was given --cores 2; accepted: workers <= 2" in r.stderr
    assert not (tmp_path / "results").exists()


def test_workers_fit_cores_check_only_counts_a3c():
    from replication.config.load import validate_config
    from replication.config.plan import check_workers_fit_cores
    from replication.core.errors import UserError

    cfg = validate_config({"games": ["pong"], "groups": {"a2c": {"workers": [32], "total_frames": 100},
                                                         "a3c_ff": {"workers": [1, 4], "total_frames": 100}}})
    check_workers_fit_cores(cfg, 4)  # A2C's 32 environments run in one process: no limit
    check_workers_fit_cores(cfg, None)  # cluster executor: each job gets its own node
    with pytest.raises(UserError, match="groups.a3c_ff.workers = 4 but snakemake was given --cores 3"):
        check_workers_fit_cores(cfg, 3)


def _train_jobs_per_group(output: str) -> dict:
    counts = {}
    for m in re.finditer(r"wildcards: group=(\w+), game=(\w+), workers=(\d+), seed=(\d+)", output):
        counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def test_paper_configs_plan_the_expected_jobs(tmp_path):
    r = snakemake(tmp_path, "-n", "--configfile", str(ROOT / "configs" / "mnih2016.yaml"))
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout + r.stderr
    assert job_counts(out) == {"train": 798, "aggregate": 1, "report": 1, "all": 1, "total": 801}
    # 57 games x 3 seeds per main group; 7 games x 5 worker counts; 5 games x 50 learning rates
    assert _train_jobs_per_group(out) == {"a3c_ff": 171, "a3c_lstm": 171, "dqn": 171, "a3c_ff_speedup": 35,
                                          "a3c_ff_lr": 250}
    r = snakemake(tmp_path, "-n", "--configfile", str(ROOT / "configs" / "clemente2017.yaml"))
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout + r.stderr
    assert job_counts(out)["train"] == 120  # 12 games x 5 num_envs x 2 networks
    assert _train_jobs_per_group(out) == {"a2c": 60, "a2c_nature": 60}


def test_learning_rate_sweep_resolves_per_seed():
    from replication.config.resolve import resolve_run
    from replication.config.load import validate_config
    from replication.config.plan import LR_RANGE, run_plan, sampled_learning_rate

    cfg = validate_config({"games": ["pong"], "groups": {
        "sweep": {"algorithm": "a3c_ff", "workers": [2], "lr_samples": 20, "total_frames": 100},
        "paac": {"algorithm": "a2c", "workers": [32], "learning_rates": [0.0224, 0.001], "total_frames": 100}}})
    plan = run_plan(cfg)
    assert [p for p in plan if p[0] == "sweep"] == [("sweep", "pong", 2, s) for s in range(20)]
    lrs = [resolve_run(cfg, "sweep", "pong", 2, s)["hyper"]["learning_rate"] for s in range(20)]
    assert all(LR_RANGE[0] <= lr <= LR_RANGE[1] for lr in lrs) and len(set(lrs)) == 20
    assert lrs[3] == sampled_learning_rate(3)  # the same seed gives the same rate everywhere
    run = resolve_run(cfg, "paac", "pong", 32, 0)
    assert run["algorithm"] == "a2c" and run["learning_rate"] == pytest.approx(0.0224)
    assert run["hyper"]["learning_rate_per_env"] == pytest.approx(0.0007)


def test_slurm_profile_dry_run_requests_the_configured_resources(tmp_path):
    r = snakemake(tmp_path, "-n", "--profile", str(ROOT / "profiles" / "slurm"),
                  "--configfile", str(ROOT / "configs" / "smoke.yaml"))
    assert r.returncode == 0, r.stderr[-2000:]
    out = r.stdout + r.stderr
    blocks = [b for b in out.split("rule train:")[1:]]
    assert len(blocks) == 6
    for b in blocks:
        res = re.search(r"resources: (.*)", b).group(1)
        assert "slurm_partition=CHANGE_ME_PARTITION" in res and "slurm_account=CHANGE_ME_ACCOUNT" in res
        assert "runtime=2880" in res and "gpu=0" in res
        mem = int(re.search(r"mem_mb=(\d+)", res).group(1))
        # the config's mem_mb_per_train_job (4000); DQN adds its replay: 2001 slots of 84*84+14 bytes -> 14 MB
        assert mem == (4014 if "group=dqn" in b else 4000)
    gpu = snakemake(tmp_path, "-n", "--profile", str(ROOT / "profiles" / "gpu"),
                    "--configfile", str(ROOT / "configs" / "smoke.yaml"))
    assert gpu.returncode == 0, gpu.stderr[-2000:]


def test_dqn_trains_with_life_loss_terminals_and_groups_override_env():
    """Nature DQN ends a training episode at a lost life (release code; Dopamine dqn_nature.gin), A3C/PAAC do not;
    a config's top-level env: and a group's own env: override the algorithm's protocol, in that order."""
    from replication.config.resolve import resolve_run
    from replication.config.load import validate_config
    from replication.core.errors import UserError

    cfg = validate_config({"games": ["pong"], "groups": {
        "dqn": {"workers": [1], "total_frames": 100},
        "a2c": {"workers": [4], "total_frames": 100},
        "a3c_ff": {"workers": [1], "total_frames": 100, "env": {"noop_max": 7}}}})
    life = {label: resolve_run(cfg, label, "pong", w, 0)["env"]["terminal_on_life_loss"]
            for label, w in (("dqn", 1), ("a2c", 4), ("a3c_ff", 1))}
    assert life == {"dqn": True, "a2c": False, "a3c_ff": False}
    assert resolve_run(cfg, "a3c_ff", "pong", 1, 0)["env"]["noop_max"] == 7
    assert resolve_run(cfg, "a2c", "pong", 4, 0)["env"]["noop_max"] == 30
    cfg["env"] = {"terminal_on_life_loss": False}
    assert resolve_run(cfg, "dqn", "pong", 1, 0)["env"]["terminal_on_life_loss"] is False
    bad = {"games": ["pong"], "groups": {"a2c": {"workers": [4], "total_frames": 100, "env": {"frame_skp": 4}}}}
    with pytest.raises(UserError, match="unknown config key groups.a2c.env.frame_skp"):
        validate_config(bad)


def test_device_is_declared_as_written_and_resolved_only_by_the_job(tmp_path):
    """A cluster login node without CUDA plans `device: cuda` runs (each asks for a GPU), and `auto` asks for a
    GPU only where the jobs run on the host that parses the workflow and it has one."""
    import torch

    from replication.config.resolve import requests_gpu
    from replication.config.load import validate_config

    cfg = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    validate_config({**cfg, "device": "cuda"})  # no CUDA needed to check a config
    assert requests_gpu("cuda", local=False) and requests_gpu("cuda", local=True)
    assert not requests_gpu("cpu", local=True) and not requests_gpu("auto", local=False)
    assert requests_gpu("auto", local=True) == torch.cuda.is_available()
    path = tmp_path / "cuda.yaml"
    path.write_text(yaml.safe_dump({**cfg, "device": "cuda"}))
    r = snakemake(tmp_path, "-n", "--profile", str(ROOT / "profiles" / "slurm"), "--configfile", str(path))
    assert r.returncode == 0, r.stderr[-2000:]
    res = re.findall(r"resources: (.*)", (r.stdout + r.stderr).split("rule train:", 1)[1])[0]
    assert "gpu=1" in res
