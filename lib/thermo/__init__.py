"""thermo: the shared library of thermo-book (the map is DESIGN.md section 1; layers run one way).

Ground and core:

- :mod:`thermo.errors` / :mod:`thermo.paths` / :mod:`thermo.profiles` / :mod:`thermo.citations`
  errors with one message, where files live, smoke / quick / paper sizes, the four papers
- :mod:`thermo.data` / :mod:`thermo.models` / :mod:`thermo.stats` datasets (offline first), torch
  models, fits and intervals
- :mod:`thermo.results` the JSON results store: portable keys, provenance, trust no file
- :mod:`thermo.train` the one training loop (callbacks, exact resume, divergence recorded)

Instruments a reader imports into their own training:

- :mod:`thermo.htsr` ESDs and the Hill estimator; :mod:`thermo.tempbalance` TempBalance and SNR
- :mod:`thermo.apt` activation pattern temperature; :mod:`thermo.actcool` the ActCoolLR scheduler
- :mod:`thermo.softmax` the softmax temperature; :mod:`thermo.l2` the L2 clock and AutoL2
- :mod:`thermo.ntk` / :mod:`thermo.nt_compat` the JAX side (neural-tangents, imported lazily)

Registries, papers and the top:

- :mod:`thermo.experiments` / :mod:`thermo.claims` passive registries (and the one verdict policy);
  :mod:`thermo.figures` one figure style, publish, glue-and-print
- :mod:`thermo.papers` one package per paper: configs -> runs -> analysis -> {plots, claims}
- :mod:`thermo.catalog` imports every paper; :mod:`thermo.report` the reproduction report;
  :mod:`thermo.sweep` and ``python -m thermo`` run experiments; :mod:`thermo.sphinx_ext` the
  gallery and report pages; :mod:`thermo.colab` the chapters' install cell

Heavy dependencies (torch, jax) are imported by the modules that need them, never here.
"""

from thermo.profiles import PROFILES, profile

__all__ = ["PROFILES", "profile"]
__version__ = "0.1.0"
