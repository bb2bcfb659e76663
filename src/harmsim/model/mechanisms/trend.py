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

from harmsim.model.mechanisms.base import Mechanism
from harmsim.model.params import Choice, Integer, Real


class Trend(Mechanism):
    name = "trend"
    summary = "a common period trend (quadratic in decades) and duration since an instrument opened"
    linear = ("linear", "quadratic", "duration", "drift")
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
    }

    def static(self):
        w = self.world
        end = w.record.end
        years = w.years if self.p.beyond == "continue" else np.minimum(w.years, end)
        s = (years - self.p.center) / 10.0
        period = self.p.linear * s + self.p.quadratic * s**2  # (T,)
        if self.p.beyond == "drift":
            period = period + self.p.drift * np.maximum(w.years - end, 0) / 10.0
        start = self.transforms.window[0] if self.transforms is not None else w.start
        opened = np.where(w.opens > -(10**5), w.opens, start)  # (K,)
        since = np.maximum(w.years[:, None] - opened[None, :], 0)  # (T, K)
        term = period[:, None] + self.p.duration * np.log1p(since)
        return term[:, None, :]
