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
target) of the ResNet with per-position patterns last. ``--save PATH`` also writes the numbers, with
the date, machine and versions, as JSON (the ActCoolR chapter shows ``benchmarks/results/apt.json``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import time
from pathlib import Path

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


def forward_fraction(model, x, y, repeats: int) -> float:
    """A no-grad forward pass as a fraction of a forward + backward pass (the floor of any probe that
    needs one extra forward)."""
    def fwd():
        with torch.no_grad():
            model(x)

    def fwd_bwd():
        model.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(x), y).backward()

    def med(f):
        f()
        ts = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            f()
            ts.append(time.perf_counter() - t0)
        return statistics.median(ts)

    return med(fwd) / med(fwd_bwd)


ROWS: list[dict] = []


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
    fwd = forward_fraction(model, x, y, repeats)
    print(f"{name} ({granularity}): plain step {p * 1e3:.1f} ms, probed step {q * 1e3:.1f} ms: one measurement = "
          f"{cost / p:.2f} of a step (target <= 0.40); a no-grad forward alone {fwd:.2f} of a forward + backward; "
          f"patterns {probe.bytes_per_example:.0f} bytes per example")
    ROWS.append({"model": name, "granularity": granularity, "plain_step_ms": p * 1e3, "probed_step_ms": q * 1e3,
                 "measurement_over_step": cost / p, "forward_over_forward_backward": fwd,
                 "pattern_bytes_per_example": probe.bytes_per_example})
    return p / cost


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--save", type=Path, default=None, help="write the measurements as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in ("fmnist-convnet", "resnet20"):
        measure(name, args.repeats, "example")
    measure("fmnist-convnet", args.repeats)
    ratio = measure("resnet20", args.repeats)  # "position": the default of APTProbe
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({
            "benchmark": "benchmarks/apt.py",
            "measured": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or platform.platform()}",
            "torch": torch.__version__, "threads": 1, "batch": 128, "repeats": args.repeats, "rows": ROWS,
            "ratio": ratio}, indent=1) + "\n")
    print(f"ratio={ratio:.2f}")


if __name__ == "__main__":
    main()
