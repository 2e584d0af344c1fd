# Replication workflow: train -> aggregate -> report. The users' entry point; the rules are in rules/*.smk:
#   rules/common.smk   the run plan and the helpers the rules share (paths, threads, memory, GPU)
#   rules/train.smk    train (one run directory per group, game, workers, seed) and train_peer (Stable-Baselines3)
#   rules/results.smk  aggregate and report, once per scope: all games, or one game
#   rules/extras.smk   opt-in targets: parity, progress (while training), bench (speed on this host)
# Thin on purpose: paths and resources only; every step is `python -m replication.<module>` and runs by hand the
# same way.
#
#   snakemake --cores all                                  # configs/default.yaml
#   snakemake --cores 16 --configfile configs/smoke.yaml   # another config
#   snakemake --cores 4 reports/games/pong.pdf             # one game: trains what is missing, one report
#   snakemake --report reports/report.html                 # Snakemake's HTML report of the finished workflow
#
# Jobs run in the interpreter that runs Snakemake (the `.venv` that `make` builds from pyproject.toml's pins), not
# in per-rule conda environments: every rule calls the installed `replication` package, and one pinned install is
# the one set of versions each run's config.json records.


import os

# configs/default.yaml unless --configfile names another (then that one alone, not merged over the default)
if not workflow.config_settings.configfiles:

    configfile: os.path.join(workflow.basedir, "configs", "default.yaml")


include: "rules/common.smk"  # validates the config (one line and exit 2 on a bad one), then the plan


report: "rules/report/workflow.rst"  # `snakemake --report`: outputs flagged report(...), captions in rules/report/


wildcard_constraints:
    # our run groups (config key groups); sb3_<group> directories are train_peer's
    group=f"(?!{PEER_PREFIX})[a-z0-9_]+",
    game="[a-z0-9_]+",
    workers="[0-9]+",
    seed="[0-9]+",
    scope="replication|games/[a-z0-9_]+",  # the report of all games, or of one game


onstart:
    # before the first job of a real run (not a dry run); on a cluster executor each job gets a node's cores
    check_a3c_fits()


rule all:
    input:
        f"{REPORTS}/replication.pdf",


include: "rules/train.smk"
include: "rules/results.smk"
include: "rules/extras.smk"
