"""Pages, tables and captions of the PDF reports (``report.py``, ``progress_report.py``).

A ``Document`` holds headings, paragraphs, tables and figures; ``Document.render`` lays all of them out on A4
landscape pages before it draws any, so every page carries "page k of N" and the contents list knows where each
section starts. Layout rules:

* text is measured with matplotlib's ``TextToPath`` (the font metrics the PDF backend uses) and wrapped to the
  page, so nothing is drawn outside it; ``pdf_pages.layout_problems`` checks a drawn page (every text inside the
  figure, none below ``MIN_PT``, no nan/None);
* a table is as wide as its content (its widest columns wrap when the page is too narrow), splits between rows
  across pages with its header repeated, and has its caption directly under its last row;
* a figure takes the rest of its page: title above, caption directly under;
* missing values are written as words (``fmt_cell``: "none", or what the caller says), never nan/None;
* the palette is seaborn's colour-blind-safe ``colorblind``; no text is smaller than 7 pt.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.textpath import TextToPath  # noqa: E402


PAGE = (11.69, 8.27)  # A4 landscape, inches
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 0.6, 0.5, 0.6  # inches; the footer sits in the bottom margin
CONTENT_WIDTH = PAGE[0] - 2 * MARGIN_X
CONTENT_HEIGHT = PAGE[1] - MARGIN_TOP - MARGIN_BOTTOM
MIN_PT = 7.0  # the smallest text drawn anywhere (readable in print)
BODY_PT, TABLE_PT, CAPTION_PT, HEADING_PT, TITLE_PT = 9.0, 8.0, 8.0, 12.5, 17.0
LINE = 1.3  # line height, in font sizes
MIN_ROWS = 3  # the fewest rows of a table part when a table splits across pages
PALETTE = sns.color_palette("colorblind")  # colour-blind safe (Okabe-Ito-like); runs keep their colour everywhere
HEADER_FILL, STRIPE_FILL, RULE = "#e3e8ef", "#f5f6f8", "#4a4a4a"

_TTP = TextToPath()


@lru_cache(maxsize=200_000)
def _width_pt(s: str, size: float, weight: str, family: str) -> float:
    prop = FontProperties(size=size, weight=weight, family=family)
    return _TTP.get_text_width_height_descent(s, prop, ismath=False)[0]


def text_width(s: str, size: float, weight: str = "normal", family: str = "sans-serif") -> float:
    """Width of one line of ``s`` at ``size`` pt, in inches (the PDF's own font metrics)."""
    return _width_pt(s, float(size), weight, family) / 72.0 * 1.02  # 2% for hinting/kerning slack


def line_height(size: float) -> float:
    """Height of one text line at ``size`` pt, in inches."""
    return size * LINE / 72.0


def wrap(text: str, width: float, size: float, weight: str = "normal", family: str = "sans-serif") -> list[str]:
    """``text`` broken into lines no wider than ``width`` inches at ``size`` pt: at spaces, and inside a word only
    when the word alone is wider than the line (after ``_ , / -`` where it can, else between letters). Newlines in
    ``text`` are kept."""
    out = []
    for para in str(text).split("\n"):
        line = ""
        for word in para.split(" "):
            cand = f"{line} {word}" if line else word
            if text_width(cand, size, weight, family) <= width + 1e-9:
                line = cand
                continue
            if line:
                out.append(line)
            while text_width(word, size, weight, family) > width + 1e-9 and len(word) > 1:
                k = max(1, next((i for i in range(len(word), 0, -1)
                                 if text_width(word[:i], size, weight, family) <= width + 1e-9), 1))
                soft = max((i + 1 for i in range(k - 1) if word[i] in "_,/-"), default=0)  # frames_per_s_ | max
                k = soft or k
                out.append(word[:k])
                word = word[k:]
            line = word
        out.append(line)
    return out


def fmt_cell(v, missing: str = "none", number: str | None = None) -> str:
    """One table cell as text: ``number`` (a format spec such as ``",.1f"``) for numbers, else thousands separators
    and 3 significant digits below 10; ``missing`` for NaN/None (say why: "none", "not transcribed", "1 seed: no
    CI"); yes/no for booleans."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return missing
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            return "inf" if v > 0 else "-inf"
        if number:
            return format(v, number)
        if float(v).is_integer() and abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:,.1f}" if abs(v) >= 10 else f"{v:.3g}"
    s = str(v)
    return missing if s in ("nan", "None", "NaN", "<NA>") else s


def _column_format(col: pd.Series) -> str | None:
    """One number format per float column, so its digits line up: whole numbers without decimals, one decimal
    when any value reaches 10 (Table S3 prints one), else 3 significant digits."""
    if not pd.api.types.is_float_dtype(col):
        return None
    x = col.to_numpy(dtype=float)
    x = x[np.isfinite(x)]
    if not len(x):
        return None
    if np.all(x == np.round(x)):
        return ",.0f"
    return ",.1f" if np.abs(x).max() >= 10 else ".3g"


def slug(text: str) -> str:
    """A file-name-safe form of ``text`` (lower case, words joined by ``_``)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower())[:60].strip("_") or "page"


