# Aggregate and report, once per scope: `replication` (every run of the plan: reports/replication.pdf) or
# `games/<game>` (one game's runs: reports/games/<game>.pdf, the target that reruns one game).


def scope_label(w):
    return scope_game(w.scope) or "all games"  # the subcategory of `snakemake --report`


def scope_words(w):
    """' for <game>' for a one-game scope, '' for all games: the captions' (rules/report/*.rst) words."""
    game = scope_game(w.scope)
    return f" for {game}" if game else ""


def report_title(w):
    """The report's --title option: the default title for all games, 'Replication report: <game>' for one."""
    game = scope_game(w.scope)
    return f"--title {shlex.quote('Replication report: ' + game)}" if game else ""


def tables(scope):
    """The aggregate step's outputs for ``scope`` (a pattern): one CSV per table plus runs.json (provenance); the tables
    a reader looks up and the provenance are flagged for `snakemake --report` (caption rules/report/<name>.rst)."""
    folder = f"{RESULTS}/tables/{scope}"
    names = ["scores", "curves", "throughput", "normalized", "missing", "parity", "parity_curves"]
    out = {**{n: f"{folder}/{n}.csv" for n in names}, "runs": f"{folder}/runs.json"}
    shown = {"scores": "Tables", "normalized": "Tables", "throughput": "Tables", "runs": "Provenance"}
    return {n: report(path, caption=f"report/{n}.rst", category=shown[n], subcategory=scope_label,
                      labels={"table": os.path.basename(path)}) if n in shown else path for n, path in out.items()}


rule aggregate:
    """The run directories of {scope} as tidy tables: python -m replication.aggregate."""
    input:
        lambda w: done_files(scope_game(w.scope)),
    output:
        **tables("{scope}"),
    log:
        f"{RESULTS}/logs/aggregate/{{scope}}.log",
    params:
        runs=lambda w, input: " ".join(shlex.quote(str(p).rsplit("/", 1)[0]) for p in input),
        out=f"{RESULTS}/tables/{{scope}}",
        scope_words=scope_words,
    resources:
        mem_mb=2000,
    shell:
        "{PY} -m replication.aggregate --out {params.out} {params.runs} > {log} 2>&1"


rule report:
    """The PDF of {scope} from its tables: python -m replication.report."""
    input:
        rules.aggregate.output,
    output:  # the PDF, its figure pages as PNGs and the verdict table as CSV (for `snakemake --report`)
        pdf=report(f"{REPORTS}/{{scope}}.pdf", caption="report/report_pdf.rst", category="Report",
                   subcategory=scope_label, labels=lambda w: {"report": os.path.basename(f"{w.scope}.pdf")}),
        figures=report(directory(f"{REPORTS}/{{scope}}/figures"), patterns=["{figure}.png"],
                       caption="report/figures.rst", category="Figures",
                       subcategory=scope_label, labels={"page": "{figure}"}),
        verdict=report(f"{REPORTS}/{{scope}}/verdict.csv", caption="report/verdict.rst", category="Tables",
                       subcategory=scope_label, labels={"table": "verdict.csv"}),
    log:
        f"{RESULTS}/logs/report/{{scope}}.log",
    params:
        tables=f"{RESULTS}/tables/{{scope}}",
        title=report_title,
        scope_words=scope_words,
    resources:
        mem_mb=2000,
    shell:
        "{PY} -m replication.report --tables {params.tables} --out {output.pdf} --figures {output.figures} "
        "--verdict {output.verdict} {params.title} {PUBLISHED} > {log} 2>&1"
