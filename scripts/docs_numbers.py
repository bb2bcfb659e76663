"""Regenerate the numbers the documentation quotes, each from the command that makes it.

Every table and figure of docs/ that reports a result of the model comes from one of the jobs below; each job
runs documented ``harmsim`` commands (or an experiment) into ``out/docs/<job>/`` from a clean state, with the
seeds and settings the documents state. Run from the repository's root:

    python scripts/docs_numbers.py --list                 # the jobs and their commands, nothing run
    python scripts/docs_numbers.py --only calibration     # one job
    python scripts/docs_numbers.py                        # every job (hours on two cores)

Costs on two cores, measured: calibration (compare-mechanisms, leave-one-out and 99 placebos each) about 9 min;
asean-backtests about 1 min; world-fit about 1 min (4.5 min beside a CI run); world-counterfactual about 30 s after
it; world-organizations about 6 min; bindingness about 10 min after its fit (14 min beside a CI run);
bindingness-organizations about 106 min after its fit (40 power panels per difference, beside backtests and a CI
run); world-backtests about 3 min; world-organizations-backtests about 12 min; cets-hold-out about 1 min; forecasts
about 1 min; docs-figures about 1 min after forecasts and world-misses (it reads the fit of the first and copies
the figures of both into docs/);
likelihood-frequencies about 10 s; benchmarks about 5 min; saarc-hold-out about 4 min; encompassing about 6 min;
encompassing-variants about 35 min; weighted-pool about 8 min; world-monte-carlo about 10 min (reads
world-backtests'). A job stops at its first failing command. Jobs that
compare backtests read the folders of earlier jobs: world-backtests reads
asean-backtests', and world-organizations-backtests and asia-pacific read both, world-time-proxies and
world-trend-beyond read world-backtests' and world-time-proxies cets-hold-out's too, forecasts the fits of
world-fit, world-propensities and world-asean (run them first, or every job in order). world-time-proxies takes
about 5 min, world-trend-beyond about 5 min, world-spline about 4 min (reads world-backtests' and cets-hold-out's
folders), asean-texts and asean-instruments about 5 min each (read asean-backtests' and world-backtests'),
world-gdp about 5 min (reads asean-backtests'), world-misses about 1 min after world-fit, world-calibration
a few seconds (reads world-backtests', world-trend-beyond's, world-spline's and world-time-proxies' folders),
asean-scenario-backtests about 2 min, asia-pacific about 30 s, known-at-origin about 10 min (reads the same
folders), world-asean about 5 min (reads asean-backtests' and world-backtests' folders), world-propensities
about 70 min (its fit 11 min, backtests 19 min, the test of bindingness with 40 power panels per difference 37 min),
asean-borrowed about 3 min (reads world-shrinkage's folders), asean-borrowed-5000 about 2 min,
asean-borrowed-held about 3 min, world-commitments about 4 min (reads world-backtests'),
world-screening about 5 min (reads world-commitments' and world-backtests'), world-unseen about 8 min,
asean-commitments about 2 min (reads asean-backtests'), asean-screening about 2 min (reads
asean-backtests'), asean-commitments-borrowed
about 4 min (reads asean-backtests' and asean-commitments'),
asean-monte-carlo about 2 min,
asean-from-the-panel-5000 about 12 min (reads asean-monte-carlo's), plug-in about 4 min (reads asean-monte-carlo's
and world-backtests'), asean-backtests-5000 about 2 min, posterior about 3 min (reads asean-monte-carlo's).
"""

from __future__ import annotations

import argparse
import runpy
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = "out/docs"

#: the mechanism coefficients the ASEAN record's model borrows from the panel (job asean-borrowed): the three of
#: the same meaning on both records (an agreement that calls for the instrument, a TIP tier of 2WL or 3, the UNTOC a
#: Protocol needs); intercepts, offsets, the trend's terms and the ASEAN record's own inputs are not borrowed
BORROWED = "agreements.nonbinding,external.monitoring,prerequisites.bundle"

#: job -> (the documents that quote it, the commands); "python X" runs a script of the repository
#: a backtest's options that make it know only what was known at each origin, by the name of their variant
_AT_ORIGIN = {"schedule": "--schedule origin", "inputs": "--inputs origin", "both": "--schedule origin --inputs origin"}


def _known_at_origin(scenario: str, default: str, variants) -> list[str]:
    """Backtests of ``scenario`` from what was known at each origin, each paired with its default run in
    ``OUT/default``."""
    out = []
    for name in variants:
        folder = f"{OUT}/known-at-origin/{scenario}-{name}"
        out += [
            f"harmsim backtest {scenario} {_AT_ORIGIN[name]} --replicates 500 --out {folder} --force",
            f"harmsim compare-backtests {OUT}/{default} {folder}",
        ]
    return out


