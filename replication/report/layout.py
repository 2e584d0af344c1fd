"""The PDF reports' document (``build.py``, ``progress_report.py``): pages, tables and captions.

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
from typing import Callable

import matplotlib.pyplot as plt
import pandas as pd

from replication.report.page import (BODY_PT, CAPTION_PT, CONTENT_HEIGHT, CONTENT_WIDTH, HEADING_PT, MARGIN_BOTTOM,
                                     MARGIN_TOP, MARGIN_X, MIN_PT, MIN_ROWS, PAGE, TABLE_PT, TITLE_PT, figure_rect,
                                     line_height, put_text, slug, wrap)
from replication.report.tables import Piece, TableLayout, caption_lines, draw_table_part, layout_table, table_extras


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
        pages: list[list[tuple[float, Piece]]] = [[]]
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
                    put_text(fig, MARGIN_X, y0, self.title, TITLE_PT, weight="bold")
                    put_text(fig, MARGIN_X, y0 + line_height(TITLE_PT), "\n".join(sub), BODY_PT + 1,
                         color="#333333")

                place(Piece(h, draw, self.title, kind="heading"))
            elif kind == "heading":
                size = HEADING_PT if b["level"] == 1 else BODY_PT + 1.5
                lines = wrap(b["text"], CONTENT_WIDTH, size, "bold")
                h = len(lines) * line_height(size) + 0.08
                if y + 0.12 + h + self._min_height(blocks[n + 1:]) > bottom:
                    new_page()
                h += 0.12 if pages[-1] else 0.0  # space above, except at the top of a page

                def draw(fig, y0, lines=lines, size=size, h=h):
                    put_text(fig, MARGIN_X, y0 + h - 0.08 - len(lines) * line_height(size), "\n".join(lines), size,
                         weight="bold")

                place(Piece(h, draw, b["text"], kind="heading"), entry=True)
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
                            put_text(fig, x, y0 + i * line_height(size), ln, size, family=fam)

                    place(Piece(len(part) * lh + 0.06, draw))
            elif kind == "table":
                self._layout_table(b["t"], lambda: bottom - y, new_page, place)
            elif kind == "figure":
                if any(p.kind != "heading" for _, p in pages[-1]):  # under its section's heading, else a new page
                    new_page()
                cap = caption_lines(b["caption"])
                th = line_height(BODY_PT + 1.5) + 0.05

                def draw(fig, y0, b=b, cap=cap, th=th):
                    put_text(fig, MARGIN_X, y0, b["title"], BODY_PT + 1.5, weight="bold")
                    cap_top = bottom - len(cap) * line_height(CAPTION_PT) - 0.02
                    b["draw"](fig, figure_rect(y0 + th, cap_top - 0.05))
                    put_text(fig, MARGIN_X, cap_top, "\n".join(cap), CAPTION_PT)

                place(Piece(bottom - y, draw, b["title"], kind="figure"), entry=b["contents"])
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
                            put_text(fig, MARGIN_X, y0, "Contents", HEADING_PT, weight="bold")
                            y0 += head
                        for row, e in enumerate(part):
                            level, text = entries[e]
                            size = BODY_PT if level < 2 else BODY_PT - 0.5
                            x = MARGIN_X + 0.25 * level
                            label = wrap(text, CONTENT_WIDTH - 1.2 - 0.25 * level, size,
                                         "bold" if level == 0 else "normal")[0]
                            put_text(fig, x, y0 + row * lh, label, size, weight="bold" if level == 0 else "normal")
                            put_text(fig, MARGIN_X + CONTENT_WIDTH, y0 + row * lh, str(entry_page[e]), size,
                                 ha="right")

                    place(Piece(len(part) * lh + (head if first else 0) + 0.1, draw,
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
                title_h, cap_h, note_h = table_extras(t)
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
    def _layout_table(t: TableLayout, room: Callable[[], float], new_page: Callable, place: Callable) -> None:
        """Place ``t`` row by row: each part as many rows as fit with the title, the repeated header and, under the
        last part, the caption (under the others: "continued on the next page"); a table splits only where both
        sides keep ``MIN_ROWS`` rows, else it starts on the next page."""
        title_h, cap_h, note_h = table_extras(t)
        cap = caption_lines(t.caption)
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
                draw_table_part(fig, t, y0, rows, title, tail)

            place(Piece(h, draw, title), entry=part == 0)
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
            put_text(fig, MARGIN_X, PAGE[1] - MARGIN_BOTTOM + 0.22, self.title, MIN_PT + 0.5, color="#555555")
            put_text(fig, PAGE[0] - MARGIN_X, PAGE[1] - MARGIN_BOTTOM + 0.22, f"page {k} of {total}", MIN_PT + 0.5,
                 ha="right", color="#555555")
            figure = next((p for _, p in placed if p.png), None)
            if png_dpi and figure is not None:
                buf = io.BytesIO()
                fig.savefig(buf, format="png", dpi=png_dpi)
                pngs[f"{k:02d}_{slug(figure.title)}.png"] = buf.getvalue()
            pdf.add(fig, title)
        return pngs
