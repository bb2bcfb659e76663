"""Progress of long commands when stderr is not a terminal (nohup, cluster jobs): lines, not silence."""

from __future__ import annotations

import io
import time

from harmsim._progress import bar


def test_a_line_every_interval_in_a_log_and_nothing_for_short_work(monkeypatch):
    """Before: sweep, sensitivity, calibrate and ABC wrote 0 bytes to a non-terminal stderr for up to 18 minutes."""
    monkeypatch.delenv("HARMSIM_PROGRESS", raising=False)
    log = io.StringIO()
    with bar(4, "sweep demo", "point", stream=log, interval=0.05) as b:
        for _ in range(4):
            time.sleep(0.06)
            b.update(1)
            b.set_postfix_str("log posterior -98.2")
    lines = log.getvalue().splitlines()
    assert len(lines) >= 2 and "\r" not in log.getvalue()
    assert lines[-1].startswith("sweep demo: 100%") and "4/4" in lines[-1]
    assert any("<" in line for line in lines)  # the time left
    quick = io.StringIO()
    with bar(4, "quick", "point", stream=quick, interval=5) as b:
        b.update(4)
        b.set_postfix_str("done")
    assert quick.getvalue() == ""


def test_progress_false_is_silent_and_a_terminal_gets_a_bar():
    log = io.StringIO()
    with bar(2, "off", "x", progress=False, stream=log) as b:
        b.update(2)
    assert log.getvalue() == ""

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    tty = Terminal()
    with bar(2, "on", "x", stream=tty) as b:
        b.update(2)
    assert "\r" in tty.getvalue()
