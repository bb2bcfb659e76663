"""A release names one version everywhere: the package's metadata (which every result's provenance records),
CITATION.cff (which users cite) and the newest numbered section of CHANGELOG.md, with one release date."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import harmsim

ROOT = Path(__file__).resolve().parents[1]


def _changelog_releases() -> list[tuple[str, str | None]]:
    """The numbered sections of CHANGELOG.md, newest first, as (version, date or None)."""
    text = (ROOT / "CHANGELOG.md").read_text()
    heads = re.findall(r"^## (\d+\.\d+\.\d+)(?: \((\d{4}-\d{2}-\d{2})\))?\s*$", text, re.M)
    return [(v, d or None) for v, d in heads]


def _citation(key: str) -> str | None:
    m = re.search(rf"^{key}:\s*(\S+)\s*$", (ROOT / "CITATION.cff").read_text(), re.M)
    return m.group(1).strip("'\"") if m else None


def test_one_version_in_the_metadata_the_citation_and_the_changelog():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    releases = _changelog_releases()
    assert releases, "CHANGELOG.md has no numbered release section"
    newest, released_on = releases[0]
    assert newest == declared, f"pyproject.toml says {declared}, CHANGELOG.md's newest release is {newest}"
    assert _citation("version") == declared, f"CITATION.cff cites {_citation('version')}, the package is {declared}"
    if released_on is not None:
        assert _citation("date-released") == released_on, "CITATION.cff's date-released is not CHANGELOG.md's"
    assert harmsim.__version__ == declared, (
        f"the installed metadata says {harmsim.__version__}, pyproject.toml {declared}: results would record the "
        "wrong version (install the checkout again: pip install -e .)"
    )


def test_releases_are_listed_newest_first_each_once():
    versions = [tuple(int(x) for x in v.split(".")) for v, _ in _changelog_releases()]
    assert versions == sorted(set(versions), reverse=True)
