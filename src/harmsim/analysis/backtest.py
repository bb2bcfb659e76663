"""Backtests inside the record: fit on what was known at an origin, forecast to the end, score.

The in-sample fit says little about whether a model of incremental
integration has learned anything; a forecast of years it has not seen does.
Nothing after 2015 may be used, so the test is run inside the record: for
each origin (say 2005, 2008, 2011),

1. calibrate the scenario on the observations up to the origin only
   (inputs, which are exogenous, run on: covariates as recorded, agreements
   at their recorded dates unless ``schedule="origin"`` leaves out those
   made after the origin);
2. forecast every cell still open at the origin to the record's end,
   conditioned on the history up to the origin (:mod:`harmsim.analysis.forecast`);
3. score the forecast against what the record shows after the origin,
   side by side with baselines scored in exactly the same way:

   ``uniform``
       every remaining year and "later" (not by the end) equally likely;
   ``constant hazard``
       one yearly hazard per instrument, estimated from the years up to the
       origin (instruments without an event there share the pooled hazard);
   ``event-history logit``
       the shipped covariate-only logit (instrument intercepts, log GDP per
       capita, share of members adopted, post-2004), fitted at the origin and
       forecast like the model.

   With ``pool=True`` (``--pool``) a fourth forecast is scored beside them,
   the ``linear pool``: per cell, the mean of the scenario's and the logit's
   outcome distributions, weights fixed at one half (not estimated, so
   nothing is fitted to the years scored). It asks a question the ranking
   cannot: does the scenario carry information the logit lacks? Where the
   pool beats the logit beyond noise, the logit does not encompass the
   scenario (its forecasts are improved by the scenario's), even if the
   scenario alone is not better; where it beats the scenario, the scenario
   does not encompass the logit (:meth:`Backtest.encompassing`). The log
   score is concave, so the pool's score of a cell is never below the mean of
   the two; the test is whether it is above the better one.
   ``pool_weights="inner"`` (``--pool-weights inner``) also scores a pool
   weighted as a forecaster at the origin could have weighted it, by how the
   two forecasts made :data:`INNER_YEARS` years earlier scored up to the
   origin (:meth:`Backtest.weighted_pool`).

A scored cell is one of a state that is a member after the origin (on a
record with organizations, a member of the instrument's organization, and
an instrument open by the end: a regional treaty is scored only where it
could be ratified), known not to have adopted at the origin, whose outcome
the record shows: adopted in a year after the origin, adopted within an
interval after it, not adopted by the end ("later"), or not adopted by a
year between the origin and the end and then unknown ("after YEAR": any
later year or none; a source that ends before the record, such as Kelley
and Simmons' criminalization coding in 2014). Cells whose status at the
origin is unknown (an interval straddling it) are not scored, nor cells
whose status after the origin the record does not show: their number is
the scores' ``unknown`` column, and where a source dates adoptions after
the origin but not their absence (the world panel's UN treaties after
2011), the scored cells over-represent adoptions; the summary says so.

Scores (per origin and model):

``log_score``
    mean over scored cells of log P(observed outcome), the outcome being one
    of the years after the origin or "later" (an interval: the sum over its
    years); higher is better. Simulated frequencies are smoothed, ``(count +
    1/2) / (R + B/2)`` over the B possible outcomes, so an outcome no
    replicate produced costs a finite amount;
``crps``
    the ranked probability score, summed over the years after the origin,
    ``(P(adopted by year) - [adopted by year])^2`` (years inside an interval
    outcome are skipped); lower is better;
``coverage50``, ``coverage90``
    share of scored cells whose outcome meets the central 50% / 90% interval
    of the forecast year ("later" counting as the year after the end);
``year_mae``
    mean absolute error of the forecast median year (same convention);
``mean_pit``, ``mean_pit_se``
    calibration in the large: the mean mid-PIT of the scored cells (where
    each outcome falls in its forecast, ``F(before) + P(outcome) / 2``), 1/2
    when the forecasts are calibrated; below it the record adopted earlier
    than forecast (the forecasts late), above later; its standard error is
    clustered by state.

Per cell the table also gives ``p_adopt``, the forecast probability of
adopting by the end, and the log score in two parts that add up to it:
``log_score_adopted``, an adoption's log score given adoption by the end
(the timing alone), which :meth:`Backtest.given_adoption` reads, the proper
score where the scored cells of an instrument were selected by adopting;
and ``log_score_whether``, the rest (whether the state adopts), which
:meth:`Backtest.whether` reads.

The definitions are those of :mod:`harmsim.scoring.scores`, shared with
``harmsim compare-mechanisms``; per cell the table also holds the randomized
PIT value (uniform when the forecasts are calibrated).

>>> import harmsim
>>> bt = backtest(harmsim.load_scenario("diffusion_only"), [2008], replicates=50, baselines=("uniform",))
>>> sorted(bt.scores["model"])
['diffusion_only', 'uniform']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harmsim.analysis.forecast import forecast
from harmsim.analysis.predictive import FEW_EFFECTIVE, FROM_LIKELIHOOD, PARAMETERS
from harmsim.data.observations import CENSORED, DATED, INTERVAL, observations, observed_until
from harmsim.errors import ConfigError
from harmsim.rng import SeedLike
from harmsim.scoring.scores import (
    READINGS,
    mean_pit,
    outcome_distribution,
    paired_difference,
    pool_weight,
    pooled_log_score,
    reading,
    score_cells,
)

__all__ = [
    "BASELINES",
    "POOL",
    "POOL_WEIGHTS",
    "SCHEDULES",
    "WEIGHTED_POOL",
    "Backtest",
    "backtest",
    "held_out",
    "inputs_known_at",
    "monte_carlo",
    "outcome_distribution",
    "schedule_known_at",
]

#: the label of the covariate-only logit among the baselines
LOGIT = "event-history logit"
BASELINES = ("uniform", "constant hazard", LOGIT)
#: the label of the equal-weight linear pool of the scenario's and the logit's forecasts (``pool=True``)
POOL = "linear pool"
#: the label of the linear pool whose weights are estimated before each origin (``pool_weights="inner"``)
WEIGHTED_POOL = "weighted pool"
#: how the linear pool is weighted: ``"equal"``, one half each, fixed in advance; ``"inner"``, also a pool weighted
#: by its forecasts' scores from an inner origin before each origin (:func:`backtest`)
POOL_WEIGHTS = ("equal", "inner")
#: the inner origin of ``pool_weights="inner"`` is this many years before each origin: the spacing of
#: :data:`ORIGINS`, declared before any weighted pool was scored
INNER_YEARS = 3
#: how a backtest names the fits of a source of borrowed priors, before the source's name (``borrow``)
LENDER = "priors from "

#: what a backtest's fits and forecasts know of the agreements dated after the origin (:func:`backtest`)
SCHEDULES = ("recorded", "origin")
#: the origins of a backtest unless it is given others (the CLI's too): three years apart, the last leaving
#: four years of the record to score
ORIGINS = (2005, 2008, 2011)
#: the record's input tables with a year column, cut at the origin by ``inputs="origin"`` (:func:`inputs_known_at`)
_DATED_INPUTS = ("covariates", "tiers", "migration", "global_series")


@dataclass(frozen=True, eq=False)
class Backtest:
    """Scores per origin and model (``scores``), per scored cell (``cells``), the fits, provenance.

    An example is under :func:`backtest` (in the module docstring), one of
    the paired comparison under :meth:`paired`.
    """

    scores: pd.DataFrame
    cells: pd.DataFrame
    fits: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    #: the record's groups of states (:func:`~harmsim.scoring.compare.state_groups`) :meth:`calibration` reads
    groups: dict = field(default_factory=dict)
    #: each paired gain's spread over the forecasts' seeds (``monte_carlo_seeds``, :func:`monte_carlo`); empty
    #: unless asked for
    monte_carlo: pd.DataFrame = field(default_factory=pd.DataFrame)

    def calibration(self) -> pd.DataFrame:
        """Calibration by group of states, out of sample: per origin and model, the mean mid-PIT of each
        subregion's and organization's scored cells (:func:`~harmsim.scoring.compare.calibration_by_group`),
        1/2 when the forecasts are calibrated for the group. Empty when the record names no groups.

        >>> import harmsim
        >>> bt = backtest(harmsim.load_scenario("diffusion_only"), [2008], replicates=50, baselines=())
        >>> bt.calibration()[["origin", "model", "group", "states"]].values.tolist()  # ASEAN's two subregions
        [[2008, 'diffusion_only', 'mainland', 5], [2008, 'diffusion_only', 'maritime', 5]]
        """
        from harmsim.scoring.compare import calibration_by_group

        parts = [
            calibration_by_group(g, self.groups).assign(origin=o, model=m)
            for (o, m), g in self.cells.groupby(["origin", "model"], sort=False)
        ]
        cols = ["origin", "model", "grouping", "group", "states", "cells", "mean_pit", "se", "z", "reading"]
        return pd.concat(parts, ignore_index=True)[cols] if parts and self.groups else pd.DataFrame(columns=cols)

    def _repr_html_(self) -> str:
        from html import escape

        return f"<pre>{escape(repr(self))}</pre>"

    def __repr__(self) -> str:
        models = list(dict.fromkeys(self.scores["model"]))
        return f"Backtest(origins={sorted(set(self.scores['origin']))}, models={models})"

    def paired(self, by_instrument: bool = False) -> pd.DataFrame:
        """The scenario against each baseline, origin by origin: the mean per-cell difference of log scores
        (scenario minus baseline; > 0: the scenario forecasts better) on the same cells, with its standard error
        clustered by state, and the same for the CRPS (baseline minus scenario; > 0: the scenario better). The
        linear pools are not baselines: :meth:`encompassing` and :meth:`weighted_pool` read them.

        ``by_instrument``: one row per origin, instrument and baseline (column ``instrument``). Where a gain
        comes from matters when the record scores some instruments' cells selectively: on the world panel from
        2011 the UN treaties' scorable cells are almost all adoptions (their non-adopters are known only to
        2011), and the panel's loss to the logit there sits on them (docs/regions.md).

        >>> import pandas as pd
        >>> cells = pd.DataFrame({"origin": 2008, "model": ["m", "m", "b", "b"], "state": ["A", "B", "A", "B"],
        ...                       "instrument": ["x", "y", "x", "y"], "log_score": [-1.0, -2.0, -1.5, -1.5],
        ...                       "crps": [0.5, 1.0, 0.7, 0.7]})
        >>> bt = Backtest(pd.DataFrame(), cells, provenance={"scenario": "m"})
        >>> bt.paired(by_instrument=True)[["instrument", "baseline", "log_score_gain"]].values.tolist()
        [['x', 'b', 0.5], ['y', 'b', -0.5]]
        """
        model = self.provenance.get("scenario", "")
        rows = []
        for where, g in self._groups(by_instrument, model):
            for other in _baselines(g, model):
                rows.append({**where, "model": model, "baseline": other, **_gain(g, model, other)})
        return pd.DataFrame(rows)

    def _groups(self, by_instrument: bool, *models: str):
        """(keys, cells) per origin, or per origin and instrument, where every one of ``models`` was scored."""
        keys = ["origin", "instrument"] if by_instrument else ["origin"]
        for key, g in self.cells.groupby(keys, sort=True):
            if all((g["model"] == m).any() for m in models):
                yield dict(zip(keys, key if isinstance(key, tuple) else (key,))), g

    def encompassing(self, by_instrument: bool = False) -> pd.DataFrame:
        """Does each forecast carry information the other lacks? Per origin, the equal-weight linear pool of the
        scenario's and the logit's forecasts (:data:`POOL`, a backtest with ``pool=True``) against each of the two,
        paired per cell with standard errors clustered by state (gain > 0: the pool better).

        Row ``adds`` = the scenario, ``to`` = the logit: where the pool beats the logit beyond twice the standard
        error, the scenario adds to the logit's forecasts (the logit does not encompass it), even where the scenario
        alone does not beat the logit. The other row asks the same of the logit. ``reading`` says which, in words:
        ``adds``, ``nothing measurable`` or ``pool worse`` (mixing in the other forecast costs more than it brings).
        Empty without the pool. ``by_instrument``: one pair of rows per origin and instrument (column
        ``instrument``), as :meth:`paired` gives them.

        Three cells where the scenario ``m`` gives the outcome a probability of e^-1 or e^-2 and the logit the
        other: the pool gives each (e^-1 + e^-2) / 2, a log score of -1.38.

        >>> import numpy as np, pandas as pd
        >>> m, logit = np.array([-1.0, -2.0, -1.0]), np.array([-2.0, -1.0, -2.0])
        >>> pooled = np.log((np.exp(m) + np.exp(logit)) / 2)
        >>> cells = pd.DataFrame({"origin": 2008, "model": ["m"] * 3 + ["event-history logit"] * 3
        ...                       + ["linear pool"] * 3, "state": ["A", "B", "C"] * 3, "instrument": "x",
        ...                       "log_score": np.concatenate([m, logit, pooled]), "crps": 0.5})
        >>> bt = Backtest(pd.DataFrame(), cells, provenance={"scenario": "m"})
        >>> bt.encompassing()[["adds", "to", "log_score_gain"]].round(2).values.tolist()
        [['m', 'event-history logit', 0.29], ['event-history logit', 'm', -0.05]]
        """
        model = self.provenance.get("scenario", "")
        rows = []
        for where, g in self._groups(by_instrument, model, LOGIT, POOL):
            for adds, to in ((model, LOGIT), (LOGIT, model)):
                r = _gain(g, POOL, to)
                reading = _reading(r, ("adds", "pool worse", "nothing measurable"))
                rows.append({**where, "adds": adds, "to": to, **r, "reading": reading})
        keys = ["origin", "instrument"] if by_instrument else ["origin"]
        cols = [*keys, "adds", "to", "cells", "states", "log_score_gain", "log_score_se", "crps_gain", "crps_se"]
        return pd.DataFrame(rows, columns=[*cols, "reading"])

    def weighted_pool(self) -> pd.DataFrame:
        """The linear pool weighted before each origin (:data:`WEIGHTED_POOL`, a backtest with
        ``pool_weights="inner"``): per origin, its weight on the scenario, where the weight came from, and the
        pool against the logit and against the scenario, paired per cell with standard errors clustered by state
        (gain > 0: the pool better).

        The weight maximizes the mean log score of the pool of the two forecasts made at the inner origin
        (:data:`INNER_YEARS` before the origin) of the years up to the origin
        (:func:`~harmsim.scoring.scores.pool_weight`): a forecaster at the origin could have chosen it. A pool
        that beats the logit beyond noise is a forecast better than the logit that the scenario's mechanisms
        helped make, though not the scenario's alone. ``reading_logit``, ``reading_scenario``: ``better``,
        ``worse`` or ``not told apart``. Empty without the weighted pool.

        >>> import pandas as pd
        >>> cells = pd.DataFrame({"origin": 2008, "model": ["m"] * 2 + ["event-history logit"] * 2
        ...                       + ["weighted pool"] * 2, "state": ["A", "B"] * 3, "instrument": "x",
        ...                       "log_score": [-1.0, -1.0, -2.0, -2.0, -1.1, -1.1], "crps": 0.5})
        >>> weights = {"2008": {"inner_origin": 2005, "inner_cells": 9, "inner_states": 5, "weight": 0.9}}
        >>> bt = Backtest(pd.DataFrame(), cells, provenance={"scenario": "m", "backtest": {"weights": weights}})
        >>> bt.weighted_pool()[["weight", "gain_logit", "gain_scenario"]].round(2).values.tolist()
        [[0.9, 0.9, -0.1]]
        """
        model = self.provenance.get("scenario", "")
        weights = self.provenance.get("backtest", {}).get("weights", {})
        rows = []
        for where, g in self._groups(False, model, LOGIT, WEIGHTED_POOL):
            row = {**where, **weights.get(str(where["origin"]), {})}
            for name, other in (("logit", LOGIT), ("scenario", model)):
                r = _gain(g, WEIGHTED_POOL, other)
                reading = _reading(r)
                row.update({"cells": r["cells"], "states": r["states"], f"gain_{name}": r["log_score_gain"],
                            f"se_{name}": r["log_score_se"], f"reading_{name}": reading})  # fmt: skip
            rows.append(row)
        cols = ["origin", "inner_origin", "inner_cells", "inner_states", "weight", "inner_log_score",
                "inner_logit_log_score", "inner_pool_log_score", "cells", "states", "gain_logit", "se_logit",
                "reading_logit", "gain_scenario", "se_scenario", "reading_scenario"]  # fmt: skip
        return pd.DataFrame(rows, columns=cols)

    def given_adoption(self, by_instrument: bool = False) -> pd.DataFrame:
        """The scenario against each baseline on the timing alone: the adoptions' log scores given adoption by
        the end (``log_score_adopted``, the log score less the log of the forecast's probability of adopting).

        A cell's log score is the sum of two parts: whether it adopts by the end, and, if it does, when. This
        reads the second. It matters most where the scored cells were selected by adopting: where a source dates
        adoptions after an origin but not their absence (the world panel's UN treaties after 2011, whose
        non-ratifiers are known only to 2011), the cells that can be scored are nearly all adoptions, so the log
        score favours whichever forecast expects more adoptions, right or not, while the score given adoption is
        proper for a sample selected that way. ``selected`` names the instruments of the origin with cells whose
        status after it the record does not show (the scores' ``unknown`` column). Per origin (``by_instrument``:
        and instrument), the paired gain of the scenario over each baseline, with its standard error clustered by
        state, and ``reading`` (``better``, ``worse``, ``not told apart``).

        >>> import numpy as np, pandas as pd
        >>> cells = pd.DataFrame({"origin": 2011, "model": ["m", "m", "b", "b"], "state": ["A", "B", "A", "B"],
        ...                       "instrument": "x", "log_score": [-2.0, -2.0, -1.0, -1.0], "crps": 0.5,
        ...                       "log_score_adopted": [-0.5, -0.7, -1.0, -1.0]})
        >>> prov = {"scenario": "m", "backtest": {"unknown_by_instrument": {"2011": {"x": 3}}}}
        >>> timing = Backtest(pd.DataFrame(), cells, provenance=prov).given_adoption()
        >>> timing[["selected", "baseline", "log_score_gain"]].round(2).values.tolist()
        [['x', 'b', 0.4]]
        """
        return self._part("log_score_adopted", by_instrument)

    def whether(self, by_instrument: bool = False) -> pd.DataFrame:
        """The scenario against each baseline on whether the states adopt, the part of the log score
        :meth:`given_adoption` leaves (``log_score_whether``): for an adoption by the end the log of the forecast's
        probability of adopting by then, for any other outcome the whole log score. The two parts add up to the log
        score, cell by cell, so a gain in log score (:meth:`paired`) is the gain here plus the timing's gain on the
        adoptions.

        Over every scored cell, per origin (``by_instrument``: and instrument): ``adoptions``, how many of them
        adopted by the end; ``expected_model`` and ``expected_baseline``, how many each forecast expected (the sum of
        ``p_adopt``); the paired gain of the scenario with its standard error clustered by state, and ``reading``.
        Where an instrument is ``selected`` (its cells nearly all adoptions, the record showing adoptions after the
        origin but not their absence) this part is not a proper score: it favours whichever forecast expects more
        adoptions, and :meth:`given_adoption` is the one to read. A cell the record stops following inside the
        window (not adopted by its last year) counts as no adoption, its part the chance of not adopting by then,
        while its chance of adopting by the end enters the expected counts: where such cells are many (criminalization
        coded to 2014 on the world panel) the counts expected run a little ahead of what the record can show.

        >>> import numpy as np, pandas as pd
        >>> cells = pd.DataFrame({"origin": 2011, "model": ["m", "m", "b", "b"], "state": ["A", "B", "A", "B"],
        ...                       "instrument": "x", "log_score": [-1.22, -0.11, -2.02, -0.36], "crps": 0.5,
        ...                       "p_adopt": [0.8, 0.1, 0.4, 0.3], "log_score_adopted": [-1.0, np.nan, -1.1, np.nan],
        ...                       "log_score_whether": np.log([0.8, 0.9, 0.4, 0.7])})
        >>> part = Backtest(pd.DataFrame(), cells, provenance={"scenario": "m"}).whether()
        >>> part[["adoptions", "expected_model", "expected_baseline", "log_score_gain"]].round(2).values.tolist()
        [[1.0, 0.9, 0.7, 0.47]]
        """
        return self._part("log_score_whether", by_instrument)

    def _part(self, score: str, by_instrument: bool) -> pd.DataFrame:
        """The scenario against each baseline on one part of the log score, the column ``score``, over the cells
        that have it (:meth:`given_adoption`, :meth:`whether`)."""
        model = self.provenance.get("scenario", "")
        unknown = self.provenance.get("backtest", {}).get("unknown_by_instrument", {})
        keys = ["origin", "instrument"] if by_instrument else ["origin"]
        counts = ["adoptions", "expected_model", "expected_baseline"] if score == "log_score_whether" else []
        rows = []
        cols = [*keys, "selected", "model", "baseline", "cells", "states", *counts, "log_score_gain", "log_score_se"]
        if score not in self.cells:  # a backtest written before the column
            return pd.DataFrame(rows, columns=[*cols, "reading"])
        for where, g in self._groups(by_instrument, model):
            g = g[g[score].notna()]
            selected = sorted(set(unknown.get(str(where["origin"]), {})) & set(g["instrument"]))
            for other in _baselines(g, model):
                r = _gain(g, model, other, score=score)
                if not r["cells"]:
                    continue
                if counts:
                    mine, theirs = (g[g["model"] == m] for m in (model, other))
                    r |= {"adoptions": float(mine["log_score_adopted"].notna().sum()),
                          "expected_model": float(mine["p_adopt"].sum()),
                          "expected_baseline": float(theirs["p_adopt"].sum())}  # fmt: skip
                rows.append({**where, "selected": ", ".join(selected), "model": model, "baseline": other,
                             **{k: r[k] for k in ("cells", "states", *counts, "log_score_gain", "log_score_se")},
                             "reading": _reading(r)})  # fmt: skip
        return pd.DataFrame(rows, columns=[*cols, "reading"])

    def summary(self) -> str:
        """The scores in words and a table: which model forecasts best, origin by origin, and whether each
        difference from a baseline is beyond its standard error (paired per cell, clustered by state)."""
        t = self.scores.copy()
        lines = [t.to_string(index=False, float_format=lambda x: f"{x:.3f}")]
        pairs = self.paired()
        if len(pairs):
            lines.append("")
            lines.append("Paired per scored cell, standard errors clustered by state (gain > 0: the scenario better):")
            lines.append(pairs.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
            lines += [_paired_words(r) for _, r in pairs.iterrows()]
        model = self.provenance.get("scenario", "")
        sections = (  # a table read in its own paragraph: (the table, its heading, one row in words)
            (self.encompassing(),
             f"The {POOL} (the scenario's and the logit's forecasts, half each) against each alone:",
             _encompassing_words),
            (self.weighted_pool(), f"The {WEIGHTED_POOL}, its weights from the years before each origin:",
             lambda r: _weighted_words(r, model)),
            (self.given_adoption(),
             "The adoptions' timing alone, scored given adoption by the end (where an instrument's scored cells "
             "were selected by adopting, the score that is proper for them; given_adoption.csv):",
             _timing_words),
            (self.whether(),
             "Whether the states adopt by the end, the rest of the log score (where an instrument's scored cells "
             "were selected by adopting, not a proper score: it favours the forecast expecting more; whether.csv):",
             _whether_words),
            (self.monte_carlo,
             "Monte Carlo noise: each gain over the forecasts' seeds, the fits the same (monte_carlo.csv):",
             lambda r: _monte_carlo_words(r, model)),
        )  # fmt: skip
        for table, heading, words in sections:
            if len(table):
                lines += ["", heading, *(words(r) for _, r in table.iterrows())]
        if self.provenance.get("backtest", {}).get("parameters") == "estimate":
            lines.append(
                "Plug-in forecasts: every replicate at its fit's point estimate, the scenario's and the logit's "
                "alike (--parameters estimate); the fits' uncertainty is left out of these scores."
            )
        choice = self.provenance.get("backtest", {}).get("parameters")
        if choice in FROM_LIKELIHOOD:
            lines.append(_posterior_words(choice, self.provenance["backtest"].get("posterior_draws", [])))
        if self.provenance.get("backtest", {}).get("inputs") == "origin":
            lines.append(
                "Covariates, tiers, migrant stocks and global series are cut at each origin and extended past it "
                "by the scenario's rules, and the standardizations are fixed on the years up to the origin (as "
                "known at the origin)."
            )
        borrow = self.provenance.get("backtest", {}).get("borrow")
        held = self.provenance.get("backtest", {}).get("hold_out")
        if borrow:
            lines.append(_borrow_words(borrow, held))
        if held:
            lines.append(
                f"'{held}' is held out: the fits saw every other instrument to "
                f"{self.provenance['backtest'].get('end')}, and the forecasts read any time terms (a trend, a "
                "region's slope) as fitted to then, not held at the origin."
            )
        if self.provenance.get("backtest", {}).get("schedule") == "origin":
            lines.append(
                "Agreements dated after each origin are left out of its fit and forecast (as known at the origin; "
                "one that opens an instrument stays)."
            )
        else:
            lines.append(
                "The forecasts are conditional on the agreements made after each origin, at their recorded dates "
                "(schedule 'origin', --schedule origin, leaves them out)."
            )
        calibration = self.calibration() if self.groups else None
        for o, g in t.groupby("origin"):
            ranked = g[~g["model"].isin(_POOLS)]  # the pools are read apart, not ranked
            best = ranked.sort_values("log_score", ascending=False).iloc[0]
            mine = g[g["model"] == model]
            if len(mine):
                m = mine.iloc[0]
                others = ranked[ranked["model"] != model]
                above = [r["model"] for _, r in others.iterrows() if m["log_score"] > r["log_score"]]
                below = [r["model"] for _, r in others.iterrows() if m["log_score"] <= r["log_score"]]
                verdict = f"from {o}: by its mean log score '{model}' ranks above {', '.join(above) or 'no baseline'}"
                if below:
                    verdict += f" and not above {', '.join(below)}"
                lines.append(
                    verdict + f" ({int(m['events'])} scored cells, {int(m['adoptions'])} of them adoptions; "
                    f"best: '{best['model']}'); " + _ranks_beyond_noise(pairs[pairs["origin"] == o]) + "."
                )
            if "mean_pit" in g:
                lines.append(_calibration_words(o, g))
            if self.groups and len(mine):
                lines += _group_words(o, model, calibration)
            for (fit_origin, label), fit in self.fits.items():
                if label.startswith(LENDER):  # nothing is drawn from a source's fit: it lends priors only
                    continue
                if fit_origin != o:
                    continue
                caveat = fit.caveat(f"the fit of '{label}' leaves")
                if caveat:  # a forecast drawn from a parameter the data do not bound is not evidence about it
                    lines.append(f"from {o}: {caveat}.")
                held = fit.held_note(f"the fit of '{label}'")
                if held:  # nor is one drawn from a value set by hand
                    lines.append(f"from {o}: {held}.")
            n_unknown = int(g["unknown"].iloc[0]) if "unknown" in g else 0
            if n_unknown:
                by = self.provenance.get("backtest", {}).get("unknown_by_instrument", {}).get(str(o), {})
                which = f" ({', '.join(f'{k} {n}' for k, n in by.items())})" if by else ""
                lines.append(
                    f"from {o}: {n_unknown} more cells open at the origin{which} have no status after it in the "
                    "record (their source ends by the origin) and are not scored; where a source dates adoptions "
                    "after the origin but not their absence, the scored cells of those instruments over-represent "
                    "adoptions (paired_by_instrument.csv gives the gains per instrument)."
                )
        return "\n".join(lines)

    def save(self, folder: str | Path, figures: bool = True, force: bool = False) -> list[Path]:
        """Write scores.csv, cells.csv, summary.txt (:meth:`summary`), provenance.json, the fits and a figure of
        the scores.

        Into a new ``folder``; an existing result folder is replaced only with ``force`` (:mod:`harmsim._output`).
        Returns the top-level files (the fits are in ``fits/``).
        """
        from harmsim._output import ResultFolder

        with ResultFolder(folder, "backtest", force) as rf:
            paths, written = self._write(rf.path, figures)
            rf.add(paths, written)
        return [p for p in rf.final if p.parent == rf.dest]

    def _write(self, out: Path, figures: bool) -> tuple[list[Path], list[Path]]:
        paths = [out / "scores.csv", out / "cells.csv", out / "provenance.json", out / "paired.csv"]
        self.paired().to_csv(paths[3], index=False)
        paths.append(out / "paired_by_instrument.csv")
        self.paired(by_instrument=True).to_csv(paths[-1], index=False)
        self.scores.to_csv(paths[0], index=False)
        self.cells.to_csv(paths[1], index=False)
        paths.append(out / "summary.txt")
        paths[-1].write_text(self.summary() + "\n")

        def per_origin_and_instrument(name: str, table) -> None:
            """``table()`` as ``name.csv`` and ``table(by_instrument=True)`` as ``name_by_instrument.csv``, where
            it has rows (a pool or a column the backtest has)."""
            whole = table()
            if len(whole):
                paths.extend([out / f"{name}.csv", out / f"{name}_by_instrument.csv"])
                whole.to_csv(paths[-2], index=False)
                table(by_instrument=True).to_csv(paths[-1], index=False)

        per_origin_and_instrument("encompassing", self.encompassing)
        weighted = self.weighted_pool()
        if len(weighted):
            paths.append(out / "weighted_pool.csv")
            weighted.to_csv(paths[-1], index=False)
        per_origin_and_instrument("given_adoption", self.given_adoption)
        per_origin_and_instrument("whether", self.whether)
        if len(self.monte_carlo):
            paths.append(out / "monte_carlo.csv")
            self.monte_carlo.to_csv(paths[-1], index=False)
        if self.groups:
            paths.append(out / "calibration.csv")
            self.calibration().to_csv(paths[-1], index=False)
        paths[2].write_text(json.dumps(self.provenance, indent=2, default=str) + "\n")
        written = []
        for (origin, model), fit in self.fits.items():
            written += fit.save(out / "fits" / f"{origin}-{model.replace(' ', '_')}")
        if figures:
            from harmsim.output.plots import figure_backtest, save_figure

            fig = figure_backtest(self.scores, suptitle=f"Backtests of '{self.provenance.get('scenario', '')}'")
            paths += save_figure(fig, out, "backtest")
        return paths, written


def _gain(g: pd.DataFrame, model: str, other: str, score: str = "log_score") -> dict:
    """``model`` against ``other`` on ``model``'s cells of ``g``: the mean per-cell gain in log score (the column
    ``score``) and in CRPS (> 0: ``model`` better), with standard errors clustered by state
    (:func:`paired_difference`)."""
    mine = g[g["model"] == model].set_index(["state", "instrument"])
    theirs = g[g["model"] == other].set_index(["state", "instrument"]).reindex(mine.index)
    states = mine.index.get_level_values("state")
    ls = paired_difference(theirs[score], mine[score], states)
    cr = paired_difference(mine["crps"], theirs["crps"], states)
    return {"cells": ls["cells"], "states": ls["clusters"], "log_score_gain": ls["difference"],
            "log_score_se": ls["se"], "crps_gain": cr["difference"], "crps_se": cr["se"]}  # fmt: skip


#: the linear pools: forecasts mixed from the scenario's and the logit's, read apart, never ranked as baselines
_POOLS = (POOL, WEIGHTED_POOL)


def _baselines(g: pd.DataFrame, model: str) -> list[str]:
    """The models of ``g`` the scenario ``model`` is compared with, in order: every one but itself and the pools."""
    return [m for m in dict.fromkeys(g["model"]) if m != model and m not in _POOLS]


#: the readings as the words of a sentence ("the pool is better than the logit")
_VERSUS = {"better": "better than", "worse": "worse than", "not told apart": "not told apart from"}


def _ranks_beyond_noise(pairs: pd.DataFrame) -> str:
    """Which of a ranking's differences hold beyond twice their standard error (paired per cell, clustered by
    state), from the rows of :meth:`Backtest.paired` for one origin: a rank on mean scores alone is no verdict."""
    if not len(pairs):
        return "no baseline paired with it"
    said = {w: [r["baseline"] for _, r in pairs.iterrows() if _reading(r) == w] for w in READINGS}
    parts = [f"{_VERSUS[w]} {', '.join(said[w])}" for w in READINGS[:2] if said[w]]
    if not parts:
        return "paired per cell, no difference is beyond twice its standard error"
    rest = f"; {_VERSUS[READINGS[2]]} {', '.join(said[READINGS[2]])}" if said[READINGS[2]] else ""
    return "paired per cell, beyond twice the standard error it is " + "; ".join(parts) + rest


def _reading(r: dict, words: tuple[str, str, str] = READINGS) -> str:
    """A row's paired gain in words (:func:`harmsim.scoring.scores.reading`)."""
    return reading(r["log_score_gain"], r["log_score_se"], words)


