"""The cost of one APT measurement by ``APTProbe`` against one plain training step.

For the Fashion-MNIST benchmark ConvNet (ActCoolR Table 1) and ResNet-20 (width 1) at batch 128
on 28 x 28 inputs, one thread, in
this process, interleaved, median of ``--repeats``:
- a plain training step (forward, backward, SGD step);
- the same step probed by ``APTProbe`` (hooks record the step's own forward, bit-packed, then one
  extra no-grad forward at the new weights and the comparison).
The measurement's cost is (probed - plain); the target is at most 0.40 of a plain step. Prints the
pattern memory in bytes per example for both the paper's per-example patterns and the per-position
patterns the library uses by default, then ``ratio=<plain step / measurement>`` (>= 2.5 meets the
target) of the ResNet with per-position patterns last.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from thermo import apt, models, train


def step_time(model, opt, x, y, probe: apt.APTProbe | None, state) -> float:
    t0 = time.perf_counter()
    if probe is not None:
        probe.on_batch_start(state, (x, y))
    opt.zero_grad(set_to_none=True)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    if probe is not None:
        probe.before_optimizer_step(state, (x, y))
    opt.step()
    state.step += 1
    if probe is not None:
        probe.after_optimizer_step(state, (x, y), 0.0)
    return time.perf_counter() - t0


def measure(name: str, repeats: int, granularity: str = "position") -> float:
    torch.manual_seed(0)
    model = models.build(name, (1, 28, 28), 10)
    cfg = train.TrainConfig(epochs=1, lr=0.05)
    opt = train.make_optimizer(model, cfg)
    state = train.TrainState(model, opt, cfg, torch.device("cpu"), torch.nn.functional.cross_entropy)
    state.step = -1  # so that the probe (every=1) fires on every step
    probe = apt.APTProbe(every=1, granularity=granularity)
    x, y = torch.rand(128, 1, 28, 28), torch.randint(0, 10, (128,))
    for _ in range(2):  # warm up
        step_time(model, opt, x, y, None, state)
    plain, probed = [], []
    for _ in range(repeats):
        plain.append(step_time(model, opt, x, y, None, state))
        probed.append(step_time(model, opt, x, y, probe, state))
    p, q = statistics.median(plain), statistics.median(probed)
    cost = max(q - p, 1e-9)
    print(f"{name} ({granularity}): plain step {p * 1e3:.1f} ms, probed step {q * 1e3:.1f} ms: one measurement = "
          f"{cost / p:.2f} of a step (target <= 0.40); patterns {probe.bytes_per_example:.0f} bytes per example")
    return p / cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in ("fmnist-convnet", "resnet20"):
        measure(name, args.repeats, "example")
    measure("fmnist-convnet", args.repeats)
    ratio = measure("resnet20", args.repeats)  # "position": the default of APTProbe
    print(f"ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
