"""The report's Clemente et al. 2017 (PAAC) pages, from the aggregated tables of A2C runs.

* Table 1 with our column: per PAAC game our A2C ran, our final evaluation beside Gorila, A3C FF, GA3C and the two
  PAAC columns; the verdict against the PAAC column of the run's network (``verdict.score_claim_verdict``,
  non-inferiority within ``verdict.CLAIM_MARGIN_HN`` human-normalized points; ``not comparable`` below
  ``claims.MIN_FRAMES`` or without a CI).
* Figures 3 and 4 reproduced: per (run group, game) with a band in the paper for its n_e, our training curve (mean
  and 95% CI over seeds per frame bin, ``curves.csv``) over the paper's band, x in epochs (Figure 3) and in hours
  (Figure 4: the paper's hours are on one GPU, ours on this host); the curve verdict (``claims.curve_points``,
  ``claims.curve_claim``) at the paper's points.
* Figure 2 on this host: our A2C training frames/s per n_e beside the paper's GPU and CPU curves
  (PAAC global steps/s x 4 frames).

With ``published`` (``claims.published_curves``, read from the suite's ``benchmarks/claims_training_curves.csv``),
Figures 3 and 4 also draw the suite's own published curve for a panel's algorithm, game, n_e and settings, so a
user's rerun is checked against ours as well as the paper's.

``clemente_lines`` gives page 1's sentence per Pong-style claim: whether the run reproduced Table 1's score and
Figure 3's curve, and how long it took.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from replication.report.curves_figure import finish_band_panel, plot_band, run_colours
from replication.report.layout import Document
from replication.report.page import fit_grid
from replication.results import reference
from replication.results.claims import (BESIDE, MIN_FRAMES, beside_curves, curve_band, curve_claim, curve_points,
                                        paper_band, settings_of)
from replication.results.verdict import (CLAIM_MARGIN_HN, NO_CI, VERDICT_FILLS, claim_ci, fmt_frames, margin_points,
                                         score_claim_verdict)

PAAC_GAMES = ["amidar", "centipede", "beam_rider", "boxing", "breakout", "ms_pacman", "name_this_game", "pong",
              "qbert", "seaquest", "space_invaders", "up_n_down"]  # Clemente et al. 2017 Table 1, its 12 games
CLAIM_FILLS = {"held": VERDICT_FILLS["reproduced"], "not held": VERDICT_FILLS["below paper"],
               "not comparable": VERDICT_FILLS["not comparable"]}
TABLE1_SOURCE = ("Clemente et al. 2017 Table 1 (read from a vector copy, SOURCES.md section C): its Gorila column is "
                 "no-op starts, its A3C FF column human starts (= Mnih et al. 2016 Table S3), and the protocol of its "
                 "PAAC columns is not stated in the source")


def group_networks(runs: list[dict]) -> dict[str, str]:
    """Run group label -> network (``hyper.network`` of its runs' configs in ``runs.json``; ``nips`` if unrecorded,
    A2C's default)."""
    return {r["config"]["group"]: r["config"].get("hyper", {}).get("network", "nips") for r in runs if "config" in r}


def table1_verdicts(scores: pd.DataFrame, networks: dict[str, str]) -> pd.DataFrame:
    """Table 1's claim per A2C (run group, game) on a PAAC game: ``group, game, workers, network, seeds, frames,
    hours`` (longest run), ``mean, ci_low, ci_high, ci_over`` (``verdict.claim_ci``: over seeds, or the one seed's
    evaluation games when ``scores`` has ``eval_ci_low/high``), ``paper_column, paper, margin, verdict, reason``."""
    a2c = scores[(scores["algorithm"] == "a2c") & scores["game"].isin(PAAC_GAMES)]
    table1 = reference.clemente_table1().set_index("game")
    rows = []
    for (group, game, workers), g in a2c.groupby(["group", "game", "workers"]):
        network = networks.get(group, "nips")
        column = f"paac_{network}"
        one = (g["eval_ci_low"].iloc[0], g["eval_ci_high"].iloc[0]) if "eval_ci_low" in g and len(g) == 1 else None
        mean, lo, hi, over = claim_ci(g["eval_mean"].to_numpy(float), one)
        paper, margin, frames = float(table1.loc[game, column]), margin_points(game), int(g["frames"].max())
        reasons = []
        if frames < MIN_FRAMES["clemente2017_table1"]:
            reasons.append(f"budget: {fmt_frames(frames)} frames, below the "
                           f"{fmt_frames(MIN_FRAMES['clemente2017_table1'])} a verdict needs")
        if np.isnan(lo):
            reasons.append(NO_CI)
        rows.append({"group": group, "game": game, "workers": workers, "network": network, "seeds": len(g),
                     "frames": frames, "hours": g["wall_time_s"].max() / 3600, "mean": mean, "ci_low": lo,
                     "ci_high": hi, "ci_over": over, "paper_column": reference.CLEMENTE_TABLE1_COLUMNS[column],
                     "paper": paper, "margin": margin,
                     "verdict": "not comparable" if reasons else score_claim_verdict(lo, paper, margin),
                     "reason": "; ".join(reasons)})
    return pd.DataFrame(rows)


# a curve claim -> (the algorithm it judges, what the paper calls the worker count, the paper)
CURVE_CLAIMS = {"clemente2017_fig3": ("a2c", "n_e", "Clemente 2017"),
                "mnih2016_fig3": ("a3c_ff", "threads", "Mnih 2016")}


def curve_verdicts(curves: pd.DataFrame, claim: str = "clemente2017_fig3") -> pd.DataFrame:
    """A Figure 3 claim (``CURVE_CLAIMS``: PAAC's for A2C, A3C's for A3C FF) per (run group, game, workers) the
    paper draws: ``group, game, workers, seeds, frames, points`` (``claims.curve_points``), ``verdict, detail``
    (``claims.curve_claim``; ``not comparable`` below ``claims.MIN_FRAMES``)."""
    ours = curves[curves["algorithm"] == CURVE_CLAIMS[claim][0]]
    rows = []
    for (group, game, workers), g in ours.groupby(["group", "game", "workers"]):
        band = paper_band(claim, game, int(workers))
        if band is None:
            continue
        per_seed = [s.rename(columns={"episode_return": "score"})[["frames", "score"]].sort_values("frames")
                    for _, s in g.groupby("seed")]
        margin = margin_points(game)
        points = curve_points(per_seed, band, margin)
        verdict, detail = curve_claim(points, margin)
        frames = int(g["frames"].max())
        if frames < MIN_FRAMES[claim]:
            verdict, detail = "not comparable", (f"budget: {fmt_frames(frames)} frames, below the "
                                                 f"{fmt_frames(MIN_FRAMES[claim])} a verdict needs; "
                                                 + detail)
        rows.append({"group": group, "game": game, "workers": workers, "seeds": len(per_seed), "frames": frames,
                     "points": points, "verdict": verdict, "detail": detail})
    return pd.DataFrame(rows, columns=["group", "game", "workers", "seeds", "frames", "points", "verdict", "detail"])


def clemente_lines(scores: pd.DataFrame, curves: pd.DataFrame, runs: list[dict]) -> list[str]:
    """Page 1's answer per A2C run group and PAAC game: Table 1's score and Figure 3's curve, held or not, with
    the run's frames, seeds and wall time. Empty without A2C runs on a PAAC game."""
    table = table1_verdicts(scores, group_networks(runs))
    curve = curve_verdicts(curves).set_index(["group", "game", "workers"])
    lines = []
    for r in table.itertuples():
        c = curve.loc[(r.group, r.game, r.workers)] if (r.group, r.game, r.workers) in curve.index else None
        ci = f"[{r.ci_low:.1f}, {r.ci_high:.1f}] ({r.ci_over})" if not np.isnan(r.ci_low) else f"({NO_CI})"
        detail = None if c is None else (
            c["detail"].split(";")[0] if c["verdict"] == "not comparable" else c["detail"].split(" (")[0])
        lines.append(
            f"Clemente et al. 2017 on {r.game} ({r.group}, n_e {r.workers}, {r.network} network, {r.seeds} seed(s), "
            f"{fmt_frames(r.frames)} frames, {r.hours:.2f} h per run on this host): Table 1 score {r.verdict} "
            f"(ours {r.mean:.1f} {ci} vs {r.paper_column} {r.paper:g}, margin {r.margin:.3g})"
            + (f"; Figure 3 curve {c['verdict']} ({detail})"
               if c is not None else "") + ".")
    return lines


def _table1_shown(table: pd.DataFrame) -> pd.DataFrame:
    """``table1_verdicts`` beside every Table 1 column, as printed (missing values in words)."""
    t1 = reference.clemente_table1().set_index("game")
    shown = pd.DataFrame({
        "game": table["game"], "ours (group, n_e)": [f"{g}, {w}" for g, w in zip(table["group"], table["workers"])],
        "frames": [fmt_frames(f) for f in table["frames"]],
        "ours: mean [95% CI]": [f"{m:.1f} [{lo:.1f}, {hi:.1f}]" if not np.isnan(lo) else f"{m:.1f} [{NO_CI}]"
                                for m, lo, hi in zip(table["mean"], table["ci_low"], table["ci_high"])]})
    for col, header in reference.CLEMENTE_TABLE1_COLUMNS.items():
        shown[header] = [t1.loc[g, col] for g in table["game"]]
    shown["verdict"] = table["verdict"]
    shown["why"] = [r or "-" for r in table["reason"]]
    return shown


def group_settings(runs: list[dict]) -> dict[str, str]:
    """Run group label -> its settings as ``claims.settings_of`` says them (``paper`` or the changed keys)."""
    return {r["config"]["group"]: settings_of(r["config"]) for r in runs if "config" in r and "hyper" in r["config"]}


def draw_band_panels(fig, rect, curves: pd.DataFrame, verdicts: pd.DataFrame, x: str,
                     published: pd.DataFrame | None = None, settings: dict[str, str] | None = None,
                     claim: str = "clemente2017_fig3") -> None:
    """One panel per ``curve_verdicts`` row: our training curve (mean, 95% CI over seeds) over Figure 3's
    (``x="frames"``, drawn in epochs) or Figure 4's (``x="hours"``) band and line for the run's n_e, up to our
    last point, with the suite's ``published`` curve at the group's ``settings`` where there is one; the verdict
    in the panel title, and the run groups ``BESIDE`` the claim at the panel's game and n_e (A3C LSTM beside A3C FF),
    unjudged; on the hours panels (Figure 4) the title's verdict is the epochs one: the paper's hours
    are another host's. ``claim``: whose figure (``CURVE_CLAIMS``)."""
    algorithm, workers_name, paper = CURVE_CLAIMS[claim]
    n = max(1, len(verdicts))
    cols = min(3, n)
    gs = fig.add_gridspec(-(-n // cols), cols)
    others = curves[curves["algorithm"].isin(BESIDE.get(claim, ()))]
    colours = run_colours(list(verdicts["group"]) + list(others["group"].unique()))
    for i, v in enumerate(verdicts.itertuples()):
        ax = fig.add_subplot(gs[i // cols, i % cols])
        g = curves[(curves["group"] == v.group) & (curves["game"] == v.game) & (curves["workers"] == v.workers)]
        band = paper_band(claim, v.game, int(v.workers), x)
        scale = reference.FRAMES_PER_EPOCH if x == "frames" else 1.0
        ours = curve_band(g)
        end = float(ours[x].max()) if len(ours) else 1.0
        for group, o in beside_curves(claim, v.game, int(v.workers), curves).groupby("group"):
            b = curve_band(o)
            b = b[b[x] <= end * 1.1]
            plot_band(ax, b[x] / scale, b, colours[group],
                      label=f"ours: {group}, {o['seed'].nunique()} seed(s), beside (no paper curve)")
        shown = band[band[x] <= end * 1.1]
        ax.fill_between(shown[x] / scale, shown["low"], shown["high"], color="#e69f00", alpha=0.35, lw=0,
                        label=f"{paper}, {workers_name} = {v.workers}")
        ax.plot(shown[x] / scale, shown["line"], color="#e69f00", lw=1)
        plot_band(ax, ours[x] / scale, ours, colours[v.group], label=f"ours: {v.group}, {v.seeds} seed(s)")
        if published is not None and settings is not None and v.group in settings:
            pub = published[(published["algorithm"] == algorithm) & (published["game"] == v.game)
                            & (published["workers"] == v.workers) & (published["settings"] == settings[v.group])]
            pub = pub[pub[x] <= end * 1.1]
            if len(pub):
                ax.plot(pub[x] / scale, pub["mean"], color="#555555", ls="-.", lw=1,
                        label=f"the suite's published run ({int(pub['seeds'].iloc[0])} seed(s))")
        ref = reference.noop_reference(v.game)
        if ref:
            ax.axhline(ref[0], ls="--", color="grey", lw=0.8, label="random (no-op)")
        verdict = v.verdict if x == "frames" else f"{v.verdict} on epochs (hours are not judged)"
        finish_band_panel(ax, f"{v.game}, {v.group} {workers_name} {v.workers}: {verdict}",
                          "epochs (4M frames)" if x == "frames" else "wall-clock hours (paper's host; ours: this host)")
    fit_grid(gs, fig, rect)


def mnih_figure3_section(doc: Document, curves: pd.DataFrame, runs: list[dict],
                         published: pd.DataFrame | None = None) -> list[str]:
    """Mnih et al. 2016 Figures 3 and 4 with ours: each A3C FF (run group, game, workers) the paper draws, our
    training curve over the paper's A3C band for that thread count, with the curve verdict; returns what is not
    drawn."""
    curve = curve_verdicts(curves, "mnih2016_fig3")
    if curve.empty:
        return ["Mnih et al. 2016 Figures 3 and 4 with ours: no A3C FF run on a game and thread count they draw"]
    settings = group_settings(runs)
    caption = ("Ours: training games' mean unclipped score per frame bin, mean and 95% CI over seeds. Paper: the A3C "
               "band and line of Mnih et al. 2016 Figure {n} for the same number of threads (our actor-learners), "
               "digitized (SOURCES.md section E; the captions' runs: the three best learning rates of 50). Curve "
               f"verdict as on the Clemente pages; 'not comparable' below {fmt_frames(MIN_FRAMES['mnih2016_fig3'])} "
               "frames. An A3C LSTM run group at the same thread count is drawn beside, not judged: the paper draws "
               "no LSTM curve.")
    for x, n, title in (("frames", 3, "score vs epochs"), ("hours", 4, "score vs hours")):
        doc.figure(lambda fig, rect, x=x: draw_band_panels(fig, rect, curves, curve, x, published, settings,
                                                           "mnih2016_fig3"),
                   f"Mnih et al. 2016 Figure {n} with ours (A3C FF): {title}", caption.format(n=n))
    return []


def draw_paper_throughput(fig, rect, a2c: pd.DataFrame, networks: dict[str, str]) -> None:
    """Figure 2 on this host: the paper's training speed per n_e (PAAC global steps/s x 4 = frames/s; NIPS and Nature
    networks, GPU and CPU) and our A2C run groups' frames/s per n_e (mean over runs)."""
    gs = fig.add_gridspec(1, 1)
    ax = fig.add_subplot(gs[0, 0])
    paper = reference.clemente_throughput().dropna(subset=["frames_per_s"])
    for (arch, device), g in paper.groupby(["architecture", "device"]):
        ax.plot(g["n_e"], g["frames_per_s"], ls="--" if device == "CPU" else "-", marker="^", lw=1,
                color="#e69f00" if arch == "arch_nips" else "#cc79a7",
                label=f"Clemente 2017 Figure 2: {arch}, {device}")
    colours = run_colours(a2c["group"])
    for group, g in a2c.groupby("group"):
        m = g.groupby("workers", as_index=False)["frames_per_s"].mean()
        ax.plot(m["workers"], m["frames_per_s"], marker="o", color=colours[group],
                label=f"ours: {group} ({networks.get(group, 'nips')} network), this host")
    ax.set_xscale("log", base=2)
    ticks = sorted(set(paper["n_e"]) | set(a2c["workers"]))
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel("environments n_e")
    ax.set_ylabel("training frames per second (4 frames per timestep)")
    ax.legend(fontsize=7.5)
    ax.grid(alpha=0.3)
    fit_grid(gs, fig, rect)


def clemente_section(doc: Document, scores: pd.DataFrame, curves: pd.DataFrame, throughput: pd.DataFrame,
                     runs: list[dict], published: pd.DataFrame | None = None) -> list[str]:
    """The Clemente et al. 2017 pages under their heading (none when nothing is drawn); returns what is not drawn.
    ``published``: the suite's published curves (module docstring), or None."""
    networks = group_networks(runs)
    table = table1_verdicts(scores, networks)
    curve = curve_verdicts(curves)
    a2c = throughput[throughput["algorithm"] == "a2c"]
    if table.empty and curve.empty and a2c.empty:
        return ["Clemente et al. 2017 pages: no A2C (PAAC) run"]
    doc.heading("Clemente et al. 2017, Efficient Parallel Methods for Deep Reinforcement Learning (PAAC)",
                new_page=True)
    skipped = []
    rule = (f"Verdict: 'held' when our 95% CI's lower bound is at least the paper's score minus a margin of "
            f"{CLAIM_MARGIN_HN:g} human-normalized points (10% of the game's random-to-human range; Pong 3.0 points), "
            "fixed before the runs it judges had finished; scoring above the paper holds it. 'not comparable' below "
            f"{fmt_frames(MIN_FRAMES['clemente2017_table1'])} frames or without a CI.")
    if table.empty:
        skipped.append("Clemente et al. 2017 Table 1: no A2C run on any of its 12 games")
    else:
        doc.table(_table1_shown(table), "Table 1 with ours (Clemente et al. 2017)",
                  f"{TABLE1_SOURCE}. Ours: mean final no-op-start evaluation; CI over seeds, or over the one seed's "
                  f"evaluation games. Compared with the PAAC column of the run's network. {rule}", size=7,
                  fills={"verdict": CLAIM_FILLS.get})
    if curve.empty:
        skipped.append("Clemente et al. 2017 Figures 3 and 4: no A2C run on a game and n_e the figures draw")
    else:
        caption = ("Ours: training games' mean unclipped score per frame bin, mean and 95% CI over seeds. Paper: the "
                   "band and line of Clemente et al. 2017 Figure {n} for the same n_e, digitized (SOURCES.md section "
                   "D; what the band is and how many seeds are not stated). Curve verdict: at each of the paper's "
                   "points from our first bin to our last, ours (interpolated) inside, above or below the band "
                   f"widened by the margin; 'held' when at least 80% are inside or above and the last is not below; "
                   f"'not comparable' below {fmt_frames(MIN_FRAMES['clemente2017_fig3'])} frames.")
        settings = group_settings(runs)
        if published is not None:
            caption += (" Dash-dot: the suite's own published run at the same algorithm, game, n_e and settings "
                        "(benchmarks/claims_training_curves.csv), where there is one.")
        doc.figure(lambda fig, rect: draw_band_panels(fig, rect, curves, curve, "frames", published, settings),
                   "Figure 3 with ours: score vs epochs", caption.format(n=3))
        doc.figure(lambda fig, rect: draw_band_panels(fig, rect, curves, curve, "hours", published, settings),
                   "Figure 4 with ours: score vs hours", caption.format(n=4) + " The paper's hours are on one GTX "
                   "980 Ti GPU; ours on the host of the throughput table.")
    if a2c.empty:
        skipped.append("Clemente et al. 2017 Figure 2: no A2C run")
    else:
        doc.figure(lambda fig, rect: draw_paper_throughput(fig, rect, a2c, networks), "Figure 2 on this host",
                   "Training frames per second (emulator frames, 4 per timestep) against n_e: the paper's GPU and CPU "
                   "curves (Clemente et al. 2017 Figure 2, digitized, PAAC global steps/s x 4 frames) and ours "
                   "(throughput.csv, mean over runs, final evaluation excluded). A sweep of n_e on one host: python -m "
                   "replication.bench (benchmarks/speed/).")
    return skipped