#: groups of states named per origin in a backtest's summary (calibration.csv has them all)
GROUPS_SHOWN = 4


def _group_words(origin, model: str, calibration: pd.DataFrame) -> list[str]:
    """The groups of states whose forecasts by ``model`` from ``origin`` miss beyond twice their standard error."""
    c = calibration[(calibration["origin"] == origin) & (calibration["model"] == model)]
    flagged = c[c["z"].abs() > 2].sort_values("z", key=abs, ascending=False)
    if not len(c):
        return []
    named = "; ".join(
        f"{r.group} {r.mean_pit:.2f} (s.e. {r.se:.2f}, {'late' if r.z < 0 else 'early'})"
        for r in flagged.head(GROUPS_SHOWN).itertuples()
    )
    more = f", and {len(flagged) - GROUPS_SHOWN} more" if len(flagged) > GROUPS_SHOWN else ""
    return [
        f"from {origin}: by group of states (subregions, organizations), '{model}' misses beyond twice the s.e. "
        f"in {len(flagged)} of {int(c['z'].notna().sum())} groups of five states or more"
        + (f": {named}{more}" if len(flagged) else "")
        + " (calibration.csv; about 1 in 20 would by chance)."
    ]


def _calibration_words(origin, g: pd.DataFrame) -> str:
    """One origin's calibration in the large, every model, in words."""
    parts = []
    for r in g.itertuples():
        z = (r.mean_pit - 0.5) / r.mean_pit_se if r.mean_pit_se > 0 else float("nan")
        side = ", late" if z < -2 else ", early" if z > 2 else ""
        parts.append(f"'{r.model}' {r.mean_pit:.2f} (s.e. {r.mean_pit_se:.2f}{side})")
    return (
        f"from {origin}: mean PIT, 1/2 when calibrated (below: the record adopted earlier than forecast, the "
        f"forecasts late; above: later, early; beyond twice the s.e. named): {', '.join(parts)}."
    )


