"""The example notebook runs from top to bottom (nbclient), as a user would open it."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "experiments" / "tour.ipynb"


def test_the_tour_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("SALib")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = " ".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "Scenario" in html and "EnsembleResult" in html and "Fit" in html  # the short HTML reprs
    pictures = [c.id for c in nb.cells if c.cell_type == "code" and any("image/png" in o.get("data", {})
                                                                        for o in c.outputs)]  # fmt: skip
    # the ensemble's timeline, the fit's cumulative, two backtests paired, adoption per organization, the map
    assert len(pictures) == 5
    printed = " ".join(o.get("text", "") for o in outputs)
    assert "world_baseline" in html and "ASEAN" in html  # the world ensemble and the organizations' table
    assert "The test of bindingness" in printed and "For the study's claim of voluntarism" in printed
    assert "from 2008: baseline against diffusion_only on" in printed
