"""The report's PDF file: ``ReportPdf`` (pages with their titles), ``report_pdf`` (written atomically, in the
reports' seaborn theme), ``layout_problems`` (the check that no text leaves its page, none is below 7 pt and no
missing value reads nan/None), and the PNG and folder writers beside it.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from replication.report.page import MIN_PT  # noqa: E402
from replication.runs.rundir import atomic_write_bytes  # noqa: E402


_RAW_MISSING = re.compile(r"\b(nan|NaN|None|<NA>)\b")


def layout_problems(fig, min_pt: float = MIN_PT) -> list[str]:
    """What in a drawn page breaks the layout rules: every visible, non-empty text artist (figure texts, legends,
    titles, axis labels, the tick labels actually drawn) must lie inside the figure, be at least ``min_pt`` and
    never print a missing value as nan/None. Returns one line per problem (empty: the page is fine)."""
    renderer = fig.canvas.get_renderer()  # extents are computed without rasterizing the page
    ticks, texts, boxes = set(), [], []
    for ax in fig.axes:
        ax.get_tightbbox(renderer)  # places the axis labels and offset texts beside the tick labels, as a draw does
        for axis in (ax.xaxis, ax.yaxis):
            every = axis.get_major_ticks() + axis.get_minor_ticks()
            ticks.update(id(t) for tick in every for t in (tick.label1, tick.label2))
            drawn = axis._update_ticks()  # the ticks the axis draws (within its view limits), placed
            texts += [t for tick in drawn for t in (tick.label1, tick.label2)]
    legends = [leg for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)] if leg is not None]
    inside = {id(t) for leg in legends for t in [*leg.get_texts(), leg.get_title()]}  # placed when drawn: checked
    # as the whole legend
    boxes += [(leg, f"legend {leg.get_texts()[0].get_text()[:30]!r}...") for leg in legends
              if leg.get_visible() and leg.get_texts()]
    texts += [t for t in fig.findobj(Text) if id(t) not in ticks and id(t) not in inside]
    texts += [t for leg in legends for t in [*leg.get_texts(), leg.get_title()]]  # for size and wording only
    page = fig.bbox.padded(1.0)

    def outside(bb) -> bool:
        return not (page.x0 <= bb.x0 and bb.x1 <= page.x1 and page.y0 <= bb.y0 and bb.y1 <= page.y1)

    problems = [f"{where} outside the page" for leg, where in boxes if outside(leg.get_window_extent(renderer))]
    for t in texts:
        if not t.get_visible() or not t.get_text().strip() or not _visible_chain(t):
            continue
        where = repr(t.get_text()[:40])
        bb = t.get_window_extent(renderer) if id(t) not in inside else page
        if outside(bb):
            problems.append(f"text {where} outside the page ({bb.x0:.0f}..{bb.x1:.0f} x {bb.y0:.0f}..{bb.y1:.0f} "
                            f"px; page {fig.bbox.x1:.0f} x {fig.bbox.y1:.0f} px)")
        if t.get_fontsize() < min_pt - 1e-6:
            problems.append(f"text {where} at {t.get_fontsize():.1f} pt, below {min_pt} pt")
        if _RAW_MISSING.search(t.get_text()):
            problems.append(f"text {where} shows a missing value as nan/None (say why it is missing)")
    return problems


def _visible_chain(t: Text) -> bool:
    """A text is drawn only if it and the axes holding it are visible."""
    return t.get_visible() and (t.axes is None or t.axes.get_visible())


class ReportPdf:
    """``PdfPages`` that remembers each page's title, so the report's structure can be listed and checked.

    Args:
        check_layout: run ``layout_problems`` on every page before it is saved; the lines go to ``problems``.
    """

    def __init__(self, path: Path | io.BytesIO, check_layout: bool = False):
        self._pdf = PdfPages(path)
        self.pages: list[str] = []
        self.check_layout = check_layout
        self.problems: list[str] = []

    def add(self, fig, title: str) -> None:
        """Save ``fig`` as the next page under ``title`` and close it."""
        if self.check_layout:
            self.problems += [f"page {len(self.pages) + 1} ({title}): {p}" for p in layout_problems(fig)]
        self._pdf.savefig(fig)
        plt.close(fig)
        self.pages.append(title)

    def close(self) -> None:
        """Finish the PDF file."""
        self._pdf.close()


def set_theme() -> None:
    """The reports' seaborn theme: white grid, paper context, the colour-blind-safe palette."""
    sns.set_theme(style="whitegrid", context="paper", palette="colorblind")


@contextlib.contextmanager
def report_pdf(out: str | Path, check_layout: bool = False):
    """A ``ReportPdf`` for the ``with`` block, in the report's seaborn theme, that becomes ``out`` atomically when
    the block ends without an error (a reader sees the old PDF or the new one); on an error nothing is left."""
    buf = io.BytesIO()  # the pages are built in memory and written once, atomically
    set_theme()
    pdf = ReportPdf(buf, check_layout)
    try:
        yield pdf
    finally:
        pdf.close()
    atomic_write_bytes(out, buf.getvalue())


def save_png(fig, path: str | Path, dpi: int = 100) -> None:
    """Save ``fig`` as a PNG at ``path`` atomically and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_folder(path: str | Path, files: dict[str, bytes]) -> None:
    """Make ``path`` a folder holding exactly ``files`` (name -> bytes), swapped in whole: the old folder, if any,
    is replaced only once every new file is written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
            os.chmod(tmp / name, 0o644)
        os.chmod(tmp, 0o755)
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
