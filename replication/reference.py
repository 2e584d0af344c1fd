"""The papers' numbers, shipped with the package (``replication/data/``, sources in ``SOURCES.md``).

Copied from the project's reference folder; every value comes from a published table (see SOURCES.md):
Mnih et al. 2016 Table S3 (human starts), Table 1, Table 2, and random/human reference scores.
"""

from __future__ import annotations

import math
from importlib import resources

import pandas as pd

# Table S3 columns, in the paper's order, with their printed headers.
TABLE_S3_COLUMNS = {
    "dqn": "DQN", "gorila": "Gorila", "double_dqn": "Double", "dueling_ddqn": "Dueling",
    "prioritized_dqn": "Prioritized", "a3c_ff_1_day": "A3C FF, 1 day", "a3c_ff": "A3C FF", "a3c_lstm": "A3C LSTM",
}

# The paper column a run of ours is compared with, per algorithm. A2C/PAAC has no Table S3 column; it is
# set beside "A3C FF, 1 day": the feed-forward A3C at the budget PAAC's code trains for (80M agent steps =
# 320M frames; muupan/async-rl wiki: the 1-day results are 320M frames, hyperparameters.md §1.12).
def protocol_frame_cap(protocol: str) -> int | None:
    """The frame cap named in an evaluation protocol string (``evaluate.EvalConfig.protocol``, e.g.
    ``noop30_18000f_sampled`` -> 18000), or None if it names none."""
    import re

    m = re.search(r"_(\d+)f_", f"_{protocol}_")
    return int(m.group(1)) if m else None


# Mnih 2016 Table S3 caption: "human starts", 30 minutes of emulator time at 60 Hz = 108,000 frames per episode
TABLE_S3_FRAME_CAP = 108_000
PAPER_COLUMN_FOR_ALGO = {"a2c": "a3c_ff_1_day", "a3c_ff": "a3c_ff", "a3c_lstm": "a3c_lstm", "dqn": "dqn"}
# A3C FF has two Table S3 columns, "A3C FF, 1 day" (320M frames) and "A3C FF" (4 days, 1B frames): a run is set
# beside the one whose budget is nearest its frames (configs/mnih2016.yaml trains A3C FF at the 1-day budget).
PAPER_COLUMNS_FOR_ALGO = {"a3c_ff": ("a3c_ff_1_day", "a3c_ff")}
# Training frames behind a Table S3 column (emulator frames, frame skip included). The paper gives days, not frames;
# A3C: 320M frames for "1 day", 1B for "4 days" (muupan/async-rl wiki, hyperparameters.md section 1.12; "A3C FF"
# read as the 4-day run, SOURCES.md section 1 note 5); DQN: 50M agent steps = 200M frames (hyperparameters.md 2.2).
PAPER_FRAME_BUDGET = {"a3c_ff_1_day": 320_000_000, "a3c_ff": 1_000_000_000, "a3c_lstm": 1_000_000_000,
                      "dqn": 200_000_000}
# Wall-clock training time behind a column, hours (Table 1: "1 day on CPU", "4 days on CPU"; DQN "8 days on GPU")
PAPER_TRAINING_HOURS = {"a3c_ff_1_day": 24.0, "a3c_ff": 96.0, "a3c_lstm": 96.0, "dqn": 192.0}
TABLE_S3_PROTOCOL = "human starts, 30 min"  # how Table S3's scores were evaluated (its caption)


def paper_column(algorithm: str, frames: float | None = None) -> str | None:
    """The Table S3 column (a ``TABLE_S3_COLUMNS`` key) a run of ``algorithm`` with ``frames`` emulator frames is
    compared with: ``PAPER_COLUMN_FOR_ALGO``, or of the algorithm's columns in ``PAPER_COLUMNS_FOR_ALGO`` the one
    whose ``PAPER_FRAME_BUDGET`` is nearest ``frames`` (by ratio). None for an algorithm without a column."""
    columns = PAPER_COLUMNS_FOR_ALGO.get(algorithm)
    if not columns or not frames or frames <= 0:
        return PAPER_COLUMN_FOR_ALGO.get(algorithm)
    return min(columns, key=lambda c: abs(math.log(frames / PAPER_FRAME_BUDGET[c])))


def _read(name: str) -> pd.DataFrame:
    with resources.files("replication.data").joinpath(name).open() as f:
        return pd.read_csv(f)


def table_s3() -> pd.DataFrame:
    """Mnih et al. 2016 Table S3: one row per game (ale-py id in ``game``), raw human-start scores."""
    return _read("mnih2016_table_s3_human_starts.csv")


def human_random() -> pd.DataFrame:
    """Random and human reference scores per game (no-op and human-start columns; see SOURCES.md §2)."""
    return _read("atari_human_random.csv")


def table1_summary() -> pd.DataFrame:
    """Mnih et al. 2016 Table 1: mean/median human-normalized scores (%) per method."""
    return _read("mnih2016_table1_summary.csv")


def table2_speedup() -> pd.DataFrame:
    """Mnih et al. 2016 Table 2: training speed-up vs threads, averaged over seven games."""
    return _read("mnih2016_table2_speedup.csv")


def noop_reference(game: str) -> tuple[float, float, str] | None:
    """(random, human, source) no-op reference scores for ``game``.

    Uses van Hasselt et al. 2016 Table 3 (= Mnih et al. 2015 with decimals) for its 49 games and
    Wang et al. 2016 for the other 8, as our evaluation uses no-op starts. ``None`` for an unknown game.
    """
    df = human_random().set_index("game")
    if game not in df.index:
        return None
    row = df.loc[game]
    if pd.notna(row["random_noop_vanhasselt2016"]):
        return float(row["random_noop_vanhasselt2016"]), float(row["human_noop_vanhasselt2016"]), "vanhasselt2016"
    return float(row["random_noop_wang2016"]), float(row["human_noop_wang2016"]), "wang2016"


def human_normalized(score: float, random: float, human: float) -> float:
    """Human-normalized score in percent: ``100 * (score - random) / (human - random)``."""
    return 100.0 * (score - random) / (human - random)
