# Opt-in targets, each named on the command line: parity, progress, bench.

import glob


rule parity:
    """`snakemake --cores 2 --configfile configs/parity.yaml parity`: both sides of every `peer: true` group,
    then the tables (parity.csv among them) and the report with its parity page."""
    input:
        f"{REPORTS}/replication.pdf",


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
