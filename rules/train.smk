# Training: one job per run directory, {RESULTS}/runs/<group>/<game>/w<workers>/s<seed>/ (done.json when finished).


rule train:
    """One run of run group {group} (a key of the config's `groups`) on {game}: python -m replication.train."""
    output:
        f"{run_path('{group}', '{game}', '{workers}', '{seed}')}/done.json",
    log:
        f"{RESULTS}/logs/train/{{group}}/{{game}}/w{{workers}}/s{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{{group}}/{{game}}/w{{workers}}/s{{seed}}.tsv"
    params:
        run_config=run_config,
        out=lambda w: run_path(w.group, w.game, w.workers, w.seed),
    threads: lambda w: train_threads(w.group, int(w.workers))  # Snakemake caps this at --cores
    resources:
        mem_mb=lambda w: train_mem_mb(w.group, w.game, int(w.workers), int(w.seed)),
        gpu=lambda w: needs_gpu(w.group),
    retries: 2  # a preempted or killed job resumes from its checkpoint.pt
    shell:
        "{PY} -m replication.train --run-config {params.run_config} --out {params.out} "
        "--threads {threads} > {log} 2>&1"


rule train_peer:
    """Stable-Baselines3's run at the settings of our run group {group} (configs with `peer: true`; needs the
    `bench` extra): the learning-parity check (python -m replication.parity)."""
    output:
        f"{run_path(PEER_PREFIX + '{group}', '{game}', '{workers}', '{seed}')}/done.json",
    log:
        f"{RESULTS}/logs/train/{PEER_PREFIX}{{group}}/{{game}}/w{{workers}}/s{{seed}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/train/{PEER_PREFIX}{{group}}/{{game}}/w{{workers}}/s{{seed}}.tsv"
    params:
        run_config=run_config,  # our group's resolved run; train_peer relabels it sb3_<group>
        out=lambda w: run_path(PEER_PREFIX + w.group, w.game, w.workers, w.seed),
    threads: config["train_threads"]
    resources:
        mem_mb=lambda w: train_mem_mb(w.group, w.game, int(w.workers), int(w.seed)),
    retries: 2  # resumes from its checkpoint.pt
    shell:
        "{PY} -m replication.parity train --run-config {params.run_config} --out {params.out} "
        "--threads {threads} > {log} 2>&1"
