"""TempBalance (Zhou et al., 2023): chapters ``notebooks/tempbalance/01-esd-and-hill`` (ESDs, the
Hill estimator of the paper's eq. 3, eq. 2's scale invariance, Fig. 9 and a Fig. 1 analogue) and
``notebooks/tempbalance/02-training-with-tempbalance`` (Section 4: Table 1 and Figs. 3, 5-7, 10-11,
and the cost of balancing). Modules: ``configs`` (grids) -> ``runs`` (experiments) -> ``analysis``
(tables and facts) -> ``plots`` and ``claims``. Importing the package registers the experiments and
the claims.
"""

from thermo.papers.tempbalance import claims, runs  # noqa: F401  (registers the experiments and claims)
