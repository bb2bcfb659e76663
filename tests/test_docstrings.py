"""Every public function and class of harmsim carries a runnable example, which the doctests run.

The example is in its own docstring, in its module's docstring (called there by name; a class's may call one of
its constructors), or in another docstring its own points to ("an example is under ..."). Public means named in
its module's ``__all__`` (a package's, for what its private parts define); the command-line modules are
documented by their ``--help`` and tested through it.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import harmsim

POINTER = re.compile(r"\bfor an example\b|\bexamples?\s+(?:is\s+|are\s+)?under\b", re.I)


def _public_objects():
    for info in pkgutil.walk_packages(harmsim.__path__, "harmsim."):
        parts = info.name.split(".")
        if "cli" in parts or parts[-1].startswith("_"):
            continue
        module = importlib.import_module(info.name)
        examples = "\n".join(
            line for line in (module.__doc__ or "").splitlines() if line.lstrip().startswith((">>>", "..."))
        )
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name, None)
            # its own, or defined in one of the package's private parts (harmsim.calibrate.likelihood._terms)
            home = getattr(obj, "__module__", "")
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and (
                home == info.name or home.startswith(f"{info.name}._")
            ):
                yield f"{info.name}.{name}", name, inspect.getdoc(obj) or "", examples


def test_every_public_function_and_class_has_a_runnable_example():
    missing = [
        where
        for where, name, doc, module_examples in _public_objects()
        if ">>>" not in doc and not POINTER.search(doc) and not re.search(rf"\b{name}[.(]", module_examples)
    ]
    assert not missing, f"no runnable example (own, module's, or pointed to) for: {', '.join(missing)}"


def test_the_check_sees_the_public_api():
    seen = {where for where, *_ in _public_objects()}
    assert {
        "harmsim.analysis.backtest.backtest",
        "harmsim.model.scenario.Scenario",
        "harmsim.errors.ConfigError",
        "harmsim.calibrate.likelihood.history",  # defined in a private part of its package
        "harmsim.calibrate.likelihood.shared_posterior_draws",
    } <= seen
    assert len(seen) > 150
