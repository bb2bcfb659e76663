"""The likelihood against simulation frequency in every case the engines simulate with an interval-censored peer.

Three states, one instrument, 2000-2008, intercept -2.2; state A's adoption is known only within [2000, 2005].
The batch engine simulates each case; the commonest histories (A's year unknown inside its interval, B's and
C's dated or not adopted) are counted and set against exp(log-likelihood). With diffusion, A's unknown year
moves B's and C's hazards; with state propensities, the states separate only given every year; with both, the
likelihood sums over A's year pattern by pattern with the propensities integrated out per pattern (the case
where reading A at its interval's midpoint gave chi-square 6,116). The importance-sampled path (used when the
patterns are too many to sum) is checked on the same histories, forced. ``experiments/likelihood_frequencies.py``
prints the table.

Mutation caught: reading A's year at its midpoint in the propensities-and-diffusion case (``loglik_states``),
as the optimizer did before, fails the chi-square by far (asserted below).
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

import harmsim
import harmsim.calibrate.likelihood as L
from harmsim.calibrate.likelihood import history, loglik, loglik_sampled, loglik_states
from harmsim.data.record import record_from_tables
from harmsim.data.world import NEVER
from harmsim.model.scenario import scenario_from_dict

DIFFUSION = {"diffusion": {"strength": 3.0, "weight_all": 1.0, "weight_subregion": 0.0, "weight_border": 0.0}}
FRAILTY = {"frailty": {"sd": 1.5}}
CASES = {
    "diffusion 3": DIFFUSION,
    "propensity sd 1.5": FRAILTY,
    "both": {**DIFFUSION, **FRAILTY},
}
STATES = pd.DataFrame({"state": ["A", "B", "C"], "joined": [1990] * 3})
INSTRUMENTS = pd.DataFrame({"instrument": ["x"]})
LO, HI = 2000, 2005


def _record(rows):
    ad = pd.DataFrame(
        [(s, k, y, y, y) if lo is None else (s, k, "", lo, y) for s, k, lo, y in rows],
        columns=["state", "instrument", "year", "year_min", "year_max"],
    )
    return record_from_tables("three", 2000, 2008, {"states": STATES, "instruments": INSTRUMENTS, "adoptions": ad})


def _history_record(b: int, c: int):
    """A within [2000, 2005]; B and C adopted in their years (NEVER: not by 2008)."""
    rows = [("A", "x", LO, HI)] + [(s, "x", None, y) for s, y in (("B", b), ("C", c)) if y != NEVER]
    return _record(rows)


def frequency_table(case: str, n: int = 200_000, top: int = 8, seed: int = 2015, sampled: bool = False):
    """(table, chi-square, degrees of freedom): the ``top`` commonest histories' simulated counts against the
    likelihood's expected counts, plus one bin for every other history (A adopting outside [2000, 2005]
    included). ``sampled``: force the importance-sampled path."""
    sc = scenario_from_dict({"hazard": {"intercept": -2.2}, "mechanisms": CASES[case]}, record=_record([]))
    ens = harmsim.run_ensemble(sc, replicates=n, seed=seed)
    y = ens.adoptions["year"].to_numpy(dtype=float, na_value=NEVER).reshape(n, 3).astype(int)
    inside = (y[:, 0] >= LO) & (y[:, 0] <= HI)
    counts = Counter(map(tuple, y[inside, 1:]))
    rows = []
    for (b, c), count in counts.most_common(top):
        rec = _history_record(b, c)
        s = scenario_from_dict(sc.to_dict(), record=rec)
        h = history(s, rec)
        if sampled:
            value, diag = loglik_sampled(s, h, samples=4096)
        else:
            value, diag = loglik(s, h), {}
        mid = float(loglik_states(s, h).sum()) if s.dynamics.needs_latent else np.nan
        rows.append(
            {
                "B": "never" if b == NEVER else b,
                "C": "never" if c == NEVER else c,
                "simulated": count / n,
                "likelihood": np.exp(value),
                "midpoint": np.exp(mid),
                "mc_se": diag.get("log-likelihood Monte Carlo s.e.", 0.0),
            }
        )
    table = pd.DataFrame(rows)
    stat = chi_square(table, "likelihood", n)
    table["z"] = (table["simulated"] - table["likelihood"]) / np.sqrt(
        table["likelihood"] * (1 - table["likelihood"]) / n
    )
    return table, stat, len(table)


def chi_square(table, column: str, n: int) -> float:
    """Pearson's chi-square of the simulated counts against ``column``'s probabilities, over the table's
    histories and one bin for every other history."""
    p = np.append(table[column].to_numpy(), 1 - table[column].sum())
    obs = np.append(table["simulated"].to_numpy() * n, n - table["simulated"].sum() * n)
    return float(((obs - n * p) ** 2 / (n * p)).sum())


@pytest.mark.statistical
@pytest.mark.parametrize("case", list(CASES))
def test_likelihood_matches_simulation_frequency(case):
    table, stat, df = frequency_table(case)
    assert stat < chi2.ppf(0.99, df), (stat, table)
    if case == "both":  # the midpoint reading the optimizer used before: detectably wrong
        assert chi_square(table, "midpoint", 200_000) > 10 * chi2.ppf(0.99, df)


@pytest.mark.statistical
def test_importance_sampled_path_matches_simulation_frequency(monkeypatch):
    """The path used when the year patterns are too many to sum, forced here, with its Monte Carlo error."""
    monkeypatch.setattr(L._latent, "MAX_PATTERNS", 1)
    table, stat, df = frequency_table("both", sampled=True)
    assert (table["mc_se"] > 0).any() and (table["mc_se"] < 0.02).all()
    assert stat < chi2.ppf(0.99, df), (stat, table)


def test_path_is_reported():
    """The fit's log says which path: exact with the number of patterns, or sampled with its error."""
    rec = _history_record(2003, NEVER)
    sc = scenario_from_dict({"hazard": {"intercept": -2.2}, "mechanisms": CASES["both"]}, record=rec)
    how = L.likelihood_path(sc, history(sc, rec))
    assert how["path"] == "exact" and how["patterns"] == HI - LO + 1 and how["groups"] == [1]


