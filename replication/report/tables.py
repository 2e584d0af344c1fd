"""A table laid out for the PDF: as wide as its content (its widest columns wrap), split between rows across
pages with its header repeated, captioned directly under its last row (``layout_table``, ``draw_table_part``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from replication.report.page import (BODY_PT, CAPTION_PT, CONTENT_WIDTH, HEADER_FILL, MARGIN_X, MIN_PT, STRIPE_FILL,
                                     TABLE_PT, column_format, draw_rule, fill_rect, line_height, put_text, text_width,
                                     wrap)
from replication.results.fmt import fmt_cell


@dataclass
class Piece:
    """What one block puts on one page: its height (inches) and how to draw it at ``y`` inches from the top."""
    height: float
    draw: Callable
    title: str | None = None  # the page title when this piece is the first titled one on its page
    png: bool = False  # a figure to export as PNG too
    kind: str = ""  # the block kind it comes from ("heading", "figure", ...)


@dataclass
class TableLayout:
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
                 fills: dict[str, Callable[[str], str | None]] | None = None,
                 width: float = CONTENT_WIDTH) -> TableLayout:
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
    formats = [column_format(df[c]) for c in df.columns]
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
    return TableLayout(title, caption, header, rows, widths, right, float(s), fill)


def draw_table_part(fig, t: TableLayout, y: float, rows: range, title: str, tail: str) -> None:
    x0 = MARGIN_X
    total = sum(t.widths)
    put_text(fig, x0, y, title, BODY_PT + 0.5, weight="bold")
    y += line_height(BODY_PT + 0.5) + 0.04
    draw_rule(fig, x0, y, total, 1.0)
    fill_rect(fig, x0, y, total, t.header_height, HEADER_FILL)
    for cell, w, r, x in zip(t.header, t.widths, t.right, np.cumsum([x0, *t.widths[:-1]])):
        put_text(fig, x + w - t.pad if r else x + t.pad, y + t.pad, "\n".join(cell), t.size, weight="bold",
             ha="right" if r else "left")
    y += t.header_height
    draw_rule(fig, x0, y, total, 0.6)
    for k, i in enumerate(rows):
        h = t.row_height(t.rows[i])
        if k % 2:
            fill_rect(fig, x0, y, total, h, STRIPE_FILL)
        for j, (cell, w, r, x) in enumerate(zip(t.rows[i], t.widths, t.right, np.cumsum([x0, *t.widths[:-1]]))):
            if t.fills and t.fills[i][j]:
                fill_rect(fig, x, y, w, h, t.fills[i][j])
            put_text(fig, x + w - t.pad if r else x + t.pad, y + t.pad, "\n".join(cell), t.size,
                 ha="right" if r else "left")
        y += h
    draw_rule(fig, x0, y, total, 1.0)
    y += 0.05
    if tail:
        put_text(fig, x0, y, tail, CAPTION_PT)


def caption_lines(text: str, size: float = CAPTION_PT) -> list[str]:
    return wrap(text, CONTENT_WIDTH, size) if text else []


def table_extras(t: TableLayout) -> tuple[float, float, float]:
    """Heights (inches) around a table part: its title, the caption under the last part, the note under others."""
    return (line_height(BODY_PT + 0.5) + 0.04, len(caption_lines(t.caption)) * line_height(CAPTION_PT) + 0.12,
            line_height(CAPTION_PT) + 0.12)


# ---------------------------------------------------------------------------------------------------- document