def _posterior_words(choice: str, coverage: list[dict]) -> str:
    """The summary's line on forecasts drawn from their fits' likelihoods (``choice``: posterior or mcmc), with
    the worst-covered one and, for Markov chains, any that did not converge."""
    how = "importance resampling" if choice == "posterior" else "Markov chain Monte Carlo"
    declared = sorted({p for c in coverage for p in c.get("declared_priors", [])})
    prior = f"the scenario's declared priors ({', '.join(declared)})" if declared else "no declared prior"
    words = (
        f"Posterior forecasts: each replicate's parameters drawn from its fit's likelihood ({how}, a flat prior over "
        f"each parameter's range times {prior}), the scenario's and the logit's alike (--parameters {choice}), not "
        "from the fit's normal approximation"
    )
    if not coverage:
        return words + "."
    worst = min(coverage, key=lambda c: c["effective_sample_size"])
    where = f"{worst['model']} from {worst['origin']}"
    if choice == "posterior":
        words += (
            f"; the smallest effective sample size of the importance weights {worst['effective_sample_size']:,.0f} "
            f"({where}, of {worst['proposals']:,} proposals; provenance.json has each)"
        )
    else:
        rhat = max(coverage, key=lambda c: c["split_rhat"])
        words += (
            f"; the smallest effective sample size of the chains {worst['effective_sample_size']:,.0f} ({where}), "
            f"the largest split R-hat {rhat['split_rhat']:.4f} ({rhat['model']} from {rhat['origin']}; "
            "provenance.json has each)"
        )
        stuck = sorted({f"{c['model']} from {c['origin']}" for c in coverage if not c["converged"]})
        if stuck:
            words += (
                f". Not converged for {', '.join(stuck)}: their draws may still remember where the chains started; "
                "read their scores with care"
            )
    few = sorted({f"{c['model']} from {c['origin']}" for c in coverage if c["effective_sample_size"] < FEW_EFFECTIVE})
    if few:
        words += (
            f". Under {FEW_EFFECTIVE} for {', '.join(few)}: there the forecasts rest on few distinct parameter sets"
            + (" (the proposals cover the likelihood poorly: --parameters mcmc)" if choice == "posterior" else "")
            + "; read their scores with care"
        )
    return words + "."


