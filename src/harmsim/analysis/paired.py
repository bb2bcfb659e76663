"""Two backtests of the same cells, paired: does a change to a model forecast the record better?

A modelling change is judged by backtests inside the record, not by the
in-sample fit: backtest the scenario as it was and as changed from the same
origins, then compare the two forecasts on the cells both score. Their
mean scores alone do not say it: two backtests may score different cells
(another record, another hold-out, a source that codes an instrument
otherwise), and even on the same cells most of the spread of a score is
between cells, not between models. So the forecasts are paired cell by
cell (same origin, state, instrument and outcome), and the mean per-cell
gain gets a standard error clustered by state, since one state's cells rise
and fall together (:func:`~harmsim.scoring.scores.paired_difference`).

Besides the gain, per origin: whether each forecast adds information to the
other (their equal-weight linear pool against each, as
:meth:`~harmsim.analysis.backtest.Backtest.encompassing` reads it within one
backtest), and, where both backtests score them, the two parts of the log
score: whether the states adopt by the end, and the timing alone, scored
given adoption. Every baseline both backtests ran is paired too: the two
records or settings should score a baseline alike, and where they do not,
some of the difference comes from the cells rather than the models.

From the command line, on two saved backtests::

    harmsim backtest baseline --out out/bt-baseline
    harmsim backtest my_scenario.toml --out out/bt-mine
    harmsim compare-backtests out/bt-baseline out/bt-mine

>>> import pandas as pd
>>> a = pd.DataFrame({"origin": 2008, "model": "x", "state": ["A", "B", "C"], "instrument": "k",
...                   "outcome": ["2010", "later", "2012"], "log_score": [-2.0, -1.0, -2.5]})
>>> pair = compare_backtests(a, a.assign(model="y", log_score=[-1.5, -0.5, -2.0]))
>>> pair.verdicts()[0][:79]
'from 2008: y against x on 3 common cells is better: +0.500 per cell (s.e. 0.000'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from harmsim.errors import ConfigError
from harmsim.scoring.scores import detectable, paired_difference, pooled_log_score, reading

__all__ = ["PairedBacktests", "common_cells", "compare_backtests"]


def common_cells(a: pd.DataFrame, b: pd.DataFrame, states=None) -> pd.DataFrame:
    """Two backtests' forecasts of the same cells, scored against each other: ``b`` minus ``a``.

    ``a`` and ``b`` are the ``cells`` tables of two backtests (e.g. of the
    ASEAN record and of the world panel, whose states and instruments
    overlap); ``states`` restricts to those states. A cell is compared only
    where both score it, from the same origin, with the same outcome (records
    that code an instrument differently, such as the study's and Kelley and
    Simmons' criminalization years, do not share that cell). Per origin and
    pair of models (the first model of each table, and every baseline both
    hold): the mean per-cell log-score difference with its standard error
    clustered by state, and the instruments compared. ``b_adds`` is the gain
    of the two forecasts' equal-weight linear pool over ``a``
    (:func:`~harmsim.scoring.scores.pooled_log_score`; beyond twice
    ``b_adds_se``, ``b`` carries information ``a`` lacks, as
    :meth:`Backtest.encompassing` reads it within one backtest), ``a_adds``
    its gain over ``b``. Where both tables score adoptions given adoption
    (``log_score_adopted``, :meth:`Backtest.given_adoption`), ``adoptions``,
    ``timing_gain`` and ``timing_se`` compare the two on the timing alone;
    where both score whether the states adopt (``log_score_whether``,
    :meth:`Backtest.whether`), ``whether_gain`` and ``whether_se`` on that,
    over every common cell (so ``log_score_gain`` is ``whether_gain`` plus
    ``timing_gain`` times ``adoptions / cells``). ``detectable_gain`` is the
    smallest true gain these cells would show beyond twice its standard error
    four times in five (:func:`~harmsim.scoring.scores.detectable`): what a
    gain not told apart from 0 leaves open.

    >>> a = pd.DataFrame({"origin": [2008] * 2, "model": ["x"] * 2, "state": ["A", "B"], "instrument": ["k"] * 2,
    ...                   "outcome": ["2010", "later"], "log_score": [-2.0, -1.0]})
    >>> b = a.assign(model="y", log_score=[-1.5, -1.0])
    >>> r = common_cells(a, b).iloc[0]
    >>> r["a"], r["b"], int(r["cells"]), float(r["log_score_gain"])
    ('x', 'y', 2, 0.25)
    """
    rows = []
    if not len(a) or not len(b):
        return pd.DataFrame(rows)
    first_a, first_b = a["model"].iloc[0], b["model"].iloc[0]
    both = [m for m in dict.fromkeys(a["model"]) if m != first_a and m in set(b["model"])]
    for o in sorted(set(a["origin"]) & set(b["origin"])):
        for ma, mb in [(first_a, first_b), *[(m, m) for m in both]]:
            x = a[(a["origin"] == o) & (a["model"] == ma)]
            y = b[(b["origin"] == o) & (b["model"] == mb)]
            if states is not None:
                x = x[x["state"].isin(list(states))]
            m = x.merge(y, on=["state", "instrument"], suffixes=("_a", "_b"))
            m = m[m["outcome_a"].astype(str) == m["outcome_b"].astype(str)]
            if not len(m):
                continue
            d = paired_difference(m["log_score_a"], m["log_score_b"], m["state"])
            pool = pooled_log_score(m["log_score_a"], m["log_score_b"])
            b_adds = paired_difference(m["log_score_a"], pool, m["state"])
            a_adds = paired_difference(m["log_score_b"], pool, m["state"])
            row = {"origin": o, "a": ma, "b": mb, "cells": d["cells"], "states": d["clusters"],
                   "instruments": " ".join(sorted(set(m["instrument"]))), "log_score_a": m["log_score_a"].mean(),
                   "log_score_b": m["log_score_b"].mean(), "log_score_gain": d["difference"],
                   "log_score_se": d["se"], "detectable_gain": detectable(d["se"]),
                   "b_adds": b_adds["difference"], "b_adds_se": b_adds["se"],
                   "a_adds": a_adds["difference"], "a_adds_se": a_adds["se"]}  # fmt: skip
            if "log_score_adopted_a" in m and "log_score_adopted_b" in m:  # the timing alone, on the adoptions
                t = m[m["log_score_adopted_a"].notna() & m["log_score_adopted_b"].notna()]
                timing = paired_difference(t["log_score_adopted_a"], t["log_score_adopted_b"], t["state"])
                row.update(adoptions=timing["cells"], timing_gain=timing["difference"], timing_se=timing["se"])
            if "log_score_whether_a" in m and "log_score_whether_b" in m:  # whether they adopt, on every cell
                whether = paired_difference(m["log_score_whether_a"], m["log_score_whether_b"], m["state"])
                row.update(whether_gain=whether["difference"], whether_se=whether["se"])
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class PairedBacktests:
    """Two backtests compared on their common cells (:func:`compare_backtests`): the table of
    :func:`common_cells`, ``b`` minus ``a``, the two labels, and where each came from.

    >>> import pandas as pd
    >>> a = pd.DataFrame({"origin": 2008, "model": "x", "state": ["A", "B"], "instrument": "k",
    ...                   "outcome": ["2010", "later"], "log_score": [-2.0, -1.0]})
    >>> pair = PairedBacktests(common_cells(a, a.assign(model="y")), "x", "y")
    >>> float(pair.table["log_score_gain"].iloc[0])
    0.0
    """

    table: pd.DataFrame
    a: str
    b: str
    provenance: dict = field(default_factory=dict)
    monte_carlo: pd.DataFrame = field(default_factory=pd.DataFrame)

    def verdicts(self, what: str | None = None) -> list[str]:
        """One sentence per origin on the two models' own comparison (not their baselines'): better, worse, or
        not told apart (within twice the standard error), whether each adds to the other, and each part of the
        log score where both score it. ``what`` names the comparison (default: ``B against A``)."""
        t = self.table
        if not len(t):
            return []
        first = t.iloc[0]["a"]
        what = what or f"{t.iloc[0]['b']} against {first}"
        out = []
        for _, r in t[t["a"] == first].iterrows():
            verdict = reading(
                r["log_score_gain"], r["log_score_se"], ("better", "worse", "not told apart (within 2 s.e.)")
            )
            unseen = (
                f" (a true gain below {r['detectable_gain']:.3f} per cell would go unseen on these cells more than "
                "one time in five)"
                if verdict.startswith("not told apart") and pd.notna(r.get("detectable_gain"))
                else ""
            )
            out.append(
                f"from {r['origin']}: {what} on {r['cells']} common cells is {verdict}: "
                f"{r['log_score_gain']:+.3f} per cell (s.e. {r['log_score_se']:.3f}, {r['states']} states){unseen}; "
                f"half and half, {_adds(r, 'b')} and {_adds(r, 'a')}" + _parts(r)
            )
        return out

    def summary(self, what: str | None = None) -> str:
        """The table and its verdicts, as ``harmsim compare-backtests`` prints them, and with further runs of the
        two (``again``) each gain's spread over the seeds."""
        table = self.table.to_string(index=False, float_format=lambda v: f"{v:.3f}")
        return "\n".join([table, *self.verdicts(what), *self.monte_carlo_words()])

    def monte_carlo_words(self) -> list[str]:
        """Per origin, the two models' gain over the runs with other seeds (:attr:`monte_carlo`): its range, its
        Monte Carlo standard deviation beside the sampling standard error, and whether the reading is the same
        with every seed. Empty without further runs."""
        from harmsim.analysis.backtest import _monte_carlo_words

        if not len(self.monte_carlo):
            return []
        model = self.table.iloc[0]["b"]
        return [_monte_carlo_words(r, model) for r in self.monte_carlo.to_dict("records")]

    def figure(self, title: str | None = None):
        """The gain per origin with twice its standard error either side, and its two parts where both
        backtests score them (:func:`~harmsim.output.plots.plot_paired`)."""
        from matplotlib.figure import Figure

        from harmsim.output.plots import plot_paired

        origins = self.table["origin"].nunique() if len(self.table) else 1
        fig = Figure(figsize=(7, 1.2 + 0.7 * origins), layout="constrained")
        plot_paired(fig.subplots(), self.table, title)
        return fig

    def save(self, path: str | Path, figures: bool = True) -> list[Path]:
        """Write the table as CSV to ``path``, where the two came from beside it (``PATH.json``: the two
        backtests' provenance, the states and instruments kept, harmsim's version) and, with ``figures``, the
        figure of the gains (``PATH.png``, ``PATH.pdf``). Returns the paths."""
        path = Path(path)
        if path.suffix in (".json", ".png", ".pdf"):
            raise ConfigError(f"{path}: the table is CSV; where the two came from and the figure go beside it")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.table.to_csv(path, index=False)
        paths = [path, path.with_suffix(".json")]
        paths[1].write_text(json.dumps(self.provenance, indent=2, default=str) + "\n")
        if len(self.monte_carlo):
            paths.append(path.with_name(f"{path.stem}_monte_carlo.csv"))
            self.monte_carlo.to_csv(paths[-1], index=False)
        if figures and len(self.table):
            from harmsim.output.plots import save_figure

            paths += save_figure(self.figure(), path.parent, path.stem)
        return paths


