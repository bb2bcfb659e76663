"""The engines' arrays as tidy tables: adoption and agreement years per replicate, in record order.

The one conversion from (R, N, K) and (R, M) years to the tables results, the Mesa model and the CLI show.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harmsim.data.world import NEVER

__all__ = ["adopters_by_year", "cumulative_counts", "quantile_band", "tidy_adoptions", "tidy_agreements"]


def tidy_adoptions(world, adopt_year: np.ndarray, seeds=None) -> pd.DataFrame:
    """Engine adoption years (R, N, K) -> the tidy adoption table, in record order.

    Columns ``state, instrument, year`` (``year`` Int64, missing = not
    adopted), preceded by ``replicate, seed`` when ``seeds`` are given.
    ``state`` and ``instrument`` are categoricals ordered as in the record,
    which keeps tables of 1e5 runs small.

    >>> import harmsim
    >>> from harmsim.model import batch
    >>> sc = harmsim.load_scenario("baseline")
    >>> adopt, _ = batch.simulate(sc, [1, 2])
    >>> t = tidy_adoptions(sc.world, adopt, [1, 2])
    >>> list(t.columns), len(t) == 2 * 11 * 6
    (['replicate', 'seed', 'state', 'instrument', 'year'], True)
    """
    R, N, K = adopt_year.shape
    flat = adopt_year.reshape(-1)
    never = flat == NEVER
    cols = {}
    if seeds is not None:
        cols["replicate"] = np.repeat(np.arange(R), N * K)
        cols["seed"] = np.repeat(np.asarray(seeds, dtype=np.uint64), N * K)
    cols["state"] = pd.Categorical.from_codes(np.tile(np.repeat(np.arange(N), K), R), categories=world.states)
    cols["instrument"] = pd.Categorical.from_codes(np.tile(np.arange(K), R * N), categories=world.instruments)
    cols["year"] = pd.arrays.IntegerArray(np.where(never, 0, flat).astype(np.int64), never)
    return pd.DataFrame(cols)


def tidy_agreements(world, dynamics, arrival: np.ndarray, seeds=None) -> pd.DataFrame:
    """Engine arrival years (R, M) -> the tidy agreement table (empty when agreements are off).

    Columns ``agreement, year`` (Int64; missing = did not arrive), ``binding``,
    ``arrival`` (observed / endogenous), preceded by ``replicate, seed`` when
    ``seeds`` are given.

    >>> import harmsim
    >>> from harmsim.model import batch
    >>> sc = harmsim.load_scenario("baseline")
    >>> _, arrival = batch.simulate(sc, [1])
    >>> t = tidy_agreements(sc.world, sc.dynamics, arrival, [1])
    >>> t.loc[t["agreement"] == "decl_tip_2004", ["year", "binding", "arrival"]].values.tolist()
    [[2004, False, 'observed']]
    """
    ag = dynamics.mechanism("agreements")
    R, M = arrival.shape if ag is not None else (0, 0)
    flat = arrival.reshape(-1) if ag is not None else np.zeros(0, dtype=arrival.dtype)
    never = flat == NEVER
    cols = {}
    if seeds is not None:
        cols["replicate"] = np.repeat(np.arange(R), M)
        cols["seed"] = np.repeat(np.asarray(seeds, dtype=np.uint64)[:R], M)
    cols["agreement"] = np.tile(np.array(world.agreements, dtype=object), R)
    cols["year"] = pd.arrays.IntegerArray(np.where(never, 0, flat).astype(np.int64), never)
    cols["binding"] = np.tile(world.binding, R).astype(bool)
    cols["arrival"] = np.full(R * M, ag.p.arrival if ag is not None else "", dtype=object)
    return pd.DataFrame(cols)


def adopters_by_year(adopt_year: np.ndarray, years: np.ndarray) -> np.ndarray:
    """(R, K, T) number of states that have adopted each instrument by each of ``years``, from (R, N, K) years.

    >>> import numpy as np
    >>> adopt = np.array([[[1999, 2001], [2003, NEVER]]])  # one replicate, two states, two instruments
    >>> adopters_by_year(adopt, np.array([2000, 2002, 2004])).tolist()
    [[[1, 1, 2], [0, 1, 1]]]
    """
    return (adopt_year[..., None] <= years).sum(axis=1)


_EMPIRICAL = "inverted_cdf"  # a quantile is a value the data take


def quantile_band(grouped, quantiles) -> pd.DataFrame:
    """Mean and quantiles (columns ``mean``, ``q05``, ...) of a grouped series, as a flat table.

    Quantiles are values the series takes (the inverse of its empirical distribution function), so a
    median of counts of states is a whole number of states.

    >>> import pandas as pd
    >>> counts = pd.DataFrame({"year": [2000] * 4, "adopters": [1, 2, 2, 7]})
    >>> quantile_band(counts.groupby("year")["adopters"], (0.05, 0.5, 0.95)).values.tolist()
    [[2000.0, 3.0, 1.0, 2.0, 7.0]]
    """
    out = grouped.mean().rename("mean").to_frame()
    for q in quantiles:
        out[f"q{round(q * 100):02d}"] = grouped.agg(
            lambda x, q=q: np.quantile(x.to_numpy(float), q, method="inverted_cdf")
        )
    return out.reset_index()


def cumulative_counts(adoptions: pd.DataFrame, start: int, end: int) -> pd.DataFrame:
    """Cumulative adopters per (replicate, instrument, year) from a tidy adoption table.

    >>> import pandas as pd
    >>> adoptions = pd.DataFrame({"replicate": [0, 0], "state": ["A", "B"], "instrument": "law",
    ...                           "year": pd.array([1999, None], dtype="Int64")})  # B: not adopted
    >>> cumulative_counts(adoptions, 1998, 2000)["adopters"].tolist()
    [0, 1, 1]
    """
    years = np.arange(start, end + 1)
    a = adoptions.copy()
    if "replicate" not in a:
        a["replicate"] = 0
    instruments = list(dict.fromkeys(a["instrument"]))
    reps = np.sort(a["replicate"].unique())
    y = a["year"].to_numpy(dtype=float, na_value=np.inf)
    ri = np.searchsorted(reps, a["replicate"].to_numpy())
    ki = pd.Categorical(a["instrument"], categories=instruments).codes
    counts = np.zeros((len(reps), len(instruments), len(years)))
    # adopters by year: adoption year <= t
    yi = np.searchsorted(years, y, side="left")
    ok = np.isfinite(y) & (y <= end)
    yi = np.where(y < start, 0, yi)
    np.add.at(counts, (ri[ok], ki[ok], yi[ok]), 1)
    counts = counts.cumsum(axis=2)
    R, K, T = counts.shape
    return pd.DataFrame(
        {
            "replicate": np.repeat(reps, K * T),
            "instrument": np.tile(np.repeat(instruments, T), R),
            "year": np.tile(years, R * K),
            "adopters": counts.ravel().astype(int),
        }
    )