def _borrow_words(borrow: dict, held: str | None = None) -> str:
    """The summary's line on priors borrowed from another scenario's fit at each origin (with ``held`` out)."""
    scale = "its standard error" if borrow["inflation"] == 1 else f"{borrow['inflation']:g} times its standard error"
    lent = "; ".join(
        f"from {o}: " + ", ".join(f"{n} {est:.2f} ({se:.2f})" for n, (est, se) in d.items())
        for o, d in borrow.get("lent", {}).items()
    )
    if not held:
        fitted = "fitted to each origin"
    elif borrow.get("source_holds_out"):
        fitted = f"fitted on its record to the end with '{held}' unobserved"
    else:
        fitted = f"fitted on its whole record, which has no '{held}'"
    return (
        f"Priors borrowed from '{borrow['source']}' (record {borrow['source_record']}), {fitted}: "
        f"on {', '.join(borrow['parameters'])}, a normal at its estimate with scale {scale} ({lent})."
    )


def _paired_words(r) -> str:
    """One paired comparison in words: beyond twice its standard error, or not told apart."""
    gain, se = r["log_score_gain"], r["log_score_se"]
    head = f"from {r['origin']}: '{r['model']}'"
    if np.isfinite(se) and abs(gain) > 2 * se:
        word = "better than" if gain > 0 else "worse than"
        return (
            f"{head} is {word} '{r['baseline']}' on the log score beyond twice its standard error ({gain:+.3f}, "
            f"s.e. {se:.3f})."
        )
    return (
        f"{head} and '{r['baseline']}' are within twice the standard error on the log score ({gain:+.3f}, "
        f"s.e. {se:.3f}): not told apart."
    )


