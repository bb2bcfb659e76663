"""Predictive scores of adoption years: one definition for backtests and the mechanism comparison.

A prediction of a (state, instrument) cell is a distribution over its
possible outcomes: each year of a window and "later" (not adopted by the
window's end). An observation is one outcome, or a run of years (an
adoption known only within an interval). For every observed cell:

``log_score``
    log P(observed outcome) (an interval: the sum over its years);
``crps``
    the ranked probability score, sum over the window's years of
    ``(P(adopted by year) - [adopted by year])^2``; years inside an interval
    outcome are skipped. 0 is a perfect, certain forecast;
``covered50``, ``covered90``
    whether the outcome meets the central 50% / 90% interval of the
    predicted year ("later" counting as the year after the window);
``pit``
    the randomized probability integral transform, ``F(before) + u * P(observed)``
    with ``u`` uniform: uniform on [0, 1] when the predictions are calibrated;
``pit_mid``
    the same at ``u = 1/2``, the mid-distribution function: where the
    outcome falls among the predictions, without the draw (below 1/2 it
    came earlier than most of them, above later); for a map or a group mean;
``abs_error``
    distance in years from the predicted median to the observed outcome.
``p_adopt``
    the forecast probability of adopting inside the window (not "later");
``log_score_adopted``
    for an adoption inside the window, log P(observed outcome | adopted inside
    the window) = ``log_score - log p_adopt``: the timing alone, the proper
    score where the cells scored were selected by adopting (a source that
    dates adoptions but not their absence); missing for any other outcome.
``log_score_whether``
    the rest of the log score: whether the cell adopts. For an adoption
    inside the window ``log p_adopt``; for any other outcome (not adopted by
    the window's end, or by a year inside it where the record stops) the
    whole ``log_score``. So ``log_score = log_score_whether +
    log_score_adopted`` for an adoption, ``= log_score_whether`` otherwise.

Simulated outcomes become probabilities with a half count added to every
outcome, ``(count + 1/2) / (R + B/2)``, so an outcome no replicate produced
costs a finite amount.

>>> import numpy as np
>>> d = outcome_distribution(np.array([[[2006]], [[2008]]]), 2005, 2008)  # years 2006-2008 and later
>>> s = score_cells(d, np.array([[0]]), np.array([[0]]), np.array([[True]]), seed=0)
>>> round(float(s["log_score"].iloc[0]), 3)
-0.981
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harmsim.data.world import NEVER
from harmsim.errors import ConfigError
from harmsim.rng import SeedLike, stream

__all__ = ["mean_pit", "outcome_distribution", "pool_weight", "pooled_log_score", "score_cells", "summarize"]


def outcome_distribution(years: np.ndarray, before: int, end: int) -> np.ndarray:
    """(N, K, B) smoothed probabilities of the outcomes ``before+1 .. end`` and "later" from simulated years (R, N, K).

    ``NEVER`` or a year after ``end`` is "later"; a year before ``before + 1``
    counts as the first outcome (it cannot occur for cells open at ``before``).
    """
    B = end - before + 1
    y = np.where((years == NEVER) | (years > end), end + 1, years).astype(int)
    idx = np.clip(y - (before + 1), 0, B - 1)
    counts = np.stack([(idx == b).sum(axis=0) for b in range(B)], axis=-1).astype(float)
    return (counts + 0.5) / (len(years) + 0.5 * B)


def score_cells(dist: np.ndarray, lo: np.ndarray, hi: np.ndarray, mask: np.ndarray, seed: SeedLike = 0) -> pd.DataFrame:
    """Scores of every cell in ``mask``: ``dist`` (N, K, B); observed outcome bins ``lo..hi`` (N, K) (B-1: later)."""
    B = dist.shape[-1]
    cdf = np.cumsum(dist, axis=-1)
    i_idx, k_idx = np.nonzero(mask)
    u = stream(seed, "pit").random(len(i_idx))
    rows = []
    for n, (i, k) in enumerate(zip(i_idx, k_idx)):
        a, b = int(lo[i, k]), int(hi[i, k])
        p = dist[i, k]
        c = cdf[i, k]
        obs_p = p[a : b + 1].sum()
        yb = np.arange(B - 1)
        known = (yb < a) | (yb >= b)
        crps = float(((c[: B - 1] - (yb >= b)) ** 2)[known].sum())
        below = c[a - 1] if a > 0 else 0.0
        q = {x: int(np.searchsorted(c, x)) for x in (0.05, 0.25, 0.5, 0.75, 0.95)}
        med = q[0.5]
        adopted = float(np.log(obs_p) - np.log(1.0 - p[B - 1])) if b < B - 1 else float("nan")  # given adoption
        rows.append(
            {
                "i": i,
                "k": k,
                "log_score": float(np.log(obs_p)),
                "crps": crps,
                "covered50": bool(b >= q[0.25] and a <= q[0.75]),
                "covered90": bool(b >= q[0.05] and a <= q[0.95]),
                "pit": float(below + u[n] * obs_p),
                "pit_mid": float(below + 0.5 * obs_p),
                "abs_error": float(0 if a <= med <= b else min(abs(med - a), abs(med - b))),
                "median_bin": med,
                "p_adopt": float(1.0 - p[B - 1]),
                "log_score_adopted": adopted,
                "log_score_whether": float(np.log(1.0 - p[B - 1]) if b < B - 1 else np.log(obs_p)),
            }
        )
    cols = ["i", "k", "log_score", "crps", "covered50", "covered90", "pit", "pit_mid", "abs_error", "median_bin",
            "p_adopt", "log_score_adopted", "log_score_whether"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def summarize(cells: pd.DataFrame) -> dict:
    """Means over scored cells: log score, CRPS, coverage of the 50% and 90% intervals, median error.

    >>> import pandas as pd
    >>> cells = pd.DataFrame({"log_score": [-1.0, -2.0], "crps": [0.5, 1.5], "covered50": [True, False],
    ...                       "covered90": [True, True], "abs_error": [0, 2]})
    >>> summarize(cells)
    {'events': 2, 'log_score': -1.5, 'crps': 1.0, 'coverage50': 0.5, 'coverage90': 1.0, 'year_mae': 1.0}
    """
    return {
        "events": len(cells),
        "log_score": float(cells["log_score"].mean()),
        "crps": float(cells["crps"].mean()),
        "coverage50": float(cells["covered50"].mean()),
        "coverage90": float(cells["covered90"].mean()),
        "year_mae": float(cells["abs_error"].mean()),
    }


def mean_pit(pit, states) -> dict:
    """Calibration in the large: the mean of the cells' PIT values (``pit_mid``), 1/2 when the forecasts are
    calibrated, with its standard error clustered by state (:func:`paired_difference` against 1/2). Returns
    ``mean``, ``se``, ``z`` (of the distance from 1/2) and the numbers of cells and clusters.

    >>> r = mean_pit(np.array([0.1, 0.3, 0.2, 0.4]), ["A", "A", "B", "B"])
    >>> round(r["mean"], 2), r["clusters"]
    (0.25, 2)
    """
    pit = np.asarray(pit, dtype=float)
    d = paired_difference(np.full(len(pit), 0.5), pit, np.asarray(states))
    return {"mean": 0.5 + d["difference"], **{k: d[k] for k in ("se", "z", "cells", "clusters")}}


def pooled_log_score(a, b, weight: float = 0.5) -> np.ndarray:
    """The log score of the linear pool of two forecasts of the same outcomes, from their own log scores:
    ``log(w e^a + (1 - w) e^b)``, ``w = weight`` on the first (one half: ``log((e^a + e^b) / 2)``).

    The pool's probability of an outcome is the weighted mean of the two forecasts' (an interval's too, its sum
    over years being linear), so two backtests' ``cells`` tables are enough to score their pool, without their
    distributions. Concave: never below the weighted mean of ``a`` and ``b``, never above the larger.

    >>> pooled_log_score(np.log([0.2, 0.5]), np.log([0.4, 0.5])).round(4).tolist()  # log 0.3, log 0.5
    [-1.204, -0.6931]
    >>> pooled_log_score(np.log([0.2]), np.log([0.4]), weight=0.25).round(4).tolist()  # log(0.05 + 0.3)
    [-1.0498]
    """
    if not 0.0 <= weight <= 1.0:
        raise ConfigError(f"pool weight {weight!r}: must lie in [0, 1]")
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if weight == 0.5:
        return np.logaddexp(a, b) - np.log(2.0)
    with np.errstate(divide="ignore"):  # a weight of 0 or 1 leaves the other forecast alone: log 0 = -inf
        return np.logaddexp(a + np.log(weight), b + np.log1p(-weight))


def pool_weight(a, b) -> float:
    """The weight on the first forecast that maximizes the mean log score of the linear pool of two forecasts
    whose log scores of the same cells are ``a`` and ``b`` (:func:`pooled_log_score`).

    The mean log score of a pool is concave in the weight, so the maximum over [0, 1] is unique; it lies at 0 or
    1 when one forecast encompasses the other on these cells. Estimated on cells scored before a backtest's
    origin (:func:`~harmsim.analysis.backtest.backtest`, ``pool_weights="inner"``), never on those it is
    scored on. Without cells, one half.

    >>> round(pool_weight(np.log([0.9, 0.1]), np.log([0.1, 0.9])), 3)  # each right once: half each
    0.5
    >>> pool_weight(np.log([0.5, 0.5]), np.log([0.1, 0.1]))  # the first better on every cell
    1.0
    """
    from scipy.optimize import minimize_scalar

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not len(a):
        return 0.5

    def loss(w: float) -> float:
        return -float(np.mean(pooled_log_score(a, b, w)))

    inner = minimize_scalar(loss, bounds=(0.0, 1.0), method="bounded", options={"xatol": 1e-6}).x
    return float(min((0.0, 1.0, float(inner)), key=loss))


def paired_difference(a: np.ndarray, b: np.ndarray, clusters) -> dict:
    """Mean of ``b - a`` over paired cells, its standard error clustered by ``clusters`` (e.g. the state).

    Cells of one state share that state's errors, so they are not independent evidence: the variance is the
    cluster-robust one, ``G / (G - 1) * sum_g (sum of d in g - n_g * mean)^2 / n^2`` over the G clusters.
    Returns ``difference``, ``se``, ``z`` and the numbers of cells and clusters (``se`` NaN with fewer than
    two clusters).

    >>> r = paired_difference(np.array([0.0, 0.0, 0.0, 0.0]), np.array([1.0, 1.2, 0.8, 1.0]), ["A", "A", "B", "B"])
    >>> round(r["difference"], 2), r["clusters"]
    (1.0, 2)
    """
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    g = pd.Series(d).groupby(np.asarray(clusters)).agg(["sum", "size"])
    n, G = len(d), len(g)
    mean = float(d.mean()) if n else float("nan")
    if G < 2:
        se = float("nan")
    else:
        se = float(np.sqrt(G / (G - 1) * np.sum((g["sum"] - g["size"] * mean) ** 2)) / n)
    z = mean / se if se and np.isfinite(se) and se > 0 else float("nan")
    return {"difference": mean, "se": se, "z": z, "cells": n, "clusters": G}


#: the readings of a paired gain: beyond twice its standard error above 0, below it, or within it
READINGS = ("better", "worse", "not told apart")


def reading(gain: float, se: float, words: tuple[str, str, str] = READINGS) -> str:
    """A paired gain in words: ``words[0]`` beyond twice its standard error above 0, ``words[1]`` below, else
    ``words[2]``.

    One rule for every verdict harmsim prints about a paired gain (a backtest's summary, ``harmsim
    compare-backtests``). A standard error of 0 (every state's gain the same) puts any gain other than 0 beyond
    it; a missing one (NaN: fewer than two states) leaves the gain's noise unmeasured, read as not told apart.

    >>> reading(0.3, 0.1), reading(-0.3, 0.1), reading(0.15, 0.1), reading(0.3, 0.0), reading(0.3, float("nan"))
    ('better', 'worse', 'not told apart', 'better', 'not told apart')
    """
    return words[0] if gain > 2 * se else words[1] if gain < -2 * se else words[2]


def detectable(se: float, power: float = 0.8) -> float:
    """The smallest true paired gain that :func:`reading` calls better (beyond twice ``se``) with probability
    ``power``: ``(2 + z_power) * se`` in the normal approximation (2.84 standard errors at power 0.8). A gain
    not told apart from 0 says little about gains below it: the cells compared cannot resolve them.

    >>> round(detectable(0.1), 3), round(detectable(0.1, power=0.5), 3)
    (0.284, 0.2)
    """
    from scipy import stats

    return float((2.0 + stats.norm.ppf(power)) * se)
