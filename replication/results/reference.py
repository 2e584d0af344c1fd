"""The papers' numbers, shipped with the package (``replication/data/``, sources in ``SOURCES.md``).

Copied from the project's reference folder; every value comes from a published table or figure (see SOURCES.md):
Mnih et al. 2016 Table S3 (human starts), Table 1, Table 2 and Figures 1-4 (digitized, section E); Clemente et al.
2017 Table 1 and Figures 2-4 (digitized, sections C and D); Mnih et al. 2015 Extended Data Table 2's DQN column
(section F); random/human reference scores.

Units are converted here, at the edge: the papers' "epochs" (4M frames) and PAAC's global steps (its figures' time
axis unit; one emulator step of one environment = 4 frames at action repeat 4) become emulator ``frames``.
"""

from __future__ import annotations

import math
import re
from importlib import resources

import numpy as np
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
    m = re.search(r"_(\d+)f_", f"_{protocol}_")
    return int(m.group(1)) if m else None


# Mnih 2016 Table S3 caption: "human starts", 30 minutes of emulator time at 60 Hz = 108,000 frames per episode
TABLE_S3_FRAME_CAP = 108_000
PAPER_COLUMN_FOR_ALGORITHM = {"a2c": "a3c_ff_1_day", "a3c_ff": "a3c_ff", "a3c_lstm": "a3c_lstm", "dqn": "dqn"}
# A3C FF has two Table S3 columns, "A3C FF, 1 day" (320M frames) and "A3C FF" (4 days, 1B frames): a run is set
# beside the one whose budget is nearest its frames (configs/mnih2016.yaml trains A3C FF at the 1-day budget).
PAPER_COLUMNS_FOR_ALGORITHM = {"a3c_ff": ("a3c_ff_1_day", "a3c_ff")}
# Training frames behind a Table S3 column (emulator frames, frame skip included). The paper gives days, not frames;
# A3C: 320M frames for "1 day", 1B for "4 days" (muupan/async-rl wiki, hyperparameters.md section 1.12; "A3C FF"
# read as the 4-day run, SOURCES.md section 1 note 5); DQN: 50M agent steps = 200M frames (hyperparameters.md 2.2).
PAPER_FRAME_BUDGET = {"a3c_ff_1_day": 320_000_000, "a3c_ff": 1_000_000_000, "a3c_lstm": 1_000_000_000,
                      "dqn": 200_000_000}
# Wall-clock training time behind a column, hours (Table 1: "1 day on CPU", "4 days on CPU"; DQN "8 days on GPU")
PAPER_TRAINING_HOURS = {"a3c_ff_1_day": 24.0, "a3c_ff": 96.0, "a3c_lstm": 96.0, "dqn": 192.0}
TABLE_S3_PROTOCOL = "human starts, 30 min"  # how Table S3's scores were evaluated (its caption)
# how Mnih et al. 2015 Extended Data Table 2's DQN scores were evaluated (SOURCES.md section F): our protocol
NATURE_DQN_PROTOCOL = "no-op starts, 5 min, epsilon 0.05"


def paper_column(algorithm: str, frames: float | None = None) -> str | None:
    """The Table S3 column (a ``TABLE_S3_COLUMNS`` key) a run of ``algorithm`` with ``frames`` emulator frames is
    compared with: ``PAPER_COLUMN_FOR_ALGORITHM``, or of the algorithm's columns in ``PAPER_COLUMNS_FOR_ALGORITHM``
    the one whose ``PAPER_FRAME_BUDGET`` is nearest ``frames`` (by ratio). None for an algorithm without a column."""
    columns = PAPER_COLUMNS_FOR_ALGORITHM.get(algorithm)
    if not columns or not frames or frames <= 0:
        return PAPER_COLUMN_FOR_ALGORITHM.get(algorithm)
    return min(columns, key=lambda c: abs(math.log(frames / PAPER_FRAME_BUDGET[c])))


def _read(name: str) -> pd.DataFrame:
    with resources.files("replication.data").joinpath(name).open() as f:
        return pd.read_csv(f)


