"""The papers the book reproduces: their short names and BibTeX keys (``book/references.bib``).

Ground layer (DESIGN.md section 1): the registries, figures and report name a paper through this
table; the papers' own code lives in :mod:`thermo.papers`.
"""

from __future__ import annotations

PAPERS = {
    "tempbalance": ("TempBalance", "zhou2023tempbalance"),
    "actcoolr": ("ActCoolR", "actcoolr"),
    "temperature-check": ("Temperature check", "agarwala2020temperature"),
    "l2": ("L2 and the optimal learning rate", "lewkowycz2020l2"),
    "ours": ("This book", None),  # claims of the synthesis chapter: our own questions, no paper to cite
}