def _encompassing_words(r) -> str:
    gain = f"{r['log_score_gain']:+.3f} per cell (s.e. {r['log_score_se']:.3f}, {r['cells']} cells)"
    if r["reading"] == "adds":
        what = f"'{r['adds']}' adds information '{r['to']}' lacks: the pool beats '{r['to']}' by {gain}"
    elif r["reading"] == "pool worse":
        what = (f"mixing '{r['adds']}' into '{r['to']}' costs more than it brings: the pool is behind '{r['to']}' "
                f"by {gain}")  # fmt: skip
    else:
        what = f"'{r['adds']}' adds nothing measurable to '{r['to']}': the pool against it {gain}, within noise"
    return f"from {r['origin']}: {what}."


def _pool(dists: dict, model: str, weight: float, full, cut_obs, origin: int, end: int, world) -> pd.DataFrame:
    """The scored cells of the linear pool: ``weight`` times the scenario's distribution plus the rest times the
    logit's, per cell (:func:`~harmsim.scoring.scores.pooled_log_score` is its log score from the two)."""
    dist = weight * dists[model] + (1.0 - weight) * dists[LOGIT]
    return _score(dist, full, cut_obs, origin, end, world).assign(origin=origin)


def _inner_weight(inner: dict, model: str, cut_obs, origin: int, world) -> dict:
    """The pool's weight on ``model`` for ``origin``, estimated on the forecasts from the inner origin
    :data:`INNER_YEARS` earlier of the years up to ``origin`` (:func:`~harmsim.scoring.scores.pool_weight`),
    scored against what was known at ``origin``: nothing after it enters."""
    start = origin - INNER_YEARS
    scored = {
        label: _score(outcome_distribution(years, start, origin), cut_obs, inner["cut_obs"], start, origin, world)
        for label, years in inner["adopt"].items()
    }
    a, b = scored[model]["log_score"].to_numpy(), scored[LOGIT]["log_score"].to_numpy()
    weight = pool_weight(a, b)
    return {
        "inner_origin": start,
        "inner_cells": len(a),
        "inner_states": int(scored[model]["state"].nunique()),
        "weight": weight,
        "inner_log_score": float(a.mean()) if len(a) else float("nan"),
        "inner_logit_log_score": float(b.mean()) if len(b) else float("nan"),
        "inner_pool_log_score": float(pooled_log_score(a, b, weight).mean()) if len(a) else float("nan"),
    }


def _timing_words(r) -> str:
    """One origin's adoptions, scored given adoption, against one baseline in words."""
    selected = f"; selected by adopting: {r['selected']}" if r["selected"] else ""
    return (
        f"from {r['origin']} ({r['cells']} adoptions{selected}): '{r['model']}' is {_VERSUS[r['reading']]} "
        f"'{r['baseline']}' ({r['log_score_gain']:+.3f} per cell, s.e. {r['log_score_se']:.3f})."
    )


def _whether_words(r) -> str:
    """One origin's cells, scored on whether they adopt by the end, against one baseline in words."""
    selected = f"; selected by adopting: {r['selected']}" if r["selected"] else ""
    return (
        f"from {r['origin']} ({r['cells']} cells, {r['adoptions']:.0f} adopted{selected}): '{r['model']}' expected "
        f"{r['expected_model']:.1f} adoptions, '{r['baseline']}' {r['expected_baseline']:.1f}; '{r['model']}' is "
        f"{_VERSUS[r['reading']]} '{r['baseline']}' ({r['log_score_gain']:+.3f} per cell, s.e. "
        f"{r['log_score_se']:.3f})."
    )


def _weighted_words(r, model: str) -> str:
    """One origin's weighted pool in words: its weight, where it came from, and how it fares."""
    return (
        f"from {r['origin']}: weight {r['weight']:.2f} on '{model}' (from the forecasts made in {r['inner_origin']} "
        f"of {r['inner_origin'] + 1}-{r['origin']}, {r['inner_cells']} cells); the pool is "
        f"{_VERSUS[r['reading_logit']]} the logit ({r['gain_logit']:+.3f} per cell, s.e. {r['se_logit']:.3f}) and "
        f"{_VERSUS[r['reading_scenario']]} '{model}' ({r['gain_scenario']:+.3f}, s.e. {r['se_scenario']:.3f})."
    )


def _uniform(shape, origin, end) -> np.ndarray:
    B = end - origin + 1
    return np.full((*shape, B), 1.0 / B)


def _constant_hazard(scenario, cut, origin: int, end: int) -> np.ndarray:
    """Geometric outcome probabilities from one yearly hazard per instrument (see the module docstring)."""
    w = scenario.world
    obs = observations(w, cut)
    years = w.years[w.years <= origin]
    T = len(years)
    member = w.member[:T]
    open_ = w.opens[None, :] <= years[:, None]  # (T, K)
    y = np.where(obs.kind == DATED, obs.year, np.inf)
    risk = member[:, :, None] & open_[:, None, :] & (years[:, None, None] <= y[None])
    risk &= (obs.kind == DATED)[None] | ((obs.kind == CENSORED)[None] & (years[:, None, None] <= obs.seen[None]))
    events = ((obs.kind == DATED) & (obs.year <= origin)).sum(axis=0)
    exposure = risk.sum(axis=(0, 1))
    pooled = events.sum() / max(exposure.sum(), 1)
    h = np.where(events > 0, events / np.maximum(exposure, 1), pooled)
    B = end - origin + 1
    N, K = obs.kind.shape
    out = np.zeros((N, K, B))
    future = w.years[(w.years > origin) & (w.years <= end)]
    for k in range(K):
        for i in range(N):
            surv = 1.0
            for b, t in enumerate(future):
                at_risk = w.member[t - w.start, i] and w.opens[k] <= t
                p = h[k] * surv if at_risk else 0.0
                out[i, k, b] = p
                surv -= p
            out[i, k, B - 1] = surv
    return np.clip(out, 1e-12, 1.0)


def _score(dist: np.ndarray, full, cut_obs, origin: int, end: int, world) -> pd.DataFrame:
    """Per scored cell: its outcome and the scores of :mod:`harmsim.scoring.scores`."""
    B = end - origin + 1
    years = np.arange(origin + 1, end + 1)
    dated = (full.kind == DATED) & (full.year > origin) & (full.year <= end)
    later = (full.kind == CENSORED) & (full.seen >= end)
    interval = (full.kind == INTERVAL) & (full.lo > origin)
    # not adopted by a year inside the scored ones (a source that ends before the record does, such as Kelley and
    # Simmons' criminalization coding in 2014): the outcome is any later year or none. Left out, these cells
    # would leave only the adoptions of that instrument to score, a set chosen by its outcome.
    after = (full.kind == CENSORED) & (full.seen > origin) & (full.seen < end)
    mask = _scorable(full, cut_obs, origin, end, world) & (dated | later | interval | after)
    lo = np.where(dated, full.year - origin - 1, np.where(interval, full.lo - origin - 1, B - 1))
    lo = np.where(after, full.seen - origin, lo)
    hi = np.where(dated, full.year - origin - 1, np.where(interval, full.hi - origin - 1, B - 1))
    lo = np.nan_to_num(lo, nan=B - 1).astype(int)
    hi = np.nan_to_num(hi, nan=B - 1).astype(int)
    cells = score_cells(dist, lo, hi, mask, seed=origin)
    i, k = cells["i"].to_numpy(), cells["k"].to_numpy()
    outcome = [_outcome(a, b, years) for a, b in zip(lo[i, k], hi[i, k])]
    med = cells["median_bin"].to_numpy()
    return pd.DataFrame(
        {
            "state": [world.states[x] for x in i],
            "instrument": [world.instruments[x] for x in k],
            "outcome": outcome,
            "median": ["later" if m == B - 1 else str(years[m]) for m in med],
            **{c: cells[c] for c in ("log_score", "crps", "covered50", "covered90", "pit", "pit_mid", "abs_error")},
            **{c: cells[c] for c in ("p_adopt", "log_score_adopted", "log_score_whether")},
        }
    )


def _scorable(full, cut_obs, origin: int, end: int, world) -> np.ndarray:
    """(N, K) cells open at the origin that could adopt in the scored years: not adopted by it, a member after
    it and, on a record with organizations, one its instrument is open to by the end."""
    member_after = world.member[(world.years > origin) & (world.years <= end)].any(axis=0)
    mask = (cut_obs.kind == CENSORED) & (cut_obs.seen >= origin) & member_after[:, None]
    if len(world.organizations):
        after = (world.years > origin) & (world.years <= end)
        mask &= world.open_to[after].any(axis=0) & (world.opens <= end)[None, :]
    return mask


