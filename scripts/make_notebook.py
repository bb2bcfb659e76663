"""Write experiments/tour.ipynb from the cells below (the notebook is generated, so its text is reviewed here).

    python scripts/make_notebook.py

The test suite executes the notebook (tests/test_notebook.py); rerun this
script after editing a cell.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

CELLS = [
    (
        "md",
        "# A tour of harmsim\n\n"
        "ASEAN's anti-trafficking cooperation, 1997-2015, as an agent-based model: the record, a Mesa model of "
        "the ten member states, ensembles and their figures, a fit to the record, which parameters matter, and the "
        "world panel of every state and its regional organizations. "
        "Every cell runs in seconds.",
    ),
    ("code", "%matplotlib inline\nimport harmsim\n\nsc = harmsim.load_scenario('baseline')\nsc"),
    ("code", "sc.record"),
    ("md", "## The Mesa model\n\nParameters are keywords (dots as underscores); without a seed the model picks one."),
    (
        "code",
        "from harmsim import HarmonizationModel\n\n"
        "m = HarmonizationModel('baseline', rng=7, diffusion_strength=1.5)\n"
        "m.run_model()\n"
        "m.datacollector.get_model_vars_dataframe().tail(3)",
    ),
    ("code", "m.datacollector.get_agent_vars_dataframe().tail(4)"),
    (
        "code",
        "import mesa\nimport pandas as pd\n\n"
        "params = {'diffusion_strength': [0.0, 2.0]}\n"
        "if tuple(int(x) for x in mesa.__version__.split('.')[:2]) >= (3, 4):\n"
        "    rows = mesa.batch_run(HarmonizationModel, params, rng=range(3), number_processes=1,\n"
        "                          data_collection_period=-1, display_progress=False)\n"
        "else:\n"
        "    rows = mesa.batch_run(HarmonizationModel, {**params, 'seed': range(3)}, iterations=1,\n"
        "                          number_processes=1, data_collection_period=-1, display_progress=False)\n"
        "runs = pd.DataFrame(rows)\n"
        "runs.groupby('diffusion_strength')['adopters_asean_mlat'].mean()",
    ),
    ("md", "## Ensembles and their figures"),
    ("code", "ens = harmsim.run_ensemble(sc, replicates=300, seed=1)\nens"),
    ("code", "ens.plot.timeline()"),
    ("code", "harmsim.compare(ens, sc.record).query(\"item == 'all'\")"),
    ("md", "## A fit to the record, and what it predicts"),
    (
        "code",
        "from harmsim.analysis.predictive import predictive_ensemble\nfrom harmsim.calibrate import calibrate\n\n"
        "fit = calibrate(sc)\nfit",
    ),
    ("code", "print(fit.summary())"),
    ("code", "predictive_ensemble(sc, fit, 300, seed=2).plot.cumulative()"),
    (
        "md",
        "## Judging a change: two backtests, paired cell by cell\n\n"
        "A change to a model is judged by forecasts of years its fit has not seen, not by the in-sample fit: "
        "fit each model to 2008, forecast to 2015, and pair the two forecasts on the cells both score, with the "
        "gain's standard error clustered by state (`harmsim compare-backtests` on saved folders).",
    ),
    (
        "code",
        "before = harmsim.backtest(harmsim.load_scenario('diffusion_only'), [2008], replicates=200, seed=0)\n"
        "after = harmsim.backtest(sc, [2008], replicates=200, seed=0)\n"
        "pair = harmsim.compare_backtests(before, after)  # the second against the first\n"
        "print(pair.verdicts()[0])\n"
        "pair.figure()",
    ),
    ("md", "## Which parameters matter (Morris screening over the scenario's declared ranges)"),
    (
        "code",
        "from harmsim.analysis.sensitivity import sensitivity\n\n"
        "res = sensitivity(sc, method='morris', base=4, replicates=5, seed=0)\n"
        "print(res.summary('year_mae'))",
    ),
    (
        "md",
        "## The world panel\n\n"
        "Every state and its regional organizations, 1990-2015 (docs/regions.md): memberships by year, each "
        "organization's agreements, binding or not, and the regional treaties open only to its members. One region "
        "cannot test the study's central contrast; many can.",
    ),
    ("code", "world = harmsim.load_record('world')\nworld.organization_summary().head(8)"),
    (
        "code",
        "from harmsim.output.plots import figure_organizations\nfrom harmsim.scoring.compare import "
        "organization_curves\n\n"
        "instruments = ['tip_law', 'tip_protocol', 'cets197', 'saarc2002', 'actip']\n"
        "curves = organization_curves(world, instruments)\n"
        "curves = curves[curves['organization'].isin(['ASEAN', 'COE', 'SAARC', 'ECOWAS'])]\n"
        "marks = {org: [(a.year, a.agreement, a.binding) for a in g.itertuples()]\n"
        "         for org, g in world.agreements.groupby('organization')}\n"
        "figure_organizations(curves, instruments, marks)  # binding agreements solid, non-binding dashed",
    ),
    (
        "code",
        "from harmsim.data.maps import country_shapes, map_values\nfrom harmsim.output.plots import "
        "figure_world_map\n\n"
        "figure_world_map(country_shapes(), map_values(world, 'tip_protocol'), 1990, 2015)",
    ),
    (
        "md",
        "The same mechanisms run on all 188 states at once; 300 replicates take about a second.",
    ),
    ("code", "ws = harmsim.load_scenario('world_baseline')\nharmsim.run_ensemble(ws, replicates=300, seed=1)"),
    (
        "md",
        "### The test of bindingness, on a panel whose truth is set\n\n"
        "Before reading the test on the world (`harmsim bindingness world_baseline`, minutes), try it where the "
        "answer is known: six organizations of five states, three with a binding agreement, outcomes simulated "
        "with binding agreements 0.8 log-odds stronger than non-binding ones. With six organizations the test "
        "has little power, and the verdict says so.",
    ),
    (
        "code",
        "from harmsim.analysis.bindingness import bindingness_test, synthetic_panel\n"
        "from harmsim.model.scenario import scenario_from_dict\n\n"
        "truth = {'hazard': {'intercept': -2.5}, 'mechanisms': {'agreements': {'binding': 1.0, 'nonbinding': 0.2}}}\n"
        "organizations = harmsim.synthetic_organizations(6, 5)\n"
        "panel = synthetic_panel(scenario_from_dict(truth, record=organizations), organizations, seed=11)\n"
        "test = bindingness_test(scenario_from_dict(truth, record=panel), panel, panels=2, seed=1)\n"
        "print(test.words())",
    ),
]


def main() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text) for kind, text in CELLS
    ]
    for i, cell in enumerate(nb.cells):  # ids by position, not drawn at random: a regenerated notebook diffs clean
        cell["id"] = f"cell-{i:02d}"
    out = Path(__file__).resolve().parents[1] / "experiments" / "tour.ipynb"
    nbformat.write(nb, out)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(out)], check=True)  # the project's style
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