# --------------------------------------------------------------------------------------------- drawing primitives


@lru_cache(maxsize=64)
def _ascent(size: float) -> float:
    """Height above the baseline of a line of text at ``size`` pt, in inches (of "lp": ascender, no accents)."""
    _, h, d = _TTP.get_text_width_height_descent("lp", FontProperties(size=size), ismath=False)
    return (h - d) / 72.0


def _put(fig, x: float, y: float, s: str, size: float, **kw) -> None:
    """Text at ``x`` inches from the left, its first line's box ``y`` inches from the top of the page; each line
    of ``s`` is its own text on its own baseline, ``line_height(size)`` apart (so the layout's heights hold)."""
    lead = (LINE - 1.0) * size / 72.0 / 2
    for i, line in enumerate(str(s).split("\n")):
        if line:
            base = y + i * line_height(size) + lead + _ascent(size)
            fig.text(x / PAGE[0], 1 - base / PAGE[1], line, fontsize=size, va="baseline", parse_math=False, **kw)


def _rect(fig, x: float, y: float, w: float, h: float, color: str) -> None:
    fig.add_artist(Rectangle((x / PAGE[0], 1 - (y + h) / PAGE[1]), w / PAGE[0], h / PAGE[1], facecolor=color,
                             edgecolor="none", transform=fig.transFigure, zorder=0))


def _rule(fig, x: float, y: float, w: float, lw: float = 0.8) -> None:
    fig.add_artist(Line2D([x / PAGE[0], (x + w) / PAGE[0]], [1 - y / PAGE[1]] * 2, color=RULE, lw=lw,
                          transform=fig.transFigure))


def figure_rect(top: float, bottom: float) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) in figure fractions of the content width between ``top`` and ``bottom`` inches
    from the page's top: the region a figure block's ``draw`` function fills."""
    return (MARGIN_X / PAGE[0], 1 - bottom / PAGE[1], 1 - MARGIN_X / PAGE[0], 1 - top / PAGE[1])


def fit_grid(gs, fig, rect) -> None:
    """``GridSpec.tight_layout`` into ``rect`` (left, bottom, right, top), quietly: labels stay inside ``rect``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gs.tight_layout(fig, rect=rect, pad=0.4)


# ------------------------------------------------------------------------------------------------------ blocks


@dataclass
class _Piece:
    """What one block puts on one page: its height (inches) and how to draw it at ``y`` inches from the top."""
    height: float
    draw: Callable
    title: str | None = None  # the page title when this piece is the first titled one on its page
    png: bool = False  # a figure to export as PNG too
    kind: str = ""  # the block kind it comes from ("heading", "figure", ...)


@dataclass
class _Table:
    title: str
    caption: str
    header: list[list[str]]
    rows: list[list[list[str]]]
    widths: list[float]
    right: list[bool]
    size: float
    fills: list[list[str | None]] = field(default_factory=list)

    @property
    def pad(self) -> float:
        return self.size * 0.45 / 72

    def row_height(self, lines: list[list[str]]) -> float:
        return max(len(c) for c in lines) * line_height(self.size) + 2 * self.pad

    @property
    def header_height(self) -> float:
        return self.row_height(self.header)


