"""Progress of long commands on stderr: a live bar on a terminal, a line every few seconds elsewhere.

A sweep, a sensitivity analysis or a calibration can run for many minutes under nohup or as a cluster job,
where stderr is a file. tqdm's default there is silence (its bar is for terminals). Here a file gets a plain
line every :data:`INTERVAL` seconds with the count done, the rate and the time left, as tqdm writes them, so
that a log says how far a job has come; a command that ends sooner writes none.

>>> import io
>>> log = io.StringIO()
>>> with bar(3, "demo", "point", stream=log, interval=0) as b:
...     _ = b.update(3)
>>> log.getvalue().splitlines()[-1].startswith("demo: 100%")
True
"""

from __future__ import annotations

import os
import sys

__all__ = ["INTERVAL", "bar"]

#: seconds between two progress lines when stderr is not a terminal
INTERVAL = 10.0


class _Lines:
    """A text stream that turns tqdm's carriage-return redraws into whole lines."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").rstrip("\n")
        if line.strip():
            self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def _log_bar():
    """tqdm for a log: nothing before its delay, not even on a refresh or at the end of a short task."""
    from tqdm import tqdm

    class LogBar(tqdm):
        def _early(self) -> bool:
            start = getattr(self, "start_t", None)  # refresh is called once before tqdm sets it
            return start is None or self._time() - start < self.delay

        def refresh(self, *args, **kwargs):
            if not self._early():
                return super().refresh(*args, **kwargs)

        def close(self):
            if self._early():
                self.leave = False
            super().close()

    return LogBar


def bar(total=None, desc: str = "", unit: str = "it", progress: bool | None = None, *, stream=None, interval=None,
        **kwargs):  # fmt: skip
    """A tqdm progress bar on ``stream`` (default stderr).

    ``progress``: None (the default) shows a bar on a terminal and a line every ``interval`` seconds (default
    :data:`INTERVAL`) on anything else (on stderr unless the environment sets ``HARMSIM_PROGRESS=0``); True
    shows it as on a terminal; False never shows it.
    """
    from tqdm import tqdm

    quiet = stream is None and os.environ.get("HARMSIM_PROGRESS") == "0"  # the lines on stderr, turned off
    stream = sys.stderr if stream is None else stream
    terminal = bool(getattr(stream, "isatty", lambda: False)())
    if progress is False or (progress is None and not terminal and quiet):
        return tqdm(total=total, desc=desc, unit=unit, disable=True, file=stream, **kwargs)
    if progress or terminal:
        return tqdm(total=total, desc=desc, unit=unit, disable=False, file=stream, **kwargs)
    kwargs.pop("leave", None)
    return _log_bar()(
        total=total,
        desc=desc,
        unit=unit,
        disable=False,
        file=_Lines(stream),
        mininterval=INTERVAL if interval is None else interval,
        delay=INTERVAL if interval is None else interval,  # nothing for commands shorter than that
        maxinterval=float("inf"),
        ascii=True,
        ncols=100,
        **kwargs,
    )
