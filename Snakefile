# Replication workflow: train -> aggregate -> report. Thin on purpose: paths and resources only;
# every step is `python -m replication.<module>` and runs by hand the same way.
#
#   snakemake --cores all                                  # configs/default.yaml
#   snakemake --cores 16 --configfile configs/smoke.yaml   # another config
#   snakemake --cores 4 reports/games/pong.pdf             # one game: trains what is missing, one report
#   snakemake --report reports/report.html                 # Snakemake's HTML report of the finished workflow

import glob
import json
import os
import shlex
import sys

from replication.algorithms.replay import replay_nbytes
from replication.config.load import validate_config
from replication.config.plan import check_workers_fit_cores, group_algorithm, peer_plan, run_plan
from replication.config.resolve import requests_gpu, resolve_run
from replication.core.errors import UserError
from replication.peers.sb3 import PEER_PREFIX
from replication.runs.rundir import run_dir


# configs/default.yaml unless --configfile names another (then that one alone, not merged over the default)
if not workflow.config_settings.configfiles:

    configfile: os.path.join(workflow.basedir, "configs", "default.yaml")


try:
    validate_config(config)  # replication/data/config_schema.yaml via snakemake.utils.validate, then games/algos/keys
except UserError as e:
    sys.stderr.write(f"error: {e}\n")
    sys.exit(2)

PY = shlex.quote(sys.executable)
# the suite's own published results: the report draws their curves beside a rerun at the same settings
_BENCHMARKS = os.path.join(workflow.basedir, "benchmarks")
PUBLISHED = f"--published {shlex.quote(_BENCHMARKS)}" if os.path.isdir(_BENCHMARKS) else ""
RESULTS = config["results_dir"]
REPORTS = config["reports_dir"]
PLAN = run_plan(config) + peer_plan(config)  # peers: Stable-Baselines3 runs of groups with `peer: true`
GAMES = sorted({game for _, game, _, _ in PLAN})


def run_path(algo, game, workers, seed):
    return str(run_dir(RESULTS, algo, game, workers, seed))  # the one definition of a run directory's path


def algorithm(label):
    return group_algorithm(label, config["algos"][label])


def needs_gpu(label):
    # the device as written; it is resolved (auto -> cuda/cpu) only by the job, on the host it runs on
    return int(requests_gpu(config["algos"][label].get("device", config["device"]), workflow.local_exec))


def train_threads(label, workers):
    # A3C: one thread per actor-learner process (Mnih 2016 Supp. section 8); others: train_threads
    return workers if algorithm(label).startswith("a3c") else config["train_threads"]


