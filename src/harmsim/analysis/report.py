"""Write a mechanism comparison to a folder: the table, the verdict, and the figures.

Used by ``harmsim compare-mechanisms --out DIR`` and
``experiments/mechanism_comparison.py``. Figures come as PNG and PDF.
"""

from __future__ import annotations

from pathlib import Path

from harmsim.analysis.comparison import Comparison
from harmsim.analysis.predictive import predictive_ensemble
from harmsim.output.plots import plot_incremental
from harmsim.scoring.compare import compliance_curves

__all__ = ["write_comparison"]


def write_comparison(
    comparison: Comparison,
    scenarios: dict,
    folder: str | Path,
    *,
    replicates: int = 200,
    seed: int = 0,
    force: bool = False,
) -> list[Path]:
    """Save the comparison table, tests, verdict, every fit, and posterior predictive figures.

    Figures (for the best model by AIC and for the study's ``baseline`` when
    present): cumulative adoption with 50% and 90% predictive bands, per-state
    predictive intervals, and incremental institutional development (after
    the study's Figure 3).

    >>> import tempfile, harmsim
    >>> from harmsim.analysis.comparison import compare_mechanisms
    >>> names = ("diffusion_only", "no_asean")
    >>> c = compare_mechanisms(names, replicates=20, cross_validate=False)
    >>> folder = tempfile.mkdtemp()
    >>> paths = write_comparison(c, {n: harmsim.load_scenario(n) for n in names}, folder, replicates=20, force=True)
    >>> sorted(p.name for p in paths if p.suffix != ".pdf")[:4]
    ['comparison.csv', 'no_asean_cumulative.png', 'no_asean_incremental.png', 'no_asean_timeline.png']
    """
    from harmsim._output import ResultFolder

    with ResultFolder(folder, "comparison", force) as rf:
        paths, written = _write(comparison, scenarios, rf.path, replicates, seed)
        rf.add(paths, written)
    return [p for p in rf.final if p.parent == rf.dest]


def _write(comparison, scenarios, out: Path, replicates: int, seed: int) -> tuple[list[Path], list[Path]]:
    paths = [out / "comparison.csv", out / "tests.csv", out / "verdict.txt"]
    comparison.table.to_csv(paths[0], index=False)
    comparison.tests.to_csv(paths[1], index=False)
    if comparison.placebo is not None:
        paths.append(out / "placebo.csv")
        comparison.placebo.to_csv(paths[-1], index=False)
        paths += _placebo_figure(comparison.placebo, out)
    if comparison.pit is not None and len(comparison.pit):
        from matplotlib.figure import Figure

        from harmsim.output.plots import plot_pit, save_figure

        models = list(dict.fromkeys(comparison.pit["model"]))
        fig = Figure(figsize=(2.6 * min(4, len(models)), 2.4 * ((len(models) + 3) // 4) + 0.6), layout="constrained")
        axes = fig.subplots((len(models) + 3) // 4, min(4, len(models)), squeeze=False).ravel()
        for ax, m in zip(axes, models):
            plot_pit(ax, comparison.pit[comparison.pit["model"] == m], title=m)
        for ax in axes[len(models) :]:
            ax.set_visible(False)
        fig.suptitle("PIT of every observed adoption outcome: flat when predictions are calibrated", fontsize=10)
        paths += save_figure(fig, out, "pit")
    paths[2].write_text(str(comparison) + "\n")
    written = []
    for name, fit in comparison.fits.items():
        written += fit.save(out / "fits" / name)
    best = comparison.table.iloc[0]["model"].split(" = ")[0]  # models identical on the record: the first
    for name in dict.fromkeys([best, "baseline"]):
        if name not in comparison.fits:
            continue
        sc = scenarios[name]
        fit = comparison.fits[name]
        ens = predictive_ensemble(sc, fit, replicates, seed)
        rec = sc.record
        figs = {f"{name}_{stem}": f for stem, f in ens.plot.all().items()}
        observed = compliance_curves(rec.adoptions, sc.world)
        if len(observed):  # a chain of agreements, each built on the last (one region's record)
            fig = Figure(figsize=(7.5, 4.2), layout="constrained")
            ax = fig.subplots()
            plot_incremental(ax, observed, compliance_curves(ens.adoptions, sc.world), rec.agreements)
            ax.set_title(f"Incremental institutional development ({name}, fitted)", fontsize=10)
            figs[f"{name}_incremental"] = fig
        for stem, fig in figs.items():
            for ext in ("png", "pdf"):
                p = out / f"{stem}.{ext}"
                fig.savefig(p, dpi=200)
                paths.append(p)
    return paths, written


def _placebo_figure(placebo, out: Path) -> list[Path]:
    """placebo.png/.pdf: one panel per test, the placebo gains and the recorded schedule's gain."""
    from matplotlib.figure import Figure

    from harmsim.output.plots import plot_placebos, save_figure

    tests = list(dict.fromkeys(placebo["test"]))
    fig = Figure(figsize=(4.2 * min(3, len(tests)), 3.0 * ((len(tests) + 2) // 3)), layout="constrained")
    axes = fig.subplots((len(tests) + 2) // 3, min(3, len(tests)), squeeze=False).ravel()
    for ax, t in zip(axes, tests):
        plot_placebos(ax, placebo[placebo["test"] == t], title=t)
    for ax in axes[len(tests) :]:
        ax.set_visible(False)
    return save_figure(fig, out, "placebo")