def table_s3() -> pd.DataFrame:
    """Mnih et al. 2016 Table S3: one row per game (ale-py id in ``game``), raw human-start scores."""
    return _read("mnih2016_table_s3_human_starts.csv")


def nature_dqn() -> pd.DataFrame:
    """Mnih et al. 2015 Extended Data Table 2's DQN column, 49 games (ale-py id in ``game``): ``dqn_noop_mnih2015``
    (score, game points, ``NATURE_DQN_PROTOCOL``) and ``dqn_noop_std_mnih2015`` (its printed +- std)."""
    return _read("mnih2015_ext_table2_dqn.csv")


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


# Clemente 2017 (authors' README and train.py): a global step (timestep) is one emulator step of one environment,
# i.e. 4 frames at action repeat 4; an epoch is 1M global steps. Mnih 2016 Figure 3's caption: an epoch is 4M frames.
FRAMES_PER_GLOBAL_STEP = 4
FRAMES_PER_EPOCH = 4_000_000
# Clemente 2017 Table 1's columns with their printed headers (SOURCES.md section C); the PAAC columns' evaluation
# protocol is not stated in the source, its Gorila column is no-op starts, its A3C FF column human starts
CLEMENTE_TABLE1_COLUMNS = {"gorila": "Gorila", "a3c_ff": "A3C FF", "ga3c": "GA3C", "paac_nips": "PAAC arch_nips",
                           "paac_nature": "PAAC arch_nature"}
CLEMENTE_TABLE1_PROTOCOL = {"gorila": "no-op starts", "a3c_ff": "human starts", "ga3c": "not stated",
                            "paac_nips": "not stated", "paac_nature": "not stated"}
CLEMENTE_TRAINING_HOURS = {"paac_nips": 12.0, "paac_nature": 15.0}  # Table 1's training row: "12h GPU", "15h GPU"


def figure_game(name: str) -> str:
    """ale-py id of a game as the figures spell it ("Beam Rider", "Beamrider", "Q*bert", "QBert" -> beam_rider,
    qbert); ids of the games in the figures are their letters, lowercased, words joined by ``_`` where ale-py does."""
    letters = "".join(ch for ch in name.lower() if ch.isalnum())
    return {"beamrider": "beam_rider", "spaceinvaders": "space_invaders", "mspacman": "ms_pacman",
            "namethisgame": "name_this_game", "upndown": "up_n_down"}.get(letters, letters)


def clemente_table1() -> pd.DataFrame:
    """Clemente et al. 2017 Table 1: one row per game (ale-py id in ``game``), scores per ``CLEMENTE_TABLE1_COLUMNS``
    (GA3C blank where the paper prints N/A)."""
    return _read("clemente2017_table1.csv")


def clemente_curves(x: str = "frames") -> pd.DataFrame:
    """Clemente et al. 2017 Figure 3 (``x="frames"``, score vs training epochs) or Figure 4 (``x="hours"``, vs GPU
    hours), digitized: columns ``game`` (ale-py id), ``n_e``, ``frames`` or ``hours``, ``score_low``,
    ``score_high`` (the drawn band) and ``score_line`` (the curve over it); epochs and PAAC global steps are converted
    to frames (``FRAMES_PER_EPOCH``, ``FRAMES_PER_GLOBAL_STEP``).

    Raises:
        ValueError: ``x`` is neither ``frames`` nor ``hours``.
    """
    if x == "hours":
        df = _read("clemente2017_fig_time.csv")
    elif x == "frames":
        df = _read("clemente2017_fig_epochs.csv")
        per_unit = df["x_unit"].map({"training epochs": FRAMES_PER_EPOCH, "timestep": FRAMES_PER_GLOBAL_STEP})
        df = df.assign(frames=df["x"] * per_unit).drop(columns=["x_unit", "x"])
    else:
        raise ValueError(f"x = {x!r}; accepted: frames, hours")
    return df.assign(game=df["game"].map(figure_game))[["game", "n_e", x, "score_low", "score_high", "score_line"]]