def unknown_after_origin(full, cut_obs, origin: int, end: int, world) -> np.ndarray:
    """(N, K) cells open at the origin whose status after it the record does not show (not adopted by the
    origin, then nothing): they cannot be scored. Where a source dates adoptions after the origin but not
    their absence, the scored cells of its instrument over-represent adoptions."""
    known = (full.kind == DATED) | (full.kind == INTERVAL) | ((full.kind == CENSORED) & (full.seen > origin))
    return _scorable(full, cut_obs, origin, end, world) & ~known


def _outcome(a: int, b: int, years: np.ndarray) -> str:
    """An outcome's label from its bins ``a..b`` (the last: not by the end): a year, a range of years, "later"
    (not by the end) or "after YEAR" (not by YEAR, then unknown)."""
    last = len(years)
    if a == last:
        return "later"
    if b == last:
        return f"after {years[a] - 1}"
    return str(years[a]) if a == b else f"{years[a]}-{years[b]}"


def logit_baseline(record):
    """The shipped event-history logit, bound to ``record`` (its offsets dropped when the instruments differ).

    On a record with regional organizations (the world panel) it leaves out log GDP per capita: the panel's GDP
    series has gaps and ends in 2011, and no rule fills a gap (so the logit keeps instrument intercepts, the share
    of peers adopted and the post-2004 period, the covariates the world scenarios read too). So it does on a
    record without GDP per capita at all (``global_criminalization``), where a fit would otherwise stop at the
    missing covariate.
    """
    from harmsim.model.scenario import load_scenario
    from harmsim.model.synthetic import synthetic_scenario

    sc = load_scenario("event_history_logit")
    if sc.record.name == record.name:
        return sc
    no_gdp = "gdp_pc" not in record.covariates.columns
    without = ("capacity",) if len(record.organizations) or no_gdp else ()
    return synthetic_scenario(record, like="event_history_logit", without=without)


def backtest(
    scenario,
    origins: Sequence[int] | None = None,
    *,
    record=None,
    replicates: int = 1000,
    seed: SeedLike = 0,
    baselines: Sequence[str] = BASELINES,
    refit: bool = True,
    hold_out: str | None = None,
    schedule: str = "recorded",
    inputs: str = "recorded",
    pool: bool = False,
    pool_weights: str = "equal",
    monte_carlo_seeds: Sequence[int] = (),
    parameters: str = "drawn",
    borrow=None,
    workers: int = 1,
    progress=None,
) -> Backtest:
    """Backtest ``scenario`` from each of ``origins`` to the record's end; see the module docstring.

    ``schedule``: what the fits and forecasts at an origin know of the
    agreements dated after it. ``"recorded"`` (the default): every agreement
    at its recorded date, so the forecast is conditional on the agreements
    that were in fact made after the origin (a forecast given the schedule,
    as a counterfactual is). ``"origin"``: only what was known at the origin
    (:func:`schedule_known_at`: later agreements left out, except those that
    open an instrument), a forecast a forecaster at the origin could have
    made.

    ``inputs``: the same for the covariates, TIP tiers, migrant stocks and
    global series. ``"recorded"`` (the default): their recorded values after
    the origin; ``"origin"``: their data cut at the origin
    (:func:`inputs_known_at`) and extended past it by the scenario's own
    rules (``[inputs] extend``), as a forecast from the origin would extend
    them; the feature standardizations (GDP, migration) are fixed on the
    reference window's years up to the origin, the scenario's and the
    logit's alike, so no mean or spread of a later year enters. Memberships
    run as recorded either way.

    ``refit=False`` forecasts with the scenario's own parameters at every
    origin (for a synthetic record whose true parameters are known).

    ``pool``: also score the equal-weight linear pool of the scenario's and
    the logit's forecasts (:data:`POOL`; the logit must be among the
    ``baselines``), for :meth:`Backtest.encompassing`.

    ``pool_weights="inner"`` (with ``pool``): also score the pool weighted
    before each origin (:data:`WEIGHTED_POOL`, :meth:`Backtest.weighted_pool`).
    Its weight on the scenario is the one whose pool scored best on the
    forecasts both models made from an inner origin :data:`INNER_YEARS`
    years earlier of the years up to the origin, scored against the record
    as known at the origin: nothing after the origin enters the weight. The
    inner origin's fits are those of an origin there when one is backtested
    too (the default origins are three years apart), and are among the
    ``fits`` otherwise.

    ``origins``: the last observed years, :data:`ORIGINS` unless given.

    ``monte_carlo_seeds``: further seeds for the forecasts of the scenario
    and the logit, each forecast again from the same fits (a fit does not
    depend on the seed). The scores and cells are those of ``seed``; the
    table :attr:`Backtest.monte_carlo` (:func:`monte_carlo`) gives each
    paired gain's spread over all the seeds beside its sampling standard
    error, and whether its reading is the same with every seed: is a
    verdict beyond Monte Carlo noise as well as sampling noise? On ASEAN's
    few cells 500 replicates can leave Monte Carlo noise of the size of the
    sampling error (docs/forecasting.md).

    ``parameters``: each forecast's fitted parameters drawn from its fit's
    uncertainty (``"drawn"``, the default) or at the point estimate
    (``"estimate"``: plug-in forecasts, the scenario's and the logit's
    alike). Scored against the default, it says what a forecast's score owes
    to carrying its parameters' uncertainty; over ``monte_carlo_seeds``, how
    much of the Monte Carlo noise the parameter draws bring. ``"posterior"``:
    drawn from each fit's likelihood itself instead of its normal
    approximation (:func:`~harmsim.analysis.predictive.fitted_parameters`);
    scored against the default, it says what the approximation costs.
    ``"mcmc"``: from the same posterior by Markov chain Monte Carlo, for fits
    no importance proposal covers (slower: about a minute per fit of a
    frailty scenario on the ASEAN record).

    ``borrow``: a :class:`~harmsim.calibrate.borrowing.Borrowing`: at each
    origin its source scenario is fitted on its own record to the origin
    (under the same ``schedule`` and ``inputs`` rules), and the scenario's fit
    and forecast take the priors that fit lends (normal at its estimates,
    scales its standard errors times the inflation): do the parameters
    another record estimates make this record's forecasts better? The source's
    fits are kept among ``fits`` (``priors from SOURCE``), and the priors lent
    at each origin in the provenance. With ``hold_out`` the source is fitted
    as the scenario is, on every other instrument to the end, the held-out
    one unobserved where the source's record has it (the same id is the same
    instrument on every record).

    ``progress``: called with a line of text as each model is fitted and
    forecast from an origin, or forecast again with a further seed (the
    command prints it).

    ``hold_out``: an instrument whose every outcome is left out of the fits
    (:func:`held_out`), which then forecast it from the year it opened to the
    record's end: can the other instruments' experience (a regional treaty's
    reference class) predict a treaty the model has never seen? The origin
    is then the year before it opened (other ``origins`` are refused, not
    ignored), and only its cells are scored; the
    other instruments are observed up to that year and simulated after it.
    The fits saw them to the record's end, so the forecasts read the time
    terms (a trend's period part, a region's slope) as fitted to then
    (:meth:`~harmsim.model.scenario.Scenario.with_time_known_until`), as the
    logit's forecast reads its fitted period effect.
    """
    from harmsim.calibrate import calibrate

    record = record if record is not None else scenario.record
    end = record.end
    origins, fit_record, monte_carlo_seeds = _checked(
        scenario,
        record,
        origins,
        hold_out=hold_out,
        borrow=borrow,
        baselines=baselines,
        schedule=schedule,
        inputs=inputs,
        pool=pool,
        pool_weights=pool_weights,
        parameters=parameters,
        monte_carlo_seeds=monte_carlo_seeds,
        seed=seed,
    )
    full = observations(scenario.world, record)
    w = scenario.world
    scored, fits, unknown_by, weights, again, coverage = [], {}, {}, {}, [], []
    runs = {}
    lender = None if borrow is None else f"{LENDER}{borrow.source.name}"  # the label of the source's fits

    def borrowed(origin: int, own):
        """``own`` with the priors the source, fitted to ``origin`` under the same rules, lends it; with a
        hold-out, fitted as the scenario's own fit is: every other instrument to the end, the held-out one (where
        the source's record has it too) unseen."""
        if (origin, lender) not in fits:
            if progress:
                at = f"from {origin}" if hold_out is None else f"with {hold_out} held out"
                progress(f"fitting {borrow.source.name} {at} on record '{borrow.source.record.name}'")
            known, source = _known_at(borrow.source, borrow.source.record, origin, schedule, inputs)
            if hold_out is None:
                fits[(origin, lender)] = calibrate(source, record=known, observed_until=origin)
            else:
                fits[(origin, lender)] = calibrate(source, record=_without(known, hold_out))
        return borrow.apply(own, fits[(origin, lender)])

    def run_at(origin: int, at_seed: SeedLike = seed) -> dict:
        """The fits and forecasts from ``origin`` (each model's simulated years to the end), once per origin and
        seed; the fits once per origin, whatever the seed."""
        if (origin, at_seed) in runs:
            return runs[(origin, at_seed)]
        known, own = _known_at(scenario, record, origin, schedule, inputs)
        own = own if borrow is None else borrowed(origin, own)
        cut = observed_until(known, origin)
        # a hold-out's fits see every other instrument to the end, and its forecasts draw the states' and
        # organizations' latent terms given that same history
        seen = None if hold_out is None else (fit_record if known is record else held_out(known, hold_out))
        models = [(scenario.name, own)]
        if LOGIT in baselines:
            models.append((LOGIT, _standardized(logit_baseline(known), origin, inputs)))
        adopt = {}
        for label, sc in models:
            if progress:
                again_from = (origin, label) in fits and at_seed != seed
                progress(f"forecasting {label} from {origin} again, seed {at_seed}, from the same fit" if again_from
                         else f"fitting and forecasting {label} from {origin}")  # fmt: skip
            if (origin, label) in fits:  # forecast again with another seed: the fit does not depend on it
                fit = fits[(origin, label)]
            elif not (refit or sc is not own):
                fit = None
            elif hold_out is not None:
                fit = calibrate(sc, record=seen)
            else:
                fit = calibrate(sc, record=known, observed_until=origin)
            if fit is not None and borrow is not None and sc is own and (origin, label) not in fits:
                from harmsim.calibrate.borrowing import record_borrowing

                source_fit = fits[(origin, lender)]
                record_borrowing(fit, source_fit, borrow.parameters, borrow.inflation, borrow.source.name)
            if fit is not None:
                fits[(origin, label)] = fit
            f = forecast(
                sc,
                fit,
                until=end,
                replicates=replicates,
                seed=at_seed,
                record=cut,
                history=seen,
                parameters=parameters,
                workers=workers,
            )
            adopt[label] = f.adopt
            if "posterior_draws" in f.provenance:  # how well each fit's likelihood was covered
                said = at_seed if isinstance(at_seed, int) else str(at_seed)
                coverage.append({"origin": origin, "model": label, "seed": said, **f.provenance["posterior_draws"]})
        runs[(origin, at_seed)] = {"own": own, "cut": cut, "cut_obs": observations(scenario.world, cut), "adopt": adopt}
        return runs[(origin, at_seed)]

    for origin in origins:
        run = run_at(origin)
        own, cut, cut_obs = run["own"], run["cut"], run["cut_obs"]
        hidden = unknown_after_origin(full, cut_obs, origin, end, w)
        if hold_out is not None:
            hidden[:, [k for k, name in enumerate(w.instruments) if name != hold_out]] = False
        unknown_by[origin] = {w.instruments[k]: int(n) for k, n in enumerate(hidden.sum(axis=0)) if n}
        dists = {}
        for label, years in run["adopt"].items():
            dists[label] = dist = outcome_distribution(years, origin, end)
            scored.append(_score(dist, full, cut_obs, origin, end, w).assign(origin=origin, model=label))
        if pool:  # weights fixed in advance: nothing here is fitted to the years it is scored on
            scored.append(_pool(dists, scenario.name, 0.5, full, cut_obs, origin, end, w).assign(model=POOL))
        if pool_weights == "inner":  # the weights from the years up to the origin only
            weights[origin] = _inner_weight(run_at(origin - INNER_YEARS), scenario.name, cut_obs, origin, w)
            dist = _pool(dists, scenario.name, weights[origin]["weight"], full, cut_obs, origin, end, w)
            scored.append(dist.assign(model=WEIGHTED_POOL))
        if "uniform" in baselines:
            dist = _uniform(full.kind.shape, origin, end)
            scored.append(_score(dist, full, cut_obs, origin, end, w).assign(origin=origin, model="uniform"))
        if "constant hazard" in baselines:
            dist = _constant_hazard(own, cut, origin, end)
            scored.append(_score(dist, full, cut_obs, origin, end, w).assign(origin=origin, model="constant hazard"))
        for other in monte_carlo_seeds:  # the simulated forecasts again; uniform and the constant hazard draw nothing
            for label, years in run_at(origin, other)["adopt"].items():
                scores_again = _score(outcome_distribution(years, origin, end), full, cut_obs, origin, end, w)
                again.append(scores_again.assign(origin=origin, model=label, seed=other))
            del runs[(origin, other)]  # its simulated years are scored: not kept
    cells = pd.concat(scored, ignore_index=True)
    if hold_out is not None:
        cells = cells[cells["instrument"] == hold_out].reset_index(drop=True)
    spread = _monte_carlo_runs(cells, again, scenario.name, seed, hold_out) if again else pd.DataFrame()
    cells = cells[["origin", "model", *[c for c in cells.columns if c not in ("origin", "model")]]]
    scores = _score_table(cells, unknown_by)
    from harmsim.output.results import provenance

    lent_at = {  # what the source lent at each origin, as the scenario's fits there record it
        str(o): fit.log["borrowed"]["lent"] for (o, label), fit in fits.items() if "borrowed" in fit.log
    }
    prov = provenance(scenario, [], "batch")
    prov.pop("seeds")
    prov["backtest"] = {
        "origins": origins,
        "end": end,
        "record": record.name,
        "replicates": replicates,
        "seed": seed if isinstance(seed, int) else str(seed),
        "baselines": list(baselines),
        "refit": refit,
        "hold_out": hold_out,
        "schedule": schedule,
        "inputs": inputs,
        "pool": pool,
        "pool_weights": pool_weights,
        "monte_carlo_seeds": monte_carlo_seeds,
        "parameters": parameters,
        "borrow": None if borrow is None else {**borrow.as_dict(), "lent": lent_at, **_source_held(borrow, hold_out)},
        "posterior_draws": coverage,
        "inner_years": INNER_YEARS if pool_weights == "inner" else None,
        "weights": {str(o): d for o, d in weights.items()},
        "unknown_by_instrument": {str(o): d for o, d in unknown_by.items() if d},
    }
    from harmsim.scoring.compare import state_groups

    return Backtest(scores, cells, fits, prov, state_groups(record, scenario.start, end), spread)


