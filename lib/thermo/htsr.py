"""Heavy-tailed self-regularization (HT-SR): empirical spectral densities and the Hill estimator.

Chapter: notebooks/tempbalance/01-esd-and-hill.ipynb. Paper: TempBalance (Zhou et al., 2023).

- :func:`esd` the eigenvalues of ``W^T W`` for one layer (conv layers: the ``kh*kw`` slices of
  shape (out, in), scaled by ``sqrt(conv_norm)``, pooled, as in the official TempBalance and
  WeightWatcher code).
- :func:`alpha_hill` PL_Alpha_Hill, eq. (3) of the paper, with ``k = n // 2`` by default.
- :func:`layer_metrics` per-layer records for a whole torch model.
- :func:`powerlaw_eigs` / :func:`matrix_with_eigs` the synthetic spectra of App. A.2 (Fig. 9).

Speed: :func:`layer_metrics` computes each ESD from the Gram matrix of the smaller side with a
batched ``eigvalsh`` and groups layers of equal shape into one call; the official code calls
``svdvals`` on every layer. ``benchmarks/esd.py`` measures the two against each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from thermo.errors import ConfigError

XMIN_RULES = ("eq3", "official")
MIN_EIGS = 50


def _torch():
    import torch

    return torch


def conv_slices(weight, conv_norm: float = 0.5):
    """The matrices whose singular values make a layer's ESD, as a batch ``(b, out, in)``.

    Linear ``(out, in)`` -> one matrix. Conv ``(out, in, kh, kw)`` -> ``kh*kw`` matrices of shape
    ``(out, in)``, each multiplied by ``sqrt(conv_norm)`` (the official code's normalisation; its
    default 0.5 halves every eigenvalue, which leaves the Hill estimate unchanged).
    """
    torch = _torch()
    w = torch.as_tensor(weight).detach()
    if w.ndim == 2:
        return w.unsqueeze(0)
    if w.ndim < 2:
        raise ConfigError(f"a weight matrix needs at least 2 dimensions, got shape {tuple(w.shape)}")
    if conv_norm <= 0:
        raise ConfigError(f"conv_norm must be positive, got {conv_norm}")
    return torch.flatten(w, start_dim=2).permute(2, 0, 1) * math.sqrt(conv_norm)


def _gram_eigvals(batch):
    """Ascending eigenvalues of ``M^T M`` for each matrix of a batch ``(b, rows, cols)``.

    Uses the Gram matrix of the smaller side (same non-zero spectrum, ``min(rows, cols)`` values
    per matrix, like ``svdvals``) and clamps the round-off negatives of rank-deficient Grams at 0.
    float64 weights are kept in float64 (synthetic spectra spanning many decades need it); any
    other dtype is computed in float32, the precision of the official code.
    """
    torch = _torch()
    m = batch if batch.dtype == torch.float64 else batch.float()
    gram = m.transpose(-1, -2) @ m if m.shape[-2] >= m.shape[-1] else m @ m.transpose(-1, -2)
    return torch.linalg.eigvalsh(gram).clamp_min_(0.0)


def esd(weight, conv_norm: float = 0.5) -> np.ndarray:
    """Ascending eigenvalues of the layer's correlation matrix ``W^T W`` (float64 numpy array).

    Eq. (1) of TempBalance fits a power law to the histogram of these values. Computed on the
    weight's own device; the squared singular values of :func:`conv_slices`, pooled.
    """
    torch = _torch()
    with torch.no_grad():
        eigs = _gram_eigvals(conv_slices(weight, conv_norm)).flatten()
    return np.sort(eigs.double().cpu().numpy())


@dataclass(frozen=True)
class HillFit:
    """One Hill fit: the exponent, the threshold ``xmin`` and the ``k`` tail eigenvalues used."""

    alpha: float
    xmin: float
    k: int
    tail: np.ndarray


def hill_fit(eigs, k: int | None = None, xmin_rule: str = "eq3") -> HillFit:
    """PL_Alpha_Hill with its threshold: eq. (3) of TempBalance.

    ``alpha = 1 + k / sum_{i=1..k} ln(lambda_{n-i+1} / lambda_min)`` over the ``k`` largest
    eigenvalues of ``n`` (ascending order).

    ``xmin_rule="eq3"`` (default) is the paper's equation: ``lambda_min = lambda_{n-k}``, the
    largest eigenvalue *below* the tail, ``k = n // 2``. This is Hill's classical estimator and
    is consistent for Pareto samples.

    ``xmin_rule="official"`` is what the official TempBalance code (``fix_fingers='xmin_mid'``)
    computes: the tail is ``eigs[n // 2:]`` (so ``k = n - n // 2`` by default) and
    ``lambda_min`` is the *smallest eigenvalue inside the tail*. Its first log term is zero while
    the count still includes it, so it gives a slightly larger alpha, by a factor close to
    ``k / (k - 1)`` on ``alpha - 1``; the ranking of layers is nearly the same.
    """
    if xmin_rule not in XMIN_RULES:
        raise ConfigError(f"xmin_rule must be one of {XMIN_RULES}, got {xmin_rule!r}")
    e = np.sort(np.asarray(eigs, dtype=np.float64).ravel())
    n = e.size
    if n < 2:
        raise ConfigError(
            f"the Hill estimator needs at least 2 eigenvalues, got {n}; "
            "exclude this layer (layer_metrics flags layers with too few eigenvalues)"
        )
    if not np.all(np.isfinite(e)):
        raise ConfigError("eigenvalues contain NaN or inf: the weights are not finite")
    if k is None:
        k = n // 2 if xmin_rule == "eq3" else n - n // 2
    k = int(k)
    kmax = n - 1 if xmin_rule == "eq3" else n
    if not 1 <= k <= kmax:
        raise ConfigError(f"k must be between 1 and {kmax} for {n} eigenvalues ({xmin_rule}), got {k}")
    tail = e[n - k:]
    xmin = e[n - k - 1] if xmin_rule == "eq3" else e[n - k]
    if xmin <= 0:
        raise ConfigError(
            f"the Hill threshold eigenvalue is {xmin:g} (not positive): the matrix is zero or "
            "rank-deficient below the tail; use a smaller k or check the weights"
        )
    denom = float(np.sum(np.log(tail / xmin)))
    if denom <= 0:
        raise ConfigError("all tail eigenvalues are equal: the spectrum has no tail to fit")
    return HillFit(alpha=1.0 + k / denom, xmin=float(xmin), k=k, tail=tail)


def alpha_hill(eigs, k: int | None = None, xmin_rule: str = "eq3") -> float:
    """PL_Alpha_Hill of an ESD, eq. (3) of TempBalance (see :func:`hill_fit` for the rules)."""
    return hill_fit(eigs, k, xmin_rule).alpha


def weight_layers(model):
    """``(name, module)`` for every ``nn.Linear`` and ``nn.Conv2d`` of a model, in order."""
    torch = _torch()
    kinds = (torch.nn.Linear, torch.nn.Conv2d)
    return [(name, m) for name, m in model.named_modules() if isinstance(m, kinds)]


def layer_metrics(
    model,
    conv_norm: float = 0.5,
    k: int | None = None,
    xmin_rule: str = "eq3",
    min_eigs: int = MIN_EIGS,
    with_eigs: bool = False,
    names=None,
) -> list[dict]:
    """Per-layer HT-SR metrics of every Linear/Conv2d layer.

    Each record: ``name``, ``kind``, ``shape``, ``n_eigs``, ``alpha_hill`` (eq. 3),
    ``spectral_norm`` (largest eigenvalue of ``W^T W``, as in the official code),
    ``alpha_weighted`` (``alpha * log10(spectral_norm)``, Martin et al. 2021), ``stable_rank``
    (``sum(eigs) / max(eigs)``) and ``too_few_eigs`` (``n_eigs < min_eigs``: the Hill estimate is
    unreliable; TempBalance excludes such layers, e.g. the first conv and the classifier).
    A layer whose alpha cannot be estimated (zero weights) gets ``alpha_hill = nan`` and its
    reason in ``note``. ``with_eigs`` adds each layer's ESD (ascending numpy array) as ``eigs``.
    ``names`` restricts the records to those layers (the others are not computed).
    """
    torch = _torch()
    layers = weight_layers(model)
    if names is not None:  # only these layers (e.g. the ones TempBalance tunes)
        wanted = set(names)
        layers = [(n, m) for n, m in layers if n in wanted]
    groups: dict[tuple, list[int]] = {}
    for i, (_, m) in enumerate(layers):
        groups.setdefault((tuple(m.weight.shape), m.weight.device, m.weight.dtype), []).append(i)
    spectra: list = [None] * len(layers)
    with torch.no_grad():
        for idx in groups.values():
            slices = [conv_slices(layers[i][1].weight, conv_norm) for i in idx]
            stacked = torch.stack(slices)  # (layers, b, out, in)
            nl, b, r, c = stacked.shape
            eigs = _gram_eigvals(stacked.reshape(nl * b, r, c)).reshape(nl, -1)
            eigs = np.sort(eigs.double().cpu().numpy(), axis=1)
            for j, i in enumerate(idx):
                spectra[i] = eigs[j]
    records = []
    for (name, m), e in zip(layers, spectra):
        lam_max = float(e[-1])
        note = None
        try:
            alpha = alpha_hill(e, k, xmin_rule)
        except ConfigError as err:
            alpha, note = float("nan"), str(err)
        records.append(
            {
                "name": name,
                "kind": type(m).__name__,
                "shape": list(m.weight.shape),
                "n_eigs": int(e.size),
                "alpha_hill": alpha,
                "spectral_norm": lam_max,
                "alpha_weighted": alpha * math.log10(lam_max) if lam_max > 0 else float("nan"),
                "stable_rank": float(e.sum() / lam_max) if lam_max > 0 else float("nan"),
                "too_few_eigs": bool(e.size < min_eigs),
                "note": note,
                **({"eigs": e} if with_eigs else {}),
            }
        )
    return records


def powerlaw_eigs(m: int, s: float, lambda1: float = 1.0) -> np.ndarray:
    """Eigenvalues decaying as a power law, eq. (20) of TempBalance App. A.2: ``lambda_k =
    lambda1 * k^-s`` for ``k = 1..m``, returned in ascending order like :func:`esd`."""
    if m < 1:
        raise ConfigError(f"m must be a positive integer, got {m}")
    if s <= 0:
        raise ConfigError(f"the decay exponent s must be positive, got {s}")
    k = np.arange(1, m + 1, dtype=np.float64)
    return np.sort(lambda1 * k ** (-float(s)))


def orthogonal_pair(m: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
    """Two Haar-random ``m x m`` orthogonal matrices ``(U, V)`` drawn from ``default_rng(seed)``."""
    from scipy.stats import ortho_group

    if m == 1:
        return np.ones((1, 1)), np.ones((1, 1))
    rng = np.random.default_rng(seed)
    u = ortho_group.rvs(m, random_state=rng)
    return u, ortho_group.rvs(m, random_state=rng)


def matrix_with_eigs(eigs, seed=0, pair: tuple | None = None) -> np.ndarray:
    """A square matrix ``W = U diag(sqrt(eigs)) V^T`` with Haar-random orthogonal ``U``, ``V``.

    ``W^T W = V diag(eigs) V^T`` so the ESD of ``W`` is exactly ``eigs``: the construction used
    to reproduce Fig. 9 through the same :func:`esd` path as a trained layer. ``seed`` is
    anything ``numpy.random.default_rng`` accepts (an int or a list of ints); ``pair`` reuses a
    ``(U, V)`` from :func:`orthogonal_pair` (the same draws) instead of drawing them again.
    """
    e = np.asarray(eigs, dtype=np.float64)
    if np.any(e < 0):
        raise ConfigError("eigenvalues of W^T W cannot be negative")
    u, v = pair if pair is not None else orthogonal_pair(e.size, seed)
    return (u * np.sqrt(e)) @ v.T


def s_from_alpha(alpha):
    """The decay exponent implied by a PL exponent: ``s = 1 / (alpha - 1)`` (App. A.2, eq. 23)."""
    return 1.0 / (np.asarray(alpha, dtype=np.float64) - 1.0)
