"""Which of the papers' claims our runs hold: the claims table behind ``python -m replication.claims``
(``replication.cli.claims``, which writes ``benchmarks/claims.csv``).

Reads run directories finished or still training (a live run's half-written last row is skipped, as the progress
report does; nothing in a run directory is changed) and sets each run group (the seeds of one run group, game and
worker count) beside every claim it tests:

* ``clemente2017_table1``: an A2C group against Clemente et al. 2017 Table 1's PAAC column of its network
  (``arch_nips`` / ``arch_nature``). Ours: the mean of each seed's latest evaluation (no-op starts); CI over seeds,
  or over the one seed's evaluation games. Verdict: ``verdict.score_claim_verdict`` (non-inferiority with a margin
  of ``verdict.CLAIM_MARGIN_HN`` human-normalized points).
* ``clemente2017_fig3``: an A2C group's learning curve against Figure 3's band for its ``n_e`` (= workers).
* ``mnih2016_fig3``: an A3C FF group's learning curve against Mnih et al. 2016 Figure 3's A3C band for its
  thread count (= workers). The learning curve is the training games' mean unclipped score per
  ``CURVE_BIN_FRAMES`` bin (``aggregate.curve_rows``; the papers do not say whether their curves are training or
  evaluation scores, and every run logs its training games), mean over seeds. Curve verdicts:
  ``verdict.band_position`` at each of the paper's points from our first whole bin to our last (ours linearly
  interpolated between bin ends), ``verdict.curve_claim_verdict`` over them.
* ``mnih2016_table_s3_dqn``: a DQN group against Mnih et al. 2016 Table S3's DQN column (Nair et al. 2015's
  human-start scores; the budget behind it is ``reference.PAPER_FRAME_BUDGET``'s 50M agent steps = 200M frames);
  ours and the verdict as for ``clemente2017_table1``; ``mnih2015_dqn`` the same against the Nature paper's own
  score (Extended Data Table 2, no-op starts: our evaluation protocol), with the same budget.

A group with a run still short of its budget is ``running`` (its frames so far in ``frames``, the verdict so far in
``detail``). A finished group below ``MIN_FRAMES`` of the claim is ``not comparable``, except a score claim that
holds there: reaching the paper's final score with less training than the paper's is enough to hold it, while
falling short of it earlier says nothing about the paper's budget. Writes ``claims.csv``,
``claims_curves.csv`` (ours and the paper's band at each paper point), ``claims_training_curves.csv`` (each
claim group's learning curve, mean and 95% CI over seeds per bin, with its ``settings``: the suite's published
curve, which the report draws beside a user's rerun at the same settings) and one PNG per ``FIGURE_CLAIMS`` row,
``claims_{claim}_{game}_w{workers}.png`` (ours, mean and 95% CI over seeds, over the paper's band, or towards the
paper's final score for Table S3's DQN; x in frames and epochs), with the curves of the groups ``BESIDE`` the claim
(e.g. A3C LSTM beside A3C FF, the shortened DQN schedule beside Nature's: no verdict) at the same game and worker
count."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from replication.algorithms.registry import algorithms
from replication.core.errors import UserError
from replication.results import reference
from replication.results.parity import is_peer
from replication.results.stats import grouped_mean_ci, mean_ci
from replication.results.verdict import (CURVE_MIN_SHARE, band_position, claim_ci, curve_claim_verdict, margin_points,
                                         score_claim_verdict)
from replication.runs.read import curve_rows, read_live_log
from replication.runs.rundir import algorithm_of, read_config, read_done

# The least frames behind a final verdict, per claim (issue 27: PAAC's Pong curve is past -20 by 5 epochs and
# near its plateau by 10; Mnih 2016 Figure 3's 2-thread A3C curve has left random by 20 points at 8 epochs;
# Table S3's DQN column: the Nature agent's own budget, 50M agent steps = 200M frames)
MIN_FRAMES = {"clemente2017_table1": 40_000_000, "clemente2017_fig3": 40_000_000, "mnih2016_fig3": 32_000_000,
              "mnih2016_table_s3_dqn": reference.PAPER_FRAME_BUDGET["dqn"],
              "mnih2015_dqn": reference.PAPER_FRAME_BUDGET["dqn"]}
SOURCES = {"clemente2017_table1": "Clemente et al. 2017, Table 1",
           "clemente2017_fig3": "Clemente et al. 2017, Figure 3 (digitized)",
           "mnih2016_fig3": "Mnih et al. 2016, Figure 3 (digitized)",
           "mnih2016_table_s3_dqn": "Mnih et al. 2016, Table S3 (DQN column, from Nair et al. 2015)",
           "mnih2015_dqn": "Mnih et al. 2015, Extended Data Table 2 (DQN, no-op starts)"}
SCORE_CLAIMS = ("clemente2017_table1", "mnih2016_table_s3_dqn", "mnih2015_dqn")
CURVE_BIN_FRAMES = 2_000_000  # half an epoch: ~500 Pong games per bin early in training, ~200 late
CURVE_MIN_BINS = 10  # a run shorter than 10 such bins gets 10 bins of its budget (the DQN pair's 3M: 300k each)
# the curve points behind a curve claim (curve_points) and their key columns (claims_table), one frame per claim and
# run group
POINT_COLUMNS = ["frames", "paper_low", "paper_high", "paper_line", "ours", "position"]
CURVE_KEYS = ["claim", "group", "game", "workers"]
# Run groups drawn beside a claim's own in its figures, not judged by it (algorithm per claim), at the same game
# and worker count: Mnih 2016 Figure 3 draws A3C feed-forward only and the paper prints no A3C LSTM curve (its one
# LSTM number on Pong is Table S3's, after four days on 16 threads), so an A3C LSTM group is set beside the FF group;
# the DQN scores (Table S3, Nature's) have no curve at all, so the other DQN groups (configs/parity.yaml's shortened
# schedule, ours and SB3's) are set beside the Nature-settings group, to show how the shortening changes the curve.
BESIDE = {"mnih2016_fig3": ("a3c_lstm",), "mnih2016_table_s3_dqn": ("dqn",), "mnih2015_dqn": ("dqn",)}
# The claims with a figure of their own (``claims_{claim}_{game}_w{workers}.png``): the curve claims, over the
# paper's band, and the DQN scores (Table S3's, Nature's): a learning curve towards the paper's final score with its
# BESIDE groups.
FIGURE_CLAIMS = ("clemente2017_fig3", "mnih2016_fig3", "mnih2016_table_s3_dqn", "mnih2015_dqn")
CLAIM_COLUMNS = ["claim", "source", "algorithm", "group", "game", "workers", "settings", "frames", "seeds",
                 "wall_time_h", "host", "ours", "ci_low", "ci_high", "ci_over", "paper", "margin", "verdict", "detail"]


def read_live_run(path: str | Path) -> dict:
    """One run directory, finished or still training: its ``config``, ``done`` (None while training), ``eval``
    and ``episodes`` logs (``read.read_live_log``: a torn last row skipped), ``frames`` so far and
    ``wall_time_s`` so far (from ``done.json``, else the logs' last rows).

    Raises:
        UserError: no ``config.json`` (nothing trained there), or a damaged ``config.json`` or ``done.json``.
    """
    path = Path(path)
    if not (path / "config.json").exists():
        raise UserError(f"{path} has no config.json; accepted: a run directory (finished or training)")
    config = read_config(path)  # keys as this code names them; a damaged config.json refused in one line
    done = read_done(path)
    logs = {name: read_live_log(path / f"{name}.csv") for name in ("eval", "episodes", "updates")}
    live = [df for df in (logs["episodes"], logs["updates"]) if len(df)]
    frames = int(done["frames"]) if done else max((int(df["frames"].max()) for df in live), default=0)
    wall = float(done["wall_time_s"]) if done else max((float(df["wall_time_s"].max()) for df in live), default=0.0)
    return {"path": path, "config": config, "done": done, "eval": logs["eval"], "episodes": logs["episodes"],
            "frames": frames, "wall_time_s": wall}


def settings_of(config: dict) -> str:
    """``paper`` when a run's hyperparameters are its algorithm's defaults (each cites its paper), else the keys
    that differ, as ``key=value`` joined by ``; `` (e.g. PAAC's code defaults ``entropy_beta=0.02;
    max_grad_norm=3.0``)."""

    cls = algorithms()[algorithm_of(config)][0]
    defaults = asdict(cls())
    changed = [f"{k}={v}" for k, v in sorted(config.get("hyper", {}).items()) if k in defaults and defaults[k] != v]
    return "; ".join(changed) or "paper"


def training_curve(run: dict) -> pd.DataFrame:
    """A run's learning curve: its training games' mean unclipped ``score`` per ``CURVE_BIN_FRAMES`` bin of its
    budget, or per tenth of it below ``CURVE_MIN_BINS`` such bins (``aggregate.curve_rows``), ``frames`` at each
    bin's end, ``hours`` (mean wall-clock hours of the bin's games); only bins the run has passed (a training run's
    current bin is left out)."""
    total = int(run["config"]["total_frames"])
    rows = curve_rows({**run, "done": {"frames": total}}, max(CURVE_MIN_BINS, total // CURVE_BIN_FRAMES))
    rows = rows[rows["frames"] <= run["frames"]]
    return rows[["frames", "hours", "episode_return"]].rename(columns={"episode_return": "score"})


def paper_band(claim: str, game: str, workers: int, x: str = "frames") -> pd.DataFrame | None:
    """The paper's band for a curve claim (``clemente2017_fig3`` or ``mnih2016_fig3``): ``x`` (``frames``, or
    ``hours`` for Figure 4), ``low, high, line``, in ``x`` order; None where the paper draws no curve for this game
    and worker count (n_e for PAAC, threads for A3C), and for a score claim."""
    if claim in SCORE_CLAIMS:
        return None
    if claim == "clemente2017_fig3":
        c = reference.clemente_curves(x)
        c = c[(c["game"] == game) & (c["n_e"] == workers)]
        band = c.rename(columns={"score_low": "low", "score_high": "high", "score_line": "line"})
    else:
        c = reference.mnih_curves(x)
        c = c[(c["method"] == "A3C") & (c["game"] == game) & (c["threads"] == workers)]
        band = c.rename(columns={"score_band_low": "low", "score_band_high": "high", "score": "line"})
    if band.empty:
        return None
    return band[[x, "low", "high", "line"]].sort_values(x).reset_index(drop=True)


def claims_of(algorithm: str, game: str, workers: int) -> list[str]:
    """The claims a run group of ``algorithm`` on ``game`` with ``workers`` tests (module docstring)."""
    out = []
    if algorithm == "a2c":
        if game in set(reference.clemente_table1()["game"]):
            out.append("clemente2017_table1")
        if paper_band("clemente2017_fig3", game, workers) is not None:
            out.append("clemente2017_fig3")
    if algorithm == "a3c_ff" and paper_band("mnih2016_fig3", game, workers) is not None:
        out.append("mnih2016_fig3")
    if algorithm == "dqn":
        out += [c for c in ("mnih2016_table_s3_dqn", "mnih2015_dqn") if not np.isnan(paper_score(c, game)[0])]
    return out


def paper_score(claim: str, game: str, network: str = "nips") -> tuple[float, str, str]:
    """A score claim's (paper's score on ``game`` in game points, NaN where the paper prints none; its column as
    printed; the protocol it was evaluated with). ``network``: PAAC's Table 1 column (``nips`` / ``nature``)."""
    if claim == "clemente2017_table1":
        column = f"paac_{network}"
        table, name = reference.clemente_table1(), reference.CLEMENTE_TABLE1_COLUMNS[column]
        protocol = reference.CLEMENTE_TABLE1_PROTOCOL[column]
    elif claim == "mnih2016_table_s3_dqn":
        table, column, name, protocol = reference.table_s3(), "dqn", "DQN", reference.TABLE_S3_PROTOCOL
    else:  # mnih2015_dqn
        table, column, name = reference.nature_dqn(), "dqn_noop_mnih2015", "DQN"
        protocol = reference.NATURE_DQN_PROTOCOL
    t = table.set_index("game")
    return (float(t.loc[game, column]) if game in t.index else np.nan), name, protocol


