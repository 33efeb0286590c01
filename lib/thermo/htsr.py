"""Heavy-tailed self-regularization (HT-SR): empirical spectral densities and the Hill estimator.

Chapter: notebooks/tempbalance/01-esd-and-hill.ipynb. Paper: TempBalance (Zhou et al., 2023).

- :func:`esd` the eigenvalues of ``W^T W`` for one layer (conv layers: the ``kh*kw`` slices of
  shape (out, in), scaled by ``sqrt(conv_norm)``, pooled, as in the official TempBalance and
  WeightWatcher code).
- :func:`alpha_hill` PL_Alpha_Hill, eq. (3) of the paper, with ``k = n // 2`` by default.
- :func:`layer_metrics` per-layer records for a whole torch model.
- :func:`powerlaw_eigs` / :func:`matrix_with_eigs` the synthetic spectra of App. A.2 (Fig. 9).
- :func:`hill_bias_factor` the closed form of ``s_hat / s`` for those exact spectra (the Hill
  estimator's finite-size bias with ``k = m // 2``).
- :func:`random_alpha` the random-matrix baseline of a layer: PL_Alpha_Hill of Gaussian matrices
  of the layer's shape (what the shape alone scores, before any training; chapter
  notebooks/tempbalance/02-training-with-tempbalance.ipynb).

Speed: :func:`layer_metrics` computes each ESD from the Gram matrix of the smaller side with a
batched ``eigvalsh`` and groups layers of equal shape into one call; the official code calls
``svdvals`` on every layer. ``benchmarks/esd.py`` measures the two against each other.
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np

from thermo.errors import ConfigError

XMIN_RULES = ("eq3", "official")
MIN_EIGS = 50
RANDOM_DRAWS = 5  # Gaussian draws averaged by random_alpha


def _torch():
    import torch

    return torch


def check_weight(w, what: str = "the weight matrix") -> None:
    """ConfigError unless the tensor ``w`` is real and finite (cheap: one pass, before any ESD).

    A complex matrix would otherwise lose its imaginary part in silence and give a wrong ESD; a
    NaN or inf (a diverged run) would make the eigensolver fail with a LinAlgError.
    """
    torch = _torch()
    if w.is_complex():
        raise ConfigError(f"{what} is complex ({w.dtype}): an ESD needs real weights, so pass its real part "
                          "(.real) or its modulus (.abs()) explicitly")
    if w.is_floating_point() and not bool(torch.isfinite(w).all()):
        n_nan = int(torch.isnan(w).sum())
        n_inf = int(torch.isinf(w).sum())
        raise ConfigError(f"{what} has {n_nan} NaN and {n_inf} inf entries (of {w.numel()}): an ESD needs finite "
                          "weights, so check the training run that produced them")


def check_eigs(eigs) -> np.ndarray:
    """The eigenvalues as a flat float64 array; ConfigError unless they are real and finite."""
    a = np.asarray(eigs)
    if np.iscomplexobj(a):
        raise ConfigError(f"the eigenvalues are complex ({a.dtype}): an ESD holds the real eigenvalues of W^T W, "
                          "so compute them with htsr.esd(W), not as the eigenvalues of W")
    if a.dtype.kind not in "biuf":
        raise ConfigError(f"the eigenvalues must be real numbers, got an array of dtype {a.dtype}")
    e = a.astype(np.float64).ravel()
    if not np.all(np.isfinite(e)):
        n_nan, n_inf = int(np.isnan(e).sum()), int(np.isinf(e).sum())
        raise ConfigError(f"the eigenvalues contain {n_nan} NaN and {n_inf} inf (of {e.size}): the weights they "
                          "came from are not finite, so check the training run that produced them")
    return e


def _check_conv_norm(conv_norm) -> None:
    if not (isinstance(conv_norm, numbers.Real) and math.isfinite(conv_norm) and conv_norm > 0):
        raise ConfigError(f"conv_norm must be a positive finite number, got {conv_norm}")


def conv_slices(weight, conv_norm: float = 0.5):
    """The matrices whose singular values make a layer's ESD, as a batch ``(b, out, in)``.

    Linear ``(out, in)`` -> one matrix. Conv ``(out, in, kh, kw)`` -> ``kh*kw`` matrices of shape
    ``(out, in)``, each multiplied by ``sqrt(conv_norm)`` (the official code's normalisation; its
    default 0.5 halves every eigenvalue, which leaves the Hill estimate unchanged). A complex or
    non-finite weight is a ConfigError (:func:`check_weight`).
    """
    torch = _torch()
    w = torch.as_tensor(weight).detach()
    check_weight(w)
    if w.ndim == 2:
        return w.unsqueeze(0)
    if w.ndim < 2:
        raise ConfigError(f"a weight matrix needs at least 2 dimensions, got shape {tuple(w.shape)}")
    _check_conv_norm(conv_norm)
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
    e = np.sort(check_eigs(eigs))
    n = e.size
    if n < 2:
        raise ConfigError(
            f"the Hill estimator needs at least 2 eigenvalues, got {n}; "
            "exclude this layer (layer_metrics flags layers with too few eigenvalues)"
        )
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
    A complex or non-finite weight in any of these layers, or a bad ``xmin_rule`` or
    ``conv_norm``, is a ConfigError before any ESD is computed.
    """
    torch = _torch()
    if xmin_rule not in XMIN_RULES:  # else every layer would get alpha = nan with this note
        raise ConfigError(f"xmin_rule must be one of {XMIN_RULES}, got {xmin_rule!r}")
    _check_conv_norm(conv_norm)
    layers = weight_layers(model)
    if names is not None:  # only these layers (e.g. the ones TempBalance tunes)
        wanted = set(names)
        layers = [(n, m) for n, m in layers if n in wanted]
    for name, m in layers:
        check_weight(m.weight.detach(), f"the weight of layer {name!r} ({type(m).__name__})")
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
    if not (isinstance(s, numbers.Real) and math.isfinite(s) and s > 0):
        raise ConfigError(f"the decay exponent s must be a positive finite number, got {s}")
    if not (isinstance(lambda1, numbers.Real) and math.isfinite(lambda1) and lambda1 > 0):
        raise ConfigError(f"lambda1 must be a positive finite number, got {lambda1}")
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
    e = check_eigs(eigs)
    if np.any(e < 0):
        raise ConfigError("eigenvalues of W^T W cannot be negative")
    u, v = pair if pair is not None else orthogonal_pair(e.size, seed)
    return (u * np.sqrt(e)) @ v.T


