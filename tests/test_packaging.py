"""The declared dependency floors are the versions a CI leg installs: floors that are tested, not guessed."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _release(text: str) -> tuple[int, ...]:
    parts = [int(x) for x in text.split(".")]
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def test_every_floor_is_pinned_in_the_floors_leg():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {}
    for dep in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?>=([0-9.]+)(?:,<[0-9.]+)?", dep.replace(" ", ""))
        assert m, f"dependency {dep!r} has no floor (>=)"
        floors[m.group(1).lower()] = _release(m.group(2))
    pins = {}
    for line in (ROOT / ".ci" / "floors.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = _release(version)
    assert set(pins) == set(floors)
    assert pins == floors
