"""Speed of ``thermo.htsr.layer_metrics`` against the official TempBalance way of computing ESDs.

Baseline (as in the official code's ``net_esd_estimator``): for every Conv2d/Linear layer, one
float32 ``torch.linalg.svdvals`` call on the pooled conv slices scaled by ``sqrt(conv_norm)``,
square, sort, then the Hill estimate with the same rule as ours. Ours: Gram matrix of the smaller
side + batched ``eigvalsh``, layers of equal shape stacked into one call.

Both run in this process on the same random-init CIFAR-style ResNet18 and VGG16 (median of
``--repeats`` runs each, interleaved). Prints per-model times, the largest relative difference
of the per-layer alphas, and ``ratio=<baseline/ours>`` last.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch

from thermo import htsr, models


def official_esds(model, conv_norm=0.5):
    """(name, ascending eigenvalues) per Conv2d/Linear layer, the official code's way: one float32
    ``svdvals`` call per layer on the pooled conv slices scaled by ``sqrt(conv_norm)``."""
    out = []
    with torch.no_grad():
        for name, m in htsr.weight_layers(model):
            w = m.weight.data.clone()
            if w.ndim == 4:
                w = torch.flatten(w, start_dim=2) * math.sqrt(conv_norm)
                w = w.transpose(1, 2).transpose(0, 1)
            eigs = torch.square(torch.linalg.svdvals(w.float()).flatten())
            out.append((name, torch.sort(eigs, descending=False).values))
    return out


def baseline_alphas(model, conv_norm=0.5):
    return np.array([htsr.alpha_hill(eigs.double().numpy()) for _, eigs in official_esds(model, conv_norm)])


def ours_alphas(model):
    return np.array([r["alpha_hill"] for r in htsr.layer_metrics(model)])


def timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    nets = {name: models.build(name, (3, 32, 32), 100) for name in ("resnet18", "vgg16")}
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, repeats {args.repeats}")
    base_total, ours_total, worst = 0.0, 0.0, 0.0
    for name, net in nets.items():
        baseline_alphas(net), ours_alphas(net)  # warm-up
        tb, to = [], []
        for _ in range(args.repeats):
            t, a_base = timed(baseline_alphas, net)
            tb.append(t)
            t, a_ours = timed(ours_alphas, net)
            to.append(t)
        rel = float(np.max(np.abs(a_ours - a_base) / np.abs(a_base)))
        worst = max(worst, rel)
        mb, mo = statistics.median(tb), statistics.median(to)
        base_total += mb
        ours_total += mo
        print(f"{name}: {len(a_base)} layers, baseline {mb:.3f} s, ours {mo:.3f} s, "
              f"ratio {mb / mo:.2f}, max relative alpha difference {rel:.2e}")
    print(f"max relative alpha difference (all layers) {worst:.2e}")
    print(f"ratio={base_total / ours_total:.2f}")


if __name__ == "__main__":
    main()