def s_from_alpha(alpha):
    """The decay exponent implied by a PL exponent: ``s = 1 / (alpha - 1)`` (App. A.2, eq. 23)."""
    return 1.0 / (np.asarray(alpha, dtype=np.float64) - 1.0)


def hill_bias_factor(m: int, xmin_rule: str = "eq3") -> float:
    """Closed form of ``s_hat / s`` for an exact spectrum ``lambda_k = k^-s`` of size ``m``
    (TempBalance App. A.2, Fig. 9; chapter ``notebooks/tempbalance/01-esd-and-hill``).

    With the eq. 3 rule and ``k = m // 2``: ``sum_{i<=k} ln(lambda_i / lambda_{k+1}) =
    s (k ln(k+1) - ln k!)``, so ``s_hat / s = (k ln(k+1) - ln k!) / k``, the same for every s.
    With the official rule (tail of ``m - m // 2`` values including its own minimum):
    ``(k ln k - ln k!) / k``. Both tend to 1 like ``1 - ln(2 pi k) / (2k)``.
    """
    if xmin_rule not in XMIN_RULES:
        raise ConfigError(f"xmin_rule must be one of {XMIN_RULES}, got {xmin_rule!r}")
    if not (isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 2):
        raise ConfigError(f"the matrix size m must be an integer >= 2, got {m!r}")
    m = int(m)
    if xmin_rule == "eq3":
        k = m // 2
        return (k * math.log(k + 1) - math.lgamma(k + 1)) / k
    k = m - m // 2
    return (k * math.log(k) - math.lgamma(k + 1)) / k


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes)) or not hasattr(shape, "__len__") or len(shape) not in (2, 4):
        raise ConfigError(f"a weight shape is (out, in) or (out, in, kh, kw), got {shape!r}")
    if not all(isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise ConfigError(f"a weight shape needs positive integer sizes, got {tuple(shape)!r}")
    return tuple(int(d) for d in shape)


def random_alpha(shape, draws: int = RANDOM_DRAWS, seed: int = 0, xmin_rule: str = "eq3") -> float:
    """The random-matrix baseline of a layer of weight shape ``shape``: the mean PL_Alpha_Hill
    (:func:`alpha_hill`, k = n // 2) of ``draws`` matrices with i.i.d. standard Gaussian entries of
    that shape, each through the same :func:`esd` as a trained layer (a conv shape gives its
    ``kh*kw`` pooled slices; the estimator is scale-free, so the entries' variance does not matter).

    This is what the shape alone scores before any training: for a square ``(n, n)`` matrix it tends
    to 2.12 as n grows (the Marchenko-Pastur law of ratio 1), for ``(2n, n)`` to 2.71; a ranking of
    layers by alpha therefore partly ranks their aspect ratios. The draws come from
    ``numpy.random.default_rng([seed, *shape])``, never from torch's global generator (a training
    run that asks for a baseline draws the same batches and initial weights as one that does not).
    Cached per (shape, draws, seed, rule). Chapter ``notebooks/tempbalance/02-training-with-tempbalance``.
    """
    shape = _check_shape(shape)
    if not (isinstance(draws, numbers.Integral) and not isinstance(draws, bool) and draws >= 1):
        raise ConfigError(f"draws must be a positive integer, got {draws!r}")
    if not (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if xmin_rule not in XMIN_RULES:
        raise ConfigError(f"xmin_rule must be one of {XMIN_RULES}, got {xmin_rule!r}")
    n = min(shape[:2]) * (shape[2] * shape[3] if len(shape) == 4 else 1)
    if n < 2:
        raise ConfigError(f"a layer of shape {shape} has {n} eigenvalue(s); the Hill estimator needs at least 2")
    return _random_alpha(shape, int(draws), int(seed), xmin_rule)


@functools.cache
def _random_alpha(shape: tuple[int, ...], draws: int, seed: int, xmin_rule: str) -> float:
    torch = _torch()
    rng = np.random.default_rng([seed, *shape])
    alphas = [alpha_hill(esd(torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))), xmin_rule=xmin_rule)
              for _ in range(draws)]
    return float(np.mean(alphas))