def _checked(
    scenario, record, origins, *, hold_out, borrow, baselines, schedule, inputs, pool, pool_weights, parameters,
    monte_carlo_seeds, seed,
) -> tuple[list[int], object, list[int]]:  # fmt: skip
    """:func:`backtest`'s options checked together, each refusal naming what is wrong and what is allowed.

    Returns the origins (a held-out instrument's is the year before it opens), the record the fits see (the
    held-out instrument's outcomes left out) and the further Monte Carlo seeds.
    """
    end = record.end
    fit_record = record
    origins = None if origins is None else sorted({int(o) for o in origins})
    if hold_out is not None:
        if hold_out not in scenario.world.instruments:
            raise ConfigError(
                f"--hold-out {hold_out!r}: not an instrument of record '{record.name}'; instruments: "
                f"{', '.join(scenario.world.instruments)}"
            )
        opens = int(scenario.world.opens[scenario.world.instruments.index(hold_out)])
        if not record.start < opens <= end:
            raise ConfigError(
                f"--hold-out {hold_out}: it opens in {opens}, outside {record.start + 1}-{end}; only an instrument "
                "that opens inside the window can be forecast from its opening"
            )
        if origins is not None and origins != [opens - 1]:
            raise ConfigError(
                f"--hold-out {hold_out} is forecast from {opens - 1}, the year before it opened; origins "
                f"{origins} cannot be used with it (give one or the other)"
            )
        origins = [opens - 1]
        fit_record = held_out(record, hold_out)
    elif origins is None:
        origins = list(ORIGINS)
    bad = [o for o in origins if not record.start <= o < end]
    if not origins or bad:
        raise ConfigError(
            f"origins must be years from {record.start} to {end - 1} (the record's end is {end}), got {bad or origins}"
        )
    for what, value in (("schedule", schedule), ("inputs", inputs)):
        if value not in SCHEDULES:
            raise ConfigError(f"{what} {value!r}: choices are {', '.join(SCHEDULES)}")
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise ConfigError(f"unknown baseline(s) {unknown}; known: {', '.join(BASELINES)}")
    if pool and LOGIT not in baselines:
        raise ConfigError(f"pool: the linear pool mixes the scenario's and the {LOGIT}'s forecasts; add the logit to "
                          f"the baselines ({', '.join(baselines) or 'none given'})")  # fmt: skip
    if pool_weights not in POOL_WEIGHTS:
        raise ConfigError(f"pool weights {pool_weights!r}: choices are {', '.join(POOL_WEIGHTS)}")
    if pool_weights == "inner":
        if not pool:
            raise ConfigError("pool weights 'inner' weigh the linear pool: score it too (pool=True, --pool)")
        if hold_out is not None:
            raise ConfigError(
                f"pool weights 'inner' are estimated on the years before the origin, where the held-out "
                f"{hold_out} is not yet open; use equal weights with --hold-out"
            )
        early = [o for o in origins if o - INNER_YEARS < record.start]
        if early:
            raise ConfigError(
                f"pool weights 'inner' need an inner origin {INNER_YEARS} years before each origin, at "
                f"{record.start} or later (the record starts then); origins {early} are too early"
            )
    if parameters not in PARAMETERS:
        raise ConfigError(f"parameters {parameters!r}: choices are {', '.join(PARAMETERS)}")
    monte_carlo_seeds = [int(x) for x in monte_carlo_seeds]
    if len(set(monte_carlo_seeds)) < len(monte_carlo_seeds) or (isinstance(seed, int) and seed in monte_carlo_seeds):
        raise ConfigError(
            f"Monte Carlo seeds {monte_carlo_seeds}: give each once, and not the backtest's own seed {seed} "
            "(its forecasts are made anyway)"
        )
    if borrow is not None:
        borrow.check(scenario)
    return origins, fit_record, monte_carlo_seeds


