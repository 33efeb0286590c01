"""One network, four thermometers: chapter ``notebooks/synthesis/01-four-thermometers``, the last
part of the book, which reads the temperatures of all four papers in the same training runs.

TempBalance's layer-wise PL_Alpha_Hill and its random-matrix baseline, ActCoolR's activation
pattern temperature, the Temperature-check paper's logit scale beta * ||z|| and effective learning
rate eta * beta^2, and the L2 paper's physical time eta * lambda * t with the running time-to-peak of
the test accuracy, read by one set of callbacks (``thermometers``) in runs under cosine annealing,
TempBalance, ActCoolLR and AutoL2. Modules: ``configs`` (grids) -> ``runs`` (experiments) ->
``analysis`` (tables, facts and estimates) -> ``plots`` and ``claims``. Importing the package
registers the experiments (and the claims, once the book lists "ours" as a source of claims).
"""

from thermo.papers.synthesis import claims, runs  # noqa: F401  (registers the experiments and claims)