def curve_points(curves: list[pd.DataFrame], band: pd.DataFrame, margin: float) -> pd.DataFrame:
    """Ours against a paper's band at each of the paper's points from our curves' first point to their last.

    Args:
        curves: one learning curve per seed, each with ``frames`` (ascending) and ``score`` (e.g. ``training_curve``).
        band: the paper's ``frames, low, high, line`` (``paper_band``).
        margin: game points the band is widened by (``verdict.margin_points``).

    Returns:
        ``frames, paper_low, paper_high, paper_line, ours`` (the mean over seeds of each curve linearly interpolated
        at the paper's point), ``position`` (``verdict.band_position``); empty unless every seed has a point.
    """
    if not curves or any(len(c) == 0 for c in curves):
        return pd.DataFrame(columns=POINT_COLUMNS)
    first = max(c["frames"].min() for c in curves)
    last = min(c["frames"].max() for c in curves)
    pts = band[(band["frames"] >= first) & (band["frames"] <= last)]
    ours = np.mean([np.interp(pts["frames"], c["frames"], c["score"]) for c in curves], axis=0)
    return pd.DataFrame({"frames": pts["frames"].to_numpy(), "paper_low": pts["low"].to_numpy(),
                         "paper_high": pts["high"].to_numpy(), "paper_line": pts["line"].to_numpy(), "ours": ours,
                         "position": [band_position(o, lo, hi, margin)
                                      for o, lo, hi in zip(ours, pts["low"], pts["high"])]})