def clemente_throughput() -> pd.DataFrame:
    """Clemente et al. 2017 Figure 2, digitized: ``panel, y_unit, architecture, device, n_e, value`` plus
    ``frames_per_s`` (the panel's printed Timesteps/second, PAAC global steps/s, x 4 frames) on that panel's rows
    (NaN on the time-share rows)."""
    df = _read("clemente2017_fig_throughput.csv").drop(columns=["n_e_digitized"])
    # the "Efficiency" panel is in PAAC global steps per second (its axis label); the others are runtime shares
    global_steps_per_s = df["panel"] == "Efficiency"
    return df.assign(frames_per_s=np.where(global_steps_per_s, df["value"] * FRAMES_PER_GLOBAL_STEP, np.nan))


def mnih_curves(x: str = "frames") -> pd.DataFrame:
    """Mnih et al. 2016 Figure 3 (``x="frames"``, score vs epochs of 4M frames) or Figure 4 (``x="hours"``),
    digitized, per method (``1-step Q``, ``n-step Q``, ``A3C``) and thread count: columns ``method, game`` (ale-py
    id), ``threads``, ``frames`` or ``hours``, ``score``, ``score_band_low``, ``score_band_high``, ``vertex``.

    Raises:
        ValueError: ``x`` is neither ``frames`` nor ``hours``.
    """
    if x == "hours":
        df = _read("mnih2016_fig4_time.csv").drop(columns=["hours_digitized"])
    elif x == "frames":
        df = _read("mnih2016_fig3_epochs.csv").drop(columns=["epochs_digitized"])
        df = df.assign(frames=df["epochs"] * FRAMES_PER_EPOCH).drop(columns=["epochs"])
    else:
        raise ValueError(f"x = {x!r}; accepted: frames, hours")
    return df.assign(game=df["game"].map(figure_game))


# Mnih et al. 2016 Figure 1's caption: "DQN was trained on a single Nvidia K40 GPU while the asynchronous methods
# were trained using 16 CPU cores"; each curve averages 5 runs (DQN's: seeds; SOURCES.md section E). The hours of
# its curves are those hosts' hours.
FIGURE1_HOST = {"DQN": "1 Nvidia K40 GPU", "1-step Q": "16 CPU cores", "1-step SARSA": "16 CPU cores",
                "n-step Q": "16 CPU cores", "A3C": "16 CPU cores"}
# the Figure 1 curve of each of our algorithms that the figure draws (its A3C: the feed-forward agent, whose curve is
# Figure 4's 16-thread A3C FF curve, SOURCES.md section E)
FIGURE1_METHOD = {"dqn": "DQN", "a3c_ff": "A3C"}


def mnih_figure1() -> pd.DataFrame:
    """Mnih et al. 2016 Figure 1, digitized: score vs training hours on the paper's hosts (``FIGURE1_HOST``) for
    DQN, 1-step Q, 1-step SARSA, n-step Q and A3C on Beamrider, Breakout, Pong, Q*bert and Space Invaders; columns
    ``method, game`` (ale-py id), ``hours`` (float, 0-15 in 1-hour steps), ``score, score_band_low,
    score_band_high`` (game points), ``vertex`` (``drawn`` or ``interpolated``), sorted by method, game, hours."""
    df = _read("mnih2016_fig1_curves.csv").drop(columns=["hours_digitized"])
    df = df.assign(game=df["game"].map(figure_game), hours=df["hours"].astype(float))
    cols = ["method", "game", "hours", "score", "score_band_low", "score_band_high", "vertex"]
    return df[cols].sort_values(["method", "game", "hours"]).reset_index(drop=True)


def mnih_learning_rates() -> pd.DataFrame:
    """Mnih et al. 2016 Figure 2, digitized: A3C's final score per game for each of its 50 learning rates."""
    df = _read("mnih2016_fig2_lr.csv")
    return df.assign(game=df["game"].map(figure_game))
