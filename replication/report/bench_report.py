"""The bench report: ``python -m replication.bench``'s CSV as a one-page PDF (``python -m replication.report
--bench``), with Clemente et al. 2017 Figure 2 on this host when the bench trained A2C at several n_e."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from replication.core.errors import UserError
from replication.report.clemente import draw_paper_throughput
from replication.report.layout import Document
from replication.report.pdf_pages import report_pdf


BENCH_TARGETS = [  # issue "Throughput near the hardware limit": targets on a 2-core CPU host, fp32 unless said
    "Targets (2-core CPU host): A2C >= 1.5x SB3 A2C and >= 0.8 of the serial bound; DQN >= 1.3x SB3 DQN; A3C frames/s "
    "per worker at 2 workers >= 0.85 of 1 worker; A2C with bf16 >= 2x SB3 A2C.",
]


def build_bench_report(csv: str | Path, out: str | Path) -> list[str]:
    """Write the benchmark table (``python -m replication.bench``'s CSV) as a one-page PDF; returns page titles.

    Raises:
        UserError: the CSV is missing, or was written by an older version (no ``algorithm`` column).
    """
    csv = Path(csv)
    if not csv.exists():
        raise UserError(f"no benchmark table at {csv}; run: python -m replication.bench --out {csv}")
    df = pd.read_csv(csv)
    if "algorithm" not in df:  # written by an older version (the column had another name)
        raise UserError(f"benchmark table {str(csv)!r} has no algorithm column (written by an older version); "
                        f"accepted: a table of this version (rerun python -m replication.bench --out {csv})")
    host = df["host"].iloc[0] if "host" in df and len(df) else "unknown host"
    cols = ["algorithm", "game", "line", "workers", "network", "precision", "frames", "frames_per_s",
            "frames_per_s_min", "frames_per_s_max", "cpu_steal", "ratio_to_peer", "fraction_of_serial_bound",
            "per_worker_vs_1"]
    doc = Document("Training throughput beside Stable-Baselines3", contents=False)
    doc.table(df[[c for c in cols if c in df]], "Training throughput beside Stable-Baselines3 (frames/s)",
              " ".join([f"Host: {host}. Each line trained alone, one after another; frames are emulator frames "
                        "(frame skip 4 included). 'env limit' and 'network limit' bound an unpipelined learner; "
                        "fraction_of_serial_bound = frames/s / (1 / (1/env + 1/network)). With --repeats, "
                        "frames_per_s is the median of the line's runs (round-robin over lines and games), "
                        "_min/_max their range; "
                        "cpu_steal: the mean share of the host's CPU time the hypervisor took during them (a shared "
                        "host's slow spell shows there). "
                        "ratio_to_peer compares with SB3 at the same algorithm, network and number of environments "
                        "('none': no peer line). Reproduce: python -m replication.bench (or snakemake --cores all "
                        "bench).", *BENCH_TARGETS]))
    lines = df["line"].astype(str)
    trained = df[lines.str.startswith("ours") & (df["algorithm"] == "a2c") & (df["precision"] == "fp32")
                 & ~lines.str.contains("env groups")]
    if "game" in trained and trained["game"].nunique() > 1:  # Figure 2 on one game: the bench's first
        trained = trained[trained["game"] == trained["game"].iloc[0]]
    # Clemente 2017 Figure 2 on this host (python -m replication.bench --algos paac)
    if trained["workers"].nunique() >= 2:
        a2c = trained.assign(group="bench, " + trained["network"].astype(str))  # one line per network
        doc.figure(lambda fig, rect: draw_paper_throughput(fig, rect, a2c, dict(zip(a2c["group"], a2c["network"]))),
                   "Figure 2 on this host (bench)", f"Host: {host}. Ours: the bench's A2C lines (median frames/s) per "
                   "n_e and network; the paper's: Clemente et al. 2017 Figure 2, digitized, its PAAC global steps/s "
                   "x 4 frames.")
    with report_pdf(out) as pdf:
        doc.render(pdf)
    return pdf.pages