def compare_backtests(
    a, b, *, again=(), states=None, without=(), names: tuple[str, str] | None = None
) -> PairedBacktests:
    """Pair two backtests' forecasts on the cells both score (:func:`common_cells`, ``b`` minus ``a``).

    ``a`` and ``b`` are each a saved backtest's folder (``harmsim backtest --out``: its ``cells.csv`` and
    ``provenance.json``), a :class:`~harmsim.analysis.backtest.Backtest`, or a ``cells`` table. ``states``
    keeps those states only (e.g. ``harmsim.load_record("asean").state_ids``: a region's cells of a panel);
    ``without`` leaves those instruments out. A model both score (the same scenario run two ways, and every
    baseline) is named with its backtest's label, so the sentences say which forecast is which: ``names``, or
    the shortest trailing parts of the two folders' paths that tell them apart, or ``a`` and ``b``. Two
    backtests with no common cell are refused: nothing can be compared.

    ``again``: pairs ``(a2, b2)`` of further runs of the same two backtests with other seeds (``harmsim backtest
    --seed``). Each is paired alike, and :attr:`PairedBacktests.monte_carlo` gives, per origin, the two models'
    gain over all the runs: its range, its standard deviation (the Monte Carlo noise of one pair's gain) beside
    the sampling standard error, and the readings (:func:`~harmsim.analysis.backtest.monte_carlo`). A further
    pair must score the same cells, and every run its own seeds (where the folders record them).

    >>> import harmsim
    >>> from harmsim.analysis.backtest import backtest
    >>> sc = harmsim.load_scenario("diffusion_only")
    >>> few = backtest(sc, [2008], replicates=20, baselines=("uniform",))
    >>> more = backtest(sc, [2008], replicates=200, baselines=("uniform",))
    >>> pair = compare_backtests(few, more, names=("20 runs", "200 runs"))
    >>> list(pair.table["a"])
    ['diffusion_only (20 runs)', 'uniform (20 runs)']
    """
    label_a, label_b = names or _names(a, b)
    cells_a, prov_a = _cells(a)
    cells_b, prov_b = _cells(b)
    without = set(without)
    scored = set(cells_a["instrument"]) | set(cells_b["instrument"])
    if without - scored:
        raise ConfigError(
            f"without {', '.join(sorted(without - scored))}: neither backtest scores it; they score "
            f"{', '.join(sorted(scored))}"
        )
    table = _paired(cells_a, cells_b, states, without)
    if not len(table):
        raise ConfigError(
            f"{label_a} and {label_b} score no common cell: their origins, states, instruments or outcomes differ"
            + (" (with the states and instruments kept)" if states is not None or without else "")
        )
    same = table["a"] == table["b"]
    table.loc[same, "a"] = table.loc[same, "a"] + f" ({label_a})"
    table.loc[same, "b"] = table.loc[same, "b"] + f" ({label_b})"
    spread, again_said = _again(table, again, states, without, prov_a, prov_b)
    from harmsim._version import __version__

    provenance = {
        "a": {"label": label_a, **prov_a},
        "b": {"label": label_b, **prov_b},
        "states": None if states is None else sorted(states),
        "without": sorted(without),
        "again": again_said,
        "harmsim": __version__,
    }
    return PairedBacktests(table, label_a, label_b, provenance, spread)


