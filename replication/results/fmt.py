"""Table cells as text, the one way every table of the suite writes a number or a missing value."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


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
