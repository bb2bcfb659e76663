"""Placebo agreements: is the likelihood gain from the recorded agreements more than any schedule would give?

A likelihood-ratio test of "agreements matter" compares a model with the
agreements term against one without it. But with agreements at fixed dates
the term is a step function of calendar year, and any step function fitted
to a record of rising adoption gains some likelihood. The placebo test asks
whether the *recorded* schedule gains more than schedules that are wrong on
purpose and otherwise alike. A placebo keeps what the real schedule has in
the window (agreements acting from year ``start`` to ``end``, that is dated
from ``start`` to ``end - lag``): the same number of steps, each keeping its
binding or non-binding label and its organization, so the same parameters
are free; the dates of those steps are rotated together by ``s`` years
around the window (``s`` from 1 to W - 1 for a window of W years: every
shift, earlier and later, keeping the gaps between steps except where they
wrap), and the instruments they call for are permuted among steps of the same
label and organization. Agreements outside the window (ASEAN's 2015
Convention, acting from 2016) stay as recorded, and so does one that opens
an instrument (moving it would move who can adopt, not only the term). Placebos are drawn without
repetition and never equal the real schedule. The model is refitted on each
(same free parameters, same observations) and the real gain is ranked:

    p = (1 + #{placebo gain >= real gain}) / (1 + number of placebos)

so 99 placebos give p in steps of 0.01. A small p says the recorded dates
and coverage carry information a generic step in time does not. On
synthetic records without agreement effects p is close to uniform; with a
strong effect it sits at its minimum (tests/test_counterfactual.py).

>>> import harmsim
>>> rec = harmsim.observed_record()
>>> shift, fake = placebo_schedules(rec, 1, seed=1)[0]
>>> int((fake.agreements["year"] <= 2014).sum()) == int((rec.agreements["year"] <= 2014).sum())
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


@dataclass(frozen=True, eq=False)
class PlaceboTest:
    """The real likelihood gain, the placebo gains, the permutation p-value and a sentence.

    >>> import pandas as pd
    >>> t = PlaceboTest(3.9, pd.DataFrame({"placebo": [1, 2, 3], "shift": [-3, -3, 7], "gain": [2.3, 1.1, 4.0]}), 0.5)
    >>> print(t.words()[:98])
    Placebo test: the recorded agreements' log-likelihood gain (3.90) is matched or exceeded by 1 of 3
    """

    real_gain: float
    placebos: pd.DataFrame
    p_value: float

    def words(self) -> str:
        n = len(self.placebos)
        k = int((self.placebos["gain"] >= self.real_gain - 1e-9).sum())
        verdict = (
            "the recorded agreements carry information a placebo schedule does not"
            if self.p_value <= 0.05
            else "the record does not tell the recorded agreements from placebo ones"
        )
        return (
            f"Placebo test: the recorded agreements' log-likelihood gain ({self.real_gain:.2f}) is matched or exceeded "
            f"by {k} of {n} placebo schedules (the steps inside the window rotated together, earlier or later, "
            f"coverage permuted among steps of the same kind): permutation p = {self.p_value:.2f}; {verdict}."
        )


def placebo_schedules(record, n: int, seed: SeedLike, lag: int = 1) -> list[tuple[int, object]]:
    """``n`` (shift, record) pairs, each a distinct placebo schedule exchangeable with the recorded one.

    ``shift``: the rotation in years, signed (-W/2, W/2]; ``lag``: the agreements term's lag (an agreement
    dated after ``end - lag`` does not act inside the window and is kept as recorded). Fewer than ``n`` are
    returned only when fewer distinct schedules exist.
    """
    ag = record.agreements
    if not len(ag):
        raise CalibrationError(f"record '{record.name}' has no agreements to make placebos of")
    first, last = int(record.start), int(record.end) - int(lag)
    years = ag["year"].to_numpy(dtype=np.int64)
    inst = record.instruments
    opening = set(inst["opened_by"].dropna().astype(str)) if "opened_by" in inst else set()
    movable = ~ag["agreement"].astype(str).isin(opening).to_numpy()  # one that opens an instrument stays
    inside = np.flatnonzero((years >= first) & (years <= last) & movable)
    W = last - first + 1
    if len(inside) == 0 or W < 2:
        raise CalibrationError(
            f"record '{record.name}' has no agreement acting inside its window {first}-{last + lag}: "
            "nothing to make placebos of"
        )
    org = ag["organization"].fillna("").astype(str) if "organization" in ag else pd.Series([""] * len(ag))
    label = [f"{org.iloc[i]}|{bool(ag['binding'].iloc[i])}" for i in inside]
    classes = [inside[[j for j, lab in enumerate(label) if lab == c]] for c in dict.fromkeys(label)]
    g = stream(seed, "placebo")
    covers = list(ag["covers"])
    seen, out = set(), []
    for _ in range(50 * n + 100):  # distinct draws; the attempts bound the loop where few schedules exist
        if len(out) == n:
            break
        s = int(g.integers(1, W))
        new = list(covers)
        for c in classes:
            for i, j in zip(c, c[g.permutation(len(c))]):
                new[i] = covers[j]
        key = (s, tuple(tuple(sorted(new[i])) for i in inside))
        if key in seen:
            continue
        seen.add(key)
        fake = ag.copy()
        fake["year"] = years.copy()
        fake.loc[fake.index[inside], "year"] = first + (years[inside] - first + s) % W
        fake["covers"] = new
        out.append((s if s <= W // 2 else s - W, replace(record, name=f"{record.name}~placebo", agreements=fake)))
    return out


def _refit(scenario, fake, free, start) -> float:
    """The maximized log-likelihood of ``scenario`` on the placebo record ``fake``."""
    return fit_mle(scenario.with_record(fake), fake, free, start=start, uncertainty=False).loglik


def placebo_test(
    scenario,
    null_scenario,
    record=None,
    *,
    placebos: int = 99,
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

    With three placebos (99 by default) the smallest p-value is 1/4:

    >>> import harmsim
    >>> test = placebo_test(harmsim.load_scenario("baseline"), harmsim.load_scenario("no_asean"), placebos=3)
    >>> list(test.placebos.columns), test.p_value >= 1 / 4
    (['placebo', 'shift', 'loglik', 'gain'], True)
    """
    record = record if record is not None else scenario.record
    if scenario.mechanism("agreements") is None or scenario.mechanism("agreements").arrival != "observed":
        raise CalibrationError("the placebo test needs a scenario with agreements at their recorded dates")
    free = list(free) if free is not None else default_free(scenario, record)
    real, null = fits if fits is not None else (fit_mle(scenario, record, free), None)
    null = null if null is not None else fit_mle(null_scenario, record)
    gain = real.loglik - null.loglik
    if refits is None:
        lag = int(dict(scenario.mechanism("agreements").items)["lag"])
        schedules = placebo_schedules(record, placebos, seed, lag)
        tasks = [(scenario, fake, free, real.parameters()) for _, fake in schedules]
        if workers > 1 and len(tasks) > 1:
            from harmsim._workers import process_pool

            with process_pool(workers) as pool:
                lls = list(pool.map(_refit, *zip(*tasks)))
        else:
            lls = []
            for j, task in enumerate(tasks):
                if progress:
                    progress(f"placebo {j + 1}/{len(tasks)}")
                lls.append(_refit(*task))
        shifts = [shift for shift, _ in schedules]
        refits = pd.DataFrame({"placebo": np.arange(1, len(lls) + 1), "shift": shifts, "loglik": lls})
    table = refits[["placebo", "shift", "loglik"]].assign(gain=refits["loglik"] - null.loglik)
    p = (1 + int((table["gain"] >= gain - 1e-9).sum())) / (1 + len(table))
    return PlaceboTest(float(gain), table, float(p))
