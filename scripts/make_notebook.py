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
        "the ten member states, ensembles and their figures, a fit to the record, and which parameters matter. "
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
        "from harmsim.calibrate import calibrate\nfrom harmsim.analysis.predictive import predictive_ensemble\n\n"
        "fit = calibrate(sc)\nfit",
    ),
    ("code", "print(fit.summary())"),
    ("code", "predictive_ensemble(sc, fit, 300, seed=2).plot.cumulative()"),
    ("md", "## Which parameters matter (Morris screening over the scenario's declared ranges)"),
    (
        "code",
        "from harmsim.analysis.sensitivity import sensitivity\n\n"
        "res = sensitivity(sc, method='morris', base=4, replicates=5, seed=0)\n"
        "print(res.summary('year_mae'))",
    ),
]


def main() -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell(text) if kind == "md" else nbformat.v4.new_code_cell(text) for kind, text in CELLS
    ]
    out = Path(__file__).resolve().parents[1] / "experiments" / "tour.ipynb"
    nbformat.write(nb, out)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", str(out)], check=True)  # the project's style
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