def layout_table(df: pd.DataFrame, title: str, caption: str, size: float = TABLE_PT, missing="none",
                 fills: dict[str, Callable[[str], str | None]] | None = None, width: float = CONTENT_WIDTH) -> _Table:
    """Measure ``df`` as a table no wider than ``width`` inches: each column as wide as its widest cell; when the
    whole is too wide, the widest columns are capped at one width (cells wrap), and below a readable cap the font
    shrinks, not below ``MIN_PT``.

    Args:
        missing: the text for NaN cells, one for all columns or per column name (else "none").
        fills: column name -> function of the cell text giving its background colour (or None).
    """
    if len(df.columns) == 0:
        df = pd.DataFrame({"": []})
    miss = missing if isinstance(missing, dict) else {}
    default = missing if isinstance(missing, str) else "none"
    cols = [str(c) for c in df.columns]
    formats = [_column_format(df[c]) for c in df.columns]
    cells = [[fmt_cell(v, miss.get(c, default), f) for v, c, f in zip(row, cols, formats)]
             for row in df.itertuples(index=False)]
    right = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    fills = fills or {}
    fill = [[fills[c](v) if c in fills else None for v, c in zip(row, cols)] for row in cells]
    for s in [size, *np.arange(size - 0.5, MIN_PT - 0.01, -0.5)]:
        pad = s * 0.45 / 72
        natural = []
        for j, c in enumerate(cols):
            words = max((text_width(w, s, "bold") for w in c.split()), default=0.0)
            cell = max((text_width(line, s) for row in cells for line in row[j].split("\n")), default=0.0)
            natural.append(max(words, cell) + 2 * pad)
        if sum(natural) <= width:
            widths = natural
            break
        caps = sorted(natural)
        rest, cap = width, 0.0
        for i, w in enumerate(caps):  # water-filling: columns narrower than the cap keep their width
            cap = rest / (len(caps) - i)
            if w > cap:
                break
            rest -= w
        widths = [min(w, cap) for w in natural]
        if cap >= 0.55 or s <= MIN_PT:
            break
    header = [wrap(c, w - 2 * pad, s, "bold") for c, w in zip(cols, widths)]
    rows = [[wrap(v, w - 2 * pad, s) for v, w in zip(row, widths)] for row in cells]
    return _Table(title, caption, header, rows, widths, right, float(s), fill)


def _draw_table_part(fig, t: _Table, y: float, rows: range, title: str, tail: str) -> None:
    x0 = MARGIN_X
    total = sum(t.widths)
    _put(fig, x0, y, title, BODY_PT + 0.5, weight="bold")
    y += line_height(BODY_PT + 0.5) + 0.04
    _rule(fig, x0, y, total, 1.0)
    _rect(fig, x0, y, total, t.header_height, HEADER_FILL)
    for cell, w, r, x in zip(t.header, t.widths, t.right, np.cumsum([x0, *t.widths[:-1]])):
        _put(fig, x + w - t.pad if r else x + t.pad, y + t.pad, "\n".join(cell), t.size, weight="bold",
             ha="right" if r else "left")
    y += t.header_height
    _rule(fig, x0, y, total, 0.6)
    for k, i in enumerate(rows):
        h = t.row_height(t.rows[i])
        if k % 2:
            _rect(fig, x0, y, total, h, STRIPE_FILL)
        for j, (cell, w, r, x) in enumerate(zip(t.rows[i], t.widths, t.right, np.cumsum([x0, *t.widths[:-1]]))):
            if t.fills and t.fills[i][j]:
                _rect(fig, x, y, w, h, t.fills[i][j])
            _put(fig, x + w - t.pad if r else x + t.pad, y + t.pad, "\n".join(cell), t.size,
                 ha="right" if r else "left")
        y += h
    _rule(fig, x0, y, total, 1.0)
    y += 0.05
    if tail:
        _put(fig, x0, y, tail, CAPTION_PT)


def _caption_lines(text: str, size: float = CAPTION_PT) -> list[str]:
    return wrap(text, CONTENT_WIDTH, size) if text else []


def _table_extras(t: _Table) -> tuple[float, float, float]:
    """Heights (inches) around a table part: its title, the caption under the last part, the note under others."""
    return (line_height(BODY_PT + 0.5) + 0.04, len(_caption_lines(t.caption)) * line_height(CAPTION_PT) + 0.12,
            line_height(CAPTION_PT) + 0.12)


# ---------------------------------------------------------------------------------------------------- document