def curve_claim(points: pd.DataFrame, margin: float) -> tuple[str, str]:
    """The verdict over ``curve_points`` (``verdict.curve_claim_verdict``) and a line saying how it was reached."""
    counts = points["position"].value_counts() if len(points) else pd.Series(dtype=int)
    last = points["frames"].max() / reference.FRAMES_PER_EPOCH if len(points) else 0.0
    detail = (f"{len(points)} paper point{'' if len(points) == 1 else 's'} up to {last:.1f} epochs: "
              + ", ".join(f"{counts.get(k, 0)} {k}" for k in ("inside", "above", "below"))
              + f" (band widened by {margin:.3g}); held when >= {CURVE_MIN_SHARE:.0%} inside or above and the last "
              "not below")
    return curve_claim_verdict(list(points["position"])), detail


def _latest_score(runs: list[dict]) -> tuple[float, float, float, str]:
    """``verdict.claim_ci`` of each seed's latest evaluation: over seeds, or over the one seed's evaluation games."""
    finals = []
    for r in runs:
        ev = r["eval"]
        finals.append(ev[ev["frames"] == ev["frames"].max()]["episode_return"].to_numpy(float) if len(ev)
                      else np.array([]))
    if any(len(f) == 0 for f in finals):
        return np.nan, np.nan, np.nan, "no evaluation yet"
    one_seed = mean_ci(finals[0])[1:] if len(finals) == 1 else None
    return claim_ci(np.array([f.mean() for f in finals]), one_seed)


