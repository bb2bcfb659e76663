"""The README's and the guides' examples work as printed: a reader copies them first.

Every ``harmsim`` line of a fenced shell block is one the command line accepts, naming shipped scenarios and
files the repository holds; the Python blocks of each page run in order in one fresh interpreter, from a
folder like a checkout's (its ``scenarios`` and ``experiments`` beside it), as a reader pasting them would.
A block that cannot run as it stands is listed in ``NOT_RUN`` with the reason, so a new block runs by default.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

import harmsim
from harmsim.cli import _parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHIPPED = {name for name, _ in harmsim.list_scenarios()}
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

#: (page, index of its Python block) -> why it is not run
NOT_RUN = {
    ("contributing.md", 0): "a mechanism's module for the reader to save, registered by the guide's next steps",
    ("contributing.md", 1): "functions for the reader's own module, defined, not called",
    ("contributing.md", 2): "lines to add to the command line's modules, shown in three places of them",
    ("dashboard.md", 0): "an app file for `solara run`, which serves it (tests/test_dashboard.py drives the page)",
    ("engines.md", 2): "the same call for Mesa 3.3 and for 3.4 and newer: one of the two fails on either",
    ("sweeps.md", 0): "a fragment: `points_df` is the reader's own design",
}
#: pages whose Python blocks take long enough to be left to the slow profile
SLOW = {"calibration.md"}
#: what a page's prose asks the reader to run before its Python blocks
BEFORE = {"forecasting.md": ["harmsim calibrate baseline --out fits/baseline"]}


def _blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(page.read_text(encoding="utf-8")) if lang == language]


def _shell_commands():
    for page in PAGES:
        for body in _blocks(page, "bash"):
            for line in body.replace("\\\n", " ").splitlines():
                for part in re.split(r"&&|;", line):
                    command = part.split(" #")[0].strip()
                    if command.startswith("harmsim "):
                        yield pytest.param(command, id=f"{page.name}: {command[:60]}")


@pytest.mark.parametrize("command", list(_shell_commands()))
def test_every_printed_command_is_one_the_command_line_accepts(command):
    argv = shlex.split(command)[1:]
    args = _parser().parse_args(argv)  # an unknown option or a missing argument exits here, failing the test
    for name in getattr(args, "scenarios", None) or [getattr(args, "scenario", None)]:
        if name is not None:
            assert name in SHIPPED or (ROOT / name).is_file(), f"{command}: no scenario {name!r}"
    change = getattr(args, "change", None)
    assert change is None or (ROOT / change).is_file(), f"{command}: no file {change!r}"


def test_the_check_sees_the_printed_commands():
    commands = [p.values[0] for p in _shell_commands()]
    assert len(commands) > 50
    assert any(c.startswith("harmsim bindingness world_baseline") for c in commands)
    assert "harmsim compare scenarios/baseline.toml" in commands  # the README's main command


def _python_pages():
    for page in PAGES:
        run = [body for i, body in enumerate(_blocks(page, "python")) if (page.name, i) not in NOT_RUN]
        if run:
            marks = [pytest.mark.slow] if page.name in SLOW else []
            yield pytest.param(page, run, id=page.name, marks=marks)


@pytest.mark.parametrize(("page", "blocks"), list(_python_pages()))
def test_every_python_example_runs_as_printed(page, blocks, tmp_path):
    for name in ("scenarios", "experiments"):
        (tmp_path / name).symlink_to(ROOT / name, target_is_directory=True)
    env = {**os.environ, "MPLBACKEND": "Agg", "HARMSIM_PROGRESS": "0"}
    for command in BEFORE.get(page.name, []):
        call = f"from harmsim.cli import main; raise SystemExit(main({shlex.split(command)[1:]!r}))"
        done = subprocess.run([sys.executable, "-c", call], cwd=tmp_path, env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
    # one script, as a reader pasting the blocks in order; guarded, since some start worker processes (spawn)
    body = "\n".join(blocks).replace("\n", "\n    ")
    script = tmp_path / "example.py"
    script.write_text(f"import harmsim\n\nif __name__ == '__main__':\n    {body}\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, timeout=600)
    assert done.returncode == 0, f"{page.name}'s examples fail:\n{done.stderr.decode()[-3000:]}"


def test_every_block_left_out_exists():
    """A block listed as not run is one the page still has: a stale entry would leave a new block unrun."""
    for (name, index), _ in NOT_RUN.items():
        page = next(p for p in PAGES if p.name == name)
        assert index < len(_blocks(page, "python")), (name, index)
