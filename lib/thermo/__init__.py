"""thermo: the shared library of thermo-book.

One module per idea (see DESIGN.md section 6):

- :mod:`thermo.profiles`  smoke / quick / paper run sizes, ``thermo.profile()``
- :mod:`thermo.data`      offline datasets and the torchvision loaders for the online ones
- :mod:`thermo.models`    MLP, ConvNet, CIFAR ResNet, VGG, WRN (torch)
- :mod:`thermo.train`     one training loop with callbacks, checkpoints and divergence detection
- :mod:`thermo.results`   the JSON results store with provenance
- :mod:`thermo.figures`   one figure style; PNG + PDF + CSV with a caption built from the run
- :mod:`thermo.htsr`      empirical spectral densities and the Hill estimator (TempBalance)
- :mod:`thermo.tempbalance` the layer-wise learning-rate map of TempBalance (eq. 2)
- :mod:`thermo.experiments` one function per figure family, configs per profile
- :mod:`thermo.sweep`     running an experiment's points (processes, submitit); ``python -m thermo``
- :mod:`thermo.plots`     the chapters' plotting helpers
- :mod:`thermo.nt_compat` importing neural-tangents without TensorFlow (JAX, lazily)

Heavy dependencies (torch, jax) are imported by the modules that need them, never here.
"""

from thermo.profiles import PROFILES, profile

__all__ = ["PROFILES", "profile"]
__version__ = "0.1.0"
