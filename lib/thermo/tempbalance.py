"""TempBalance (Zhou et al., 2023): layer-wise learning rates from the spectra of the weights.

Chapters: notebooks/tempbalance/01-esd-and-hill.ipynb (the map, eq. 2) and
notebooks/tempbalance/02-training-with-tempbalance.ipynb (the scheduler and its baselines).

- :func:`layer_lr_scales` eq. (2): each layer's factor on the base learning rate, linear in its
  metric between ``s1`` (smallest metric) and ``s2`` (largest).
- :class:`TempBalance` the scheduler, a ``thermo.train`` callback (Algorithm 1).
- :class:`SpectralNormRegularizer` the paper's SNR baseline (eq. 4), warm-started power iterations.
"""

from __future__ import annotations

import numpy as np

from thermo.errors import ConfigError
from thermo.train import Callback

METRICS = ("alpha_hill", "spectral_norm", "alpha_weighted", "alpha_excess")
BN_RULES = ("name", "order")


def check_scales(s1: float, s2: float, allow_asymmetric: bool = False) -> None:
    """The paper only uses ``s1 < s2`` with ``(s1 + s2) / 2 == 1`` (e.g. 0.5/1.5, 0.8/1.2)."""
    if not 0 < s1 < s2:
        raise ConfigError(f"need 0 < s1 < s2 for the LR scaling range, got s1={s1}, s2={s2}")
    if not allow_asymmetric and abs((s1 + s2) / 2 - 1) > 1e-9:
        raise ConfigError(
            f"(s1 + s2) / 2 must be 1 so the mean LR stays the base LR, got {(s1 + s2) / 2:g}; "
            "pass allow_asymmetric=True to use this range anyway"
        )


