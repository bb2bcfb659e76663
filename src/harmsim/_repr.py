"""Short text and HTML representations for notebooks: what an object is, in a few facts.

A result's tables and a scenario's arrays are large; a notebook cell that
ends with one should show what it is, not flood. Each public result class
defines ``__repr__`` with :func:`text` and ``_repr_html_`` with :func:`html`.

>>> text("Run", {"scenario": "baseline", "seed": 1})
"Run(scenario='baseline', seed=1)"
>>> "<table" in html("Run", {"scenario": "baseline"})
True
"""

from __future__ import annotations

from html import escape


def text(kind: str, facts: dict) -> str:
    """``Kind(key=value, ...)``, strings quoted."""
    return f"{kind}(" + ", ".join(f"{k}={v!r}" for k, v in facts.items()) + ")"


def html(kind: str, facts: dict, note: str = "") -> str:
    """A small two-column table headed by ``kind``."""
    rows = "".join(
        f"<tr><th style='text-align:left;padding-right:1em'>{escape(str(k))}</th>"
        f"<td style='text-align:left'>{escape(str(v))}</td></tr>"
        for k, v in facts.items()
    )
    foot = f"<p style='margin:0.2em 0'>{escape(note)}</p>" if note else ""
    return f"<div><strong>{escape(kind)}</strong><table>{rows}</table>{foot}</div>"