def _against_the_default(parameters: str, job: str) -> list[str]:
    """The baseline's and the trend scenario's backtests at 5,000 replicates, seeds 0 and 1, with ``--parameters
    parameters``, each paired with the default's run of the same seed (asean-monte-carlo's folders)."""
    out = []
    for name in ("baseline", "baseline_trend"):
        for seed in (0, 1):
            folder = f"{OUT}/{job}/{name}-5000/{job}-seed{seed}"
            out += [
                f"harmsim backtest {name} --replicates 5000 --seed {seed} --parameters {parameters} --no-figures "
                f"--out {folder} --force",
                f"harmsim compare-backtests {OUT}/asean-monte-carlo/{name}-5000/seed{seed} {folder}",
            ]
    return out


#: the shipped ASEAN scenarios whose backtests docs/forecasting.md tabulates (event_history_logit, the logit
#: baseline itself, left out: its gains are 0)
ASEAN_SCENARIOS = (
    "baseline",
    "no_asean",
    "baseline_trend",
    "no_asean_trend",
    "baseline_spline",
    "binding_only",
    "diffusion_only",
    "endogenous",
    "external_only",
    "heterogeneity",
    "heterogeneity_by_kind",
    "push_pull_only",
)

JOBS: dict[str, tuple[str, list[str]]] = {
    "calibration": (
        "docs/calibration.md (mechanism table, trend test, placebos)",
        [
            f"harmsim compare-mechanisms --workers 2 --out {OUT}/calibration/mechanisms --force",
            f"harmsim compare-mechanisms baseline no_asean --no-cv --placebos 99 --workers 2 "
            f"--out {OUT}/calibration/placebo --force",
            f"harmsim compare-mechanisms baseline_trend no_asean_trend --no-cv --placebos 99 --workers 2 "
            f"--out {OUT}/calibration/placebo-trend --force",
        ],
    ),
    "asean-backtests": (
        "docs/forecasting.md (backtests of the agreement and trend scenarios, the trend's drift and spline)",
        [
            f"harmsim backtest {name} --replicates 500 --out {OUT}/asean-backtests/{name} --force"
            for name in ("baseline", "no_asean", "baseline_trend", "no_asean_trend", "baseline_spline")
        ]
        + [f"harmsim backtest baseline --hold-out asean_mlat --out {OUT}/asean-backtests/hold-out-mlat --force"],
    ),
    "asean-monte-carlo": (
        "docs/forecasting.md (the Monte Carlo noise of the ASEAN backtests, at 500 and 5,000 replicates), "
        "experiments/monte_carlo_backtests.py; reads asean-backtests",
        [
            f"harmsim backtest {name} --replicates {r} --seed {seed} --no-figures "
            f"--out {OUT}/asean-monte-carlo/{name}-{r}/seed{seed} --force"
            for name in ("baseline", "baseline_trend")
            for r, seeds in ((500, (1, 2, 3)), (5000, (0, 1, 2, 3)))
            for seed in seeds
        ]
        + [
            f"python experiments/monte_carlo_backtests.py {OUT}/asean-monte-carlo/{name}-500 "
            f"{OUT}/asean-backtests/{name} "
            + " ".join(f"{OUT}/asean-monte-carlo/{name}-500/seed{seed}" for seed in (1, 2, 3))
            for name in ("baseline", "baseline_trend")
        ]
        + [
            f"python experiments/monte_carlo_backtests.py {OUT}/asean-monte-carlo/{name}-5000 "
            + " ".join(f"{OUT}/asean-monte-carlo/{name}-5000/seed{seed}" for seed in (0, 1, 2, 3))
            for name in ("baseline", "baseline_trend")
        ],
    ),
    "asean-from-the-panel-5000": (
        "docs/regions.md (ASEAN's own cells from the panel and from the ASEAN record, 5,000 replicates, two seeds), "
        "experiments/asean_from_the_panel.py; reads asean-monte-carlo",
        [
            f"harmsim backtest world_baseline --replicates 5000 --seed {seed} --no-figures "
            f"--out {OUT}/asean-from-the-panel-5000/seed{seed} --force"
            for seed in (0, 1)
        ]
        + [
            f"python experiments/asean_from_the_panel.py {OUT}/asean-monte-carlo/baseline_trend-5000/seed{seed} "
            f"{OUT}/asean-from-the-panel-5000/seed{seed}"
            for seed in (0, 1)
        ],
    ),
    "asean-scenario-backtests": (
        "docs/forecasting.md (the backtests of the other shipped scenarios, ASEAN and the global record)",
        [
            f"harmsim backtest {name} --replicates 500 --out {OUT}/asean-scenario-backtests/{name} --force"
            for name in (
                "binding_only",
                "diffusion_only",
                "endogenous",
                "event_history_logit",
                "external_only",
                "heterogeneity",
                "heterogeneity_by_kind",
                "push_pull_only",
                "global_diffusion",
            )
        ],
    ),
    "asean-backtests-5000": (
        "docs/forecasting.md (every ASEAN scenario against the logit at 5,000 replicates, two seeds), "
        "experiments/scenario_backtests.py",
        [
            f"harmsim backtest {name} --replicates 5000 --monte-carlo-seeds 1 --no-figures "
            f"--out {OUT}/asean-backtests-5000/{name} --force"
            for name in ASEAN_SCENARIOS
        ]
        + [
            f"python experiments/scenario_backtests.py {OUT}/asean-backtests-5000 "
            + " ".join(f"{OUT}/asean-backtests-5000/{name}" for name in ASEAN_SCENARIOS)
        ],
    ),
    "world-fit": (
        "docs/regions.md (the first fit)",
        [f"harmsim calibrate world_baseline --starts 1 --out {OUT}/world-fit --force"],
    ),
    "world-counterfactual": (
        "docs/forecasting.md (a binding 2004 Declaration on the world panel)",
        [
            f"harmsim counterfactual world_baseline --from-fit {OUT}/world-fit "
            "--change experiments/changes/world_binding_2004_declaration.toml "
            f"--out {OUT}/world-counterfactual --force"
        ],
    ),
    "world-organizations": (
        "docs/regions.md (organization intercepts)",
        [f"harmsim calibrate world_organizations --starts 1 --out {OUT}/world-organizations --force"],
    ),
    "bindingness": (
        "docs/regions.md (the test of bindingness)",
        [f"harmsim bindingness world_baseline --from-fit {OUT}/world-fit --workers 2 --out {OUT}/bindingness --force"],
    ),
    "bindingness-organizations": (
        "docs/regions.md (the test of bindingness with organization intercepts)",
        [
            f"harmsim bindingness world_organizations --from-fit {OUT}/world-organizations --workers 2 "
            f"--out {OUT}/bindingness-organizations --force"
        ],
    ),
    "world-backtests": (
        "docs/regions.md (backtests of the panel), experiments/asean_from_the_panel.py",
        [
            f"harmsim backtest world_baseline --replicates 500 --out {OUT}/world-backtests/world_baseline --force",
            f"python experiments/asean_from_the_panel.py {OUT}/asean-backtests/baseline_trend "
            f"{OUT}/world-backtests/world_baseline",
        ],
    ),
    "world-organizations-backtests": (
        "docs/regions.md (backtests of world_organizations), experiments/asean_from_the_panel.py, "
        "harmsim compare-backtests",
        [
            f"harmsim backtest world_organizations --replicates 500 --out {OUT}/world-org-backtests --force",
            f"python experiments/asean_from_the_panel.py {OUT}/asean-backtests/baseline_trend "
            f"{OUT}/world-org-backtests",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-org-backtests",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-org-backtests --states asean",
        ],
    ),
    "cets-hold-out": (
        "docs/regions.md (CETS 197 held out)",
        [f"harmsim backtest world_baseline --hold-out cets197 --replicates 500 --out {OUT}/cets-hold-out --force"],
    ),
    "encompassing": (
        "docs/regions.md and docs/forecasting.md (the linear pool of the scenario and the logit: does either add "
        "to the other?)",
        [
            f"harmsim backtest world_baseline --pool --replicates 500 --out {OUT}/encompassing/world_baseline --force",
            "harmsim backtest world_baseline --hold-out cets197 --pool --replicates 500 "
            f"--out {OUT}/encompassing/cets-hold-out --force",
        ]
        + [
            f"harmsim backtest {name} --pool --replicates 500 --out {OUT}/encompassing/{name} --force"
            for name in ("baseline", "baseline_trend")
        ],
    ),
    "encompassing-variants": (
        "docs/regions.md (the linear pool with the logit, for the panel with organization intercepts and with a "
        "propensity per state)",
        [
            f"harmsim backtest {name} --pool --replicates 500 --out {OUT}/encompassing/{name} --force"
            for name in ("world_organizations", "world_propensities")
        ],
    ),
    "weighted-pool": (
        "docs/regions.md and docs/forecasting.md (the linear pool weighted on the years before each origin)",
        [
            f"harmsim backtest {name} --pool --pool-weights inner --replicates 500 "
            f"--out {OUT}/weighted-pool/{name} --force"
            for name in ("world_baseline", "baseline", "baseline_trend")
        ],
    ),
    "world-monte-carlo": (
        "docs/regions.md (the Monte Carlo noise of the panel's backtests), experiments/monte_carlo_backtests.py",
        [
            f"harmsim backtest world_baseline --replicates 500 --seed {seed} --no-figures "
            f"--out {OUT}/world-monte-carlo/seed{seed} --force"
            for seed in (1, 2, 3)
        ]
        + [
            f"python experiments/monte_carlo_backtests.py {OUT}/world-monte-carlo {OUT}/world-backtests/world_baseline "
            + " ".join(f"{OUT}/world-monte-carlo/seed{seed}" for seed in (1, 2, 3))
        ],
    ),
    "plug-in": (
        "docs/forecasting.md, docs/regions.md (plug-in forecasts against forecasts that draw their parameters, and "
        "the Monte Carlo noise of each), experiments/monte_carlo_backtests.py, harmsim compare-backtests; "
        "reads asean-monte-carlo and world-backtests",
        [
            f"harmsim backtest baseline --replicates 500 --seed {seed} --parameters {how} --no-figures "
            f"--out {OUT}/plug-in/baseline-500-{how}/seed{seed} --force"
            for how in ("drawn", "estimate")
            for seed in range(10)
        ]
        + [
            f"python experiments/monte_carlo_backtests.py {OUT}/plug-in/baseline-500-{how} "
            + " ".join(f"{OUT}/plug-in/baseline-500-{how}/seed{seed}" for seed in range(10))
            for how in ("drawn", "estimate")
        ]
        + _against_the_default("estimate", "plug-in")
        + [
            f"harmsim backtest world_baseline --replicates 500 --parameters estimate --monte-carlo-seeds 1,2,3 "
            f"--no-figures --out {OUT}/plug-in/world_baseline --force",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/plug-in/world_baseline",
        ],
    ),
    "posterior": (
        "docs/forecasting.md (forecasts that draw their parameters from the fit's likelihood against those that "
        "draw them from its normal approximation), experiments/monte_carlo_backtests.py, "
        "harmsim compare-backtests; reads asean-monte-carlo",
        [
            f"harmsim backtest baseline --replicates 500 --seed {seed} --parameters posterior --no-figures "
            f"--out {OUT}/posterior/baseline-500/seed{seed} --force"
            for seed in range(10)
        ]
        + [
            f"python experiments/monte_carlo_backtests.py {OUT}/posterior/baseline-500 "
            + " ".join(f"{OUT}/posterior/baseline-500/seed{seed}" for seed in range(10))
        ]
        + _against_the_default("posterior", "posterior"),
    ),
    "mcmc": (
        "docs/forecasting.md (the frailty scenarios' forecasts with parameters drawn by Markov chains, against the "
        "normal's and importance resampling's; where their posteriors lie), harmsim compare-backtests, "
        "experiments/posterior_summary.py",
        [
            cmd
            for name in ("heterogeneity", "heterogeneity_by_kind")
            for seed in (0, 1)
            for cmd in (
                *(
                    f"harmsim backtest {name} --replicates 5000 --seed {seed}"
                    + ("" if choice == "drawn" else f" --parameters {choice}")
                    + f" --no-figures --out {OUT}/mcmc/{name}/{choice}-seed{seed} --force"
                    for choice in ("drawn", "posterior", "mcmc")
                ),
                f"harmsim compare-backtests {OUT}/mcmc/{name}/drawn-seed{seed} {OUT}/mcmc/{name}/mcmc-seed{seed}",
                f"harmsim compare-backtests {OUT}/mcmc/{name}/posterior-seed{seed} {OUT}/mcmc/{name}/mcmc-seed{seed}",
            )
        ]
        + [
            f"python experiments/posterior_summary.py {name} {OUT}/mcmc/{name}/mcmc-seed0/fits/{origin}-{name}"
            for name in ("heterogeneity", "heterogeneity_by_kind")
            for origin in (2005, 2008, 2011)
        ],
    ),
    "priors": (
        "docs/forecasting.md (the frailty scenarios with a half-normal prior on the spread of the propensities, "
        "declared before these runs, against the flat prior's chains and the normal), harmsim compare-backtests, "
        "experiments/posterior_summary.py; reads mcmc",
        [
            cmd
            for name in ("heterogeneity", "heterogeneity_by_kind")
            for seed in (0, 1)
            for cmd in (
                f"harmsim backtest experiments/scenarios/{name}_half_normal.toml --replicates 5000 --seed {seed} "
                f"--parameters mcmc --no-figures --out {OUT}/priors/{name}/mcmc-seed{seed} --force",
                f"harmsim compare-backtests {OUT}/mcmc/{name}/mcmc-seed{seed} {OUT}/priors/{name}/mcmc-seed{seed}",
                f"harmsim compare-backtests {OUT}/mcmc/{name}/drawn-seed{seed} {OUT}/priors/{name}/mcmc-seed{seed}",
            )
        ]
        + [
            f"python experiments/posterior_summary.py experiments/scenarios/{name}_half_normal.toml "
            f"{OUT}/priors/{name}/mcmc-seed0/fits/{origin}-{name}_half_normal --sampler {sampler}"
            for name in ("heterogeneity", "heterogeneity_by_kind")
            for origin in (2005, 2008, 2011)
            for sampler in ("mcmc", "importance")
        ],
    ),
    "shrinkage": (
        "docs/forecasting.md (the baseline with a Cauchy(0, 2.5) prior on each mechanism coefficient, declared "
        "before these runs, against the baseline), harmsim compare-backtests",
        [
            cmd
            for seed in (0, 1)
            for cmd in (
                *(
                    f"harmsim backtest {path} --replicates 5000 --seed {seed} --no-figures "
                    f"--out {OUT}/shrinkage/{name}-seed{seed} --force"
                    for name, path in (
                        ("baseline", "baseline"),
                        ("baseline_cauchy", "experiments/scenarios/baseline_cauchy.toml"),
                    )
                ),
                f"harmsim compare-backtests {OUT}/shrinkage/baseline-seed{seed} "
                f"{OUT}/shrinkage/baseline_cauchy-seed{seed}",
            )
        ],
    ),
    "world-shrinkage": (
        "docs/regions.md (world_baseline and baseline_trend under the baseline_cauchy rule, declared before these "
        "runs, against themselves without it; ASEAN's cells from the panel against the ASEAN record, each with and "
        "without it), harmsim compare-backtests, "
        "experiments/asean_from_the_panel.py",
        [
            f"harmsim backtest {path} --replicates 500 --no-figures --out {OUT}/world-shrinkage/{name} --force"
            for name, path in (
                ("baseline_trend", "baseline_trend"),
                ("world_baseline", "world_baseline"),
                ("world_cauchy", "experiments/scenarios/world_cauchy.toml"),
                ("baseline_trend_cauchy", "experiments/scenarios/baseline_trend_cauchy.toml"),
            )
        ]
        + [
            f"harmsim compare-backtests {OUT}/world-shrinkage/world_baseline {OUT}/world-shrinkage/world_cauchy",
            f"harmsim compare-backtests {OUT}/world-shrinkage/baseline_trend "
            f"{OUT}/world-shrinkage/baseline_trend_cauchy",
        ]
        + [
            f"python experiments/asean_from_the_panel.py {OUT}/world-shrinkage/{asean} {OUT}/world-shrinkage/{world}"
            for asean, world in (
                ("baseline_trend", "world_baseline"),
                ("baseline_trend", "world_cauchy"),
                ("baseline_trend_cauchy", "world_cauchy"),
            )
        ],
    ),
    "asean-borrowed": (
        "docs/regions.md (baseline_trend_cauchy with the priors on three mechanism coefficients borrowed from "
        "world_baseline fitted to each origin, at the panel's standard errors and at twice them, declared before "
        "these runs, against baseline_trend_cauchy and baseline_trend), harmsim compare-backtests",
        [
            f"harmsim backtest experiments/scenarios/baseline_trend_cauchy.toml --replicates 500 --no-figures "
            f"--borrow-from world_baseline --borrow {BORROWED} --borrow-inflation {k} "
            f"--out {OUT}/asean-borrowed/inflation{k} --force"
            for k in (1, 2)
        ]
        + [
            f"harmsim compare-backtests {OUT}/world-shrinkage/{reference} {OUT}/asean-borrowed/inflation{k}"
            for k in (1, 2)
            for reference in ("baseline_trend_cauchy", "baseline_trend")
        ],
    ),
    "asean-borrowed-5000": (
        "docs/regions.md (the comparison of asean-borrowed at the panel's standard errors, again at 5,000 "
        "replicates with seeds 0 and 1, for Monte Carlo noise), harmsim compare-backtests",
        [
            cmd
            for seed in (0, 1)
            for cmd in (
                f"harmsim backtest experiments/scenarios/baseline_trend_cauchy.toml --replicates 5000 --seed {seed} "
                f"--no-figures --out {OUT}/asean-borrowed-5000/cauchy-seed{seed} --force",
                f"harmsim backtest experiments/scenarios/baseline_trend_cauchy.toml --replicates 5000 --seed {seed} "
                f"--no-figures --borrow-from world_baseline --borrow {BORROWED} "
                f"--out {OUT}/asean-borrowed-5000/borrowed-seed{seed} --force",
                f"harmsim compare-backtests {OUT}/asean-borrowed-5000/cauchy-seed{seed} "
                f"{OUT}/asean-borrowed-5000/borrowed-seed{seed}",
            )
        ],
    ),
    "asean-borrowed-held": (
        "docs/regions.md (ASEAN's treaty on mutual legal assistance held out: baseline_trend_cauchy with and without "
        "the priors of asean-borrowed at the panel's standard errors, the source fitted without the treaty, 5,000 "
        "replicates with seeds 0 and 1; declared before these runs), harmsim compare-backtests",
        [
            cmd
            for seed in (0, 1)
            for cmd in (
                f"harmsim backtest experiments/scenarios/baseline_trend_cauchy.toml --hold-out asean_mlat "
                f"--replicates 5000 --seed {seed} --no-figures --out {OUT}/asean-borrowed-held/cauchy-seed{seed} "
                "--force",
                f"harmsim backtest experiments/scenarios/baseline_trend_cauchy.toml --hold-out asean_mlat "
                f"--replicates 5000 --seed {seed} --no-figures --borrow-from world_baseline --borrow {BORROWED} "
                f"--out {OUT}/asean-borrowed-held/borrowed-seed{seed} --force",
                f"harmsim compare-backtests {OUT}/asean-borrowed-held/cauchy-seed{seed} "
                f"{OUT}/asean-borrowed-held/borrowed-seed{seed}",
            )
        ]
        + [  # the two seeds together: the gain's Monte Carlo spread
            f"harmsim compare-backtests {OUT}/asean-borrowed-held/cauchy-seed0 "
            f"{OUT}/asean-borrowed-held/borrowed-seed0 "
            f"--again {OUT}/asean-borrowed-held/cauchy-seed1 {OUT}/asean-borrowed-held/borrowed-seed1"
        ],
    ),
    "saarc-hold-out": (
        "docs/regions.md (the SAARC convention held out)",
        [f"harmsim backtest world_baseline --hold-out saarc2002 --replicates 500 --out {OUT}/saarc-hold-out --force"],
    ),
    "world-time-proxies": (
        "docs/regions.md (the panel without diffusion and momentum, and on the CETS 197 hold-out), "
        "harmsim compare-backtests",
        [
            "harmsim backtest experiments/scenarios/world_no_time_proxies.toml --replicates 500 "
            f"--out {OUT}/world-time-proxies/origins --force",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-time-proxies/origins",
            "harmsim backtest experiments/scenarios/world_no_time_proxies.toml --hold-out cets197 --replicates 500 "
            f"--out {OUT}/world-time-proxies/cets-hold-out --force",
            f"harmsim compare-backtests {OUT}/cets-hold-out {OUT}/world-time-proxies/cets-hold-out",
        ],
    ),
    "world-trend-beyond": (
        "docs/regions.md (the panel's trend held and continued past the origin, on its origins and CETS 197), "
        "harmsim compare-backtests",
        [
            f"harmsim backtest experiments/scenarios/world_trend_{how}.toml --replicates 500 "
            f"--out {OUT}/world-trend-beyond/{how} --force"
            for how in ("held", "continued")
        ]
        + [
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-trend-beyond/{how}"
            for how in ("held", "continued")
        ]
        + [
            f"harmsim backtest experiments/scenarios/world_trend_{how}.toml --hold-out cets197 --replicates 500 "
            f"--out {OUT}/world-trend-beyond/cets-hold-out-{how} --force"
            for how in ("held", "continued")
        ],
    ),
    "world-spline": (
        "docs/regions.md (a penalized spline for the panel's period, on its origins and CETS 197), "
        "harmsim compare-backtests",
        [
            "harmsim backtest experiments/scenarios/world_spline.toml --replicates 500 "
            f"--out {OUT}/world-spline/origins --force",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-spline/origins",
            "harmsim backtest experiments/scenarios/world_spline.toml --hold-out cets197 --replicates 500 "
            f"--out {OUT}/world-spline/cets-hold-out --force",
            f"harmsim compare-backtests {OUT}/cets-hold-out {OUT}/world-spline/cets-hold-out",
        ],
    ),
    "asean-texts": (
        "docs/regions.md (the world panel with ASEAN's plans and work programmes), experiments/asean_texts_panel.py",
        [
            f"python experiments/asean_texts_panel.py {OUT}/asean-texts {OUT}/asean-backtests/baseline_trend "
            f"{OUT}/world-backtests/world_baseline"
        ],
    ),
    "asean-instruments": (
        "docs/regions.md (the world panel with ASEAN's own regional instruments), "
        "experiments/asean_instruments_panel.py",
        [
            f"python experiments/asean_instruments_panel.py {OUT}/asean-instruments "
            f"{OUT}/asean-backtests/baseline_trend {OUT}/world-backtests/world_baseline"
        ],
    ),
    "world-commitments": (
        "docs/regions.md (treaty commitments: a party to a treaty that obliges criminalization, on the panel's "
        "origins), harmsim compare-backtests",
        [
            "harmsim calibrate experiments/scenarios/world_commitments.toml --starts 1 "
            f"--out {OUT}/world-commitments/fit --force",
            "harmsim backtest experiments/scenarios/world_commitments.toml --replicates 500 "
            f"--out {OUT}/world-commitments/origins --force",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-commitments/origins",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-commitments/origins "
            "--without untoc,tip_protocol,cets197,actip",
        ],
    ),
    "world-screening": (
        "docs/regions.md (which comes first, the law or the treaty: commitments and screening fitted together, on "
        "the panel's origins), harmsim compare-backtests",
        [
            # declared before these runs (experiments/scenarios/world_screening.toml): the direction is read from the
            # two coefficients' 95% intervals in sample; screening helps the forecasts if better than
            # world_commitments beyond twice the standard error from every origin, and hurts if worse from any
            "harmsim calibrate experiments/scenarios/world_screening.toml --starts 1 "
            f"--out {OUT}/world-screening/fit --force",
            "harmsim backtest experiments/scenarios/world_screening.toml --replicates 500 "
            f"--out {OUT}/world-screening/origins --force",
            f"harmsim compare-backtests {OUT}/world-commitments/origins {OUT}/world-screening/origins",
            f"harmsim compare-backtests {OUT}/world-commitments/origins {OUT}/world-screening/origins "
            "--without tip_law,untoc",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-screening/origins",
            # the record's own order of events, before any model (descriptive)
            f"python experiments/law_and_treaty_order.py --out {OUT}/world-screening/order_world.csv",
            f"python experiments/law_and_treaty_order.py --record asean --out {OUT}/world-screening/order_asean.csv",
        ],
    ),
    "world-unseen": (
        "docs/regions.md (cells the record does not see: the fits under both readings of their unknown years)",
        [
            f"harmsim calibrate world_baseline --starts 1 --out {OUT}/world-unseen/baseline --force",
            "harmsim calibrate experiments/scenarios/world_baseline_unseen_adopted.toml --starts 1 "
            f"--out {OUT}/world-unseen/baseline_adopted --force",
            "harmsim calibrate experiments/scenarios/world_commitments.toml --starts 1 "
            f"--out {OUT}/world-unseen/commitments --force",
            "harmsim calibrate experiments/scenarios/world_commitments_unseen_adopted.toml --starts 1 "
            f"--out {OUT}/world-unseen/commitments_adopted --force",
            # the test of bindingness under the upper bound, against the bindingness job's (declared before it ran:
            # the reading matters for the test if the contrast across organizations under one reading lies outside
            # the other's 95% interval, or the verdict's sentence on what the data show changes)
            "harmsim bindingness experiments/scenarios/world_baseline_unseen_adopted.toml --from-fit "
            f"{OUT}/world-unseen/baseline_adopted --workers 2 --out {OUT}/world-unseen/bindingness_adopted --force",
        ],
    ),
    "asean-commitments": (
        "docs/regions.md (treaty commitments on the ASEAN record), harmsim compare-backtests",
        [
            "harmsim calibrate experiments/scenarios/baseline_trend_commitments.toml "
            f"--out {OUT}/asean-commitments/fit --force",
            "harmsim backtest experiments/scenarios/baseline_trend_commitments.toml --replicates 500 "
            f"--out {OUT}/asean-commitments/origins --force",
            f"harmsim compare-backtests {OUT}/asean-backtests/baseline_trend {OUT}/asean-commitments/origins",
            f"harmsim compare-backtests {OUT}/asean-backtests/baseline_trend {OUT}/asean-commitments/origins "
            "--without untoc,tip_protocol,asean_mlat,actip",
        ],
    ),
    "asean-screening": (
        "docs/regions.md (screening on the ASEAN record: a state with its law ratifies the treaties that oblige it "
        "sooner; declared before these runs, after the panel's), harmsim compare-backtests",
        [
            "harmsim calibrate experiments/scenarios/baseline_trend_screening.toml "
            f"--out {OUT}/asean-screening/fit --force",
            "harmsim backtest experiments/scenarios/baseline_trend_screening.toml --replicates 500 "
            f"--out {OUT}/asean-screening/origins --force",
            f"harmsim compare-backtests {OUT}/asean-backtests/baseline_trend {OUT}/asean-screening/origins",
            f"harmsim compare-backtests {OUT}/asean-backtests/baseline_trend {OUT}/asean-screening/origins "
            "--without tip_law,untoc,asean_mlat",
        ],
    ),
    "asean-commitments-borrowed": (
        "docs/regions.md (treaty commitments on the ASEAN record with the effect's prior borrowed from the world "
        "panel fitted to each origin, at the panel's standard error; declared before these runs, against "
        "baseline_trend and the flat-prior commitments), harmsim compare-backtests",
        [
            "harmsim backtest experiments/scenarios/baseline_trend_commitments.toml --replicates 500 "
            "--borrow-from experiments/scenarios/world_commitments.toml --borrow commitments.effect "
            f"--borrow-inflation 1 --out {OUT}/asean-commitments/borrowed --force",
            f"harmsim compare-backtests {OUT}/asean-backtests/baseline_trend {OUT}/asean-commitments/borrowed",
            f"harmsim compare-backtests {OUT}/asean-commitments/origins {OUT}/asean-commitments/borrowed",
        ],
    ),
    "world-misses": (
        "docs/regions.md (where the panel misses: calibration by subregion and organization, in sample)",
        [f"harmsim run world_baseline --from-fit {OUT}/world-fit -r 500 --out {OUT}/world-misses --force"],
    ),
    "world-calibration": (
        "docs/regions.md (where the panel misses: calibration in the large of the panel's variants), "
        "experiments/calibration_of_backtests.py",
        [
            f"python experiments/calibration_of_backtests.py {OUT}/world-calibration "
            f"{OUT}/world-backtests/world_baseline {OUT}/world-trend-beyond/held {OUT}/world-trend-beyond/continued "
            f"{OUT}/world-spline/origins {OUT}/world-time-proxies/origins --instrument tip_law"
        ],
    ),
    "world-gdp": (
        "docs/regions.md (state capacity, log GDP per head, on the panel), experiments/world_gdp_panel.py",
        [f"python experiments/world_gdp_panel.py {OUT}/world-gdp {OUT}/asean-backtests/baseline_trend"],
    ),
    "asia-pacific": (
        "docs/regions.md (ASEAN's cells from a panel of its own part of the world), experiments/asia_pacific_panel.py",
        [
            f"python experiments/asia_pacific_panel.py {OUT}/asia-pacific {OUT}/asean-backtests/baseline_trend "
            f"{OUT}/world-backtests/world_baseline"
        ],
    ),
    "known-at-origin": (
        "docs/forecasting.md (what a forecast knows after its origin), docs/regions.md, "
        "harmsim compare-backtests, experiments/asean_from_the_panel.py",
        [
            *_known_at_origin("baseline_trend", "asean-backtests/baseline_trend", ("schedule", "inputs", "both")),
            *_known_at_origin("world_baseline", "world-backtests/world_baseline", ("schedule", "both")),
            f"python experiments/asean_from_the_panel.py {OUT}/known-at-origin/baseline_trend-both "
            f"{OUT}/known-at-origin/world_baseline-both",
        ],
    ),
    "world-asean": (
        "docs/regions.md (ASEAN's own level and slope within the panel), experiments/asean_from_the_panel.py, "
        "harmsim compare-backtests",
        [
            f"harmsim calibrate world_asean --starts 1 --out {OUT}/world-asean/fit --force",
            f"harmsim backtest world_asean --replicates 500 --out {OUT}/world-asean/origins --force",
            f"python experiments/asean_from_the_panel.py {OUT}/asean-backtests/baseline_trend "
            f"{OUT}/world-asean/origins",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-asean/origins --states asean",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-asean/origins",
            "harmsim backtest experiments/scenarios/world_asean_loose.toml --replicates 500 "
            f"--out {OUT}/world-asean/loose --force",
            f"python experiments/asean_from_the_panel.py {OUT}/asean-backtests/baseline_trend {OUT}/world-asean/loose",
            f"harmsim compare-backtests {OUT}/world-asean/origins {OUT}/world-asean/loose --states asean",
        ],
    ),
    "world-propensities": (
        "docs/regions.md (heterogeneity by state: the fit, its backtests on the origins and CETS 197, the test of "
        "bindingness), "
        "harmsim compare-backtests",
        [
            f"harmsim calibrate world_propensities --starts 1 --out {OUT}/world-propensities/fit --force",
            f"harmsim backtest world_propensities --replicates 500 --out {OUT}/world-propensities/origins --force",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline {OUT}/world-propensities/origins",
            f"harmsim compare-backtests {OUT}/world-backtests/world_baseline "
            f"{OUT}/world-propensities/origins --states asean",
            "harmsim backtest world_propensities --hold-out cets197 --replicates 500 "
            f"--out {OUT}/world-propensities/cets-hold-out --force",
            f"harmsim compare-backtests {OUT}/cets-hold-out {OUT}/world-propensities/cets-hold-out",
            f"harmsim bindingness world_propensities --from-fit {OUT}/world-propensities/fit --workers 2 "
            f"--out {OUT}/world-propensities/bindingness --force",
        ],
    ),
    "forecasts": (
        "docs/forecasting.md, docs/regions.md (the ACTIP forecast)",
        [
            f"harmsim calibrate baseline --out {OUT}/forecasts/fit-baseline --force",
            f"harmsim forecast baseline --from-fit {OUT}/forecasts/fit-baseline --until 2030 "
            f"--out {OUT}/forecasts/baseline --force",
            f"harmsim forecast world_baseline --from-fit {OUT}/world-fit --until 2020 "
            f"--out {OUT}/forecasts/world_baseline --force",
            f"harmsim forecast world_propensities --from-fit {OUT}/world-propensities/fit --until 2020 "
            f"--out {OUT}/forecasts/world_propensities --force",
            f"harmsim forecast world_asean --from-fit {OUT}/world-asean/fit --until 2020 "
            f"--out {OUT}/forecasts/world_asean --force",
        ],
    ),
    "docs-figures": (
        "README.md, docs/forecasting.md and docs/regions.md (the baseline's figures, its fan chart, a "
        "counterfactual's, the world record's organizations and map)",
        [
            f"harmsim run baseline --replicates 500 --seed 0 --out {OUT}/docs-figures/baseline --force",
            f"harmsim counterfactual baseline --from-fit {OUT}/forecasts/fit-baseline "
            f"--change experiments/changes/no_2004_declaration.toml --out {OUT}/docs-figures/no2004 --force",
            f"harmsim record world --figures {OUT}/docs-figures/world --force",
            "python scripts/copy_docs_figures.py",
        ],
    ),
    "likelihood-frequencies": (
        "docs/model.md, docs/calibration.md (the likelihood against simulated frequencies)",
        ["python experiments/likelihood_frequencies.py"],
    ),
    "benchmarks": (
        "docs/performance.md",
        ["python benchmarks/bench_world.py", "python benchmarks/bench_calibrate.py"],
    ),
}


def run(command: str) -> None:
    """One command: ``harmsim ...`` in this process's CLI, ``python X ...`` as a script of the repository."""
    argv = shlex.split(command)
    if argv[0] == "harmsim":
        from harmsim.cli import main

        code = main(argv[1:])
    else:
        old = sys.argv
        sys.argv = argv[1:]
        try:
            runpy.run_path(str(ROOT / argv[1]), run_name="__main__")
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        finally:
            sys.argv = old
    if code:
        raise SystemExit(f"failed ({code}): {command}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--list", action="store_true", help="print the jobs and their commands; run nothing")
    ap.add_argument("--only", nargs="+", choices=list(JOBS), metavar="JOB", help=f"jobs to run: {', '.join(JOBS)}")
    args = ap.parse_args(argv)
    jobs = args.only or list(JOBS)
    for name in jobs:
        where, commands = JOBS[name]
        print(f"# {name}: {where}")
        for c in commands:
            print(f"  {c}")
            if not args.list:
                t = time.perf_counter()
                run(c)
                print(f"  ({time.perf_counter() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