class Document:
    """A report's content in reading order; ``render`` lays it out on pages and draws them into a ``ReportPdf``.

    Args:
        title: printed on the first page and in every page's footer.
        contents: whether ``contents()`` draws a contents list (page numbers of every heading, table and figure).
    """

    def __init__(self, title: str, contents: bool = True):
        self.title = title
        self._blocks: list[tuple[str, dict]] = []
        self._contents = contents

    # content --------------------------------------------------------------------------------------------------
    def title_block(self, subtitle: str = "") -> None:
        """The report's title (and an optional subtitle line) at the top of the current page."""
        self._blocks.append(("title", {"subtitle": subtitle}))

    def heading(self, text: str, level: int = 1, new_page: bool = False) -> None:
        """A section heading (kept with what follows it); ``new_page`` starts it on a fresh page."""
        if new_page:
            self.page_break()
        self._blocks.append(("heading", {"text": text, "level": level}))

    def paragraph(self, text: str | list[str], size: float = BODY_PT) -> None:
        """Wrapped text; a list is one line (wrapped on its own) per item, an item indented by two spaces in a
        fixed-width font (key/value listings). Splits across pages between lines."""
        self._blocks.append(("paragraph", {"lines": [text] if isinstance(text, str) else list(text), "size": size}))

    def table(self, df: pd.DataFrame, title: str, caption: str, size: float = TABLE_PT, missing="none",
              fills: dict | None = None) -> None:
        """A table (``layout_table``) titled above, captioned directly under its last row."""
        self._blocks.append(("table", {"t": layout_table(df, title, caption, size, missing, fills)}))

    def figure(self, draw: Callable, title: str, caption: str, png: bool = True, contents: bool | str = True) -> None:
        """A figure on a page of its own: ``draw(fig, rect)`` fills ``rect`` (left, bottom, right, top, figure
        fractions) with its axes; the title is above it and the caption directly under it. ``png``: also export
        the page as a PNG (``render``'s return); ``contents``: list it in the contents (False: not, e.g. a figure's
        continuation pages; a string: under that name)."""
        self._blocks.append(("figure", {"draw": draw, "title": title, "caption": caption, "png": png,
                                        "contents": contents}))

    def extend(self, other: "Document") -> None:
        """Append ``other``'s content (its title and contents setting are not taken)."""
        self._blocks += other._blocks

    def page_break(self) -> None:
        """What follows starts on a new page."""
        self._blocks.append(("break", {}))

    def contents(self) -> None:
        """The contents list here: every heading, table and figure with the page it starts on."""
        if self._contents:
            self._blocks.append(("contents", {}))

    # layout ---------------------------------------------------------------------------------------------------
    def _entries(self) -> list[tuple[int, str]]:
        out = []
        for kind, b in self._blocks:
            if kind == "heading":
                out.append((b["level"] - 1, b["text"]))
            elif kind == "table":
                out.append((2, b["t"].title))
            elif kind == "figure" and b["contents"]:
                out.append((2, b["contents"] if isinstance(b["contents"], str) else b["title"]))
        return out

    def _layout(self):
        """Pages as lists of (y, piece); the (entry index -> page) map filled as entries are placed."""
        pages: list[list[tuple[float, _Piece]]] = [[]]
        y = MARGIN_TOP
        bottom = PAGE[1] - MARGIN_BOTTOM
        entry_page: list[int] = []

        def new_page():
            nonlocal y
            if pages[-1]:
                pages.append([])
            y = MARGIN_TOP

        def place(piece, entry=False):
            nonlocal y
            pages[-1].append((y, piece))
            y += piece.height
            if entry:
                entry_page.append(len(pages))

        blocks = self._blocks
        for n, (kind, b) in enumerate(blocks):
            if kind == "break":
                new_page()
            elif kind == "title":
                sub = wrap(b["subtitle"], CONTENT_WIDTH, BODY_PT + 1) if b["subtitle"] else []
                h = line_height(TITLE_PT) + len(sub) * line_height(BODY_PT + 1) + 0.12

                def draw(fig, y0, sub=sub):
                    _put(fig, MARGIN_X, y0, self.title, TITLE_PT, weight="bold")
                    _put(fig, MARGIN_X, y0 + line_height(TITLE_PT), "\n".join(sub), BODY_PT + 1,
                         color="#333333")

                place(_Piece(h, draw, self.title, kind="heading"))
            elif kind == "heading":
                size = HEADING_PT if b["level"] == 1 else BODY_PT + 1.5
                lines = wrap(b["text"], CONTENT_WIDTH, size, "bold")
                h = len(lines) * line_height(size) + 0.08
                if y + 0.12 + h + self._min_height(blocks[n + 1:]) > bottom:
                    new_page()
                h += 0.12 if pages[-1] else 0.0  # space above, except at the top of a page

                def draw(fig, y0, lines=lines, size=size, h=h):
                    _put(fig, MARGIN_X, y0 + h - 0.08 - len(lines) * line_height(size), "\n".join(lines), size,
                         weight="bold")

                place(_Piece(h, draw, b["text"], kind="heading"), entry=True)
            elif kind == "paragraph":
                size = b["size"]
                indent = 0.3  # key/value listings: indented, fixed-width
                lines = [(ln, fam) for item in b["lines"]
                         for fam in ["monospace" if item.startswith("  ") else "sans-serif"]
                         for ln in (wrap(item.strip(), CONTENT_WIDTH - indent, size, family=fam) if fam == "monospace"
                                    else wrap(item, CONTENT_WIDTH, size))]
                lh = line_height(size)
                while lines:
                    k = max(0, int((bottom - y - 0.06) / lh))
                    if k == 0:
                        new_page()
                        continue
                    part, lines = lines[:k], lines[k:]

                    def draw(fig, y0, part=part, size=size):
                        for i, (ln, fam) in enumerate(part):
                            x = MARGIN_X + (indent if fam == "monospace" else 0.0)
                            _put(fig, x, y0 + i * line_height(size), ln, size, family=fam)

                    place(_Piece(len(part) * lh + 0.06, draw))
            elif kind == "table":
                self._layout_table(b["t"], lambda: bottom - y, new_page, place)
            elif kind == "figure":
                if any(p.kind != "heading" for _, p in pages[-1]):  # under its section's heading, else a new page
                    new_page()
                cap = _caption_lines(b["caption"])
                th = line_height(BODY_PT + 1.5) + 0.05

                def draw(fig, y0, b=b, cap=cap, th=th):
                    _put(fig, MARGIN_X, y0, b["title"], BODY_PT + 1.5, weight="bold")
                    cap_top = bottom - len(cap) * line_height(CAPTION_PT) - 0.02
                    b["draw"](fig, figure_rect(y0 + th, cap_top - 0.05))
                    _put(fig, MARGIN_X, cap_top, "\n".join(cap), CAPTION_PT)

                place(_Piece(bottom - y, draw, b["title"], kind="figure"), entry=b["contents"])
                pages[-1][-1][1].png = b["png"]
                new_page()
            elif kind == "contents":
                entries = self._entries()
                lh = line_height(BODY_PT)
                head = line_height(HEADING_PT) + 0.1
                whole = head + len(entries) * lh + 0.1
                if y + whole > bottom and whole <= CONTENT_HEIGHT:
                    new_page()  # kept on one page when it fits on one
                i = 0
                while i < len(entries):
                    first = i == 0
                    k = max(0, int((bottom - y - (head if first else 0)) / lh))
                    if k == 0:
                        new_page()
                        continue
                    part = list(range(i, min(len(entries), i + k)))

                    def draw(fig, y0, part=part, first=first, entries=entries):
                        if first:
                            _put(fig, MARGIN_X, y0, "Contents", HEADING_PT, weight="bold")
                            y0 += head
                        for row, e in enumerate(part):
                            level, text = entries[e]
                            size = BODY_PT if level < 2 else BODY_PT - 0.5
                            x = MARGIN_X + 0.25 * level
                            label = wrap(text, CONTENT_WIDTH - 1.2 - 0.25 * level, size,
                                         "bold" if level == 0 else "normal")[0]
                            _put(fig, x, y0 + row * lh, label, size, weight="bold" if level == 0 else "normal")
                            _put(fig, MARGIN_X + CONTENT_WIDTH, y0 + row * lh, str(entry_page[e]), size,
                                 ha="right")

                    place(_Piece(len(part) * lh + (head if first else 0) + 0.1, draw,
                                 "Contents" if first else "Contents (continued)"))
                    i += len(part)
        if not pages[-1]:
            pages.pop()
        return pages

    @staticmethod
    def _min_height(rest) -> float:
        """The least of the next block that must fit under a heading (so a heading never ends a page)."""
        for kind, b in rest:
            if kind == "table":
                t = b["t"]
                title_h, cap_h, note_h = _table_extras(t)
                heights = [t.row_height(r) for r in t.rows] or [line_height(t.size)]
                if len(heights) < 2 * MIN_ROWS:  # cannot split: the whole table and its caption
                    return title_h + t.header_height + 0.05 + sum(heights) + cap_h
                return title_h + t.header_height + 0.05 + sum(heights[:MIN_ROWS]) + note_h
            if kind == "paragraph":
                return 2 * line_height(b["size"])
            if kind == "figure":
                return 4.0  # a figure needs most of a page: its heading goes with it
            if kind == "break":
                return 0.0
            if kind == "contents":
                return line_height(HEADING_PT) + 3 * line_height(BODY_PT)
        return 0.0

    @staticmethod
    def _layout_table(t: _Table, room: Callable[[], float], new_page: Callable, place: Callable) -> None:
        """Place ``t`` row by row: each part as many rows as fit with the title, the repeated header and, under the
        last part, the caption (under the others: "continued on the next page"); a table splits only where both
        sides keep ``MIN_ROWS`` rows, else it starts on the next page."""
        title_h, cap_h, note_h = _table_extras(t)
        cap = _caption_lines(t.caption)
        heights = [t.row_height(r) for r in t.rows]
        n, start, part = len(heights), 0, 0
        if n == 0:
            t.rows, heights, n = [[["no rows"]] + [[""]] * (len(t.widths) - 1)], [t.row_height([["no rows"]])], 1
        while start < n:
            fixed = title_h + t.header_height + 0.05
            used, k = fixed, 0
            best = 0
            while start + k < n:
                used += heights[start + k]
                k += 1
                tail = cap_h if start + k == n else note_h
                if used + tail <= room():
                    best = k
                elif used > room():
                    break
            left = n - start
            if 0 < best < left:  # a split: no part of fewer than MIN_ROWS rows (none alone under its header)
                if left - best < MIN_ROWS:
                    best = max(0, left - MIN_ROWS)
                if best < min(MIN_ROWS, left):
                    best = 0
            fresh = room() >= CONTENT_HEIGHT - 1e-6
            if best == 0:
                if not fresh:
                    new_page()
                    continue
                best = 1  # a row taller than a page: drawn anyway, the layout check will say so
            rows = range(start, start + best)
            last = start + best == n
            title = t.title if part == 0 else f"{t.title} (continued)"
            tail = "\n".join(cap) if last else "Continued on the next page."
            h = fixed + sum(heights[i] for i in rows) + (cap_h if last else note_h)

            def draw(fig, y0, rows=rows, title=title, tail=tail):
                _draw_table_part(fig, t, y0, rows, title, tail)

            place(_Piece(h, draw, title), entry=part == 0)
            start += best
            part += 1
            if start < n:
                new_page()

    # drawing --------------------------------------------------------------------------------------------------
    def render(self, pdf, png_dpi: int = 0) -> dict[str, bytes]:
        """Lay out and draw every page into ``pdf`` (a ``pdf_pages.ReportPdf``; titles in ``pdf.pages``); returns,
        when ``png_dpi`` > 0, the pages holding a figure as PNG bytes by file name (``NN_<figure title>.png``, NN
        the page number)."""
        pages = self._layout()
        total = len(pages)
        pngs = {}
        last_title = self.title
        for k, placed in enumerate(pages, 1):
            fig = plt.figure(figsize=PAGE)
            title = next((p.title for _, p in placed if p.title), None) or f"{last_title} (continued)"
            last_title = title.removesuffix(" (continued)")
            for y, piece in placed:
                piece.draw(fig, y)
            _put(fig, MARGIN_X, PAGE[1] - MARGIN_BOTTOM + 0.22, self.title, MIN_PT + 0.5, color="#555555")
            _put(fig, PAGE[0] - MARGIN_X, PAGE[1] - MARGIN_BOTTOM + 0.22, f"page {k} of {total}", MIN_PT + 0.5,
                 ha="right", color="#555555")
            figure = next((p for _, p in placed if p.png), None)
            if png_dpi and figure is not None:
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=png_dpi)
                pngs[f"{k:02d}_{slug(figure.title)}.png"] = buf.getvalue()
            pdf.add(fig, title)
        return pngs