def claim_row(claim: str, runs: list[dict]) -> tuple[dict, pd.DataFrame]:
    """One ``claims.csv`` row (``CLAIM_COLUMNS``) for ``claim`` over one run group's seeds ``runs``, and the curve
    points behind it (empty for a score claim)."""
    c0 = runs[0]["config"]
    algorithm, game, workers = algorithm_of(c0), c0["game"], int(c0["workers"])
    network = c0.get("hyper", {}).get("network", "nips")
    frames = min(r["frames"] for r in runs)
    margin = margin_points(game)
    points = pd.DataFrame()
    if claim in SCORE_CLAIMS:
        paper, column, protocol = paper_score(claim, game, network)
        ours, lo, hi, over = _latest_score(runs)
        judged = not np.isnan(ours)
        verdict = score_claim_verdict(lo, paper, margin) if judged else "not held"
        detail = (f"{column} column, protocol {protocol} (ours: no-op starts); held when our CI's lower "
                  f"bound >= paper - {margin:.3g}")
    else:
        points = curve_points([training_curve(r) for r in runs], paper_band(claim, game, workers), margin)
        paper = float(points["paper_line"].iloc[-1]) if len(points) else np.nan
        ours = float(points["ours"].iloc[-1]) if len(points) else np.nan
        lo = hi = np.nan
        over = "curve: ours (training games, mean over seeds) at the paper's last point reached"
        verdict, detail = curve_claim(points, margin)
        judged = len(points) > 0
    finished = all(r["done"] is not None for r in runs)
    short = frames < MIN_FRAMES[claim] and not (claim in SCORE_CLAIMS and verdict == "held")
    # a score short of the paper's before the paper's budget says nothing about that budget, finished or so far (a
    # running score claim is never "so far not held" there); a curve so far is judged at the paper points reached
    if short and (finished or (judged and claim in SCORE_CLAIMS)):
        detail = f"{frames / 1e6:.3g}M frames, below the {MIN_FRAMES[claim] / 1e6:.0f}M a verdict needs; " + detail
        verdict = "not comparable"
    if not finished:
        detail = (f"{SO_FAR}{verdict}; " if judged else f"{NOTHING_YET}; ") + detail
        verdict = "running"
    host = c0.get("host", {})
    steals = [r["done"]["cpu_steal"] for r in runs if r["done"] and r["done"].get("cpu_steal") is not None]
    steal = f", CPU steal {max(steals):.0%}" if steals else ""  # done.json's, where recorded: the worst seed's
    row = {"claim": claim, "source": SOURCES[claim], "algorithm": algorithm, "group": c0["group"], "game": game,
           "workers": workers, "settings": settings_of(c0), "frames": frames, "seeds": len(runs),
           "wall_time_h": round(max(r["wall_time_s"] for r in runs) / 3600, 2),
           "host": f"{host.get('cpu', '?')} ({host.get('cores', '?')} cores{steal})", "ours": ours, "ci_low": lo,
           "ci_high": hi, "ci_over": over, "paper": paper, "margin": margin, "verdict": verdict, "detail": detail}
    return row, points.assign(claim=claim, group=c0["group"], game=game, workers=workers)  # CURVE_KEYS


