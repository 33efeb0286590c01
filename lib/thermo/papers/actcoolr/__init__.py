"""ActCoolR (an anonymous submission, cited as ``actcoolr``): chapter
``notebooks/actcoolr/01-activation-pattern-temperature``.

The activation pattern temperature (ActCoolR's eqs. 1-4) under LR schedules (its Fig. 1), the LR
range and its erf model (its eq. 5 and Fig. 2), ActCoolLR following cooling curves (its eqs. 6-8,
Fig. 3 and Table 2) and the Fashion-MNIST row of its Table 1, with the constant LR tuned on a
validation split (``ac-table1-const-tune``, then ``ac-table1-const-best``) for a fair comparison.
Modules: ``configs`` (grids) -> ``runs`` (experiments) -> ``analysis`` (tables, facts and
estimates) -> ``plots`` and ``claims``. Importing the package registers the experiments and the
claims.
"""

from thermo.papers.actcoolr import claims, runs  # noqa: F401  (registers the experiments and claims)
