"""Dashboard speed in a real browser: time to a ready page and to a year's step, against a minimal Mesa page.

    python benchmarks/bench_dashboard.py [--repeats 5]

The dashboard is measured on the baseline (ten states, the network) and on world_baseline (188 states, the
world map).

Goals: the page ready within 5 s, a step under twice the minimal page's. "Ready" is from the browser's request
for the page to the adoption chart drawn (Mesa's controls shown and the chart's image loaded); a step is from a
click on Step to the chart of the next year. The baseline, served and measured the same way in the same run, is a
minimal Mesa model on Mesa's SolaraViz (ten agents, one matplotlib chart), so the ratio says what harmsim's page
adds to what any Mesa page costs. Needs the viz and test extras and Chromium (scripts/install_browser.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

MINIMAL = """
import mesa
import solara
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter


class Walker(mesa.Agent):
    def step(self):
        self.x = getattr(self, "x", 0) + self.model.rng.normal()


class Minimal(mesa.Model):
    def __init__(self, n=10, rng=None):
        super().__init__(rng=rng)
        Walker.create_agents(self, n)
        self.year = 1996

    def step(self):
        self.year += 1
        self.agents.do("step")


@solara.component
def Chart(model):
    update_counter.get()
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(range(10), [getattr(a, "x", 0) for a in model.agents])
    ax.set_title(f"Member states that have adopted each instrument: this run to {model.year}")
    solara.FigureMatplotlib(fig, format="svg")


model_params = {"n": {"type": "SliderInt", "value": 10, "min": 1, "max": 20, "step": 1, "label": "n"}}
Page = SolaraViz(Minimal(rng=1), components=[(Chart, 0)], model_params=model_params, name="minimal")
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(cmd, env, port, log) -> tuple[subprocess.Popen, float]:
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
            return proc, time.perf_counter() - t
        except OSError:
            if proc.poll() is not None or time.perf_counter() - t > 120:
                raise SystemExit("the server did not start") from None
            time.sleep(0.05)


def _chart_year(page) -> str:
    """The title of the chart drawn now (its text for readers, or its SVG text), or ''."""
    for img in page.locator("img").all():
        alt = img.get_attribute("alt") or ""
        if "this run to " in alt:
            i = alt.find("this run to ")
            return alt[i : i + 16]
        src = img.get_attribute("src") or ""
        if src.startswith(("blob:", "data:")):
            try:
                svg = page.evaluate("async (src) => await (await fetch(src)).text()", src)
            except PlaywrightError:  # the image was replaced while read: read the new one
                return ""
            i = svg.find("this run to ")
            if i >= 0:
                return svg[i : i + 16]
    return ""


def _measure(browser, url: str, repeats: int) -> tuple[list[float], list[float]]:
    ready, steps = [], []
    for _ in range(repeats):
        page = browser.new_page(viewport={"width": 1600, "height": 1100})
        t = time.perf_counter()
        page.goto(url)
        page.get_by_role("button", name="Step").wait_for(timeout=60_000)
        while not _chart_year(page):
            time.sleep(0.02)
        ready.append(time.perf_counter() - t)
        for _ in range(3):
            before = _chart_year(page)
            t = time.perf_counter()
            page.get_by_role("button", name="Step").click()
            while _chart_year(page) == before:
                time.sleep(0.02)
            steps.append(time.perf_counter() - t)
        page.close()
    return ready, steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args(argv)
    chromium = os.environ.get("HARMSIM_CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no Chromium: run scripts/install_browser.sh")
    env = {**os.environ, "SOLARA_CHECK_HOOKS": "off"}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        (Path(tmp) / "minimal.py").write_text(MINIMAL)
        log = open(Path(tmp) / "log", "w")
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"])
        results = {}
        harmsim = [sys.executable, "-c", "import sys; from harmsim.cli import main; sys.exit(main())"]
        for name, cmd in (
            ("minimal Mesa page", [sys.executable, "-m", "solara", "run", str(Path(tmp) / "minimal.py")]),
            ("harmsim dashboard", [*harmsim, "dashboard", "baseline"]),
            ("  on world_baseline", [*harmsim, "dashboard", "world_baseline"]),  # 188 states, the world map
        ):
            port = _port()
            if name != "minimal Mesa page":
                cmd = [*cmd, "--port", str(port)]
            else:
                cmd = [*cmd, "--port", str(port), "--production", "--no-open", "--log-level", "warning"]
            proc, started = _serve(cmd, env, port, log)
            try:
                _measure(browser, f"http://127.0.0.1:{port}/", 1)  # warm: imports, first figures, asset files
                ready, steps = _measure(browser, f"http://127.0.0.1:{port}/", a.repeats)
            finally:
                proc.terminate()
                proc.wait()
            results[name] = (started, statistics.median(ready), max(ready), statistics.median(steps))
        browser.close()
    print(f"{'':20s} {'server start':>13s} {'page ready (median)':>20s} {'(worst)':>8s} {'step (median)':>14s}")
    for name, (started, ready, worst, step) in results.items():
        print(f"{name:20s} {started:12.2f}s {ready:19.2f}s {worst:7.2f}s {step:13.2f}s")
    m = results["minimal Mesa page"]
    for name in ("harmsim dashboard", "  on world_baseline"):
        h = results[name]
        print(
            f"ratio {name.strip()} / minimal: page ready {h[1] / m[1]:.1f}x, step {h[3] / m[3]:.1f}x  "
            "(goals: ready < 5 s, step < 2x the minimal page's)"
        )


if __name__ == "__main__":
    main()
