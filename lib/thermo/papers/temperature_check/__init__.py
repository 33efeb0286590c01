"""Temperature check (Agarwala, Pennington, Dauphin, Schoenholz, 2020): the chapter
``notebooks/temperature-check/01-softmax-temperature``.

The softmax inverse temperature beta, the collapse of the linearized model onto eta * beta^2 (the
paper's Fig. 1, eq. 5), the timescales tau_z (eq. 7, Fig. 2) and tau_nl (eq. 9, Fig. 3), eta* ~ 1/beta
(Fig. 4), the (beta, ||Z0||) phase plane (Fig. 5), tuning beta (Sec. 3.4, Fig. 6), tau_z against the
infinite-width kernel (Fig. 7, App. C) and the conditioning of the linearized dynamics (App. A.3).

``configs`` (grids) -> ``runs`` (experiments, on the data and networks of ``networks``) ->
``analysis`` (tables and facts) -> ``plots`` and ``claims``. Importing the package registers the
experiments and claims.
"""

from . import claims, runs  # noqa: F401  (registers the experiments and claims)