SO_FAR, NOTHING_YET = "so far ", "nothing to judge yet"  # how a running claim's detail starts (claim_row)


def verdict_so_far(verdict: str, detail: str) -> str:
    """A claims.csv row's verdict, or for a ``running`` one the verdict its frames so far give (the start of its
    ``detail``, as ``claim_row`` writes it): ``held``, ``not held``, ``not comparable`` (a score claim short of the
    paper's before the paper's budget) or ``nothing to judge yet``."""
    if verdict != "running":
        return verdict
    return detail[len(SO_FAR):].split(";", 1)[0] if detail.startswith(SO_FAR) else NOTHING_YET


def run_groups(runs: list[dict]) -> list[tuple[tuple[str, str, int], list[dict]]]:
    """The ``read_live_run`` dicts grouped by run group, game and workers (the seeds of one setting), sorted by
    that key: ``[((group, game, workers), [run, ...]), ...]``.

    Raises:
        UserError: two runs of one group share a seed (e.g. a rerun's directory beside the published one): their
            mean over seeds would count one seed twice.
    """
    groups: dict[tuple[str, str, int], list[dict]] = {}
    for r in runs:
        c = r["config"]
        members = groups.setdefault((c["group"], c["game"], int(c["workers"])), [])
        twin = next((m for m in members if m["config"]["seed"] == c["seed"]), None)
        if twin is not None:
            raise UserError(f"{r['path']} and {twin['path']} are both seed {c['seed']} of {c['group']} on {c['game']} "
                            f"with {c['workers']} workers; accepted: one run directory per seed (pass a rerun "
                            "apart, with its own --out)")
        members.append(r)
    return sorted(groups.items(), key=lambda kv: kv[0])


