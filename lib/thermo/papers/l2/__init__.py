"""L2 regularization and the optimal learning rate (Lewkowycz and Gur-Ari, 2020), chapter
``notebooks/l2-regularization/01-l2-and-the-learning-rate``: the law t* ~ c / (eta lambda)
(supplement Fig. 2) and the lambda for a budget (Figs. 1b, S3), AutoL2 (Algorithm 1, Figs. S9,
S11), a narrow network where the law fails (Fig. S7), and the kernel view (Theorem 1, eq. 1,
Fig. 5).

``configs`` (grids) -> ``runs`` (experiments) -> ``analysis`` (tables and facts) -> ``plots`` and
``claims``. Importing the package registers its experiments and claims.
"""

from thermo.papers.l2 import claims, runs  # noqa: F401  (registers the experiments and the claims)
