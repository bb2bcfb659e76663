"""The doctests' one condition: the dashboard's page and server need the ``viz`` extra.

Without Solara (the dependency-floor leg of CI installs no ``viz``) those two examples are skipped, saying why;
every other doctest runs everywhere.
"""

from __future__ import annotations

import importlib.util

import pytest

NEEDS_VIZ = ("harmsim.dashboard.make_page", "harmsim.dashboard.serve")


def pytest_collection_modifyitems(config, items):
    if importlib.util.find_spec("solara") is not None:
        return
    skip = pytest.mark.skip(reason="needs the dashboard's extra: pip install 'harmsim[viz]'")
    for item in items:
        if item.name in NEEDS_VIZ:
            item.add_marker(skip)