def _score_table(cells: pd.DataFrame, unknown_by: dict) -> pd.DataFrame:
    """One row per origin and model: the mean of each score over its cells, how many are adoptions, how many
    cells could not be scored (``unknown_by``: per origin, per instrument) and the mean mid-PIT with its standard
    error clustered by state."""
    scores = (
        cells.groupby(["origin", "model"], sort=False)
        .agg(
            events=("log_score", "size"),
            adoptions=("outcome", lambda o: int((~o.str.startswith(("later", "after"))).sum())),
            log_score=("log_score", "mean"),
            crps=("crps", "mean"),
            coverage50=("covered50", "mean"),
            coverage90=("covered90", "mean"),
            year_mae=("abs_error", "mean"),
        )
        .reset_index()
    )
    scores["unknown"] = scores["origin"].map(lambda o: sum(unknown_by[o].values()))
    bias = {key: mean_pit(g["pit_mid"], g["state"]) for key, g in cells.groupby(["origin", "model"], sort=False)}
    keys = list(zip(scores["origin"], scores["model"]))
    scores["mean_pit"] = [bias[k]["mean"] for k in keys]
    scores["mean_pit_se"] = [bias[k]["se"] for k in keys]
    return scores


def _monte_carlo_runs(cells: pd.DataFrame, again: list, model: str, seed, hold_out) -> pd.DataFrame:
    """:func:`monte_carlo` of the backtest's own cells and those forecast again with other seeds (``again``),
    each paired with the baselines that draw nothing (uniform, the constant hazard) as they were scored once."""
    own = cells[~cells["model"].isin(_POOLS)]
    again = pd.concat(again, ignore_index=True)
    fixed = own[~own["model"].isin(set(again["model"]))]
    runs = [(seed if isinstance(seed, int) else str(seed), own)]
    for other, g in again.groupby("seed", sort=False):
        g = g[g["instrument"] == hold_out] if hold_out is not None else g
        runs.append((other, pd.concat([g.drop(columns="seed"), fixed], ignore_index=True)))
    gains = [Backtest(pd.DataFrame(), c, provenance={"scenario": model}).paired().assign(seed=s) for s, c in runs]
    table = monte_carlo(pd.concat(gains, ignore_index=True))
    table.insert(0, "model", model)
    return table


def monte_carlo(gains: pd.DataFrame) -> pd.DataFrame:
    """Each paired gain's spread over backtests that differ only in the forecasts' seed: Monte Carlo noise beside
    the sampling noise its standard error measures.

    ``gains`` holds :meth:`Backtest.paired` of each backtest, with a column ``seed``. Per origin and baseline:
    ``runs``, the gain's mean, least and greatest over them, ``monte_carlo_sd`` (their standard deviation: the
    Monte Carlo noise of one backtest's gain), ``sampling_se`` (the mean of its clustered standard errors),
    their ``ratio``, and ``verdicts``: the readings over the seeds (``better``, ``worse``, ``not told apart``;
    more than one where the verdict depends on the seed).

    >>> gains = pd.DataFrame({"seed": [0, 1, 2], "origin": 2008, "baseline": "b", "cells": 30,
    ...                       "log_score_gain": [0.21, 0.25, 0.17], "log_score_se": 0.1})
    >>> t = monte_carlo(gains).iloc[0]
    >>> round(float(t["gain_mean"]), 2), round(float(t["monte_carlo_sd"]), 2), t["verdicts"]
    (0.21, 0.04, 'better, not told apart')
    """
    t = gains.assign(verdict=[_reading(r) for r in gains.to_dict("records")])
    out = (
        t.groupby(["origin", "baseline"], sort=False)
        .agg(
            cells=("cells", "first"),
            runs=("log_score_gain", "size"),
            gain_mean=("log_score_gain", "mean"),
            gain_min=("log_score_gain", "min"),
            gain_max=("log_score_gain", "max"),
            monte_carlo_sd=("log_score_gain", "std"),
            sampling_se=("log_score_se", "mean"),
            verdicts=("verdict", lambda v: ", ".join(sorted(set(v)))),
        )
        .reset_index()
    )
    out["ratio"] = out["monte_carlo_sd"] / out["sampling_se"]
    return out


def _monte_carlo_words(r, model: str) -> str:
    """One origin's gain over one baseline across the seeds, in words."""
    same = "," not in r["verdicts"]
    verdict = f"'{r['verdicts']}' with every seed" if same else f"not the same with every seed ({r['verdicts']})"
    return (
        f"from {r['origin']}, '{model}' against '{r['baseline']}': {r['gain_mean']:+.3f} per cell "
        f"({r['gain_min']:+.3f} to {r['gain_max']:+.3f} over {r['runs']} seeds); Monte Carlo s.d. "
        f"{r['monte_carlo_sd']:.3f}, {r['ratio']:.2f} of the sampling s.e. {r['sampling_se']:.3f}; {verdict}."
    )


def schedule_known_at(record, year: int):
    """The record with the agreements dated after ``year`` left out: what a forecaster knew of the schedule then.

    An agreement that opens an instrument (ACTIP's convention, signed in 2015)
    stays at its date: the instrument's opening is part of the instrument, and
    without it the instrument's cells could not be scored. Everything else
    (observations, covariates) is unchanged; :func:`observed_until` cuts the
    observations.

    >>> import harmsim
    >>> rec = schedule_known_at(harmsim.observed_record(), 2005)
    >>> rec.agreements["agreement"].tolist()[-2:]  # the 2007-2011 texts left out, the 2015 convention kept
    ['decl_tip_2004', 'actip_2015']
    """
    from dataclasses import replace

    ag = record.agreements
    openers = set(record.instruments.get("opened_by", pd.Series(dtype=str)).fillna("").astype(str)) - {""}
    keep = (pd.to_numeric(ag["year"], errors="coerce") <= int(year)) | ag["agreement"].isin(openers)
    if keep.all():
        return record
    return replace(
        record,
        name=f"{record.name}-schedule-{int(year)}",
        title=f"{record.title} (agreements known in {int(year)})",
        agreements=ag[keep].reset_index(drop=True),
    )


def inputs_known_at(record, year: int):
    """The record with its dated inputs (covariates, TIP tiers, migrant stocks, global series) cut at ``year``.

    What a forecaster at ``year`` had of them: a scenario's extension rules
    (``[inputs] extend``) then carry them past it, as they carry the record's
    data past its end. Memberships, agreements (:func:`schedule_known_at`) and
    observations (:func:`~harmsim.data.observations.observed_until`) are
    unchanged.

    >>> import harmsim
    >>> rec = inputs_known_at(harmsim.observed_record(), 2005)
    >>> int(rec.covariates["year"].max()), int(rec.migration["year"].max()), int(rec.tiers["year"].max())
    (2005, 2005, 2005)
    """
    from dataclasses import replace

    cut = {}
    for name in _DATED_INPUTS:
        table = getattr(record, name)
        if len(table) and "year" in table.columns:
            later = pd.to_numeric(table["year"], errors="coerce") > int(year)
            if later.any():
                cut[name] = table[~later].reset_index(drop=True)
    if not cut:
        return record
    return replace(
        record,
        name=f"{record.name}-inputs-{int(year)}",
        title=f"{record.title} (inputs known in {int(year)})",
        **cut,
    )


def _known_at(scenario, record, origin: int, schedule: str, inputs: str):
    """``record`` as a fit and forecast from ``origin`` know it under the ``schedule`` and ``inputs`` rules, and
    ``scenario`` on it with its standardizations fixed accordingly (:func:`_standardized`): the scenario's own
    record and a source of borrowed priors on its record alike."""
    known = record if schedule == "recorded" else schedule_known_at(record, origin)
    known = known if inputs == "recorded" else inputs_known_at(known, origin)
    return known, _standardized(scenario if known is record else scenario.with_record(known), origin, inputs)


def _standardized(scenario, origin: int, inputs: str):
    """``scenario`` with its standardizations fixed on its reference window's years up to ``origin`` when the
    inputs are those known at the origin; unchanged when they are the recorded ones."""
    if inputs == "recorded":
        return scenario
    lo, hi = scenario.reference_window
    return scenario.with_reference(min(lo, origin), min(hi, origin))


def _source_held(borrow, hold_out) -> dict:
    """Under a hold-out, whether the source's record has the held-out instrument (its outcomes then unobserved in
    the source's fit) or not (its whole record read): for the provenance and the summary."""
    if hold_out is None:
        return {}
    return {"source_holds_out": hold_out in borrow.source.record.instrument_ids}


def _without(record, instrument: str):
    """``record`` with ``instrument``'s outcomes unobserved (:func:`held_out`) where it has the instrument (the
    same id is the same instrument on every record); as it is where it has not."""
    return held_out(record, instrument) if instrument in record.instrument_ids else record


def held_out(record, instrument: str):
    """The record with every outcome of ``instrument`` unobserved (adoptions before the window stay: inputs).

    >>> import harmsim
    >>> rec = held_out(harmsim.observed_record(), "asean_mlat")
    >>> bool(rec.adoptions.query("instrument == 'asean_mlat'")["observed"].any())
    False
    """
    ad = record.adoptions.copy()
    if "observed" not in ad.columns:
        ad["observed"] = True
    before = (pd.to_numeric(ad["year"], errors="coerce") < record.start).fillna(False).astype(bool)
    hide = (ad["instrument"] == instrument) & ~before
    ad.loc[hide, "observed"] = False
    for col in ("year", "year_min", "year_max", "seen_until"):  # nothing of the outcome stays, not even a year
        if col in ad.columns:
            ad[col] = ad[col].mask(hide)
    have = set(ad.loc[ad["instrument"] == instrument, "state"])
    missing = [s for s in record.states["state"] if s not in have]
    if missing:
        extra = pd.DataFrame({"state": missing, "instrument": instrument, "observed": False})
        ad = pd.concat([ad, extra], ignore_index=True)
    ad["observed"] = ad["observed"].astype(bool)
    from dataclasses import replace

    return replace(record, name=f"{record.name}~without-{instrument}", adoptions=ad)
