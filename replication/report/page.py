"""The page of the PDF reports: A4 landscape, its margins, type sizes and palette; text measured with the font
metrics the PDF backend uses (``text_width``, ``wrap``) and the primitives that draw text, fills and rules at
inch positions from the page's top."""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

import matplotlib

matplotlib.use("Agg")  # before pyplot: the reports draw off screen
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


def column_format(col: pd.Series) -> str | None:
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


def put_text(fig, x: float, y: float, s: str, size: float, **kw) -> None:
    """Text at ``x`` inches from the left, its first line's box ``y`` inches from the top of the page; each line
    of ``s`` is its own text on its own baseline, ``line_height(size)`` apart (so the layout's heights hold)."""
    lead = (LINE - 1.0) * size / 72.0 / 2
    for i, line in enumerate(str(s).split("\n")):
        if line:
            base = y + i * line_height(size) + lead + _ascent(size)
            fig.text(x / PAGE[0], 1 - base / PAGE[1], line, fontsize=size, va="baseline", parse_math=False, **kw)


def fill_rect(fig, x: float, y: float, w: float, h: float, color: str) -> None:
    fig.add_artist(Rectangle((x / PAGE[0], 1 - (y + h) / PAGE[1]), w / PAGE[0], h / PAGE[1], facecolor=color,
                             edgecolor="none", transform=fig.transFigure, zorder=0))


def draw_rule(fig, x: float, y: float, w: float, lw: float = 0.8) -> None:
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
