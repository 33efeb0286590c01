"""Claims of the chapters that are not written yet, registered without a ``measure`` so the
reproduction report lists them as ``not yet tested``. When a chapter lands, its experiment module
registers the same id with a measure (which replaces the entry here) and the row moves here from
"planned" to "tested". Values and rules come from the open chapter issues.
"""

from __future__ import annotations

from thermo.claims import Claim, at_least, at_most, register, slope_rule, within

PLANNED = [
    Claim("ac-onecycle-linear", "actcoolr", "Fig. 1",
          "Under the 1-cycle schedule the activation pattern temperature cools about linearly in its decay phase",
          "linear by eye", at_least(0.9, 0.7, "R^2 of a line")),
    Claim("ac-erf-fit", "actcoolr", "Eq. 5, Fig. 2",
          "The probability that a pattern changes over the LR range follows a normal CDF in log LR (erf model)",
          "close fit by eye", at_least(0.98, 0.9, "median R^2 over layers and epochs")),
    Claim("ac-sigma-const", "actcoolr", "Sec. 3.3, Fig. 2",
          "The erf model's width sigma stays nearly constant over training", "nearly constant",
          at_most(0.2, 0.4, "coefficient of variation of sigma", "%")),
    Claim("ac-tracks-target", "actcoolr", "Fig. 3",
          "ActCoolLR makes the measured temperature follow its target cooling curve", "close by eye",
          at_most(0.15, 0.3, "mean absolute relative deviation after warm-up", "%")),
    Claim("ac-fmnist-table1", "actcoolr", "Table 1",
          "On Fashion-MNIST, ActCoolLR reaches the test error of the best constant LR",
          "7.29 % vs 6.95 % (200 epochs)", within(0.0, 0.01, "error difference", "pt")),
    Claim("tc-eta-star", "temperature-check", "Fig. 4",
          "The best learning rate scales as eta* ~ 1/beta", "slope -1 on log-log axes", slope_rule(-1.0, 0.3)),
    Claim("tc-tau-nl", "temperature-check", "Fig. 3, eq. 9",
          "The non-linear timescale in units of the effective LR scales as tau_nl * eta_tilde ~ beta",
          "slope 1 on log-log axes", slope_rule(1.0, 0.1)),
]

for _claim in PLANNED:
    register(_claim)