def layer_lr_scales(alphas, s1: float = 0.5, s2: float = 1.5, allow_asymmetric: bool = False) -> np.ndarray:
    """Eq. (2): each layer's LR factor, linear in its alpha between ``s1`` (smallest alpha, the
    most heavy-tailed layer) and ``s2`` (largest alpha). Multiply by the base LR ``eta_t``.

    Invariant to any rescaling ``alpha -> c * alpha + d`` with ``c > 0``: only the layers' ranks
    and relative gaps matter. If all alphas are equal every layer gets ``(s1 + s2) / 2``.
    """
    check_scales(s1, s2, allow_asymmetric)
    a = np.asarray(alphas, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ConfigError("alphas must be a non-empty 1-D sequence (one per layer)")
    if not np.all(np.isfinite(a)):
        raise ConfigError("alphas contain NaN or inf: exclude layers whose alpha could not be fitted")
    span = a.max() - a.min()
    if span == 0:
        return np.full_like(a, (s1 + s2) / 2)
    return (a - a.min()) / span * (s2 - s1) + s1


def n_eigs(weight_shape) -> int:
    """How many eigenvalues a layer's ESD has (``htsr.esd`` convention): min(out, in) for a linear
    layer, kh * kw * min(out, in) for a conv (one matrix per spatial position)."""
    out, inp, *kernel = weight_shape
    return int(np.prod(kernel, dtype=int)) * min(out, inp)


class TempBalance(Callback):
    """Algorithm 1 of TempBalance as a ``thermo.train`` callback.

    Which layers are tuned (the official ``tempbalance.py``'s conventions, so numbers compare):
    every Conv2d/Linear in registration order, minus the first and the last, minus any layer whose
    ESD has fewer than ``min_eigs`` (50) eigenvalues: their Hill estimates are meaningless (the
    official code once returned infinite alphas for them, and the authors' tracker reports lower
    accuracy when they are balanced). A tuned layer's bias goes with it. A BatchNorm goes with a
    conv: with ``bn_rule="name"`` (the official default) when its name is the conv's with ``conv``
    replaced by ``bn`` (``layer1.0.bn1`` -> ``layer1.0.conv1``): shortcut BatchNorms and those of a
    plain ``nn.Sequential`` (VGG) then keep the base LR, as in the official code; with
    ``bn_rule="order"`` a BatchNorm follows the conv registered just before it. Everything else
    (first and last layer, small layers, their BatchNorms) stays at the base LR.

    Use: ``tb = TempBalance(model)``; ``opt = train.make_optimizer(tb.param_groups(wd), cfg)``;
    ``train.fit(..., callbacks=[tb], optimizer=opt)``. Each tuned group's ``lr_scale`` is set at
    the start of training and after every epoch (the official order: the metric at the start of an
    epoch sets that epoch's rates), or every ``every`` optimizer steps if ``every`` is an integer.
    The loop multiplies ``lr_scale`` by the base schedule, so TempBalance composes with any. A
    resumed run starts with the factors saved in the checkpoint, not ones recomputed from the
    resumed weights, so it continues exactly like an uninterrupted run.

    ``metric``: ``alpha_hill`` (PL_Alpha_Hill, eq. 3 with ``xmin_rule``), ``spectral_norm`` (the
    largest eigenvalue of W^T W) or ``alpha_weighted`` (alpha * log10 spectral norm), the Fig. 7
    ablation; or ``alpha_excess`` (not in the paper): PL_Alpha_Hill minus the random-matrix
    baseline of the layer's shape (:func:`thermo.htsr.random_alpha`), so that layers are ranked by
    how far training moved their spectra rather than partly by their aspect ratios.
    Larger metric -> larger factor, for every metric (as in the official linear map).
    """

    def __init__(self, model, s1: float = 0.5, s2: float = 1.5, metric: str = "alpha_hill",
                 xmin_rule: str = "eq3", every="epoch", min_eigs: int = 50, bn_rule: str = "name",
                 conv_norm: float = 0.5, allow_asymmetric: bool = False):
        from thermo import htsr

        check_scales(s1, s2, allow_asymmetric)
        if metric not in METRICS:
            raise ConfigError(f"metric must be one of {METRICS}, got {metric!r}")
        if xmin_rule not in htsr.XMIN_RULES:
            raise ConfigError(f"xmin_rule must be one of {htsr.XMIN_RULES}, got {xmin_rule!r}")
        if every != "epoch" and not (isinstance(every, int) and not isinstance(every, bool) and every >= 1):
            raise ConfigError(f"every must be 'epoch' or a positive number of steps, got {every!r}")
        if bn_rule not in BN_RULES:
            raise ConfigError(f"bn_rule must be one of {BN_RULES}, got {bn_rule!r}")
        self.model, self.s1, self.s2, self.metric = model, s1, s2, metric
        self.xmin_rule, self.every, self.min_eigs, self.bn_rule = xmin_rule, every, min_eigs, bn_rule
        self.conv_norm, self.allow_asymmetric = conv_norm, allow_asymmetric
        self.tuned = self.select_layers()
        if not self.tuned:
            raise ConfigError(
                f"TempBalance found no layer to tune in {type(model).__name__}: it leaves out the first and the "
                f"last Conv2d/Linear layer and every layer with fewer than {min_eigs} eigenvalues"
            )
        self.batchnorms = self.match_batchnorms()
        self.last: dict = {}  # {"metric": {layer: value}, "scale": {layer: factor}} of the last balancing
        self.restored = False  # state loaded from a checkpoint, not yet applied

    # --- which parameters go where ----------------------------------------------------------------
    def select_layers(self) -> list[str]:
        from thermo import htsr

        layers = htsr.weight_layers(self.model)[1:-1]
        return [name for name, m in layers if n_eigs(m.weight.shape) >= self.min_eigs]

    def match_batchnorms(self) -> dict[str, str]:
        """{batchnorm name: the tuned conv it follows}."""
        import torch

        out, previous_conv = {}, None
        modules = dict(self.model.named_modules())
        for name, m in self.model.named_modules():
            if isinstance(m, torch.nn.Conv2d):
                previous_conv = name
            elif isinstance(m, torch.nn.BatchNorm2d):
                if self.bn_rule == "name":
                    conv = name.replace("bn", "conv")
                    partner = conv if conv != name and isinstance(modules.get(conv), torch.nn.Conv2d) else None
                else:
                    partner = previous_conv
                if partner in self.tuned:
                    out[name] = partner
                previous_conv = None if self.bn_rule == "order" else previous_conv
        return out

    def param_groups(self, weight_decay: float = 0.0) -> list[dict]:
        """One optimizer group per tuned layer (its weight and bias, and its BatchNorm's), named by
        the layer, plus one group ``"untuned"`` for every other parameter. Each has ``lr_scale``."""
        modules = dict(self.model.named_modules())
        groups, taken = [], set()
        for name in self.tuned:
            params = list(modules[name].parameters())
            params += [p for bn, conv in self.batchnorms.items() if conv == name for p in modules[bn].parameters()]
            taken |= {id(p) for p in params}
            groups.append({"params": params, "name": name, "lr_scale": 1.0, "weight_decay": weight_decay})
        rest = [p for p in self.model.parameters() if id(p) not in taken]
        groups.append({"params": rest, "name": "untuned", "lr_scale": 1.0, "weight_decay": weight_decay})
        return groups

    def plan(self) -> list[dict]:
        """Every Conv2d/Linear layer, in order: weight shape, number of eigenvalues, whether it is
        tuned (or why not), the BatchNorms that follow it, and for tuned layers the metric now and
        the factor eq. (2) gives it."""
        from thermo import htsr

        scales = self.scales()
        layers = htsr.weight_layers(self.model)
        rows = []
        for i, (name, m) in enumerate(layers):
            k = n_eigs(m.weight.shape)
            reason = ("first layer" if i == 0 else "last layer" if i == len(layers) - 1
                      else f"fewer than {self.min_eigs} eigenvalues" if k < self.min_eigs else "")
            rows.append({"layer": name, "shape": tuple(m.weight.shape), "eigenvalues": k, "tuned": name in scales,
                         "why not": reason, "batchnorms": [bn for bn, c in self.batchnorms.items() if c == name],
                         self.metric: self.last["metric"].get(name), "factor": scales.get(name)})
        return rows

    # --- the metric and eq. 2 ---------------------------------------------------------------------
    def metrics(self) -> dict[str, float]:
        """The metric of every tuned layer now (one batched eigensolve per weight shape)."""
        from thermo import htsr

        recs = htsr.layer_metrics(self.model, conv_norm=self.conv_norm, xmin_rule=self.xmin_rule, names=self.tuned)
        if self.metric == "alpha_excess":  # alpha beyond what a random matrix of the same shape scores
            return {r["name"]: r["alpha_hill"] - htsr.random_alpha(tuple(r["shape"]), xmin_rule=self.xmin_rule)
                    for r in recs}
        return {r["name"]: r[self.metric] for r in recs}

    def scales(self) -> dict[str, float]:
        """{tuned layer: its factor on the base LR}, eq. (2) applied to :meth:`metrics`."""
        m = self.metrics()
        names = [n for n in self.tuned if n in m]
        values = layer_lr_scales([m[n] for n in names], self.s1, self.s2, self.allow_asymmetric)
        self.last = {"metric": {n: float(m[n]) for n in names}, "scale": dict(zip(names, map(float, values)))}
        return self.last["scale"]

    def apply(self, optimizer) -> dict[str, float]:
        scales = self.scales()
        self.set_scales(optimizer, scales)
        return scales

    # --- as a training callback -------------------------------------------------------------------
    def set_scales(self, optimizer, scales: dict[str, float]) -> None:
        for group in optimizer.param_groups:
            if group.get("name") in scales:
                group["lr_scale"] = scales[group["name"]]

    def on_train_start(self, state) -> None:
        if self.restored:  # a resumed run keeps the factors in force when it stopped (from older weights
            self.restored = False  # when every N steps): recomputing them would change the rest of the run
            self.set_scales(state.optimizer, self.last.get("scale", {}))
        else:
            self.apply(state.optimizer)

    def after_optimizer_step(self, state, batch, loss: float) -> None:
        if self.every != "epoch" and state.step % self.every == 0:
            self.apply(state.optimizer)

    def on_epoch_end(self, state) -> None:
        if self.every == "epoch":
            self.apply(state.optimizer)
        state.log_epoch("tb_metric", dict(self.last.get("metric", {})))
        state.log_epoch("tb_scale", dict(self.last.get("scale", {})))

    def state_dict(self) -> dict:
        return {"last": {k: dict(v) for k, v in self.last.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.last = {k: dict(v) for k, v in state["last"].items()}
        self.restored = True


class SpectralNormRegularizer(Callback):
    """Spectral-norm regularization (SNR), eq. (4) of TempBalance, Yoshida and Miyato (2017).

    Adds the gradient of ``(lambda_sr / 2) sigma_1(W)^2``, which is ``lambda_sr sigma_1 u v^T``
    (u, v the top singular vectors), to every weight with more than one dimension, viewed as
    (out, -1), after the backward pass and before the optimizer step. sigma_1, u, v come from power
    iterations. The official code runs 5 from a fresh random vector every step; here ``v`` is kept
    from the previous step (``warm_start``), so ``iterations=1`` tracks the top pair as the weights
    move slowly (``benchmarks`` and the tests compare both with the exact SVD).
    Usable alone or together with :class:`TempBalance`.
    """

    def __init__(self, model, lambda_sr: float, iterations: int = 1, warm_start: bool = True, seed: int = 0):
        import torch

        if not (isinstance(lambda_sr, (int, float)) and np.isfinite(lambda_sr) and lambda_sr >= 0):
            raise ConfigError(f"lambda_sr must be a non-negative number, got {lambda_sr!r}")
        if not (isinstance(iterations, int) and iterations >= 1):
            raise ConfigError(f"iterations must be a positive integer, got {iterations!r}")
        self.model, self.lambda_sr, self.iterations, self.warm_start = model, float(lambda_sr), iterations, warm_start
        self.generator = torch.Generator().manual_seed(seed)
        self.params = [(n, p) for n, p in model.named_parameters() if p.ndim > 1]
        self.v: dict[str, object] = {}
        self.sigma: dict[str, float] = {}

    def top_singular(self, name: str, w):
        """(sigma_1, u, v) of the matrix ``w`` by power iteration (warm-started from the last v)."""
        import torch

        with torch.no_grad():
            v = self.v.get(name) if self.warm_start else None
            if v is not None:
                v = v.to(w)
            if v is None or v.shape[0] != w.shape[1]:
                v = torch.randn(w.shape[1], generator=self.generator).to(w)
                v = v / v.norm()
            for _ in range(self.iterations):
                u = w @ v
                u = u / (u.norm() + 1e-12)
                v = w.T @ u
                sigma = v.norm()
                v = v / (sigma + 1e-12)
            self.v[name] = v
        return float(sigma), u, v

    def before_optimizer_step(self, state, batch) -> None:
        if self.lambda_sr == 0:
            return
        for name, p in self.params:
            if p.grad is None:
                continue
            w = p.detach().reshape(p.shape[0], -1)
            sigma, u, v = self.top_singular(name, w)
            self.sigma[name] = sigma
            p.grad.add_((self.lambda_sr * sigma * u.outer(v)).reshape(p.shape))

    def state_dict(self) -> dict:
        return {"v": {k: v.cpu() for k, v in self.v.items()}, "generator": self.generator.get_state(),
                "sigma": dict(self.sigma)}

    def load_state_dict(self, state: dict) -> None:
        self.v = dict(state["v"])
        self.generator.set_state(state["generator"].cpu())
        self.sigma = dict(state.get("sigma", {}))

