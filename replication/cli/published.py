"""The files a command publishes into the results folder, read back for ``--update`` (``python -m
replication.claims``, ``python -m replication.parity table``): the rows of run groups whose run directories are not
given (another host, a machine since replaced) are kept from them."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from replication.core.errors import UserError


def published_csv(path: Path, columns) -> pd.DataFrame:
    """The file ``path`` as a command wrote it before (``--update``: claims, parity), empty where there is none.

    Raises:
        UserError: it is not a CSV with ``columns``.
    """
    if not path.exists():
        return pd.DataFrame(columns=columns)
    try:
        df = pd.read_csv(path)
    except (ValueError, OSError) as e:
        raise UserError(f"{str(path)!r} is not a readable CSV ({e}); accepted: a file this command wrote, or none "
                        "(move it away to write it anew)") from None
    if list(df.columns) != list(columns):
        raise UserError(f"{str(path)!r} has columns {list(df.columns)}; accepted: {list(columns)} (move it away to "
                        "write it anew)")
    return df