def claims_table(runs: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``claims.csv``'s rows for every claim the ``read_live_run`` dicts of our runs test (one per claim and run
    group, game and workers; a peer's ``sb3_*`` runs test none), and the curve points behind the curve claims
    (``POINT_COLUMNS`` and ``CURVE_KEYS``; those columns, no rows, while no run has reached a paper point, so that
    ``--update`` finds the published file's columns either way)."""
    rows, points = [], []
    for (_, game, workers), members in run_groups(runs):
        c0 = members[0]["config"]
        if is_peer(members[0]):  # SB3's runs are drawn beside ours (published_curves), never judged as ours
            continue
        for claim in claims_of(algorithm_of(c0), game, workers):
            row, pts = claim_row(claim, members)
            rows.append(row)
            points.append(pts)
    # the key columns even before any paper point is reached
    curves = pd.concat([p for p in points if len(p)] or [pd.DataFrame(columns=POINT_COLUMNS + CURVE_KEYS)],
                       ignore_index=True)
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS), curves


GROUP_KEY = ["group", "game", "workers"]  # one run group's rows in every file ``python -m replication.claims`` writes


def keep_other_groups(new: pd.DataFrame, published: pd.DataFrame, groups: set[tuple], key=GROUP_KEY) -> pd.DataFrame:
    """``new`` with the rows of ``published`` (the same file as written before) of every run group not in
    ``groups`` (values of ``key``, by default ``(group, game, workers)``: the groups regenerated from run
    directories) put back: what ``python -m replication.claims --update`` writes, so that a claim whose run
    directories are elsewhere (another host, a machine since replaced) keeps its published rows while the
    regenerated groups' rows are all replaced (a group with no curve point yet leaves none of its old ones behind).
    Rows are sorted by ``GROUP_KEY`` (stable: each group's rows keep their order); columns are ``new``'s.

    Raises:
        KeyError: ``published`` or ``new`` lacks a ``GROUP_KEY`` column.
    """
    fresh = {tuple(map(str, k)) for k in groups}
    kept = published[[tuple(k) not in fresh for k in published[key].astype(str).to_numpy()]]
    both = pd.concat([d for d in (kept.reindex(columns=new.columns), new) if len(d)] or [new], ignore_index=True)
    return both.sort_values(GROUP_KEY, kind="stable", key=lambda c: c.astype(str)).reset_index(drop=True)


def curve_band(rows: pd.DataFrame, value: str = "episode_return") -> pd.DataFrame:
    """One run group's curve from its rows per seed and frame bin (``frames``, ``hours``, ``value``: a score in game
    points): per ``frames`` bin the mean of ``value`` over seeds with its 95% bootstrap CI (``grouped_mean_ci``:
    ``mean, ci_low, ci_high``) and the bin's wall-clock ``hours`` averaged over seeds (each seed has its own clock)."""
    band = grouped_mean_ci(rows, ["frames"], value)
    band["hours"] = rows.groupby("frames")["hours"].mean().to_numpy()
    return band


def published_curves(runs: list[dict]) -> pd.DataFrame:
    """Per run group (``group, algorithm, game, workers, settings``, ``seeds``) its ``training_curve`` per bin:
    ``frames, hours`` (mean over seeds), ``mean, ci_low, ci_high`` (``stats.grouped_mean_ci`` over seeds)."""
    out = []
    for (group, game, workers), rs in run_groups(runs):
        curves = pd.concat([training_curve(r).assign(seed=r["config"]["seed"]) for r in rs], ignore_index=True)
        if curves.empty:
            continue
        band = curve_band(curves, "score")
        c0 = rs[0]["config"]
        out.append(band.assign(group=group, algorithm=algorithm_of(c0), game=game, workers=workers,
                               settings=settings_of(c0), seeds=len(rs)))
    cols = ["group", "algorithm", "game", "workers", "settings", "seeds", "frames", "hours", "mean", "ci_low",
            "ci_high"]
    return pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)


def beside_curves(claim: str, game: str, workers: int, curves: pd.DataFrame,
                  group: str | None = None) -> pd.DataFrame:
    """The rows of ``curves`` of the run groups drawn beside ``claim``'s (``BESIDE``: their algorithm, on ``game``
    at ``workers``), but not those of ``group`` (the claim's own run group, where it shares the algorithm: the DQN
    groups beside the Nature-settings one), in ``group, frames`` order; none for a claim with nothing beside it.
    ``curves``: any table with ``group, algorithm, game, workers, frames`` columns (``published_curves``' one row
    per group and bin, or ``curves.csv``'s one per seed and bin)."""
    algos = BESIDE.get(claim, ())
    rows = curves[curves["algorithm"].isin(algos) & (curves["game"] == game)
                  & (curves["workers"].astype(int) == int(workers)) & (curves["group"] != group)]
    return rows.sort_values(["group", "frames"], kind="stable").reset_index(drop=True)

