"""Regenerate docs/dashboard.png: the baseline's dashboard after eight years, in Chromium.

    python scripts/make_dashboard_screenshot.py [--scenario baseline] [--out docs/dashboard.png] [--seed 3]
        [--years 8]

(docs/dashboard_world.png: --scenario world_baseline --years 13 --out docs/dashboard_world.png.)

Needs the viz and test extras and Chromium (scripts/install_browser.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "dashboard.png")
    ap.add_argument("--seed", default="3")
    ap.add_argument("--years", type=int, default=8)
    a = ap.parse_args(argv)
    from harmsim import load_scenario

    start = load_scenario(a.scenario).start
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-c", "import sys; from harmsim.cli import main; sys.exit(main())"]
    server = subprocess.Popen([*cmd, "dashboard", a.scenario, "--port", str(port)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.2)
        chromium = os.environ.get("HARMSIM_CHROMIUM") or shutil.which("chromium")
        with sync_playwright() as p:
            args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=args)
            page = browser.new_page(viewport={"width": 1600, "height": 1100}, device_scale_factor=1)
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("button", name="Step").wait_for(timeout=60_000)
            seed = page.get_by_label("seed (empty: a new one at each Reset)")
            seed.fill(a.seed)
            seed.press("Enter")
            page.get_by_role("button", name="Reset").click()
            page.get_by_text(f"seed {a.seed} ").wait_for(timeout=30_000)
            for year in range(start, start + a.years):
                page.get_by_role("button", name="Step").click()
                page.get_by_text(f"{year} ·").first.wait_for(timeout=30_000)
            time.sleep(1.0)  # the images of the last step
            page.screenshot(path=str(a.out))
            browser.close()
    finally:
        server.terminate()
        server.wait()
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
