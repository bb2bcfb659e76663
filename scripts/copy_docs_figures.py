"""Copy the figures the README, docs/forecasting.md and docs/regions.md show from the jobs that draw them.

The figures are drawn by the commands of ``python scripts/docs_numbers.py --only docs-figures`` (after the
job ``forecasts``, whose fit of the baseline they use) and ``--only world-misses`` (after ``world-fit``); this
step puts each where the documents show it, so a figure is never older than the code that draws it. A figure
larger than 500 kB (a map of many coloured countries) is stored with a palette of 256 colours, which a reader
does not see and which keeps the repository small. Run from the repository's root.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "docs"

#: where each figure is shown -> the file a docs_numbers command wrote
FIGURES = {
    "docs/baseline_cumulative.png": "docs-figures/baseline/cumulative.png",
    "docs/baseline_timeline.png": "docs-figures/baseline/timeline.png",
    "docs/forecast_fan.png": "forecasts/baseline/fan.png",
    "docs/counterfactual_no_2004.png": "docs-figures/no2004/differences.png",
    "docs/world_organizations.png": "docs-figures/world/organizations.png",
    "docs/world_map_tip_law.png": "docs-figures/world/map_tip_law.png",
    "docs/world_misses.png": "world-misses/map.png",
}
#: bytes above which a figure is stored with a palette
LARGE = 500_000


def main() -> int:
    missing = [made for made in FIGURES.values() if not (OUT / made).is_file()]
    if missing:
        jobs = "forecasts, docs-figures and world-misses"
        print(f"not drawn yet: {', '.join(missing)} (run the docs_numbers jobs {jobs} first)")
        return 1
    for shown, made in FIGURES.items():
        if (OUT / made).stat().st_size > LARGE:
            from PIL import Image

            with Image.open(OUT / made) as image:
                image.convert("RGB").quantize(colors=256).save(ROOT / shown, optimize=True)
            print(f"{shown} <- out/docs/{made} (256 colours)")
            continue
        shutil.copyfile(OUT / made, ROOT / shown)
        print(f"{shown} <- out/docs/{made}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
