"""scripts/mutations.py stays in step with the code it breaks: a mutation whose line moved is one that silently
checks nothing until someone runs the script (about six minutes), so the anchors are checked on every test run."""

from __future__ import annotations

import ast
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MUTATIONS = runpy.run_path(str(ROOT / "scripts" / "mutations.py"), run_name="mutations")["MUTATIONS"]


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_each_mutation_finds_its_line_once_and_names_tests_that_exist(name):
    """The line to mutate occurs exactly once in its file and the mutation changes it; every test it lists is a
    test function of the named file."""
    path, before, after, tests, why = MUTATIONS[name]
    text = (ROOT / "src" / "harmsim" / path).read_text()
    assert text.count(before) == 1, f"{name}: its line is found {text.count(before)} times in {path}"
    assert after != before and why
    for test in tests:
        file, _, function = test.partition("::")
        tree = ast.parse((ROOT / file).read_text())
        defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        assert function in defined, f"{name}: {test} is not a test function of {file}"