def _paired(cells_a: pd.DataFrame, cells_b: pd.DataFrame, states, without: set) -> pd.DataFrame:
    """:func:`common_cells` of two cells tables, the instruments ``without`` left out of both."""
    return common_cells(
        cells_a[~cells_a["instrument"].isin(without)], cells_b[~cells_b["instrument"].isin(without)], states
    )


def _first_pair(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the two backtests' own models (not the baselines both ran), one per origin."""
    if not len(table):
        return table
    return table[(table["a"] == table.iloc[0]["a"]) & (table["b"] == table.iloc[0]["b"])]


def _scored(rows: pd.DataFrame) -> list:
    """Per origin, how many cells a pair's rows compare: two runs of the same two backtests agree on it."""
    return rows[["origin", "cells"]].to_numpy().tolist() if len(rows) else []


def _seed(prov: dict):
    """A saved backtest's seed, where its provenance records it."""
    return prov.get("provenance", {}).get("backtest", {}).get("seed")


def _again(table, again, states, without, prov_a, prov_b) -> tuple[pd.DataFrame, list]:
    """The two models' gain over the first pair and the further ``again`` pairs, each paired as the first
    (:func:`~harmsim.analysis.backtest.monte_carlo`), and where the further pairs came from."""
    if not again:
        return pd.DataFrame(), []
    from harmsim.analysis.backtest import monte_carlo

    first = _first_pair(table)
    runs, said, seeds = [first], [], [(_seed(prov_a), _seed(prov_b))]
    for i, pair in enumerate(again, 1):
        if len(pair) != 2:
            raise ConfigError(f"again: each further run is a pair (A, B) of the two backtests, got {pair!r}")
        (cells_a, pa), (cells_b, pb) = _cells(pair[0]), _cells(pair[1])
        mine = _first_pair(_paired(cells_a, cells_b, states, without))
        if _scored(mine) != _scored(first):
            raise ConfigError(
                f"further run {i} ({_shown(pair[0])}, {_shown(pair[1])}) does not score the cells the first pair "
                "does: not the same two backtests with other seeds"
            )
        runs.append(mine)
        seeds.append((_seed(pa), _seed(pb)))
        said.append({"a": pa, "b": pb})
    known = [s for s in seeds if None not in s]
    if len(set(known)) < len(known):
        raise ConfigError(
            f"the runs' seeds {known} repeat a pair: a further run with the same seeds measures no Monte Carlo noise"
        )
    gains = pd.concat([r.assign(seed=i) for i, r in enumerate(runs)], ignore_index=True)
    gains = gains.assign(baseline=first.iloc[0]["a"])
    return monte_carlo(gains), said


def _shown(backtest) -> str:
    """A backtest named in a message: its folder, or what it is."""
    return str(backtest) if isinstance(backtest, (str, Path)) else type(backtest).__name__


def _cells(backtest) -> tuple[pd.DataFrame, dict]:
    """A backtest's scored cells and its provenance, from a folder, a Backtest or a table."""
    if isinstance(backtest, pd.DataFrame):
        return backtest, {}
    if hasattr(backtest, "cells"):
        return backtest.cells, {"provenance": backtest.provenance}
    folder = Path(backtest)
    if not (folder / "cells.csv").is_file():
        raise ConfigError(f"{folder}: no cells.csv (not a saved backtest: harmsim backtest --out writes one)")
    prov = folder / "provenance.json"
    said = {"folder": str(folder)}
    if prov.is_file():
        said["provenance"] = json.loads(prov.read_text(encoding="utf-8"))
    return pd.read_csv(folder / "cells.csv"), said


def _names(a, b) -> tuple[str, str]:
    """The shortest trailing parts of two folders' paths that tell them apart (``seed0`` and ``seed1``;
    ``drawn/seed0`` and ``plug-in/seed0``); ``a`` and ``b`` for what is not a folder."""
    if not all(isinstance(x, (str, Path)) for x in (a, b)):
        return "a", "b"
    a_parts, b_parts = Path(a).resolve().parts, Path(b).resolve().parts
    for n in range(1, max(len(a_parts), len(b_parts)) + 1):
        a_name, b_name = "/".join(a_parts[-n:]), "/".join(b_parts[-n:])
        if a_name != b_name:
            return a_name, b_name
    return str(a), str(b)


def _parts(r) -> str:
    """The two on each part of the log score where both backtests score it: whether the states adopt (every
    common cell), and the timing alone (the adoptions, scored given adoption)."""
    out = ""
    if "whether_gain" in r and not pd.isna(r["whether_gain"]):
        gain, se = r["whether_gain"], r["whether_se"]
        out += f"; on whether they adopt ({r['cells']} cells) {reading(gain, se)}: {gain:+.3f} (s.e. {se:.3f})"
    if "timing_gain" in r and r.get("adoptions", 0) and not pd.isna(r["timing_gain"]):
        n, gain, se = int(r["adoptions"]), r["timing_gain"], r["timing_se"]
        out += f"; on the timing alone ({n} adoptions, given adoption) {reading(gain, se)}: {gain:+.3f} (s.e. {se:.3f})"
    return out


def _adds(r, which: str) -> str:
    """Whether the equal-weight pool of the two forecasts beats the other one: does ``which`` add to it?"""
    other = "a" if which == "b" else "b"
    gain, se = r[f"{which}_adds"], r[f"{which}_adds_se"]
    said = reading(gain, se, ("adds", "costs", "adds nothing measurable"))
    return f"'{r[which]}' mixed into '{r[other]}' {said} ({gain:+.3f}, s.e. {se:.3f})"