def train_mem_mb(label, game, workers, seed):
    # DQN preallocates its replay buffer (about 7.07 GB at 1M transitions) on top of a job's usual memory
    mem = config["mem_mb_per_train_job"]
    if algorithm(label) == "dqn":
        run = resolve_run(config, label, game, workers, seed)
        frame = (run["env"]["screen_size"], run["env"]["screen_size"])
        mem += -(-replay_nbytes(run["hyper"]["replay_capacity"], frame) // 2**20)
    return mem


def done_files(game=None):
    return [f"{run_path(*r)}/done.json" for r in PLAN if game is None or r[1] == game]


report: "report/workflow.rst"  # `snakemake --report`: outputs flagged report(...) below, captions in report/


wildcard_constraints:
    algo=f"(?!{PEER_PREFIX})[a-z0-9_]+",  # our run groups; sb3_<label> directories are train_peer's
    game="[a-z0-9_]+",
    workers="[0-9]+",
    seed="[0-9]+",


onstart:
    # before the first job of a real run (not a dry run); on a cluster executor each job gets a node's cores
    try:
        needed = {(j.wildcards.algo, int(j.wildcards.workers)) for j in workflow.dag.needrun_jobs()
                  if j.rule.name == "train"}  # the A3C runs this invocation will train, not the whole plan
        # in plan order (the DAG's order is not fixed), so the same config always names the same run group
        training = [(label, workers) for label, _, workers, _ in run_plan(config) if (label, workers) in needed]
        check_workers_fit_cores(config, workflow.resource_settings.cores if workflow.local_exec else None, training)
    except UserError as e:
        sys.stderr.write(f"error: {e}\n")
        sys.exit(2)


rule all:
    input:
        f"{REPORTS}/replication.pdf",


rule train:
    output:
        f"{run_path('{algo}', '{game}', '{workers}', '{seed}')}/done.json",
    log:
        f"{RESULTS}/logs/train/{{algo}}/{{game}}/w{{workers}}/s{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{algo}}/{{game}}/w{{workers}}/s{{seed}}.tsv"
    params:
        run_config=lambda w: shlex.quote(
            json.dumps(resolve_run(config, w.algo, w.game, int(w.workers), int(w.seed)))
        ),
        out=lambda w: run_path(w.algo, w.game, w.workers, w.seed),
    threads: lambda w: train_threads(w.algo, int(w.workers))  # Snakemake caps this at --cores
    resources:
        mem_mb=lambda w: train_mem_mb(w.algo, w.game, int(w.workers), int(w.seed)),
        gpu=lambda w: needs_gpu(w.algo),
    retries: 2  # a preempted or killed job resumes from its checkpoint.pt
    shell:
        "{PY} -m replication.train --run-config {params.run_config} --out {params.out} "
        "--threads {threads} > {log} 2>&1"


rule train_peer:
    """Stable-Baselines3's run at the settings of our run group {algo} (configs with `peer: true`; needs the
    `bench` extra): the learning-parity check (python -m replication.parity)."""
    output:
        f"{run_path(PEER_PREFIX + '{algo}', '{game}', '{workers}', '{seed}')}/done.json",
    log:
        f"{RESULTS}/logs/train/{PEER_PREFIX}{{algo}}/{{game}}/w{{workers}}/s{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{PEER_PREFIX}{{algo}}/{{game}}/w{{workers}}/s{{seed}}.tsv"
    params:
        run_config=lambda w: shlex.quote(  # our group's resolved run; train_peer relabels it sb3_<label>
            json.dumps(resolve_run(config, w.algo, w.game, int(w.workers), int(w.seed)))
        ),
        out=lambda w: run_path(PEER_PREFIX + w.algo, w.game, w.workers, w.seed),
    threads: config["train_threads"]
    resources:
        mem_mb=lambda w: train_mem_mb(w.algo, w.game, int(w.workers), int(w.seed)),
    retries: 2  # resumes from its checkpoint.pt
    shell:
        "{PY} -m replication.parity train --run-config {params.run_config} --out {params.out} "
        "--threads {threads} > {log} 2>&1"


rule parity:
    """`snakemake --cores 2 --configfile configs/parity.yaml parity`: both sides of every `peer: true` group,
    then the tables (parity.csv among them) and the report with its parity page."""
    input:
        f"{REPORTS}/replication.pdf",


def tables(folder, subcategory):
    """The aggregate step's outputs in ``folder``: one CSV per table plus runs.json (provenance); the tables a
    reader looks up and the provenance are flagged for `snakemake --report` (caption report/<name>.rst)."""
    names = ["scores", "curves", "throughput", "normalized", "missing", "parity", "parity_curves"]
    out = {**{n: f"{folder}/{n}.csv" for n in names}, "runs": f"{folder}/runs.json"}
    shown = {"scores": "Tables", "normalized": "Tables", "throughput": "Tables", "runs": "Provenance"}
    return {n: report(path, caption=f"report/{n}.rst", category=shown[n], subcategory=subcategory,
                      labels={"table": os.path.basename(path)}) if n in shown else path for n, path in out.items()}


def run_dirs(input):
    return " ".join(shlex.quote(str(p).rsplit("/", 1)[0]) for p in input)


rule aggregate:
    input:
        done_files(),
    output:
        **tables(f"{RESULTS}/tables", "all games"),
    log:
        f"{RESULTS}/logs/aggregate.log",
    params:
        runs=lambda w, input: run_dirs(input),
        out=f"{RESULTS}/tables",
    resources:
        mem_mb=2000,
    shell:
        "{PY} -m replication.aggregate --out {params.out} {params.runs} > {log} 2>&1"


rule report:
    input:
        rules.aggregate.output,
    output:  # the PDF, its figure pages as PNGs and the verdict table as CSV (for `snakemake --report`)
        pdf=report(f"{REPORTS}/replication.pdf", caption="report/report_pdf.rst", category="Report",
                   subcategory="all games", labels={"report": "replication.pdf"}),
        figures=report(directory(f"{REPORTS}/replication/figures"), patterns=["{figure}.png"],
                       caption="report/figures.rst", category="Figures", subcategory="all games",
                       labels={"page": "{figure}"}),
        verdict=report(f"{REPORTS}/replication/verdict.csv", caption="report/verdict.rst", category="Tables",
                       subcategory="all games", labels={"table": "verdict.csv"}),
    log:
        f"{RESULTS}/logs/report.log",
    params:
        tables=f"{RESULTS}/tables",
    resources:
        mem_mb=2000,
    shell:
        "{PY} -m replication.report --tables {params.tables} --out {output.pdf} --figures {output.figures} "
        "--verdict {output.verdict} {PUBLISHED} > {log} 2>&1"


rule progress:
    """`snakemake --cores 1 progress`: reports/progress.pdf from every run directory present, finished or not
    (python -m replication.progress_report); it starts and waits for no training, so it can run beside the
    workflow that trains. Its inputs are the logs that exist now, so it is rebuilt whenever one has grown."""
    input:
        lambda w: sorted(glob.glob(f"{RESULTS}/runs/*/*/w*/s*/episodes.csv")),
    output:
        f"{REPORTS}/progress.pdf",
    log:
        f"{RESULTS}/logs/progress.log",
    params:
        runs=f"{RESULTS}/runs",
    resources:
        mem_mb=2000,
    shell:
        "{PY} -m replication.progress_report --runs {params.runs} --out {output} > {log} 2>&1"


rule bench:
    """Opt-in (`snakemake --cores all bench`): training throughput beside Stable-Baselines3 on this host, in one
    run (python -m replication.bench; needs the `bench` extra), as results/bench/bench.csv and reports/bench.pdf."""
    output:
        csv=report(f"{RESULTS}/bench/bench.csv", caption="report/bench.rst", category="Speed",
                   labels={"file": "bench.csv"}),
        pdf=report(f"{REPORTS}/bench.pdf", caption="report/bench.rst", category="Speed", labels={"file": "bench.pdf"}),
    log:
        f"{RESULTS}/logs/bench.log",
    # the whole host (lines run one after another, each measured alone); 1 where no --cores was given (cluster)
    threads: workflow.resource_settings.cores or 1
    resources:
        mem_mb=8000,
    shell:
        "({PY} -m replication.bench --threads {threads} --out {output.csv} && "
        "{PY} -m replication.report --bench {output.csv} --out {output.pdf}) > {log} 2>&1"


rule aggregate_game:
    input:
        lambda w: done_files(w.game),
    output:
        **tables(f"{RESULTS}/tables/games/{{game}}", "{game}"),
    log:
        f"{RESULTS}/logs/aggregate_{{game}}.log",
    params:
        runs=lambda w, input: run_dirs(input),
        out=lambda w: f"{RESULTS}/tables/games/{w.game}",
    resources:
        mem_mb=2000,
    shell:
        "{PY} -m replication.aggregate --out {params.out} {params.runs} > {log} 2>&1"


rule report_game:
    input:
        rules.aggregate_game.output,
    output:  # as rule report's, for one game
        pdf=report(f"{REPORTS}/games/{{game}}.pdf", caption="report/report_pdf.rst", category="Report",
                   subcategory="{game}", labels={"report": "{game}.pdf"}),
        figures=report(directory(f"{REPORTS}/games/{{game}}/figures"), patterns=["{figure}.png"],
                       caption="report/figures.rst", category="Figures", subcategory="{game}",
                       labels={"page": "{figure}"}),
        verdict=report(f"{REPORTS}/games/{{game}}/verdict.csv", caption="report/verdict.rst", category="Tables",
                       subcategory="{game}", labels={"table": "verdict.csv"}),
    log:
        f"{RESULTS}/logs/report_{{game}}.log",
    params:
        tables=lambda w: f"{RESULTS}/tables/games/{w.game}",
    resources:
        mem_mb=2000,
    shell:
        "{PY} -m replication.report --tables {params.tables} --out {output.pdf} --figures {output.figures} "
        "--verdict {output.verdict} --title 'Replication report: {wildcards.game}' {PUBLISHED} > {log} 2>&1"
