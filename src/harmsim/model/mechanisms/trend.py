"""A flexible common time trend and duration dependence: what agreement effects are estimated against.

With agreements at their recorded dates, the agreements term is a fixed step
function of calendar year per instrument, and so is any smooth rise in
adoption over time: a likelihood-ratio test for agreements cannot tell a
mechanism from a trend unless a trend is in the model. This mechanism adds
one, common to all states and instruments, plus the dependence of an
instrument's hazard on how long it has been open:

    term[i, k, t] = linear * s_t + quadratic * s_t^2 + duration * log(1 + t - o_k)
    s_t = (min(t, o) - center) / 10   (decades from the center year; o below)
    o_k = the year instrument k opened (for an instrument open from the start:
          the first year of the scenario's reference window)

Past the last year the record observes (``o`` = the record's end: 2015,
or a backtest's origin), a polynomial fitted to the observed years says
nothing about the years after them: continued (``beyond = "continue"``) it
bends the forecast wherever its curvature points (from 2008,
baseline_trend's quadratic turned the forecast down; docs/forecasting.md).
``beyond = "drift"`` (the default) holds the period part at its value in
``o`` and adds ``drift * (t - o) / 10`` past it: the record says nothing of
``drift`` (no fit frees it), and a forecast draws it per replicate from a
normal centred on 0 whose standard deviation is the period trend's slope at
``o`` in that replicate (:func:`harmsim.analysis.predictive.parameter_draws`),
so the trend may go on at its last pace, stop or turn, equally, and the
forecast's uncertainty about it grows with the horizon. ``beyond = "hold"``
holds it without a drift. Inside the observed years the three are the same.
Duration since opening, monotone and concave, runs on. In backtests the
drift beat the held trend from 2005 on ASEAN (+1.10 log score per cell) and
from every origin on the world panel, and lost 0.11 from 2008 on ASEAN
(docs/forecasting.md, docs/regions.md).

With ``basis = "spline"`` the period part is a penalized cubic spline (a
P-spline, Eilers and Marx 1996) instead of the quadratic: seven cubic
B-splines with equally spaced knots over the observed years (the record's
first year to ``o``), the coefficient of the middle one fixed at 0 (the
intercept holds the level there; ``center`` plays no part) and the other six free
(``spline_1`` .. ``spline_6``, in time order). A fit adds the penalty
``-sum (second difference of the coefficients)^2 / (2 smoothness^2)`` to the
log-likelihood: flexible inside the data, straight where the data say
nothing, with ``smoothness`` (declared, not fitted) as the log-odds a
coefficient's second difference may plausibly take. Past ``o`` the spline is
held at its value there, with the same drift as the quadratic (its standard
deviation the spline's slope at ``o``).

Agreement and diffusion effects are then estimated against the trend, not
instead of one. ``linear`` and ``quadratic`` shape a period effect (rising,
falling or bending); ``duration`` lets a newly opened treaty be taken up
quickly (``duration < 0``: early uptake then a trickle, RECORD-PATTERNS 3)
or slowly (``> 0``).

Direction: none is claimed; this is a control, not a mechanism of the
theory. ``linear > 0`` raises hazards over time.
"""

from __future__ import annotations

import numpy as np
from scipy.interpolate import BSpline

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Choice, Integer, Real

#: cubic B-splines of the period part with ``basis = "spline"``; one is fixed at 0, the others are free
SPLINE_FUNCTIONS = 7
SPLINE_DEGREE = 3
SPLINE_NAMES = tuple(f"spline_{j}" for j in range(1, SPLINE_FUNCTIONS))


def spline_basis(first: int, last: int, years) -> tuple[np.ndarray, np.ndarray]:
    """((len(years), 6) the free B-splines at ``years`` (clamped to [first, last]), (len(years), 6) their slopes
    per year): :data:`SPLINE_FUNCTIONS` cubic B-splines on equally spaced knots covering ``[first, last]``, the
    middle one (fixed at 0: the intercept holds the level there) left out.

    >>> b, d = spline_basis(1997, 2015, np.array([1997, 2006, 2015, 2020]))
    >>> b.shape, bool(np.allclose(b[2], b[3]))  # held past the last year
    ((4, 6), True)
    """
    lo, hi = float(first), float(max(last, first + 1))
    # equally spaced knots running past both ends (Eilers and Marx): coefficients in arithmetic progression then
    # make a straight line, so the penalty on second differences shrinks towards a line
    step = (hi - lo) / (SPLINE_FUNCTIONS - SPLINE_DEGREE)
    knots = lo + step * np.arange(-SPLINE_DEGREE, SPLINE_FUNCTIONS + 1)
    x = np.clip(np.asarray(years, dtype=float), lo, hi)
    full = BSpline.design_matrix(x, knots, SPLINE_DEGREE).toarray()
    eye = np.eye(SPLINE_FUNCTIONS)
    slope = np.stack([BSpline(knots, eye[j], SPLINE_DEGREE).derivative()(x) for j in range(SPLINE_FUNCTIONS)], 1)
    keep = np.arange(SPLINE_FUNCTIONS) != SPLINE_FUNCTIONS // 2
    return full[:, keep], slope[:, keep]


