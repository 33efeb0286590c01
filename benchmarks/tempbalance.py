"""The cost of one TempBalance balancing step, and of balancing every 10 steps.

1. On a random-init CIFAR ResNet18 (3 x 32 x 32 inputs, 100 classes), in this process, median of
   ``--repeats`` interleaved runs:
   - ours: ``TempBalance.apply`` (metric of the tuned layers by batched ``eigvalsh`` on Gram
     matrices, eq. 2, write ``lr_scale`` into the optimizer's groups);
   - the metric alone: ``htsr.layer_metrics`` on the same layers (target: ours <= 1.2 x this);
   - baseline, the official code's way of rebuilding the map: ``svdvals`` of every Conv2d/Linear
     layer one at a time (float32, the pooled conv slices), its Hill rule, a table of all layers,
     drop first/last/small, ``np.interp`` map, then a walk over ``named_modules`` to assign every
     group its rate.
2. The quick profile's ResNet (ResNet-20 at width 0.5, Fashion-MNIST 28 x 28, batch 128, one
   thread): 60 training steps plain against 60 steps with balancing every 10 steps (6 balancings),
   interleaved, median over ``--repeats``: the overhead share (target <= 10 %).

Prints both, then ``ratio=<baseline/ours>`` of the balancing step last.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from esd import official_esds  # benchmarks/ is on the path when run as a script

from thermo import htsr, models, train
from thermo.tempbalance import TempBalance, n_eigs


def official_style_rebuild(model, optimizer, s1=0.5, s2=1.5, conv_norm=0.5, min_eigs=50):
    """Written from the description of the official ``build_optimizer_param_group``: one SVD per layer."""
    names, alphas, counts = [], [], []
    for name, eigs in official_esds(model, conv_norm):
        i = len(eigs) // 2  # the official "median" rule: the upper half, its own minimum as xmin
        logs = torch.log(eigs)
        n = float(len(eigs) - i)
        alphas.append(float(1 + n / (torch.sum(logs[i:]) - n * logs[i])))
        names.append(name)
        counts.append(len(eigs))
    keep = [k for k in range(1, len(names) - 1) if counts[k] >= min_eigs]
    scores = np.array([alphas[k] for k in keep])
    rates = np.interp(scores, [scores.min(), scores.max()], [s1, s2])
    table = dict(zip([names[k] for k in keep], rates))
    for group in optimizer.param_groups:
        for name, _ in model.named_modules():  # the official code walks the modules to find each group
            if group.get("name") == name and name in table:
                group["lr_scale"] = table[name]
    return table


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def balancing_step(repeats: int):
    torch.manual_seed(0)
    model = models.build("resnet18", (3, 32, 32), 100)
    tb = TempBalance(model)
    cfg = train.TrainConfig(epochs=1, lr=0.1, weight_decay=5e-4)
    opt = train.make_optimizer(tb.param_groups(5e-4), cfg)
    ours, alone, base = [], [], []
    for _ in range(repeats):  # interleaved, so drifts of the machine hit all three alike
        ours.append(median_time(lambda: tb.apply(opt), 1))
        alone.append(median_time(lambda: htsr.layer_metrics(model, names=tb.tuned), 1))
        base.append(median_time(lambda: official_style_rebuild(model, opt), 1))
    ours_s, alone_s, base_s = map(statistics.median, (ours, alone, base))
    ours_scales = tb.scales()
    base_scales = official_style_rebuild(model, opt)
    # the official rule's alphas differ slightly from eq. 3 (see htsr.hill_fit); the map agrees closely
    diff = max(abs(ours_scales[k] - base_scales[k]) for k in ours_scales)
    print(f"ResNet18 (CIFAR, {len(tb.tuned)} tuned layers of {len(htsr.weight_layers(model))}, "
          f"{sum(n_eigs(dict(model.named_modules())[n].weight.shape) for n in tb.tuned)} eigenvalues):")
    print(f"  ours (TempBalance.apply)      {ours_s * 1e3:8.1f} ms")
    print(f"  metric alone (layer_metrics)  {alone_s * 1e3:8.1f} ms   ours / metric = {ours_s / alone_s:.2f} "
          "(target <= 1.2)")
    print(f"  official-style rebuild        {base_s * 1e3:8.1f} ms   largest LR-factor difference {diff:.3f}")
    return base_s / ours_s


def per_ten_steps(repeats: int, steps: int = 60):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.rand(128, 1, 28, 28)
    y = torch.randint(0, 10, (128,))

    def run(balance: bool):
        torch.manual_seed(0)
        model = models.build("resnet20", (1, 28, 28), 10, width=0.5)
        tb = TempBalance(model, every=10)
        cfg = train.TrainConfig(epochs=1, lr=0.1, weight_decay=5e-4)
        opt = train.make_optimizer(tb.param_groups(5e-4), cfg)
        t0 = time.perf_counter()
        for step in range(1, steps + 1):
            opt.zero_grad(set_to_none=True)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            if balance and step % 10 == 0:
                tb.apply(opt)
        return time.perf_counter() - t0

    plain, balanced = [], []
    for _ in range(repeats):
        plain.append(run(False))
        balanced.append(run(True))
    torch.set_num_threads(threads)
    p, b = statistics.median(plain), statistics.median(balanced)
    print(f"quick ResNet-20 (width 0.5), {steps} steps of batch 128, 1 thread: plain {p:.2f} s, with balancing "
          f"every 10 steps {b:.2f} s: overhead {100 * (b - p) / p:.1f} % (target <= 10 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    per_ten_steps(max(3, args.repeats // 2))
    ratio = balancing_step(args.repeats)
    print(f"ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
