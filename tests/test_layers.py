"""The package's layers: no import circles, and nothing imports a module of a higher layer.

Each module has a layer; an import may go to its own layer or below. The layers follow the data:

0 base       errors, version, small helpers (TOML, reprs, workers, BLAS threads, progress, result folders)
1 data       the record and what is built from it alone: inputs, world, observations, features
2 model      parameters and their space, mechanisms, dynamics, scenarios, the engines and the Mesa model
3 inference  likelihood, MLE, ABC, fits, pooling, placebos, targets and scores
4 output     result objects, tidy tables with provenance, figures and plots
5 analysis   runs, ensembles, forecasts, backtests, counterfactuals, sweeps, sensitivity, mechanism comparison
6 interface  the command line, the dashboard and the package's front (``harmsim/__init__``)

A new module must be given a layer here: the test fails on a module it does not know.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

LAYERS = {
    0: "errors _version _repr _toml _limits _workers _threads _progress _mesa _output rng",
    1: "data data.*",
    2: "model model.*",
    3: "calibrate calibrate.* scoring scoring.*",
    4: "output output.*",
    5: "analysis analysis.*",
    6: "__init__ cli cli.* dashboard _dashboard_app _dashboard_server",
}


def _layer(module: str) -> int | None:
    for n, names in LAYERS.items():
        for pattern in names.split():
            if module == pattern or (pattern.endswith(".*") and module.startswith(pattern[:-1])):
                return n
    return None


def _modules() -> dict[str, Path]:
    out = {}
    for f in (SRC / "harmsim").rglob("*.py"):
        parts = f.relative_to(SRC / "harmsim").with_suffix("").parts
        name = ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)
        out[name or "__init__"] = f
    return out


def _imports(name: str, path: Path, modules: dict) -> set[str]:
    """The harmsim modules ``name`` imports, anywhere in the file (inside functions too)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    if name == "__init__":
        package = ""
    found = set()
    tree = ast.parse(path.read_text())
    typing_only = {  # imports under `if TYPE_CHECKING:` name types for annotations and run nothing
        id(n)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and getattr(block.test, "id", None) == "TYPE_CHECKING"
        for stmt in block.body
        for n in ast.walk(stmt)
    }
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.split(".")[0] == "harmsim":
                target = node.module.partition(".")[2]
            else:
                continue
            subs = [f"{target}.{a.name}" if target else a.name for a in node.names]
            hits = [s for s in subs if s in modules]
            found.update(hits if hits else [target or "__init__"])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "harmsim":
                    found.add(a.name.partition(".")[2] or "__init__")
    found.discard(name)
    return {m for m in found if m in modules or m == "__init__"}


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_module_has_a_layer(graph):
    assert [m for m in graph if _layer(m) is None] == []


def test_nothing_imports_upward(graph):
    upward = [
        f"{m} ({_layer(m)}) imports {t} ({_layer(t)})" for m, ts in graph.items() for t in ts if _layer(t) > _layer(m)
    ]
    assert upward == []


def test_no_import_circles(graph):
    # Tarjan's strongly connected components: every component of more than one module is a circle
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert circles == []


def test_the_checks_can_fail(tmp_path):
    """Imports are read from the source, inside functions too, and only those under TYPE_CHECKING are passed over:
    the upward imports of a made-up ``data.record`` module are found."""
    modules = {m: Path("x") for m in ("data.record", "model.dynamics", "model.scenario", "output.results")}
    probe = tmp_path / "record.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\nfrom harmsim.model import dynamics\n\n"
        "def f():\n    from ..model.scenario import parameter_spec\n\n"
        "if TYPE_CHECKING:\n    from harmsim.output.results import RunResult\n"
    )
    found = _imports("data.record", probe, modules)
    assert found == {"model.scenario", "model.dynamics"}
    assert all(_layer(t) > _layer("data.record") for t in found)


def test_only_the_parameter_space_splits_dotted_names():
    """``group.key[.instrument]`` is parsed in one place (``space.split_name``); a module splitting on dots by
    hand would be a second definition of what a parameter's name is."""
    import re

    by_hand = re.compile(r"\.(split|rsplit|partition|rpartition)\(\s*[\"']\.[\"']")
    offenders = [
        f"{name} line {i}"
        for name, path in _modules().items()
        if name != "model.space"
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if by_hand.search(line)
    ]
    assert offenders == []
