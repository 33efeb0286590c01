"""Claims of the chapters that are not written yet, registered without a ``measure`` so the
reproduction report lists them as ``not yet tested``. When a chapter lands, its experiment module
registers the same id with a measure (which replaces the entry here) and the row moves here from
"planned" to "tested". Values and rules come from the open chapter issues.
"""

from __future__ import annotations

from thermo.claims import Claim, register, slope_rule

PLANNED = [
    Claim("tc-eta-star", "temperature-check", "Fig. 4",
          "The best learning rate scales as eta* ~ 1/beta", "slope -1 on log-log axes", slope_rule(-1.0, 0.3)),
    Claim("tc-tau-nl", "temperature-check", "Fig. 3, eq. 9",
          "The non-linear timescale in units of the effective LR scales as tau_nl * eta_tilde ~ beta",
          "slope 1 on log-log axes", slope_rule(1.0, 0.1)),
]

for _claim in PLANNED:
    register(_claim)
