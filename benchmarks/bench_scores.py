"""Predictive scores of every model side by side: in-sample, leave-one-state-out, and backtests.

    python benchmarks/bench_scores.py [--replicates 200] [--backtest-replicates 1000] [--no-backtest] [--workers 2]

Measures what docs/calibration.md reports against the goals set for the
calibrated baseline (the scores themselves are defined in harmsim.scoring.scores and
harmsim.analysis.backtest):

* 90% predictive intervals covering 85-95% of the observed adoption years;
* in-sample median error of adoption years of 2.0 years or less;
* leave-one-state-out log score at least 10 above the event-history logit's;
* backtests from 2005, 2008 and 2011 better (log score) than every baseline.

Prints each model's scores, then each goal with the value reached and
"met" or "NOT met"; times are printed for the record (this is a benchmark of
predictive quality, not of speed). Takes the better part of an hour on two
cores (every model is fitted again with each state and each instrument left
out).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

import harmsim
from harmsim.analysis.backtest import backtest
from harmsim.analysis.comparison import COMPETITORS, compare_mechanisms

MODELS = (*COMPETITORS, "heterogeneity")
BACKTESTED = ("baseline", "baseline_trend", "heterogeneity")
ORIGINS = (2005, 2008, 2011)


def _goal(label: str, value: str, met: bool) -> str:
    return f"  {label:<62} {value:<22} {'met' if met else 'NOT met'}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--backtest-replicates", type=int, default=1000)
    ap.add_argument("--no-backtest", action="store_true")
    ap.add_argument("--only-backtest", action="store_true", help="skip the comparison (in-sample and held-out)")
    ap.add_argument("--workers", type=int, default=2, help="processes for the comparison (one model per task)")
    a = ap.parse_args(argv)
    pd.set_option("display.width", 200)

    if not a.only_backtest:
        _comparison(a)
    if not a.no_backtest:
        _backtests(a)


def _comparison(a):
    t0 = time.perf_counter()
    cmp = compare_mechanisms(MODELS, replicates=a.replicates, seed=0, workers=a.workers)
    t_cmp = time.perf_counter() - t0
    cols = ["model", "k", "loglik", "loso_ll", "log_score", "crps", "coverage50", "coverage90", "median_error"]
    table = cmp.table[[c for c in cols if c in cmp.table]]
    print(f"In-sample and leave-one-state-out scores ({a.replicates} predictive replicates; {t_cmp:.0f} s)")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    rows = table.set_index("model")
    base = rows.loc["baseline"]
    logit = rows.loc["event_history_logit"]
    print("\nGoals for the calibrated baseline")
    cov = float(base["coverage90"])
    print(_goal("90% intervals cover 85-95% of observed adoption years", f"{cov:.0%}", 0.85 <= cov <= 0.95))
    med = float(base["median_error"])
    print(_goal("in-sample median error of adoption years <= 2.0", f"{med:.2f} years", med <= 2.0))
    gain = float(base["loso_ll"] - logit["loso_ll"])
    print(_goal("leave-one-state-out log score >= logit's + 10", f"{gain:+.1f} units", gain >= 10))


def _backtests(a):
    print(f"\nBacktests from {', '.join(map(str, ORIGINS))} ({a.backtest_replicates} replicates)")
    all_scores = []
    for name in BACKTESTED:
        t1 = time.perf_counter()
        bt = backtest(harmsim.load_scenario(name), ORIGINS, replicates=a.backtest_replicates, seed=0)
        s = bt.scores
        if name != BACKTESTED[0]:
            s = s[s["model"] == name]  # the baselines are the same for every scenario
        all_scores.append(s)
        print(f"  {name}: {time.perf_counter() - t1:.0f} s")
    scores = pd.concat(all_scores, ignore_index=True)
    wide = scores.pivot(index="model", columns="origin", values="log_score")
    print("\nlog score (higher is better)")
    print(wide.to_string(float_format=lambda x: f"{x:.3f}"))
    print("\nCRPS (lower is better)")
    print(scores.pivot(index="model", columns="origin", values="crps").to_string(float_format=lambda x: f"{x:.3f}"))
    baselines = [m for m in wide.index if m not in BACKTESTED]
    print("\nGoal: every backtest better than every baseline (log score)")
    for name in BACKTESTED:
        margin = (wide.loc[name] - wide.loc[baselines].max()).min()
        print(_goal(f"{name}: worst margin over the best baseline", f"{margin:+.3f}", margin > 0))


if __name__ == "__main__":
    main()