class Trend(Mechanism):
    name = "trend"
    summary = "a common period trend (quadratic in decades, or a penalized spline) and duration since opening"
    linear = ("linear", "quadratic", "duration", "drift", *SPLINE_NAMES)
    params = {
        "linear": Real(0.0, -20.0, 20.0, "log-odds per decade from the center year"),
        "quadratic": Real(0.0, -20.0, 20.0, "log-odds per squared decade from the center year"),
        "duration": Real(0.0, -10.0, 10.0, "log-odds per unit of log(1 + years since the instrument opened)"),
        "center": Integer(2006, 1800, 2100, "center year of the period trend"),
        "beyond": Choice(
            "drift",
            ("drift", "hold", "continue"),
            "past the record's last observed year: the period term held, continued, or held with a drift drawn in "
            "forecasts",
        ),
        "drift": Real(
            0.0,
            -20.0,
            20.0,
            "log-odds per decade past the record's last observed year (beyond = 'drift'; not in the record: drawn "
            "in forecasts)",
        ),
        "basis": Choice("quadratic", ("quadratic", "spline"), "the period part: a quadratic, or a penalized spline"),
        **{
            n: Real(0.0, -20.0, 20.0, f"log-odds of the period spline's B-spline {n[-1]} (basis = 'spline')")
            for n in SPLINE_NAMES
        },
        "smoothness": Real(
            0.5,
            0.01,
            10.0,
            "standard deviation of the spline coefficients' second differences, the fit's penalty (declared)",
        ),
    }

    @classmethod
    def unused(cls, p) -> set[str]:
        if p.basis == "spline":
            return {"linear", "quadratic"}
        return {*SPLINE_NAMES, "smoothness"}

    @classmethod
    def log_prior(cls, p) -> float:
        """The spline's penalty: ``-sum (second difference)^2 / (2 smoothness^2)`` over its seven coefficients
        (the fixed one at 0); 0 for the quadratic."""
        if p.basis != "spline":
            return 0.0
        c = np.array([float(getattr(p, n)) for n in SPLINE_NAMES])
        return -float((np.diff(_full(c), 2) ** 2).sum()) / (2 * float(p.smoothness) ** 2)

    def _first_year(self) -> int:
        return int(self.transforms.window[0]) if self.transforms is not None else int(self.world.start)

    def period_slope(self, values) -> np.ndarray:
        """The period part's slope at the last observed year, log-odds per decade, for (arrays of) coefficient
        ``values`` by name (a forecast's draws): the scale of the drift's prior."""
        end = self.world.last_observed
        if self.p.basis == "spline":
            _, d = spline_basis(self._first_year(), end, [end])
            return 10.0 * sum(np.asarray(values[f"trend.{n}"], float) * d[0, j] for j, n in enumerate(SPLINE_NAMES))
        lin, quad = (np.asarray(values[f"trend.{n}"], float) for n in ("linear", "quadratic"))
        return lin + 2.0 * quad * (end - self.p.center) / 10.0

    def static(self):
        w = self.world
        end = w.last_observed
        years = w.years if self.p.beyond == "continue" else np.minimum(w.years, end)
        if self.p.basis == "spline":  # held past the end whatever ``beyond`` says: a spline has no continuation
            b, _ = spline_basis(self._first_year(), end, w.years)
            period = b @ np.array([float(getattr(self.p, n)) for n in SPLINE_NAMES])
        else:
            s = (years - self.p.center) / 10.0
            period = self.p.linear * s + self.p.quadratic * s**2  # (T,)
        if self.p.beyond == "drift":
            period = period + self.p.drift * np.maximum(w.years - end, 0) / 10.0
        opened = np.where(w.opens > -(10**5), w.opens, self._first_year())  # (K,)
        since = np.maximum(w.years[:, None] - opened[None, :], 0)  # (T, K)
        term = period[:, None] + self.p.duration * np.log1p(since)
        return term[:, None, :]


def _full(c: np.ndarray) -> np.ndarray:
    """The seven coefficients from the six free ones, the middle one at 0."""
    mid = SPLINE_FUNCTIONS // 2
    return np.concatenate([c[:mid], [0.0], c[mid:]])
