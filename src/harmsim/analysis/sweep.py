"""Parameter sweeps: designs over typed ranges, run on any executor, resumable.

A sweep varies scenario parameters over a design (a full grid, a Latin
hypercube or a scrambled Sobol sequence from :mod:`scipy.stats.qmc`), runs
``replicates`` batch-engine replicates at every point, and returns one tidy
table with a row per point: the parameter values, the fit metrics of
:func:`harmsim.scoring.compare` against the record, and outcome summaries.

* **Deterministic.** Every point uses the same replicate seeds, spawned from
  the root seed (common random numbers: differences between points are the
  parameters' doing, not noise). A point's numbers depend only on the
  scenario, its values, the seeds and the record, so the table is identical
  whatever the number of workers or the executor.
* **Parallel anywhere.** ``workers=N`` uses a process pool; ``executor=``
  accepts any :class:`concurrent.futures.Executor`, e.g. a Dask cluster's
  ``client.get_executor()`` (``harmsim sweep --scheduler ADDRESS``).
* **Resumable.** With ``out=FILE`` the points are split into fixed chunks;
  each finished chunk is written atomically to ``FILE.parts/``. An
  interrupted sweep (Ctrl-C, a killed process) started again with the same
  arguments computes only the missing chunks and ends with the same table.

>>> import harmsim
>>> from harmsim.analysis.sweep import sweep
>>> sc = harmsim.load_scenario("baseline")
>>> res = sweep(sc, ["diffusion.strength=0:2:3"], replicates=5, seed=0, progress=False)
>>> res.table[["point", "diffusion.strength"]].to_numpy().tolist()
[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]
"""

from __future__ import annotations

import concurrent.futures as cf
import csv
import io
import json
import math
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harmsim import _repr
from harmsim._limits import check_workers
from harmsim._output import Lock, read_csv, share_like_others
from harmsim._version import __version__
from harmsim._workers import job_derived, job_inputs, job_payload, process_pool
from harmsim.data.world import NEVER
from harmsim.errors import ConfigError
from harmsim.model import batch
from harmsim.model.params import (
    InstrumentMap,
    Real,
)
from harmsim.model.space import Range, checked_points, design, parameter_spec, parse_vary, plain_values
from harmsim.rng import spawn_seeds
from harmsim.scoring.compare import aligned_years, fit_metrics, target

__all__ = ["SweepResult", "evaluate", "evaluate_point", "landscape", "ranking", "sweep"]

# Evaluation ------------------------------------------------------------------------------


def evaluate_point(scenario, values: dict, seeds: Sequence[int], record) -> dict[str, Any]:
    """Fit metrics and outcome summaries of one point (a pure function of its arguments).

    Metrics are the replicate means of :func:`harmsim.scoring.compare.fit_metrics`
    (``curve_mad``, ``year_mae`` overall with their SD, standard error of the
    mean and 5%/95% quantiles over replicates, ``rank_tau`` averaged
    over instruments, and per instrument); outcomes are the share of
    (replicate, state) pairs adopting each instrument by the end, its mean
    adoption year among adopters and its median year over all pairs ("not
    adopted" counted as the year after the end), and with endogenous
    agreements each agreement's mean arrival year among the replicates where
    it arrived.

    >>> import harmsim
    >>> sc = harmsim.load_scenario("baseline")
    >>> row = evaluate_point(sc, {"diffusion.strength": 1.0}, [1, 2, 3], sc.record)
    >>> [k for k in ("year_mae", "year_mae_se", "curve_mad", "adopted.tip_law", "median_year.tip_law") if k in row]
    ['year_mae', 'year_mae_se', 'curve_mad', 'adopted.tip_law', 'median_year.tip_law']
    >>> row == evaluate_point(sc, {"diffusion.strength": 1.0}, [1, 2, 3], sc.record)  # a pure function
    True
    """
    sc = scenario.with_params(values) if values else scenario
    adopt, arrival = batch.simulate(sc, seeds)
    tg = target(sc, record)
    return _summaries(sc, tg, adopt, arrival if sc.dynamics.schedule_moves else None, 1)[0]


