"""Claims of the chapters that are not written yet, registered without a ``measure`` so the
reproduction report lists them as ``not yet tested``. When a chapter lands, its experiment module
registers the same id with a measure (which replaces the entry here) and the row moves here from
"planned" to "tested". Values and rules come from the open chapter issues.

Every chapter's claims are measured now, so the list is empty; a new chapter starts its claims here.
"""

from __future__ import annotations

from thermo.claims import Claim, register

PLANNED: list[Claim] = []

for _claim in PLANNED:
    register(_claim)
