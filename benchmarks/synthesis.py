"""The cost of reading all four thermometers of the synthesis chapter in one training run.

The network, data and optimizer of the chapter's quick profile (ResNet-20 at width 0.5 on 10,000
Fashion-MNIST images, batch 128, SGD with momentum 0.9, cosine annealing from 0.1, weight decay 5e-4,
the test subset of 5,000 images scored after every epoch) trained with ``thermo.train.fit`` for
``--epochs`` epochs (79 steps each), in this process, one torch thread:

- plain: no callback;
- instrumented: the four thermometers of :class:`thermo.papers.synthesis.thermometers.ThermometerSet`
  (alpha and its random baseline, APT every 10 steps, the logit scale and the effective LR, the L2
  clock), as ``syn-schedules`` runs them.

The two arms run in the order plain, instrumented, instrumented, plain (so that a drift of the
machine's load cancels to first order), each from the same initial weights; each arm's time is the
sum of its two runs. Prints both times, each thermometer's own seconds (its timers, the pattern
hooks inside the forward pass included) as a share of the plain arm's time, and last
``ratio=<instrumented / plain>``: at most 1.25 meets the target of the synthesis issue.
``--save PATH`` writes the numbers, with the date and machine, as JSON (the chapter reads
``benchmarks/results/synthesis.json``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import torch

from thermo import data, models, softmax, train
from thermo.papers.synthesis import configs
from thermo.papers.synthesis.thermometers import ThermometerSet


def one_run(tr, te, cfg, setting, instrumented: bool) -> tuple[float, dict]:
    """Wall seconds of one ``fit`` and the thermometers' own seconds (empty for the plain arm)."""
    torch.manual_seed(cfg.seed)
    model = models.build(setting.model, tr.in_shape, tr.num_classes, width=setting.width)
    therm = ThermometerSet(model, tr.x[:setting.probe_size], 1.0, setting.probe_every) if instrumented else None
    t0 = time.perf_counter()
    train.fit(model, tr, te, cfg, callbacks=therm.callbacks if therm else (), loss_fn=softmax.torch_beta_loss(1.0),
              progress=False)
    return time.perf_counter() - t0, therm.seconds() if therm else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (79 steps each)")
    parser.add_argument("--save", type=Path, default=None, help="write the measurements as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    s = configs.SETTINGS["quick"]
    tr = data.load(s.dataset, "train", n=s.n_train, seed=0)
    te = data.load(s.dataset, "test", n=s.n_test, seed=0)
    cfg = train.TrainConfig(epochs=args.epochs, lr=s.lr, batch_size=s.batch_size, weight_decay=s.weight_decay,
                            schedule="cosine", seed=43)
    steps = args.epochs * -(-len(tr) // s.batch_size)
    times = {False: 0.0, True: 0.0}
    seconds: dict[str, float] = {}
    for instrumented in (False, True, True, False):
        wall, own = one_run(tr, te, cfg, s, instrumented)
        times[instrumented] += wall
        for k, v in own.items():
            seconds[k] = seconds.get(k, 0.0) + v
        print(f"{'instrumented' if instrumented else 'plain':>12}: {wall:.1f} s for {steps} steps", flush=True)
    plain, full = times[False], times[True]
    shares = {k: v / plain for k, v in seconds.items()}
    ratio = full / plain
    print(f"plain {plain:.1f} s, with the four thermometers {full:.1f} s ({2 * steps} steps each arm)")
    print("each thermometer's own seconds over the plain arm's: "
          + ", ".join(f"{k} {100 * v:.1f} %" for k, v in shares.items())
          + f"; together {100 * sum(shares.values()):.1f} %, against {100 * (ratio - 1):.1f} % measured by the wall "
            "clock (the rest: load noise and untimed bookkeeping)")
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({
            "benchmark": "benchmarks/synthesis.py",
            "measured": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or platform.platform()}",
            "torch": torch.__version__, "threads": 1, "steps": 2 * steps, "plain_seconds": plain,
            "instrumented_seconds": full, "shares": shares, "ratio": ratio}, indent=1) + "\n")
    print(f"ratio={ratio:.3f}")


if __name__ == "__main__":
    main()