def _summaries(sc, tg, adopt, arrival, points: int) -> list[dict[str, Any]]:
    """:func:`evaluate_point`'s summaries of ``points`` points whose replicates lie one point after another.

    ``adopt`` (P x R, N, K) and ``arrival`` (P x R, M, or None when agreements are not endogenous): the
    metrics are computed once for all and summarized per point along a point axis.
    """
    P = points
    R = len(adopt) // P
    m = fit_metrics(tg, aligned_years(tg, adopt), arrival)

    def per_point(a):
        return a.reshape(P, R, *a.shape[1:])

    cols: dict[str, np.ndarray] = {}
    for metric in ("curve_mad", "year_mae"):
        v = per_point(m[f"{metric}_all"])
        cols[metric] = v.mean(axis=1)
        cols[f"{metric}_sd"] = v.std(axis=1, ddof=1) if R > 1 else np.full(P, np.nan)
        cols[f"{metric}_se"] = cols[f"{metric}_sd"] / math.sqrt(R)
        cols[f"{metric}_q05"], cols[f"{metric}_q95"] = np.quantile(v, [0.05, 0.95], axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # instruments nobody adopts: all-NaN tau
        cols["rank_tau"] = np.nanmean(np.nanmean(per_point(m["rank_tau"]), axis=1), axis=1)
    for metric in ("curve_mad", "year_mae"):
        v = per_point(m[metric]).mean(axis=1)
        for j, k in enumerate(tg.instruments):
            cols[f"{metric}.{k}"] = v[:, j]
    end = sc.end
    y = per_point(adopt).astype(float)  # (P, R, N, K)
    adopted = (y != NEVER) & (y <= end)
    share = adopted.mean(axis=(1, 2))
    per_rep = adopted.mean(axis=2)  # (P, R, K)
    se = per_rep.std(axis=1, ddof=1) / math.sqrt(R) if R > 1 else np.full(share.shape, np.nan)
    n_adopted = adopted.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_year = np.where(adopted, y, 0.0).sum(axis=(1, 2)) / n_adopted
    # median over every (replicate, state), "not adopted by the end" counted as end + 1
    median = np.median(np.where(adopted, y, end + 1).reshape(P, -1, y.shape[-1]), axis=1)
    for j, k in enumerate(sc.world.instruments):
        cols[f"adopted.{k}"] = share[:, j]
        cols[f"adopted.{k}_se"] = se[:, j]
        cols[f"mean_year.{k}"] = np.where(n_adopted[:, j] > 0, mean_year[:, j], np.nan)
        cols[f"median_year.{k}"] = median[:, j]
    if "agreement_error" in m:
        err = per_point(m["agreement_error"]).mean(axis=1)
        for j, a in enumerate(tg.agreements):
            cols[f"agreement_error.{a}"] = err[:, j]
    if arrival is not None:
        arr = per_point(arrival).astype(float)  # (P, R, M)
        arrived = (arr != NEVER) & (arr <= end)
        n = arrived.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_arrival = np.where(arrived, arr, 0.0).sum(axis=1) / n
        for j, a in enumerate(sc.world.agreements):
            cols[f"arrival.{a}"] = np.where(n[:, j] > 0, mean_arrival[:, j], np.nan)
    return [{k: float(v[p]) for k, v in cols.items()} for p in range(P)]


def _run_chunk(task: dict) -> list[dict]:
    """Worker entry point: evaluate a chunk of points (top-level so it pickles)."""
    scenario, record = job_inputs(task)
    seeds = list(task["seeds"])
    R = len(seeds)
    values = [v for _, v in task["points"]]
    names = sorted({n for v in values for n in v})
    if len(values) > 1 and all(set(v) == set(names) for v in values):
        # the parameter axis: every point's replicates in one engine call (each equals its own run)
        table = pd.DataFrame([[v[n] for n in names] for v in values for _ in seeds], columns=names)
        adopt, arrival = batch.simulate(scenario, seeds * len(values), rows=table)
        choices = [n for n in names if isinstance(values[0][n], str)]  # a choice (arrival) may move the schedule
        distinct = {tuple(v[n] for n in choices): v for v in values}.values()
        moves = any(scenario.with_params(v).dynamics.schedule_moves for v in distinct)
        sc = scenario.with_params(values[0])  # every point's values were checked with the design
        runs = [(adopt, arrival if moves else None, len(values), sc)]
    else:
        runs = []
        for v in values:
            sc = scenario.with_params(v) if v else scenario
            adopt, arrival = batch.simulate(sc, seeds)
            runs.append((adopt, arrival if sc.dynamics.schedule_moves else None, 1, sc))
    tg = job_derived(task, "target", lambda: target(scenario, record))
    summaries = [row for adopt, arrival, P, sc in runs for row in _summaries(sc, tg, adopt, arrival, P)]
    rows = []
    for (point, v), summary in zip(task["points"], summaries):
        rows.append({"point": point, **v, "replicates": R, "seed": task["seed"], **summary})
    return rows


# Driver ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SweepResult:
    """The sweep table (one row per point) with its provenance; ``path`` if written.

    >>> import harmsim
    >>> res = sweep(harmsim.load_scenario("baseline"), ["diffusion.strength=0:2:3"], replicates=5, progress=False)
    >>> res
    SweepResult(scenario='baseline', points=3, replicates=5, path=None)
    >>> seeds = res.provenance["seeds"]  # one per replicate, the same for every point
    >>> res.provenance["scenario"], res.provenance["spec"]["seed"], len(seeds)
    ('baseline', 0, 5)
    """

    table: pd.DataFrame
    provenance: dict = field(default_factory=dict)
    path: Path | None = None

    def _facts(self) -> dict:
        return {
            "scenario": self.provenance.get("scenario"),
            "points": len(self.table),
            "replicates": int(self.table["replicates"].iloc[0]) if len(self.table) else None,
            "path": None if self.path is None else str(self.path),
        }

    def __repr__(self) -> str:
        return _repr.text("SweepResult", self._facts())

    def _repr_html_(self) -> str:
        return _repr.html("SweepResult", self._facts(), "table: one row per point (fit metrics, outcomes)")


def _atomic_write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    share_like_others(tmp)
    os.replace(tmp, path)


def _atomic_write_csv(path: Path, df: pd.DataFrame) -> None:
    _atomic_write_text(path, df.to_csv(index=False))


def _default_chunk(n_points: int, replicates: int = 20) -> int:
    """Points per task: about one engine block of replicates (the parameter axis runs a task in one call, its
    cost mostly per year, not per replicate), and at least eight tasks, for workers, progress and resumes."""
    return max(1, min(max(1, 1024 // max(replicates, 1)), math.ceil(n_points / 8)))


def sweep(
    scenario,
    vary: Sequence[str | Range],
    *,
    sample: str = "grid",
    points: int | None = None,
    replicates: int = 20,
    seed: int = 0,
    record=None,
    workers: int = 1,
    executor: cf.Executor | None = None,
    out: str | Path | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    force: bool = False,
) -> SweepResult:
    """Run a sweep; see the module docstring.

    Parameters
    ----------
    scenario : Scenario
    vary : ranges, as ``"NAME=LO:HI:N"`` / ``"NAME=A,B"`` strings or Range objects
    sample : ``grid``, ``lhs`` or ``sobol``; points : number of points for lhs/sobol
    replicates, seed : replicates per point and the root seed they are spawned from
    record : the record to compare with (default: the scenario's)
    workers : processes of the default pool (1: run in this process)
    executor : any concurrent.futures.Executor (overrides ``workers``)
    out : CSV file to write (and resume from); Parquet beside it if pyarrow is installed
    chunk_size : points per task (default from the number of points; fixed for a resume)
    progress : show a progress bar (default: when stderr is a terminal)
    force : replace a finished table or the saved chunks of a different sweep at ``out``
    """
    ranges = [parse_vary(v, scenario) if isinstance(v, str) else v for v in vary]
    for r in ranges:
        parameter_spec(scenario, r.name)
    table = design(ranges, sample, points, seed)
    res = evaluate(
        scenario,
        table,
        replicates=replicates,
        seed=seed,
        record=record,
        workers=workers,
        executor=executor,
        out=out,
        chunk_size=chunk_size,
        progress=progress,
        described={"vary": [repr(r) for r in ranges], "sample": sample},
        force=force,
    )
    return res


def evaluate(
    scenario,
    points: pd.DataFrame,
    *,
    replicates: int = 20,
    seed: int = 0,
    record=None,
    workers: int = 1,
    executor: cf.Executor | None = None,
    out: str | Path | None = None,
    chunk_size: int | None = None,
    progress: bool | None = None,
    described: dict | None = None,
    force: bool = False,
) -> SweepResult:
    """Evaluate any design: one row per point, a column per parameter (flat names, as ``with_params`` takes).

    The evaluation step of :func:`sweep`, for designs made elsewhere (a
    SALib problem's samples, a user's table): the same replicate seeds at
    every point, the same resumable chunks and executors. A ``point`` column,
    if given, numbers the rows (default 0..n-1). ``described`` adds what made
    the design to its identity (sweep passes its ranges). ``force`` replaces a
    finished table or the saved chunks of a different sweep at ``out``
    instead of refusing.

    >>> import pandas as pd, harmsim
    >>> from harmsim.analysis.sweep import evaluate
    >>> pts = pd.DataFrame({"diffusion.strength": [0.0, 2.0], "agreements.nonbinding": [0.5, 0.5]})
    >>> res = evaluate(harmsim.load_scenario("baseline"), pts, replicates=4, seed=0, progress=False)
    >>> res.table[["point", "diffusion.strength"]].to_numpy().tolist()
    [[0.0, 0.0], [1.0, 2.0]]
    """
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 1:
        raise ConfigError(f"replicates must be a positive integer, got {replicates!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    if executor is None and workers > 1:
        check_workers(workers)
    record = record if record is not None else scenario.record
    table = checked_points(scenario, points)
    names = [c for c in table.columns if c != "point"]
    # Refuse a bad point before any work is done: ranges column by column (checked_points), then what the
    # scenario checks beyond ranges (choices, data a non-zero coefficient needs) on few representative points.
    real = [n for n in names if isinstance(parameter_spec(scenario, n), (Real, InstrumentMap))]
    real = [n for n in real if pd.api.types.is_numeric_dtype(table[n])]
    rep = {n: (table[n][table[n] != 0].iloc[0] if (table[n] != 0).any() else 0.0) for n in real}
    others = [n for n in names if n not in real]
    for combo in table[others].drop_duplicates().to_dict("records") if others else [{}]:
        scenario.with_params(plain_values({**rep, **combo}))
    seeds = spawn_seeds(seed, replicates)
    n = len(table)
    chunk = chunk_size or _default_chunk(n, replicates)
    chunks = [list(range(a, min(a + chunk, n))) for a in range(0, n, chunk)]
    pid = table["point"].to_numpy()
    spec = {
        "scenario": scenario.name,
        "scenario_digest": scenario.digest,
        "record": record.name,
        "record_digest": record.digest,
        "harmsim_version": __version__,
        **(described or {}),
        "design_digest": _digest(table),
        "points": n,
        "replicates": replicates,
        "seed": int(seed),
        "chunk_size": chunk,
    }
    if out is not None and (not str(out).strip() or "\x00" in str(out) or Path(out).name in ("", ".", "..")):
        raise ConfigError(f"out must name a CSV file, got {out!r}")
    path = Path(out) if out is not None else None
    if path is not None and path.is_dir():
        raise ConfigError(f"out {path} is a folder; name the CSV file to write")
    parts = path.with_name(path.name + ".parts") if path else None
    done: dict[int, pd.DataFrame] = {}
    lock = None
    if path is not None:
        if path.suffix.lower() == ".parquet":
            raise ConfigError(
                f"--out {path}: name the CSV table (e.g. {path.with_suffix('.csv').name}); a Parquet copy is "
                "written beside it when pyarrow is installed"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        prov_path = _provenance_path(path)
        _check_ours(path)
        if path.exists() and prov_path.exists() and not (parts and parts.exists()):
            prov = _read_json(prov_path, "the sweep's provenance") if not force else {}
            if prov.get("spec") == spec:
                return SweepResult(read_csv(path), prov, path)
            if not force:
                raise ConfigError(
                    f"{path} holds the results of a different sweep (other arguments, record data or harmsim "
                    "version); pass --force (force=True) to replace it, or choose another --out"
                )
        parts.mkdir(parents=True, exist_ok=True)
        lock = Lock(parts / ".lock", parts.parent, "sweep")
        spec_path = parts / "spec.json"
        if force:  # start afresh: the earlier table and any saved chunks go (the lock is ours)
            for p in (path, prov_path, path.with_suffix(".parquet"), spec_path, *parts.glob("chunk-*.csv")):
                p.unlink(missing_ok=True)
        old = _read_json(spec_path, "the interrupted sweep's spec") if spec_path.exists() else None
        chunk_files = sorted(parts.glob("chunk-*.csv"))
        if old is None and chunk_files:
            lock.release()
            raise ConfigError(f"{parts} holds chunks but no spec.json: it cannot be resumed safely; pass --force")
        if old is not None and old != spec:
            lock.release()
            raise ConfigError(
                f"{parts} belongs to a different sweep (scenario, ranges, sampling, replicates, seed, record data "
                "or harmsim version differ); rerun with the same arguments to resume, or pass --force to start afresh"
            )
        if old is None:  # a new sweep, or one killed before its spec was written
            _atomic_write_text(parts / "spec.json", json.dumps(spec, indent=2))
        for i in range(len(chunks)):
            f = parts / f"chunk-{i:06d}.csv"
            if f.exists():
                df = _read_chunk(f, [int(pid[p]) for p in chunks[i]])
                if df is not None:
                    done[i] = df
    todo = [i for i in range(len(chunks)) if i not in done]
    # token: a cache key for workers only (never enters a result)
    # The scenario and record go pickled once per sweep, not once per task.
    base = {**job_payload(scenario, record), "seeds": seeds, "seed": int(seed)}
    values = table[names].to_dict("records")
    tasks = {i: {**base, "points": [(int(pid[p]), plain_values(values[p])) for p in chunks[i]]} for i in todo}
    from harmsim._progress import bar as progress_bar

    bar = progress_bar(n, f"sweep {scenario.name}", "point", progress, initial=sum(len(chunks[i]) for i in done),
                       smoothing=0.1)  # fmt: skip
    own_pool = None
    if executor is None and workers > 1 and len(todo) > 1:
        own_pool = executor = process_pool(workers)
    try:
        if executor is None:
            for i in todo:
                _finish(i, _run_chunk(tasks[i]), done, parts, bar)
        else:
            futures = {executor.submit(_run_chunk, tasks[i]): i for i in todo}
            for fut in cf.as_completed(futures):
                _finish(futures[fut], fut.result(), done, parts, bar)
    except KeyboardInterrupt:
        if own_pool is not None:
            own_pool.shutdown(wait=False, cancel_futures=True)
            own_pool = None
        bar.close()
        saved = len(done)
        where = f"; {saved} of {len(chunks)} chunks are saved in {parts}" if parts else ""
        print(f"harmsim: sweep interrupted{where}. Run the same command again to resume.", file=sys.stderr)
        raise
    finally:
        if own_pool is not None:
            own_pool.shutdown()
        bar.close()
        if lock is not None and len(done) < len(chunks):  # interrupted or failed: the next run may resume
            lock.release()
    result = pd.concat([done[i] for i in range(len(chunks))], ignore_index=True)
    result = result.sort_values("point", kind="stable").reset_index(drop=True)
    from harmsim.output.results import provenance

    prov = provenance(scenario, seeds, "batch")
    prov.update(
        {"spec": spec, "design": (described or {}).get("sample", "given"), "ranges": (described or {}).get("vary", [])}
    )
    if path is not None:
        _atomic_write_csv(path, result)
        try:
            import pyarrow  # noqa: F401

            result.to_parquet(path.with_suffix(".parquet"), index=False)
        except ImportError:
            pass
        prov["table_bytes"] = path.stat().st_size  # proves later that the table is this sweep's, unchanged
        _atomic_write_text(_provenance_path(path), json.dumps(prov, indent=2, default=str) + "\n")
        lock.release()
        shutil.rmtree(parts, ignore_errors=True)
        result = read_csv(path)  # what a later reader sees, exactly
    return SweepResult(result, prov, path)


def _digest(table: pd.DataFrame) -> str:
    import hashlib

    return hashlib.sha256(table.to_csv(index=False, float_format="%.17g").encode()).hexdigest()[:16]


def _read_json(path: Path, what: str) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: {what} cannot be read ({exc}); delete it to start again") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {what} is not a JSON object; delete it to start again")
    return value


def _read_chunk(path: Path, points: list[int]) -> pd.DataFrame | None:
    """A saved chunk, or None (to be recomputed) when it is unreadable, cut short or lacks a point.

    Chunks are written whole (a temporary file renamed into place), so one on
    disk is complete unless something else damaged it. A row with fewer
    fields than the header (a cut line) is damage; an empty field is not: a
    metric can be undefined at a point (the mean adoption year of an
    instrument no replicate adopted), and such chunks must resume like any
    other.
    """
    try:
        text = path.read_text()
        df = read_csv(io.StringIO(text))
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    rows = list(csv.reader(io.StringIO(text)))
    if not text.endswith("\n") or any(len(r) != len(rows[0]) for r in rows[1:]):
        return None
    if "point" not in df or len(df) != len(points) or sorted(df["point"].tolist()) != sorted(points):
        return None
    return df


def ranking(table: pd.DataFrame, metric: str = "year_mae", n: int = 5) -> pd.DataFrame:
    """The ``n`` best points by ``metric`` (lower is better), and which of them the replicates cannot tell
    from the best.

    ``tied_with_best``: the difference from the best point is within twice its
    standard error, taken as sqrt(se_best**2 + se**2) from the points' own
    standard errors. The points share their replicate seeds (common random
    numbers), which makes the true standard error of a difference smaller, so
    this is conservative: "tied" means the replicates do not separate them,
    not that they are equal.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"point": [0, 1, 2], "year_mae": [2.0, 2.1, 3.0], "year_mae_se": [0.1, 0.1, 0.1]})
    >>> ranking(t, n=3)[["point", "tied_with_best"]].values.tolist()
    [[0, True], [1, True], [2, False]]
    """
    if f"{metric}_se" not in table:
        raise ConfigError(f"the sweep table has no standard error for '{metric}' (a table from an older harmsim?)")
    best = table.nsmallest(n, metric).copy()
    b = best.iloc[0]
    gap = best[metric] - b[metric]
    best["gap_se"] = np.sqrt(b[f"{metric}_se"] ** 2 + best[f"{metric}_se"] ** 2)
    best["tied_with_best"] = gap <= 2 * best["gap_se"]
    best.iloc[0, best.columns.get_loc("tied_with_best")] = True  # the best is the best, whatever its error
    return best


def landscape(table: pd.DataFrame, x: str, y: str, metric: str = "year_mae") -> pd.DataFrame:
    """A grid sweep's ``metric`` as a table indexed by ``y`` values, columns ``x`` values.

    >>> import pandas as pd
    >>> t = pd.DataFrame({"a": [0, 1, 0, 1], "b": [0, 0, 1, 1], "year_mae": [1.0, 2.0, 3.0, 4.0]})
    >>> landscape(t, "a", "b").values.tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    return table.pivot_table(index=y, columns=x, values=metric, aggfunc="mean").sort_index()


def _provenance_path(path: Path) -> Path:
    return path.with_name(path.stem + ".provenance.json")


def sweep_files(path: Path) -> list[Path]:
    """Every file a sweep to ``path`` writes: the table, its Parquet copy, its provenance, the CLI's figures."""
    return [
        path,
        path.with_suffix(".parquet"),
        _provenance_path(path),
        path.with_name(path.stem + "_response.png"),
        path.with_name(path.stem + "_landscape.png"),
    ]


def _check_ours(path: Path) -> None:
    """Refuse, with or without force, to write over files that are not an earlier sweep's result.

    An earlier sweep is proved by its provenance beside the table: a sweep's (it has the sweep's spec) and, when
    it records the table's size (every sweep harmsim writes now does), of the table as it is.
    """
    existing = [p for p in sweep_files(path) if p.exists() or p.is_symlink()]
    if not existing:
        return
    prov_path = _provenance_path(path)
    ours = False
    if prov_path.is_file() and not prov_path.is_symlink():
        prov = _read_json(prov_path, "the sweep's provenance")
        size = prov.get("table_bytes")
        table_ok = not path.exists() or size is None or (path.is_file() and path.stat().st_size == size)
        ours = "spec" in prov and table_ok
    if not ours:
        raise ConfigError(
            f"{existing[0]} exists and is not part of an earlier harmsim sweep's result (no provenance beside it "
            f"that proves it is); it is never replaced: choose another --out"
        )


def _finish(i: int, rows: list[dict], done: dict, parts: Path | None, bar) -> None:
    df = pd.DataFrame(rows)
    if parts is not None:
        _atomic_write_csv(parts / f"chunk-{i:06d}.csv", df)
        df = read_csv(parts / f"chunk-{i:06d}.csv")  # same types as a resumed chunk
    done[i] = df
    bar.update(len(rows))
