"""``python -m replication.report``: tables -> one PDF (pages laid out by ``report_layout``, seaborn figures).

Usage::

    python -m replication.report --tables results/tables/replication --out reports/replication.pdf \\
        [--figures reports/replication/figures] [--verdict reports/replication/verdict.csv]

Answers first: page 1 says what was run (games, algorithms, seeds, frames, hardware, total time) and starts the
verdict table (per run group and game: our score with its 95% CI over seeds beside the paper's, and reproduced /
below paper / above paper / not comparable, with why); then the contents; then the papers' tables and figures in
the papers' order: Mnih et al. 2016 Figure 1 (learning curves vs frames, and vs wall-clock hours), Table 1
(human-normalized summary, performance profile with 3+ games), Figure 2 (score vs learning rate, when swept),
Table 2 (speed-up vs workers, when several worker counts ran), Figures 3 and 4 with our A3C FF curves over the
paper's band for the same thread count, Table S3 (scores per game); Clemente et
al. 2017 (Table 1 with ours and its verdicts, Figures 3 and 4 with our curves over the paper's bands, Figure 2 on this
host; replication/report/clemente.py); then what the papers do not have (parity with Stable-Baselines3,
per-run tables); then protocol and provenance. Every number names its seeds and protocol; every paper number its
source. ``--figures`` also writes every figure page as a PNG, ``--verdict`` the verdict table as CSV (Snakemake's
``--report`` collects both).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from replication.core.errors import ArgumentParser, UserError, check_output, cli_main
from replication.report.bench_report import build_bench_report
from replication.report.clemente import clemente_lines
from replication.report.layout import Document
from replication.report.pdf_pages import atomic_write_folder, report_pdf
from replication.report.sections import VERDICT_CAPTION, paper_sections, provenance_lines, run_lines
from replication.results.verdict import VERDICT_FILLS, per_game_summary, verdict_shown, verdict_table
from replication.runs.rundir import atomic_write_bytes


# ------------------------------------------------------------------------------------------------------ figures


# ----------------------------------------------------------------------------------------------------- sections


def _published(folder: str | Path | None) -> pd.DataFrame | None:
    """``claims_training_curves.csv`` of the suite's results folder, or None without one.

    Raises:
        UserError: ``folder`` is given but is not a folder.
    """
    if folder is None:
        return None
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--published {str(folder)!r} is not a folder; accepted: the suite's benchmarks/ folder")
    path = folder / "claims_training_curves.csv"
    return pd.read_csv(path) if path.exists() and path.stat().st_size > 1 else None


def _read_tables(tables: Path) -> dict:
    try:
        out = {n: pd.read_csv(tables / f"{n}.csv") for n in ("scores", "curves", "throughput", "normalized")}
    except FileNotFoundError as e:
        raise UserError(f"missing table {e.filename}; run python -m replication.aggregate first") from None
    for name in ("scores", "curves", "throughput"):
        lacking = [c for c in ("group", "algorithm") if c not in out[name]]
        if lacking:  # aggregated by an older version (its run group column had another name)
            raise UserError(f"table {str(tables / f'{name}.csv')!r} has no {' or '.join(lacking)} column (aggregated "
                            "by an older version); accepted: tables of this version (rerun python -m "
                            "replication.aggregate on the run directories: it reads old ones too)")
    out["runs"] = json.loads((tables / "runs.json").read_text()) if (tables / "runs.json").exists() else []
    m = tables / "missing.csv"
    out["missing"] = pd.read_csv(m) if m.exists() and m.stat().st_size > 1 else pd.DataFrame(columns=["run_dir"])
    return out


def build_report(tables: str | Path, out: str | Path, title: str = "Replication report",
                 figures: str | Path | None = None, verdict_csv: str | Path | None = None,
                 check_layout: bool = False, published: str | Path | None = None) -> list[str]:
    """Write the PDF for the tables in ``tables`` to ``out`` (atomically); returns the page titles in order.

    Args:
        figures: a folder to (re)write with every figure page as a PNG (``NN_<figure title>.png``, NN its page).
        verdict_csv: where to write ``verdict_table`` as CSV.
        check_layout: check every page with ``pdf_pages.layout_problems``; raise if one breaks the rules.
        published: the suite's results folder (``benchmarks/``): its ``claims_training_curves.csv`` is drawn
            beside a run at the same settings on the Clemente pages.

    Raises:
        UserError: a table is missing, or was aggregated by an older version (no ``group`` column).
        AssertionError: ``check_layout`` found text outside a page, below 7 pt or a nan/None (listed in the
            message); then no PDF is written.
    """
    tables = Path(tables)
    t = _read_tables(tables)
    summary = per_game_summary(t["scores"])
    verdict = verdict_table(summary)
    doc = Document(title)
    doc.title_block("Answers first: what was run, and whether each score reproduces the paper's.")
    doc.paragraph(run_lines(t["scores"], t["throughput"], t["runs"], t["missing"], verdict)
                  + clemente_lines(t["scores"], t["curves"], t["runs"]))
    doc.table(verdict_shown(verdict), "Replication verdict per (run group, game)", VERDICT_CAPTION, size=7.5,
              fills={"verdict": VERDICT_FILLS.get})
    doc.contents()
    body = Document(title)
    skipped = paper_sections(body, t, summary, tables, _published(published))
    if skipped:  # said beside the contents, before the sections
        doc.heading("Not in this report", level=2)
        doc.paragraph([f"{s[0].upper()}{s[1:]}." for s in skipped])
    doc.extend(body)
    doc.heading("Protocol and provenance", new_page=True)
    doc.paragraph(provenance_lines(t["runs"]), size=8)
    with report_pdf(out, check_layout=check_layout) as pdf:
        pngs = doc.render(pdf, png_dpi=110 if figures else 0)
        if check_layout and pdf.problems:
            raise AssertionError("layout problems:\n" + "\n".join(pdf.problems[:40]))
    if figures:
        atomic_write_folder(figures, pngs)
    if verdict_csv:
        atomic_write_bytes(verdict_csv, verdict.to_csv(index=False).encode())
    return pdf.pages


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(prog="python -m replication.report", description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--tables", help="folder of the aggregate step's CSVs")
    src.add_argument("--bench", help="the benchmark's CSV (python -m replication.bench)")
    p.add_argument("--out", required=True)
    p.add_argument("--title", default="Replication report: A3C (Mnih et al. 2016) and PAAC (Clemente et al. 2017)")
    p.add_argument("--figures", help="folder to (re)write with every figure page as a PNG (with --tables)")
    p.add_argument("--verdict", help="CSV to write the verdict table to (with --tables)")
    p.add_argument("--published", help="the suite's results folder (benchmarks/): its published curves are drawn "
                                       "beside runs at the same settings")
    args = p.parse_args(argv)
    check_output(args.out, directory=False)
    if args.figures:
        check_output(args.figures, directory=True, option="--figures")
    if args.verdict:
        check_output(args.verdict, directory=False, option="--verdict")
    if args.bench:
        pages = build_bench_report(args.bench, args.out)
    else:
        pages = build_report(args.tables, args.out, args.title, figures=args.figures, verdict_csv=args.verdict,
                             published=args.published)
    print(f"wrote {args.out}: {len(pages)} pages", file=sys.stderr)
    for i, t in enumerate(pages, 1):
        print(f"  {i:2d}. {t}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