# Treaty commitments and screening: a term reads an adoption known only within an interval -----------------------
TREATY = pd.DataFrame({"instrument": ["x", "p"], "obliges": ["", "x"]})  # party to p undertakes x
TWO = 200_000


def _two_states(interval: str, dated) -> pd.DataFrame:
    """A adopted ``interval`` within [2000, 2005]; ``dated`` [((state, instrument), year)]: adopted in that year
    (NEVER: not by 2008)."""
    rows = [("A", interval, "", LO, HI)] + [(s, k, y, y, y) for (s, k), y in dated if y != NEVER]
    ad = pd.DataFrame(rows, columns=["state", "instrument", "year", "year_min", "year_max"])
    states = STATES.iloc[:2]
    return record_from_tables("two", 2000, 2008, {"states": states, "instruments": TREATY, "adoptions": ad})


def _commonest_histories(mechanisms, interval: str, others, seed: int):
    """(table, path): the eight commonest histories of the ``others`` cells among runs with A's ``interval`` cell
    inside its interval, each with its simulated frequency and its likelihood, and the likelihood's path."""
    sc = scenario_from_dict(
        {"hazard": {"intercept": -2.0}, "mechanisms": mechanisms},
        record=_two_states(interval, [(c, NEVER) for c in others]),
    )
    ens = harmsim.run_ensemble(sc, replicates=TWO, seed=seed)
    a = ens.adoptions.assign(y=ens.adoptions["year"].to_numpy(dtype=float, na_value=NEVER).astype(int))
    y = a.pivot_table(index="replicate", columns=["state", "instrument"], values="y", observed=True)
    inside = (y[("A", interval)] >= LO) & (y[("A", interval)] <= HI)
    counts = Counter(map(tuple, y.loc[inside, others].to_numpy()))
    rows = []
    for hist_, count in counts.most_common(8):
        r = _two_states(interval, zip(others, (int(v) for v in hist_)))
        s = scenario_from_dict(sc.to_dict(), record=r)
        rows.append({"simulated": count / TWO, "likelihood": np.exp(loglik(s, history(s, r)))})
    return pd.DataFrame(rows), L.likelihood_path(s, history(s, r))


COMMITMENTS = {"commitments": {"effect": 2.5}}


@pytest.mark.statistical
@pytest.mark.parametrize(
    "mechanisms",
    [COMMITMENTS, {**COMMITMENTS, **DIFFUSION}, {**COMMITMENTS, **FRAILTY}, {**COMMITMENTS, **DIFFUSION, **FRAILTY}],
    ids=["commitments", "with diffusion", "with propensities", "with both"],
)
def test_commitments_likelihood_matches_simulation_frequency(mechanisms):
    """A's treaty year is summed over its interval, and A's law term reads it (with diffusion B's treaty term
    too; with propensities each state's integrated over): the likelihood of each of the commonest histories is
    its simulated frequency."""
    table, how = _commonest_histories(mechanisms, "p", [("A", "x"), ("B", "p"), ("B", "x")], seed=2016)
    assert how["groups"] == [1]  # A's treaty: a group its law's cell reads
    assert chi_square(table, "likelihood", TWO) < chi2.ppf(0.99, len(table)), table


SCREENING = {"screening": {"effect": 2.5}}


@pytest.mark.statistical
@pytest.mark.parametrize(
    "mechanisms",
    [
        SCREENING,
        {**SCREENING, "commitments": {"effect": 1.5}},
        {**SCREENING, **DIFFUSION},
        {**SCREENING, **FRAILTY},
        {**SCREENING, **DIFFUSION, **FRAILTY},
    ],
    ids=["screening", "with commitments", "with diffusion", "with propensities", "with both"],
)
def test_screening_likelihood_matches_simulation_frequency(mechanisms):
    """A's law year is summed over its interval, and A's treaty term reads it (with commitments the law's term
    reads the treaty as well: each instrument reads the other; with diffusion B's law term reads A's law too; with
    propensities each state's integrated over): the likelihood of each of the commonest histories is its simulated
    frequency."""
    table, how = _commonest_histories(mechanisms, "x", [("A", "p"), ("B", "x"), ("B", "p")], seed=2017)
    assert how["groups"] == [1]  # A's law: a group its treaty's cell reads
    assert chi_square(table, "likelihood", TWO) < chi2.ppf(0.99, len(table)), table
