"""Placebo agreements: is the likelihood gain from the recorded agreements more than any schedule would give?

A likelihood-ratio test of "agreements matter" compares a model with the
agreements term against one without it. But with agreements at fixed dates
the term is a step function of calendar year, and any step function fitted
to a record of rising adoption gains some likelihood. The placebo test asks
whether the *recorded* schedule gains more than schedules that are wrong on
purpose: every agreement's date shifted by the same number of years (2 to 6,
earlier or later) and the instruments they cover permuted among them. The
model is refitted on each placebo schedule (same free parameters, same
observations) and the real gain is ranked among the placebo gains:

    p = (1 + #{placebo gain >= real gain}) / (1 + number of placebos)

A small p says the recorded dates and coverage carry information a generic
step in time does not. Under a record generated without agreement effects,
p is close to uniform (tested on synthetic records).

>>> import harmsim
>>> shift, fake = placebo_schedules(harmsim.observed_record(), 1, seed=1)[0]
>>> int(fake.agreements["year"].iloc[0] - harmsim.observed_record().agreements["year"].iloc[0]) == shift
True
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from harmsim.calibrate.mle import default_free, fit_mle
from harmsim.errors import CalibrationError
from harmsim.rng import SeedLike, stream

__all__ = ["PlaceboTest", "placebo_schedules", "placebo_test"]

SHIFTS = (-6, -5, -4, -3, -2, 2, 3, 4, 5, 6)


@dataclass(frozen=True, eq=False)
class PlaceboTest:
    """The real likelihood gain, the placebo gains, the permutation p-value and a sentence."""

    real_gain: float
    placebos: pd.DataFrame
    p_value: float

    def words(self) -> str:
        n = len(self.placebos)
        k = int((self.placebos["gain"] >= self.real_gain).sum())
        verdict = (
            "the recorded agreements carry information a placebo schedule does not"
            if self.p_value <= 0.05
            else "the record does not tell the recorded agreements from placebo ones"
        )
        return (
            f"Placebo test: the recorded agreements' log-likelihood gain ({self.real_gain:.2f}) is matched or exceeded "
            f"by {k} of {n} placebo schedules (dates shifted 2-6 years, coverage permuted): permutation "
            f"p = {self.p_value:.2f}; {verdict}."
        )


def placebo_schedules(record, n: int, seed: SeedLike) -> list[tuple[int, object]]:
    """``n`` (shift, record) pairs: the record with its agreement dates shifted and coverage permuted."""
    ag = record.agreements
    if not len(ag):
        raise CalibrationError(f"record '{record.name}' has no agreements to make placebos of")
    g = stream(seed, "placebo")
    out = []
    for _ in range(n):
        shift = int(g.choice(SHIFTS))
        fake = ag.copy()
        fake["year"] = fake["year"] + shift
        fake["covers"] = list(fake["covers"].iloc[g.permutation(len(fake))])
        out.append((shift, replace(record, name=f"{record.name}~placebo", agreements=fake)))
    return out


def _refit(scenario, fake, free, start) -> float:
    """The maximized log-likelihood of ``scenario`` on the placebo record ``fake``."""
    return fit_mle(scenario.with_record(fake), fake, free, start=start, uncertainty=False).loglik


def placebo_test(
    scenario,
    null_scenario,
    record=None,
    *,
    placebos: int = 19,
    seed: SeedLike = 0,
    free: list[str] | None = None,
    fits: tuple | None = None,
    refits: pd.DataFrame | None = None,
    workers: int = 1,
    progress=None,
) -> PlaceboTest:
    """Rank the real agreements' likelihood gain (``scenario`` over ``null_scenario``) among placebo schedules.

    ``fits`` = (fit of scenario, fit of null) reuses fits already made;
    ``refits`` (the ``placebos`` table of an earlier test of the same scenario,
    record and seed) reuses its placebo refits, which do not depend on the null.
    """
    record = record if record is not None else scenario.record
    if scenario.mechanism("agreements") is None or scenario.mechanism("agreements").arrival != "observed":
        raise CalibrationError("the placebo test needs a scenario with agreements at their recorded dates")
    free = list(free) if free is not None else default_free(scenario, record)
    real, null = fits if fits is not None else (fit_mle(scenario, record, free), None)
    null = null if null is not None else fit_mle(null_scenario, record)
    gain = real.loglik - null.loglik
    if refits is None:
        schedules = placebo_schedules(record, placebos, seed)
        tasks = [(scenario, fake, free, real.parameters()) for _, fake in schedules]
        if workers > 1 and len(tasks) > 1:
            from harmsim._workers import process_pool

            with process_pool(workers) as pool:
                lls = list(pool.map(_refit, *zip(*tasks)))
        else:
            lls = []
            for j, task in enumerate(tasks):
                if progress:
                    progress(f"placebo {j + 1}/{placebos}")
                lls.append(_refit(*task))
        shifts = [shift for shift, _ in schedules]
        refits = pd.DataFrame({"placebo": np.arange(1, len(lls) + 1), "shift": shifts, "loglik": lls})
    table = refits[["placebo", "shift", "loglik"]].assign(gain=refits["loglik"] - null.loglik)
    p = (1 + int((table["gain"] >= gain - 1e-9).sum())) / (1 + placebos)
    return PlaceboTest(float(gain), table, float(p))
